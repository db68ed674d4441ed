//! Stochastic Frank-Wolfe with momentum, one step at a time (the training-loop building block).

use super::StochasticStep;
use crate::error::{check_len, check_param, Result};
use crate::sets::{fw_gap, ConstraintSet};
use crate::{linalg, Float, Vertex};

/// How the gradient estimate `d` averages mini-batch gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MomentumRule<T> {
    /// `d <- mu d + (1 - mu) g` with a constant `mu in [0, 1)` (chop's convention; `0.9` is the
    /// setting of Pokutta, Spiegel & Zimmer 2020 for deep networks). The first step uses `g`.
    Constant(T),
    /// `d <- (1 - rho_t) d + rho_t g` with `rho_t = 4 / (t + 8)^(2/3)` (Mokhtari, Hassani &
    /// Karbasi 2020, "Stochastic conditional gradient methods", JMLR, Algorithm 1): the
    /// averaging that gives convergence without growing batches.
    Decaying,
}

/// Step size `gamma_t` of the stochastic FW step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SfwStepSize<T> {
    /// Constant `gamma` (chop's "learning rate").
    Constant(T),
    /// `gamma_t = 2 / (t + 8)` (Mokhtari et al. 2020).
    Decaying,
}

/// Stochastic Frank-Wolfe with momentum:
/// `d_t <- average(d_{t-1}, g_t)`, `s_t = LMO(d_t)`, `x <- x + gamma_t (s_t - x)`.
///
/// This is the optimiser chop uses to train neural networks under constraints (Négiar,
/// Pedregosa, El Ghaoui; following Mokhtari et al. 2020 and Pokutta, Spiegel & Zimmer 2020,
/// "Deep neural network training with Frank-Wolfe"). With `rescale` set, the step is the
/// gradient-rescaled one of Pokutta et al.:
/// `gamma_eff = min(gamma ||d_t|| / ||s_t - x||, 1)`.
///
/// The set is owned (pass `&set` to borrow). After each step, [`vertex`](Self::vertex) holds
/// `s_t` (sparse on L1 / K-sparse / row-wise sets) and [`gap`](Self::gap) the stochastic
/// Frank-Wolfe gap `<d_t, x_t - s_t>`. The update scales `x` and adds `gamma s_t`: zeros of
/// `x` outside the support of `s_t` stay exactly zero, and no allocation happens after the
/// first step.
#[derive(Debug, Clone)]
pub struct SfwMomentum<T, S> {
    set: S,
    /// Gradient averaging rule.
    pub momentum: MomentumRule<T>,
    /// Step size rule.
    pub step_size: SfwStepSize<T>,
    /// Gradient rescaling of the step (Pokutta et al. 2020).
    pub rescale: bool,
    d: Vec<T>,
    s: Vertex<T>,
    t: usize,
    gap: T,
}

impl<T: Float, S: ConstraintSet<T>> SfwMomentum<T, S> {
    /// Constant momentum `mu in [0, 1)` and constant step `gamma in (0, 1]`.
    pub fn new(set: S, momentum: T, gamma: T) -> Result<Self> {
        check_param(
            momentum >= T::zero() && momentum < T::one(),
            "momentum",
            "must be in [0, 1)",
        )?;
        check_param(
            gamma > T::zero() && gamma <= T::one(),
            "gamma",
            "must be in (0, 1]",
        )?;
        Ok(Self {
            set,
            momentum: MomentumRule::Constant(momentum),
            step_size: SfwStepSize::Constant(gamma),
            rescale: false,
            d: Vec::new(),
            s: Vertex::new(),
            t: 0,
            gap: T::nan(),
        })
    }

    /// The decaying schedules of Mokhtari et al. (2020).
    pub fn mokhtari(set: S) -> Self {
        Self {
            set,
            momentum: MomentumRule::Decaying,
            step_size: SfwStepSize::Decaying,
            rescale: false,
            d: Vec::new(),
            s: Vertex::new(),
            t: 0,
            gap: T::nan(),
        }
    }

    /// The constraint set.
    pub fn set(&self) -> &S {
        &self.set
    }
    /// The last Frank-Wolfe vertex `s_t`.
    pub fn vertex(&self) -> &Vertex<T> {
        &self.s
    }
    /// The averaged gradient `d_t`.
    pub fn gradient_estimate(&self) -> &[T] {
        &self.d
    }
    /// The stochastic FW gap `<d_t, x_t - s_t>` of the last step (before moving).
    pub fn gap(&self) -> T {
        self.gap
    }
    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.t
    }
}

impl<T: Float, S: ConstraintSet<T>> StochasticStep<T> for SfwMomentum<T, S> {
    fn step(&mut self, x: &mut [T], g: &[T]) -> Result<()> {
        check_len("gradient", x.len(), g.len())?;
        let tt = T::from_usize(self.t);
        if self.d.len() != x.len() || self.t == 0 {
            self.d.clear();
            self.d.extend_from_slice(g);
        } else {
            let rho = match self.momentum {
                MomentumRule::Constant(mu) => T::one() - mu,
                MomentumRule::Decaying => {
                    (T::c(4.0) / (tt + T::c(8.0)).powf(T::c(2.0 / 3.0))).min(T::one())
                }
            };
            for (d, &gi) in self.d.iter_mut().zip(g) {
                *d += rho * (gi - *d);
            }
        }
        self.set.lmo(&self.d, &mut self.s)?;
        self.gap = fw_gap(&self.d, x, &self.s);
        let mut gamma = match self.step_size {
            SfwStepSize::Constant(g) => g,
            SfwStepSize::Decaying => T::c(2.0) / (tt + T::c(8.0)),
        };
        if self.rescale {
            let dist = self.s.dist2_sq(x).sqrt();
            if dist > T::zero() {
                gamma = (gamma * linalg::norm2(&self.d) / dist).min(T::one());
            }
        }
        self.s.fw_update(gamma, x);
        self.t += 1;
        Ok(())
    }
}
