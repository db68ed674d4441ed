//! The L1 penalty `lambda ||x||_1`.

use super::Penalty;
use crate::error::Result;
use crate::sets::check_radius_pub as check;
use crate::{linalg, Float};

/// `h(x) = lambda ||x||_1`; its prox is soft-thresholding
/// `prox_{t h}(v)_i = sign(v_i) max(|v_i| - t lambda, 0)` (Donoho 1995; Tibshirani 1996).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct L1Penalty<T> {
    lambda: T,
}

impl<T: Float> L1Penalty<T> {
    /// Penalty weight `lambda >= 0`.
    pub fn new(lambda: T) -> Result<Self> {
        check("lambda", lambda)?;
        Ok(Self { lambda })
    }
}

impl<T: Float> Penalty<T> for L1Penalty<T> {
    fn value(&self, x: &[T]) -> T {
        self.lambda * linalg::norm1(x)
    }
    fn prox(&self, v: &mut [T], step: T) -> Result<()> {
        let th = step * self.lambda;
        for x in v {
            let a = x.abs() - th;
            *x = if a > T::zero() {
                x.signum() * a
            } else {
                T::zero()
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// prox minimises h(x) + ||x - v||^2 / (2t): no random perturbation does better.
    #[test]
    fn prox_is_the_minimiser() {
        let mut rng = SplitMix64::new(31);
        let p = L1Penalty::new(0.7).unwrap();
        for _ in 0..50 {
            let v: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
            let t = rng.uniform() + 0.1;
            let mut x = v.clone();
            p.prox(&mut x, t).unwrap();
            let obj = |z: &[f64]| p.value(z) + linalg::dist2_sq(z, &v) / (2.0 * t);
            let best = obj(&x);
            for _ in 0..50 {
                let z: Vec<f64> = x.iter().map(|a| a + 0.1 * rng.normal()).collect();
                assert!(obj(&z) >= best - 1e-12);
            }
        }
    }
}
