//! Problems are described by traits, not closures over global state.
//!
//! * [`Objective`]: a differentiable `f: R^n -> R` (full-batch methods).
//! * [`StochasticObjective`]: `f(x) = (1/N) sum_i f_i(x)` with mini-batch gradients
//!   (SGD, Adam, stochastic Frank-Wolfe with momentum, stochastic projected gradient).
//! * [`FiniteSumGlm`]: a finite sum of generalised linear models
//!   `f(w) = (1/N) sum_i phi_i(a_i . w)`, accessed one sample at a time through `phi_i'`
//!   (the variance-reduced stochastic Frank-Wolfe of Négiar et al. 2020).

use crate::Float;

/// A differentiable objective `f: R^n -> R`.
pub trait Objective<T: Float> {
    /// Dimension `n` of the variable.
    fn dim(&self) -> usize;
    /// `f(x)`.
    fn value(&self, x: &[T]) -> T;
    /// Writes `grad f(x)` into `grad` (length `n`) and returns `f(x)`.
    fn value_grad(&self, x: &[T], grad: &mut [T]) -> T;
}

impl<T: Float, O: Objective<T> + ?Sized> Objective<T> for &O {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, x: &[T]) -> T {
        (**self).value(x)
    }
    fn value_grad(&self, x: &[T], grad: &mut [T]) -> T {
        (**self).value_grad(x, grad)
    }
}

/// A finite-sum objective `f(x) = (1/N) sum_{i<N} f_i(x)` accessed through mini-batches.
pub trait StochasticObjective<T: Float> {
    /// Dimension `n` of the variable.
    fn dim(&self) -> usize;
    /// Number of samples `N`.
    fn n_samples(&self) -> usize;
    /// Writes the gradient of `(1/|B|) sum_{i in B} f_i` at `x` into `grad` and returns that
    /// mini-batch average value.
    fn batch_value_grad(&self, x: &[T], batch: &[usize], grad: &mut [T]) -> T;
}

/// A finite sum of generalised linear models, `f(w) = (1/N) sum_i phi_i(a_i . w)`, with each
/// `phi_i` convex and differentiable.
///
/// The structure lets a method store a *single scalar* per sample (the last seen
/// `phi_i'(a_i . w)`) instead of a gradient vector: the gradient is `(1/N) A^T alpha`.
pub trait FiniteSumGlm<T: Float> {
    /// Number of samples `N`.
    fn n_samples(&self) -> usize;
    /// Dimension `d` of `w`.
    fn dim(&self) -> usize;
    /// The data row `a_i` (length `d`).
    fn row(&self, i: usize) -> &[T];
    /// `phi_i(z)`.
    fn loss(&self, i: usize, z: T) -> T;
    /// `phi_i'(z)`.
    fn deriv(&self, i: usize, z: T) -> T;
}
