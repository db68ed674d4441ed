//! The Frank-Wolfe (conditional gradient) method.

use super::line_search::Backtracking;
use super::{check_finite, check_x0};
use crate::error::{OptimError, Result};
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::sets::{fw_gap, ConstraintSet};
use crate::{Float, Objective, Vertex};

/// Step-size rule of Frank-Wolfe-type methods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepRule<T> {
    /// `gamma_t = 2 / (t + 2)`: no knowledge of `f` needed; `f(x_t) - f* <= 2 L D^2 / (t + 2)`
    /// (Jaggi 2013, Theorem 1).
    Harmonic,
    /// Short step `gamma_t = min(g_t / (L ||s_t - x_t||^2), gamma_max)` with a known Lipschitz
    /// constant `L` of `grad f` (Demyanov & Rubinov 1970): minimises the quadratic upper bound.
    ShortStep {
        /// Lipschitz constant of the gradient.
        lipschitz: T,
    },
    /// Adaptive short step with a backtracking estimate of the local Lipschitz constant
    /// (Pedregosa, Négiar, Askari & Jaggi 2020, AISTATS): as fast as the short step with the
    /// true `L`, without knowing it. `initial_lipschitz = None` estimates it from a probe step.
    Backtracking {
        /// Starting estimate of `L`.
        initial_lipschitz: Option<T>,
    },
}

/// Frank-Wolfe: `x_{t+1} = x_t + gamma_t (s_t - x_t)`, `s_t = LMO(grad f(x_t))`
/// (Frank & Wolfe 1956; Jaggi 2013).
///
/// Stops when the Frank-Wolfe gap `g_t = <grad f(x_t), x_t - s_t>`, an upper bound on
/// `f(x_t) - min f`, falls below `tol`. Iterates are convex combinations of `x0` and visited
/// vertices: started at a sparse point with a sparse-vertex set (L1, K-sparse), they stay
/// sparse (entries outside the union of the supports are exactly zero).
#[derive(Debug, Clone, PartialEq)]
pub struct FrankWolfe<T> {
    /// Step-size rule.
    pub step: StepRule<T>,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when the Frank-Wolfe gap is `<= tol`.
    pub tol: T,
    /// Record a trace of `(f, gap)` per iteration.
    pub trace: bool,
}

impl<T: Float> Default for FrankWolfe<T> {
    fn default() -> Self {
        Self {
            step: StepRule::Backtracking {
                initial_lipschitz: None,
            },
            max_iter: 1000,
            tol: T::c(1e-6),
            trace: false,
        }
    }
}

/// Checks feasibility of a starting point (tolerance `sqrt(eps) (1 + ||x||_inf)`).
pub(crate) fn check_feasible<T: Float, S: ConstraintSet<T>>(set: &S, x: &[T]) -> Result<()> {
    let tol = T::epsilon().sqrt() * (T::one() + crate::linalg::norm_inf(x));
    if set.contains(x, tol) {
        Ok(())
    } else {
        Err(OptimError::InvalidParameter {
            name: "x0",
            reason: "not in the constraint set".into(),
        })
    }
}

impl<T: Float> FrankWolfe<T> {
    /// Frank-Wolfe with the given step rule and default stopping (`1000` iterations,
    /// gap `1e-6`).
    pub fn new(step: StepRule<T>) -> Self {
        Self {
            step,
            ..Self::default()
        }
    }

    /// Minimises `f` over `set` from the feasible point `x0`.
    pub fn minimize<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, set, x0, None)
    }

    /// As [`minimize`](Self::minimize), calling `callback` after every iteration.
    pub fn minimize_with<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
        callback: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, set, x0, Some(callback))
    }

    fn run<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
        callback: Option<Callback<'_, T>>,
    ) -> Result<OptimizeResult<T>> {
        check_x0(f, &x0)?;
        check_feasible(set, &x0)?;
        if let StepRule::ShortStep { lipschitz } = self.step {
            crate::error::check_param(
                lipschitz.is_finite() && lipschitz > T::zero(),
                "lipschitz",
                "must be > 0",
            )?;
        }
        let n = x0.len();
        let mut x = x0;
        let mut g = vec![T::zero(); n];
        let mut d = vec![T::zero(); n];
        let mut fx = f.value_grad(&x, &mut g);
        let mut evals = 1;
        check_finite(fx, &g)?;
        let mut s = Vertex::new();
        let mut mon = Monitor::new(self.trace, callback);
        let mut bt: Option<Backtracking<T>> = None;
        let mut f_prev = None;
        let (mut gap, mut it, mut success, mut message) =
            (T::infinity(), 0, false, "maximum iterations reached");
        while it < self.max_iter {
            set.lmo(&g, &mut s)?;
            gap = fw_gap(&g, &x, &s);
            if gap <= self.tol {
                success = true;
                message = "Frank-Wolfe gap below tolerance";
                break;
            }
            s.to_dense(&mut d);
            for (di, &xi) in d.iter_mut().zip(&x) {
                *di -= xi;
            }
            let dnorm2 = crate::linalg::norm2_sq(&d);
            let gamma = match self.step {
                StepRule::Harmonic => T::c(2.0) / T::from_usize(it + 2),
                StepRule::ShortStep { lipschitz } => (gap / (lipschitz * dnorm2)).min(T::one()),
                StepRule::Backtracking { initial_lipschitz } => {
                    let b = bt.get_or_insert_with(|| {
                        let l = initial_lipschitz
                            .unwrap_or_else(|| Backtracking::estimate(f, &x, &g, &d, &mut evals));
                        Backtracking::new(l, n)
                    });
                    let (gamma, ft) =
                        b.step(f, &x, fx, f_prev, &d, gap, dnorm2, T::one(), &mut evals);
                    f_prev = Some(fx);
                    core::mem::swap(&mut x, &mut b.xt);
                    core::mem::swap(&mut g, &mut b.gt);
                    fx = ft;
                    gamma
                }
            };
            if !matches!(self.step, StepRule::Backtracking { .. }) {
                crate::linalg::axpy(gamma, &d, &mut x);
                fx = f.value_grad(&x, &mut g);
                evals += 1;
            }
            check_finite(fx, &g)?;
            it += 1;
            if mon.observe(it, &x, fx, gap) {
                message = "stopped by callback";
                break;
            }
        }
        if it == self.max_iter || message == "stopped by callback" {
            set.lmo(&g, &mut s)?;
            gap = fw_gap(&g, &x, &s);
            success = gap <= self.tol;
        }
        Ok(OptimizeResult {
            x,
            f: fx,
            iterations: it,
            certificate: Certificate::FrankWolfeGap(gap),
            success,
            message: message.into(),
            trace: mon.into_trace(),
            grad_evals: evals,
            func_evals: 0,
        })
    }
}
