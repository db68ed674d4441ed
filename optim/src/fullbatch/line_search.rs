//! The adaptive (backtracking) step size of Pedregosa, Négiar, Askari & Jaggi (2020),
//! "Linearly convergent Frank-Wolfe with backtracking line-search", AISTATS, Algorithm 2.

use crate::{Float, Objective};

/// Working buffers and state of the backtracking step-size search.
pub(crate) struct Backtracking<T> {
    /// Current local Lipschitz estimate `L_t`.
    pub lipschitz: T,
    /// Trial point.
    pub xt: Vec<T>,
    /// Gradient at the trial point.
    pub gt: Vec<T>,
}

impl<T: Float> Backtracking<T> {
    pub(crate) fn new(lipschitz: T, n: usize) -> Self {
        Self {
            lipschitz,
            xt: vec![T::zero(); n],
            gt: vec![T::zero(); n],
        }
    }

    /// Local Lipschitz estimate along `d` from a tiny probe step (as in copt):
    /// `||grad f(x + eps d) - grad f(x)|| / (eps ||d||)`.
    pub(crate) fn estimate<O: Objective<T>>(
        f: &O,
        x: &[T],
        g: &[T],
        d: &[T],
        evals: &mut usize,
    ) -> T {
        let eps = T::c(1e-3);
        let xt: Vec<T> = x.iter().zip(d).map(|(&a, &b)| a + eps * b).collect();
        let mut gt = vec![T::zero(); x.len()];
        f.value_grad(&xt, &mut gt);
        *evals += 1;
        let num = crate::linalg::dist2_sq(&gt, g).sqrt();
        let den = eps * crate::linalg::norm2(d);
        let l = num / den;
        if l.is_finite() && l > T::zero() {
            l
        } else {
            T::one()
        }
    }

    /// Finds `gamma in (0, gamma_max]` with sufficient decrease
    /// `f(x + gamma d) <= f(x) - gamma c + gamma^2 L ||d||^2 / 2` where `c = -<grad f(x), d>`
    /// is the (positive) directional certificate, starting from `gamma = c / (L ||d||^2)` and
    /// doubling `L` on failure. Before searching, `L` is lowered to
    /// `max(min(c^2 / (2 (f_prev - f) ||d||^2), L), eta L)` with `eta = 0.9` (the "decrease"
    /// heuristic of the paper and of copt), so the estimate can adapt to flatter regions.
    ///
    /// On return `xt`, `gt` hold the accepted point and its gradient; returns `(gamma, f(xt))`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step<O: Objective<T>>(
        &mut self,
        f: &O,
        x: &[T],
        fx: T,
        f_prev: Option<T>,
        d: &[T],
        cert: T,
        dnorm2: T,
        gamma_max: T,
        evals: &mut usize,
    ) -> (T, T) {
        let two = T::c(2.0);
        if let Some(fp) = f_prev {
            let dec = fp - fx;
            if dec > T::zero() {
                let tmp = cert * cert / (two * dec * dnorm2);
                self.lipschitz = tmp.min(self.lipschitz).max(self.lipschitz * T::c(0.9));
            }
        }
        let mut gamma = gamma_max;
        let mut ft = fx;
        for _ in 0..100 {
            gamma = (cert / (dnorm2 * self.lipschitz)).min(gamma_max);
            let rhs = -gamma * cert + gamma * gamma * self.lipschitz * dnorm2 / two;
            for ((t, &a), &b) in self.xt.iter_mut().zip(x).zip(d) {
                *t = a + gamma * b;
            }
            ft = f.value_grad(&self.xt, &mut self.gt);
            *evals += 1;
            // Tolerate rounding: relative slack of a few ulps of f.
            if ft - fx <= rhs + T::epsilon() * T::c(4.0) * fx.abs() {
                break;
            }
            self.lipschitz *= two;
        }
        (gamma, ft)
    }
}
