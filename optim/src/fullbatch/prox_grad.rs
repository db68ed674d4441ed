//! Proximal gradient (ISTA) and its accelerated version (FISTA) for `min f(x) + h(x)`.

use super::check_x0;
use super::fista::{self, CoreOptions};
use crate::error::Result;
use crate::prox::Penalty;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::{Float, Objective};

/// Proximal gradient for composite problems `min_x f(x) + h(x)`, `f` smooth and `h` with a
/// proximal operator: `x_{k+1} = prox_{h/L}(y_k - grad f(y_k)/L)` (Combettes & Wajs 2005;
/// accelerated: Beck & Teboulle 2009), with backtracking on `L` and adaptive restart.
///
/// Certificate: the gradient-mapping norm `L ||x_{k+1} - y_k||`, which vanishes exactly at
/// minimisers (Nesterov 2013, "Gradient methods for minimizing composite functions"); the
/// method stops when it is `<= tol`. The reported `f` is `f(x) + h(x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProximalGradient<T> {
    /// FISTA momentum.
    pub accelerated: bool,
    /// Adaptive restart (accelerated only).
    pub restart: bool,
    /// Initial Lipschitz constant (`None`: probe).
    pub lipschitz: Option<T>,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when the gradient-mapping norm is `<= tol`.
    pub tol: T,
    /// Record a trace.
    pub trace: bool,
}

impl<T: Float> Default for ProximalGradient<T> {
    fn default() -> Self {
        Self {
            accelerated: true,
            restart: true,
            lipschitz: None,
            max_iter: 1000,
            tol: T::c(1e-6),
            trace: false,
        }
    }
}

impl<T: Float> ProximalGradient<T> {
    /// Minimises `f + h` from `x0`.
    pub fn minimize<O: Objective<T>, P: Penalty<T>>(
        &self,
        f: &O,
        h: &P,
        x0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, h, x0, None)
    }

    /// As [`minimize`](Self::minimize), with a callback.
    pub fn minimize_with<O: Objective<T>, P: Penalty<T>>(
        &self,
        f: &O,
        h: &P,
        x0: Vec<T>,
        callback: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, h, x0, Some(callback))
    }

    fn run<O: Objective<T>, P: Penalty<T>>(
        &self,
        f: &O,
        h: &P,
        x0: Vec<T>,
        callback: Option<Callback<'_, T>>,
    ) -> Result<OptimizeResult<T>> {
        check_x0(f, &x0)?;
        let opts = CoreOptions {
            accelerated: self.accelerated,
            restart: self.restart,
            max_iter: self.max_iter,
            lipschitz: self.lipschitz,
            backtracking: true,
        };
        let mut mon = Monitor::new(self.trace, callback);
        let mut cert = T::infinity();
        let mut success = false;
        let mut by_cb = false;
        let mut hook = |it: &fista::CoreIter<'_, T>| -> Result<bool> {
            cert = it.grad_map;
            if mon.observe(it.iteration, it.x, it.fx + h.value(it.x), cert) {
                by_cb = true;
                return Ok(true);
            }
            if cert <= self.tol {
                success = true;
                return Ok(true);
            }
            Ok(false)
        };
        let mut prox = |v: &mut [T], t: T| h.prox(v, t);
        let out = fista::run(f, x0, &opts, &mut prox, &|x| h.value(x), &mut hook)?;
        Ok(OptimizeResult {
            f: out.fx + h.value(&out.x),
            iterations: out.iterations,
            certificate: Certificate::GradientMapping(cert),
            success,
            message: if success {
                "gradient mapping below tolerance".into()
            } else if by_cb {
                "stopped by callback".into()
            } else {
                "maximum iterations reached".into()
            },
            trace: mon.into_trace(),
            grad_evals: out.grad_evals,
            func_evals: out.func_evals,
            x: out.x,
        })
    }
}
