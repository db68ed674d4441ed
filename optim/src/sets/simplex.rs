//! The scaled probability simplex `{x : x >= 0, sum_i x_i = r}`.

use super::{check_radius, ConstraintSet};
use crate::error::Result;
use crate::{Float, Vertex};

/// Scaled simplex `Delta_r = {x >= 0, sum x = r}`.
///
/// LMO: `r e_j` with `j = argmin_j g_j`. Projection: the sort-based algorithm of Held, Wolfe &
/// Crowder (1974), in the form of Duchi et al. (2008), "Efficient projections onto the
/// L1-ball", ICML: `O(n log n)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simplex<T> {
    radius: T,
}

impl<T: Float> Simplex<T> {
    /// Simplex of total mass `radius >= 0`.
    pub fn new(radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        Ok(Self { radius })
    }
    /// The total mass `r`.
    pub fn radius(&self) -> T {
        self.radius
    }
}

/// Projects `x` onto `{x >= 0, sum x = r}` in place (Duchi et al. 2008, Fig. 1).
pub(crate) fn project_simplex<T: Float>(x: &mut [T], r: T) {
    if x.is_empty() {
        return;
    }
    let mut u: Vec<T> = x.to_vec();
    u.sort_by(|a, b| b.partial_cmp(a).unwrap_or(core::cmp::Ordering::Equal));
    let mut cum = T::zero();
    let mut theta = T::zero();
    for (j, &uj) in u.iter().enumerate() {
        cum += uj;
        let t = (cum - r) / T::from_usize(j + 1);
        if uj - t > T::zero() {
            theta = t;
        }
    }
    for xi in x {
        *xi = (*xi - theta).max(T::zero());
    }
}

impl<T: Float> ConstraintSet<T> for Simplex<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        out.clear_sparse(grad.len());
        let mut best = None;
        let mut m = T::infinity();
        for (i, &g) in grad.iter().enumerate() {
            if g < m {
                m = g;
                best = Some(i);
            }
        }
        if let Some(j) = best.or(if grad.is_empty() { None } else { Some(0) }) {
            out.push(j, self.radius);
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        project_simplex(x, self.radius);
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.iter().all(|&v| v >= -tol) && (x.iter().copied().sum::<T>() - self.radius).abs() <= tol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(5);
        for n in 1..8 {
            let set = Simplex::new(1.7).unwrap();
            let verts: Vec<Vec<f64>> = (0..n)
                .map(|j| (0..n).map(|i| if i == j { 1.7 } else { 0.0 }).collect())
                .collect();
            for _ in 0..20 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &verts);
                let x: Vec<f64> = (0..n).map(|_| rng.normal() * 2.0).collect();
                check_projection(&set, &x, &verts);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn projection_is_on_the_simplex(x in proptest::collection::vec(-10.0f64..10.0, 1..50), r in 0.0f64..5.0) {
            let mut p = x.clone();
            project_simplex(&mut p, r);
            proptest::prop_assert!(p.iter().all(|&v| v >= 0.0));
            proptest::prop_assert!((p.iter().sum::<f64>() - r).abs() <= 1e-9 * (1.0 + r));
            // Order is preserved (projection = shift and clip).
            for i in 0..x.len() {
                for j in 0..x.len() {
                    if x[i] < x[j] { proptest::prop_assert!(p[i] <= p[j]); }
                }
            }
        }
    }

    #[test]
    fn rejects_negative_radius() {
        assert!(Simplex::new(-1.0f64).is_err());
        assert!(Simplex::new(f64::NAN).is_err());
    }
}
