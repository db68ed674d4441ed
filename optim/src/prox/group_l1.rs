//! The group-L1 penalty `lambda sum_G ||x_G||_2` (group lasso).

use super::Penalty;
use crate::error::{OptimError, Result};
use crate::sets::check_radius_pub as check;
use crate::Float;

/// `h(x) = lambda sum_G ||x_G||_2` over disjoint groups (Yuan & Lin 2006); its prox is block
/// soft-thresholding `x_G <- x_G max(1 - t lambda / ||x_G||_2, 0)`. Coordinates outside every
/// group are left unpenalised.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupL1Penalty<T> {
    groups: Vec<Vec<usize>>,
    lambda: T,
}

impl<T: Float> GroupL1Penalty<T> {
    /// Penalty over disjoint `groups` with weight `lambda >= 0`.
    pub fn new(groups: Vec<Vec<usize>>, lambda: T) -> Result<Self> {
        check("lambda", lambda)?;
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return Err(OptimError::InvalidParameter {
                name: "groups",
                reason: "groups overlap".into(),
            });
        }
        Ok(Self { groups, lambda })
    }

    fn check(&self, n: usize) -> Result<()> {
        match self.groups.iter().flatten().find(|&&i| i >= n) {
            Some(&i) => Err(OptimError::InvalidParameter {
                name: "groups",
                reason: format!("index {i} out of range for dimension {n}"),
            }),
            None => Ok(()),
        }
    }
}

impl<T: Float> Penalty<T> for GroupL1Penalty<T> {
    fn value(&self, x: &[T]) -> T {
        self.lambda
            * self
                .groups
                .iter()
                .map(|g| {
                    g.iter()
                        .filter(|&&i| i < x.len())
                        .map(|&i| x[i] * x[i])
                        .sum::<T>()
                        .sqrt()
                })
                .sum::<T>()
    }
    fn prox(&self, v: &mut [T], step: T) -> Result<()> {
        self.check(v.len())?;
        let th = step * self.lambda;
        for g in &self.groups {
            let n = g.iter().map(|&i| v[i] * v[i]).sum::<T>().sqrt();
            let c = if n > th { T::one() - th / n } else { T::zero() };
            for &i in g {
                v[i] *= c;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg;
    use crate::rng::SplitMix64;

    #[test]
    fn prox_is_the_minimiser() {
        let mut rng = SplitMix64::new(32);
        let p = GroupL1Penalty::new(vec![vec![0, 1], vec![3, 4, 5]], 0.9).unwrap();
        for _ in 0..50 {
            let v: Vec<f64> = (0..6).map(|_| rng.normal()).collect();
            let t = rng.uniform() + 0.1;
            let mut x = v.clone();
            p.prox(&mut x, t).unwrap();
            assert_eq!(x[2], v[2]);
            let obj = |z: &[f64]| p.value(z) + linalg::dist2_sq(z, &v) / (2.0 * t);
            let best = obj(&x);
            for _ in 0..50 {
                let z: Vec<f64> = x.iter().map(|a| a + 0.1 * rng.normal()).collect();
                assert!(obj(&z) >= best - 1e-12);
            }
        }
        assert!(GroupL1Penalty::new(vec![vec![0, 1], vec![1]], 1.0f64).is_err());
        assert!(p.prox(&mut [1.0, 2.0], 1.0).is_err());
    }
}
