//! The L1 ball `{x : ||x||_1 <= r}`.

use super::{check_radius, project_simplex, sign0, ConstraintSet};
use crate::error::Result;
use crate::{linalg, Float, Vertex};

/// L1 ball of radius `r`: `B_1(r) = conv{ +-r e_j }`.
///
/// LMO: the single signed coordinate `-r sign(g_j) e_j` at `j = argmax_j |g_j|` (Jaggi 2013,
/// Sec. 4.1): one nonzero, so Frank-Wolfe iterates are sparse. Projection: soft-thresholding
/// at the level found by the sort-based simplex projection of `|x|` (Duchi et al. 2008).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct L1Ball<T> {
    radius: T,
}

impl<T: Float> L1Ball<T> {
    /// L1 ball of radius `radius >= 0`.
    pub fn new(radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        Ok(Self { radius })
    }
    /// The radius `r`.
    pub fn radius(&self) -> T {
        self.radius
    }
}

/// Projects `x` onto the L1 ball of radius `r` in place.
pub(crate) fn project_l1<T: Float>(x: &mut [T], r: T) {
    if linalg::norm1(x) <= r {
        return;
    }
    let mut a: Vec<T> = x.iter().map(|v| v.abs()).collect();
    project_simplex(&mut a, r);
    for (xi, ai) in x.iter_mut().zip(a) {
        *xi = sign0(*xi) * ai;
    }
}

impl<T: Float> ConstraintSet<T> for L1Ball<T> {
    #[inline]
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        out.clear_sparse(grad.len());
        if let Some(j) = linalg::argmax_abs(grad) {
            // At g = 0 every point is a minimiser; return the vertex +r e_j for determinism.
            let s = if grad[j] > T::zero() {
                -self.radius
            } else {
                self.radius
            };
            out.push(j, s);
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        project_l1(x, self.radius);
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        linalg::norm1(x) <= self.radius + tol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    fn vertices(n: usize, r: f64) -> Vec<Vec<f64>> {
        let mut v = Vec::new();
        for j in 0..n {
            for s in [-r, r] {
                v.push((0..n).map(|i| if i == j { s } else { 0.0 }).collect());
            }
        }
        v
    }

    #[test]
    fn lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(7);
        for n in 1..9 {
            let set = L1Ball::new(2.5).unwrap();
            let verts = vertices(n, 2.5);
            for _ in 0..20 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &verts);
                let x: Vec<f64> = (0..n).map(|_| rng.normal() * 3.0).collect();
                check_projection(&set, &x, &verts);
            }
        }
    }

    proptest! {
        #[test]
        fn projection_is_nonexpansive_and_feasible(
            x in proptest::collection::vec(-10.0f64..10.0, 1..20),
            r in 0.0f64..5.0,
        ) {
            let set = L1Ball::new(r).unwrap();
            let mut p = x.clone();
            set.project(&mut p).unwrap();
            prop_assert!(linalg::norm1(&p) <= r + 1e-9);
            // Inside points are fixed.
            if linalg::norm1(&x) <= r { prop_assert_eq!(&p, &x); }
            // Signs are kept and magnitudes shrink.
            for (a, b) in x.iter().zip(&p) {
                prop_assert!(b.abs() <= a.abs() + 1e-12);
                prop_assert!(a * b >= 0.0);
            }
        }
    }
}
