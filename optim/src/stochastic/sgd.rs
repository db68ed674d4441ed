//! Stochastic gradient descent with (heavy-ball or Nesterov) momentum.

use super::StochasticStep;
use crate::error::{check_len, check_param, Result};
use crate::Float;

/// SGD with momentum in the PyTorch convention (Polyak 1964; Sutskever et al. 2013):
/// `b <- mu b + g`, then `x <- x - lr b` (heavy ball) or `x <- x - lr (g + mu b)` (Nesterov).
#[derive(Debug, Clone)]
pub struct SgdMomentum<T> {
    /// Learning rate.
    pub lr: T,
    /// Momentum `mu in [0, 1)`.
    pub momentum: T,
    /// Nesterov's variant.
    pub nesterov: bool,
    buf: Vec<T>,
}

impl<T: Float> SgdMomentum<T> {
    /// SGD with learning rate `lr > 0` and momentum `0 <= momentum < 1`.
    pub fn new(lr: T, momentum: T) -> Result<Self> {
        check_param(
            lr > T::zero() && lr.is_finite(),
            "lr",
            "must be finite and > 0",
        )?;
        check_param(
            momentum >= T::zero() && momentum < T::one(),
            "momentum",
            "must be in [0, 1)",
        )?;
        Ok(Self {
            lr,
            momentum,
            nesterov: false,
            buf: Vec::new(),
        })
    }
}

impl<T: Float> StochasticStep<T> for SgdMomentum<T> {
    fn step(&mut self, x: &mut [T], g: &[T]) -> Result<()> {
        check_len("gradient", x.len(), g.len())?;
        if self.buf.len() != x.len() {
            self.buf = g.to_vec();
        } else {
            for (b, &gi) in self.buf.iter_mut().zip(g) {
                *b = self.momentum * *b + gi;
            }
        }
        for i in 0..x.len() {
            let d = if self.nesterov {
                g[i] + self.momentum * self.buf[i]
            } else {
                self.buf[i]
            };
            x[i] -= self.lr * d;
        }
        Ok(())
    }
}
