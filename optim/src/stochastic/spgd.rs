//! Stochastic projected gradient.

use super::StochasticStep;
use crate::error::{check_len, check_param, Result};
use crate::sets::ConstraintSet;
use crate::Float;

/// Stochastic projected gradient with optional momentum:
/// `b <- mu b + g`, `x <- P_C(x - lr_t b)` with `lr_t = lr / (1 + t)^decay`
/// (`decay = 1/2` gives the classical `O(1/sqrt(t))` schedule for convex problems,
/// Nemirovski, Juditsky, Lan & Shapiro 2009; `decay = 0` a constant step).
#[derive(Debug, Clone)]
pub struct Spgd<T, S> {
    set: S,
    /// Base learning rate.
    pub lr: T,
    /// Momentum `mu in [0, 1)`.
    pub momentum: T,
    /// Exponent of the step decay.
    pub decay: T,
    buf: Vec<T>,
    t: usize,
}

impl<T: Float, S: ConstraintSet<T>> Spgd<T, S> {
    /// Projected SGD onto `set` with a constant learning rate and no momentum.
    pub fn new(set: S, lr: T) -> Result<Self> {
        check_param(
            lr > T::zero() && lr.is_finite(),
            "lr",
            "must be finite and > 0",
        )?;
        Ok(Self {
            set,
            lr,
            momentum: T::zero(),
            decay: T::zero(),
            buf: Vec::new(),
            t: 0,
        })
    }
    /// The constraint set.
    pub fn set(&self) -> &S {
        &self.set
    }
}

impl<T: Float, S: ConstraintSet<T>> StochasticStep<T> for Spgd<T, S> {
    fn step(&mut self, x: &mut [T], g: &[T]) -> Result<()> {
        check_len("gradient", x.len(), g.len())?;
        if self.buf.len() != x.len() {
            self.buf = vec![T::zero(); x.len()];
        }
        let lr = self.lr / (T::one() + T::from_usize(self.t)).powf(self.decay);
        for i in 0..x.len() {
            self.buf[i] = self.momentum * self.buf[i] + g[i];
            x[i] -= lr * self.buf[i];
        }
        self.t += 1;
        self.set.project(x)
    }
}
