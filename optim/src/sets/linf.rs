//! The L-infinity ball `{x : ||x||_inf <= r}`.

use super::{check_radius, ConstraintSet};
use crate::error::Result;
use crate::{linalg, Float, Vertex};

/// L-infinity ball (hypercube) of radius `r`.
///
/// LMO: `-r sign(g)` coordinate-wise (`+r` where `g_i = 0`). Projection: clipping to `[-r, r]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinfBall<T> {
    radius: T,
}

impl<T: Float> LinfBall<T> {
    /// L-infinity ball of radius `radius >= 0`.
    pub fn new(radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        Ok(Self { radius })
    }
    /// The radius `r`.
    pub fn radius(&self) -> T {
        self.radius
    }
}

impl<T: Float> ConstraintSet<T> for LinfBall<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        let r = self.radius;
        for (b, &g) in out.dense_mut(grad.len()).iter_mut().zip(grad) {
            *b = if g > T::zero() { -r } else { r };
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        let r = self.radius;
        x.iter_mut().for_each(|v| *v = v.max(-r).min(r));
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        linalg::norm_inf(x) <= self.radius + tol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    pub(crate) fn cube_vertices(lo: &[f64], hi: &[f64]) -> Vec<Vec<f64>> {
        let n = lo.len();
        (0..(1usize << n))
            .map(|m| {
                (0..n)
                    .map(|i| if m >> i & 1 == 1 { hi[i] } else { lo[i] })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(10);
        for n in 1..7 {
            let set = LinfBall::new(0.7).unwrap();
            let verts = cube_vertices(&vec![-0.7; n], &vec![0.7; n]);
            for _ in 0..10 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &verts);
                let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_projection(&set, &x, &verts);
            }
        }
    }
}
