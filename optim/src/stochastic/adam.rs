//! Adam.

use super::StochasticStep;
use crate::error::{check_len, check_param, Result};
use crate::Float;

/// Adam (Kingma & Ba 2015, "Adam: a method for stochastic optimization", ICLR, Algorithm 1):
/// `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2`,
/// `x <- x - lr m_hat / (sqrt(v_hat) + eps)` with bias corrections
/// `m_hat = m / (1 - b1^t)`, `v_hat = v / (1 - b2^t)`.
#[derive(Debug, Clone)]
pub struct Adam<T> {
    /// Learning rate.
    pub lr: T,
    /// First-moment decay `b1`.
    pub beta1: T,
    /// Second-moment decay `b2`.
    pub beta2: T,
    /// Denominator offset.
    pub eps: T,
    m: Vec<T>,
    v: Vec<T>,
    t: i32,
}

impl<T: Float> Adam<T> {
    /// Adam with learning rate `lr` and the paper's defaults `b1 = 0.9`, `b2 = 0.999`,
    /// `eps = 1e-8`.
    pub fn new(lr: T) -> Result<Self> {
        check_param(
            lr > T::zero() && lr.is_finite(),
            "lr",
            "must be finite and > 0",
        )?;
        Ok(Self {
            lr,
            beta1: T::c(0.9),
            beta2: T::c(0.999),
            eps: T::c(1e-8),
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        })
    }
}

impl<T: Float> StochasticStep<T> for Adam<T> {
    fn step(&mut self, x: &mut [T], g: &[T]) -> Result<()> {
        check_len("gradient", x.len(), g.len())?;
        if self.m.len() != x.len() {
            self.m = vec![T::zero(); x.len()];
            self.v = vec![T::zero(); x.len()];
            self.t = 0;
        }
        self.t = self.t.saturating_add(1);
        let c1 = T::one() - self.beta1.powi(self.t);
        let c2 = T::one() - self.beta2.powi(self.t);
        for i in 0..x.len() {
            self.m[i] = self.beta1 * self.m[i] + (T::one() - self.beta1) * g[i];
            self.v[i] = self.beta2 * self.v[i] + (T::one() - self.beta2) * g[i] * g[i];
            x[i] -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + self.eps);
        }
        Ok(())
    }
}
