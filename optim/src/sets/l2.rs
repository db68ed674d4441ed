//! The Euclidean ball `{x : ||x||_2 <= r}`.

use super::{check_radius, ConstraintSet};
use crate::error::Result;
use crate::{linalg, Float, Vertex};

/// Euclidean ball of radius `r`.
///
/// LMO: `-r g / ||g||_2` (at `g = 0` every point minimises; `r e_1` is returned for
/// determinism). Projection: `x r / max(r, ||x||_2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct L2Ball<T> {
    radius: T,
}

impl<T: Float> L2Ball<T> {
    /// Euclidean ball of radius `radius >= 0`.
    pub fn new(radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        Ok(Self { radius })
    }
    /// The radius `r`.
    pub fn radius(&self) -> T {
        self.radius
    }
}

impl<T: Float> ConstraintSet<T> for L2Ball<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        let n = linalg::norm2(grad);
        let buf = out.dense_mut(grad.len());
        if n > T::zero() {
            let c = -self.radius / n;
            for (b, &g) in buf.iter_mut().zip(grad) {
                *b = c * g;
            }
        } else {
            buf.iter_mut().for_each(|b| *b = T::zero());
            if let Some(b) = buf.first_mut() {
                *b = self.radius;
            }
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        let n = linalg::norm2(x);
        if n > self.radius {
            linalg::scale(self.radius / n, x);
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        linalg::norm2(x) <= self.radius + tol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn lmo_and_projection_against_random_feasible_points() {
        let mut rng = SplitMix64::new(9);
        for n in 1..8 {
            let set = L2Ball::new(1.3).unwrap();
            let feas = feasible_points(&set, n, &mut rng, 200);
            for _ in 0..20 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &feas);
                // Closed form: min <g, s> = -r ||g||.
                let mut v = Vertex::new();
                set.lmo(&g, &mut v).unwrap();
                assert!((v.dot(&g) + 1.3 * linalg::norm2(&g)).abs() < 1e-12);
                let x: Vec<f64> = (0..n).map(|_| rng.normal() * 2.0).collect();
                check_projection(&set, &x, &feas);
            }
        }
    }
}
