//! Projected gradient and accelerated projected gradient (FISTA).

use super::check_x0;
use super::fista::{self, CoreOptions};
use super::fw::check_feasible;
use crate::error::Result;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::sets::{fw_gap, ConstraintSet};
use crate::{Float, Objective, Vertex};

/// Projected gradient descent `x_{k+1} = P_C(y_k - grad f(y_k) / L_k)`, plain (`y_k = x_k`)
/// or accelerated (FISTA momentum, Beck & Teboulle 2009: `f(x_k) - f* = O(1/k^2)`), with
/// backtracking on `L_k` and, when accelerated, function-value adaptive restart
/// (O'Donoghue & Candès 2015), which restores linear convergence on strongly convex problems.
///
/// Certificate: the Frank-Wolfe gap at `x_k` (the set's LMO is used only for it), evaluated
/// every `gap_every` iterations (every iteration for plain PGD, where the gradient at `x_k` is
/// free); the method stops when it is `<= tol`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedGradient<T> {
    /// FISTA momentum.
    pub accelerated: bool,
    /// Adaptive restart of the momentum (accelerated only).
    pub restart: bool,
    /// Initial (or, with `backtracking = false`, fixed) Lipschitz constant of `grad f`;
    /// `None` estimates it from a probe step.
    pub lipschitz: Option<T>,
    /// Adapt `L` by backtracking.
    pub backtracking: bool,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when the Frank-Wolfe gap is `<= tol`.
    pub tol: T,
    /// Evaluate the Frank-Wolfe gap every this many iterations when accelerated (costs one
    /// gradient).
    pub gap_every: usize,
    /// Record a trace.
    pub trace: bool,
}

impl<T: Float> ProjectedGradient<T> {
    /// Plain projected gradient with backtracking.
    pub fn pgd() -> Self {
        Self {
            accelerated: false,
            restart: false,
            lipschitz: None,
            backtracking: true,
            max_iter: 1000,
            tol: T::c(1e-6),
            gap_every: 1,
            trace: false,
        }
    }

    /// Accelerated projected gradient (FISTA) with backtracking and adaptive restart.
    pub fn apgd() -> Self {
        Self {
            accelerated: true,
            restart: true,
            gap_every: 10,
            ..Self::pgd()
        }
    }

    /// Minimises `f` over `set` (which must implement `project`), starting from `P_C(x0)`.
    pub fn minimize<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, set, x0, None)
    }

    /// As [`minimize`](Self::minimize), with a callback.
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
        let n = x0.len();
        let opts = CoreOptions {
            accelerated: self.accelerated,
            restart: self.restart,
            max_iter: self.max_iter,
            lipschitz: self.lipschitz,
            backtracking: self.backtracking || self.lipschitz.is_none(),
        };
        let mut mon = Monitor::new(self.trace, callback);
        let mut s = Vertex::new();
        let mut gx = vec![T::zero(); n];
        let mut gap = T::infinity();
        let mut extra = 0usize;
        let mut success = false;
        let mut by_callback = false;
        let every = self.gap_every.max(1);
        let mut hook = |it: &fista::CoreIter<'_, T>| -> Result<bool> {
            let want = it.grad_at_x.is_some() || it.iteration.is_multiple_of(every);
            if want {
                let g = match it.grad_at_x {
                    Some(g) => g,
                    None => {
                        f.value_grad(it.x, &mut gx);
                        extra += 1;
                        &gx[..]
                    }
                };
                set.lmo(g, &mut s)?;
                gap = fw_gap(g, it.x, &s);
            }
            if mon.observe(it.iteration, it.x, it.fx, if want { gap } else { T::nan() }) {
                by_callback = true;
                return Ok(true);
            }
            if want && gap <= self.tol {
                success = true;
                return Ok(true);
            }
            Ok(false)
        };
        let out = fista::run(
            f,
            x0,
            &opts,
            &mut |v, _| set.project(v),
            &|_| T::zero(),
            &mut hook,
        )?;
        // Final certificate at the returned point.
        f.value_grad(&out.x, &mut gx);
        set.lmo(&gx, &mut s)?;
        gap = fw_gap(&gx, &out.x, &s);
        check_feasible(set, &out.x)?;
        Ok(OptimizeResult {
            f: out.fx,
            iterations: out.iterations,
            certificate: Certificate::FrankWolfeGap(gap),
            success: success || gap <= self.tol,
            message: if success {
                "Frank-Wolfe gap below tolerance".into()
            } else if by_callback {
                "stopped by callback".into()
            } else {
                "maximum iterations reached".into()
            },
            trace: mon.into_trace(),
            grad_evals: out.grad_evals + extra + 1,
            func_evals: out.func_evals,
            x: out.x,
        })
    }
}
