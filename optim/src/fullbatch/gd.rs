//! Gradient descent with Armijo backtracking.

use super::{check_finite, check_x0};
use crate::error::Result;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::{linalg, Float, Objective};

/// Gradient descent `x_{k+1} = x_k - alpha_k grad f(x_k)` for smooth unconstrained problems,
/// with `alpha_k` from Armijo backtracking (Armijo 1966): start from twice the previous step,
/// halve until `f(x - alpha g) <= f(x) - c alpha ||g||^2`, `c = 1e-4`. On `L`-smooth convex
/// `f`, `f(x_k) - f* = O(L ||x0 - x*||^2 / k)` (Nesterov 2004, Thm 2.1.14).
///
/// Certificate: `||grad f(x)||_2`; stops when it is `<= tol`.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientDescent<T> {
    /// First trial step.
    pub initial_step: T,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when `||grad f|| <= tol`.
    pub tol: T,
    /// Record a trace.
    pub trace: bool,
}

impl<T: Float> Default for GradientDescent<T> {
    fn default() -> Self {
        Self {
            initial_step: T::one(),
            max_iter: 10_000,
            tol: T::c(1e-6),
            trace: false,
        }
    }
}

impl<T: Float> GradientDescent<T> {
    /// Minimises `f` from `x0`.
    pub fn minimize<O: Objective<T>>(&self, f: &O, x0: Vec<T>) -> Result<OptimizeResult<T>> {
        self.run(f, x0, None)
    }

    /// As [`minimize`](Self::minimize), with a callback.
    pub fn minimize_with<O: Objective<T>>(
        &self,
        f: &O,
        x0: Vec<T>,
        cb: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, x0, Some(cb))
    }

    fn run<O: Objective<T>>(
        &self,
        f: &O,
        x0: Vec<T>,
        cb: Option<Callback<'_, T>>,
    ) -> Result<OptimizeResult<T>> {
        check_x0(f, &x0)?;
        let n = x0.len();
        let mut x = x0;
        let mut g = vec![T::zero(); n];
        let mut fx = f.value_grad(&x, &mut g);
        check_finite(fx, &g)?;
        let (mut gevals, mut fevals) = (1, 0);
        let mut xt = vec![T::zero(); n];
        let mut alpha = self.initial_step;
        let mut mon = Monitor::new(self.trace, cb);
        let mut gn = linalg::norm2(&g);
        let (mut it, mut msg) = (0, "maximum iterations reached");
        while it < self.max_iter {
            if gn <= self.tol {
                msg = "gradient norm below tolerance";
                break;
            }
            alpha *= T::c(2.0);
            let g2 = gn * gn;
            let mut ok = false;
            for _ in 0..100 {
                for i in 0..n {
                    xt[i] = x[i] - alpha * g[i];
                }
                let ft = f.value(&xt);
                fevals += 1;
                if ft <= fx - T::c(1e-4) * alpha * g2 {
                    ok = true;
                    break;
                }
                alpha *= T::c(0.5);
            }
            if !ok {
                msg = "line search failed (numerical precision reached)";
                break;
            }
            core::mem::swap(&mut x, &mut xt);
            fx = f.value_grad(&x, &mut g);
            gevals += 1;
            check_finite(fx, &g)?;
            gn = linalg::norm2(&g);
            it += 1;
            if mon.observe(it, &x, fx, gn) {
                msg = "stopped by callback";
                break;
            }
        }
        Ok(OptimizeResult {
            x,
            f: fx,
            iterations: it,
            certificate: Certificate::GradientNorm(gn),
            success: gn <= self.tol,
            message: msg.into(),
            trace: mon.into_trace(),
            grad_evals: gevals,
            func_evals: fevals,
        })
    }
}
