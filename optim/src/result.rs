//! The result of every solver, its certificate, and the callback protocol.

use crate::Float;
use std::time::Instant;

/// A computable measure of non-optimality returned with every result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Certificate<T> {
    /// Frank-Wolfe gap `max_{s in C} <grad f(x), x - s>`: an upper bound on `f(x) - min_C f`
    /// for convex `f` and feasible `x` (Jaggi 2013).
    FrankWolfeGap(T),
    /// Norm of the gradient mapping `L ||x - prox_{h/L}(x - grad f(x)/L)||` (composite /
    /// projected problems; zero exactly at minimisers; Nesterov 2013).
    GradientMapping(T),
    /// Euclidean norm of the gradient (smooth unconstrained problems).
    GradientNorm(T),
    /// No certificate (e.g. stochastic methods without a full gradient).
    None,
}

impl<T: Float> Certificate<T> {
    /// The numeric value, if any.
    pub fn value(&self) -> Option<T> {
        match *self {
            Certificate::FrankWolfeGap(v)
            | Certificate::GradientMapping(v)
            | Certificate::GradientNorm(v) => Some(v),
            Certificate::None => None,
        }
    }
}

/// One line of an optional optimisation trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceEntry<T> {
    /// Iteration (or epoch, for stochastic methods).
    pub iteration: usize,
    /// Objective value (full-batch), or running mini-batch average (stochastic).
    pub f: T,
    /// Certificate value at that point (NaN if none).
    pub certificate: T,
    /// Seconds since the start of the solve.
    pub seconds: f64,
}

/// What a solver returns.
#[derive(Debug, Clone)]
pub struct OptimizeResult<T> {
    /// The final iterate.
    pub x: Vec<T>,
    /// Objective value at `x`.
    pub f: T,
    /// Iterations performed (epochs for epoch-based stochastic methods).
    pub iterations: usize,
    /// Convergence certificate at `x`.
    pub certificate: Certificate<T>,
    /// `true` if the stopping tolerance was met.
    pub success: bool,
    /// Why the solver stopped.
    pub message: String,
    /// Per-iteration trace, when requested.
    pub trace: Option<Vec<TraceEntry<T>>>,
    /// Number of gradient evaluations (full gradients for full-batch methods, per-sample
    /// derivatives for finite-sum methods).
    pub grad_evals: usize,
    /// Number of objective evaluations without gradient.
    pub func_evals: usize,
}

/// Snapshot passed to callbacks after every iteration.
#[derive(Debug)]
pub struct IterInfo<'a, T> {
    /// Iteration (or epoch) number, starting at 1.
    pub iteration: usize,
    /// Current iterate.
    pub x: &'a [T],
    /// Objective value (or running estimate).
    pub f: T,
    /// Certificate value (NaN if none or not computed this iteration). For Frank-Wolfe
    /// methods it is the gap computed at the start of the iteration, i.e. at the previous
    /// iterate (the direction-finding step computes it for free).
    pub certificate: T,
}

/// A callback's answer: keep going or stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Continue iterating.
    Continue,
    /// Stop now; the result reports `message = "stopped by callback"`.
    Stop,
}

/// A callback: called after each iteration; returns whether to continue.
pub type Callback<'c, T> = &'c mut dyn FnMut(&IterInfo<'_, T>) -> Control;

/// Trace recording and callback dispatch shared by the solvers.
pub(crate) struct Monitor<'c, T> {
    trace: Option<Vec<TraceEntry<T>>>,
    callback: Option<Callback<'c, T>>,
    start: Instant,
}

impl<'c, T: Float> Monitor<'c, T> {
    pub(crate) fn new(trace: bool, callback: Option<Callback<'c, T>>) -> Self {
        Self {
            trace: if trace { Some(Vec::new()) } else { None },
            callback,
            start: Instant::now(),
        }
    }

    /// Records the iteration; returns `true` if the callback asked to stop.
    pub(crate) fn observe(&mut self, iteration: usize, x: &[T], f: T, certificate: T) -> bool {
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEntry {
                iteration,
                f,
                certificate,
                seconds: self.start.elapsed().as_secs_f64(),
            });
        }
        if let Some(cb) = self.callback.as_mut() {
            return cb(&IterInfo {
                iteration,
                x,
                f,
                certificate,
            }) == Control::Stop;
        }
        false
    }

    pub(crate) fn into_trace(self) -> Option<Vec<TraceEntry<T>>> {
        self.trace
    }
}
