//! Variance-reduced stochastic Frank-Wolfe for finite sums of generalised linear models.

use crate::error::{check_len, check_param, Result};
use crate::problem::FiniteSumGlm;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::rng::SplitMix64;
use crate::sets::{fw_gap, ConstraintSet};
use crate::{linalg, Float, Vertex};

/// The stochastic Frank-Wolfe of Négiar, Dresdner, Tsai, El Ghaoui, Locatello & Pedregosa
/// (2020), "Stochastic Frank-Wolfe for constrained finite-sum minimization", ICML,
/// Algorithm 1 (copt's `minimize_sfw`, variant `"SAG"`), for
/// `min_{w in C} f(w) = (1/n) sum_i phi_i(a_i . w)`.
///
/// It stores one scalar per sample, `alpha_i`, the last computed `phi_i'(a_i . w)`, and the
/// aggregate `r = (1/n) sum_i alpha_i a_i = (1/n) A^T alpha`, a gradient estimate whose error
/// vanishes as the iterates converge (SAG-like variance reduction). Each iteration draws a
/// mini-batch `B` of constant size, refreshes `alpha_i` for `i in B` and updates `r`
/// incrementally in `O(|B| d)`, calls `s = LMO(r)` and moves `w <- (1 - gamma_t) w + gamma_t s`
/// with `gamma_t = 2 / (t + 2)`, `t` counting iterations over all epochs: no step size to tune.
/// As in copt, `alpha` starts at zero; batches of size 1 are drawn with replacement, larger
/// ones by reshuffling each epoch.
///
/// Implementation: `w` is stored as `c v` so that the FW update costs `O(nnz(s))` (scale `c`,
/// add `gamma / c` times `s` to `v`) — with sparse vertices (L1 ball) an iteration with
/// `|B| = 1` costs one dot product, one `axpy` and the LMO.
///
/// Certificate: the exact Frank-Wolfe gap at the final point (one full pass over the data)
/// when `final_certificate` is set, else [`Certificate::None`] and `f = NaN`.
#[derive(Debug, Clone, PartialEq)]
pub struct NegiarSfw {
    /// Passes over the data.
    pub epochs: usize,
    /// Mini-batch size (constant).
    pub batch_size: usize,
    /// Seed of the sampling.
    pub seed: u64,
    /// Compute `f` and the FW gap at the end (one full pass).
    pub final_certificate: bool,
    /// Record `f` and the FW gap after each epoch (one full pass each; for plots only).
    pub trace: bool,
}

impl Default for NegiarSfw {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 1,
            seed: 0,
            final_certificate: true,
            trace: false,
        }
    }
}

/// `f(w)` and `grad f(w)` by one pass.
fn full_value_grad<T: Float, P: FiniteSumGlm<T>>(p: &P, w: &[T], g: &mut [T]) -> T {
    let n = p.n_samples();
    let inv = T::one() / T::from_usize(n);
    g.iter_mut().for_each(|v| *v = T::zero());
    let mut f = T::zero();
    for i in 0..n {
        let a = p.row(i);
        let z = linalg::dot(a, w);
        f += p.loss(i, z);
        linalg::axpy(p.deriv(i, z) * inv, a, g);
    }
    f * inv
}

impl NegiarSfw {
    /// Minimises the finite sum `p` over `set` from the feasible point `w0`.
    pub fn minimize<T: Float, P: FiniteSumGlm<T>, S: ConstraintSet<T>>(
        &self,
        p: &P,
        set: &S,
        w0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(p, set, w0, None)
    }

    /// As [`minimize`](Self::minimize), calling `callback` after every epoch (with `f` and the
    /// FW gap only when `trace` is set, NaN otherwise).
    pub fn minimize_with<T: Float, P: FiniteSumGlm<T>, S: ConstraintSet<T>>(
        &self,
        p: &P,
        set: &S,
        w0: Vec<T>,
        callback: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(p, set, w0, Some(callback))
    }

    fn run<T: Float, P: FiniteSumGlm<T>, S: ConstraintSet<T>>(
        &self,
        p: &P,
        set: &S,
        w0: Vec<T>,
        callback: Option<Callback<'_, T>>,
    ) -> Result<OptimizeResult<T>> {
        let (n, d) = (p.n_samples(), p.dim());
        check_len("w0", d, w0.len())?;
        check_param(n > 0, "n_samples", "need at least one sample")?;
        check_param(self.batch_size > 0, "batch_size", "must be > 0")?;
        crate::fullbatch::check_feasible_pub(set, &w0)?;
        let b = self.batch_size.min(n);
        let inv_n = T::one() / T::from_usize(n);
        let mut alpha = vec![T::zero(); n];
        let mut r = vec![T::zero(); d];
        // w = c * v.
        let mut v = w0;
        let mut c = T::one();
        let tiny = T::epsilon() * T::epsilon();
        let mut s = Vertex::new();
        let mut rng = SplitMix64::new(self.seed);
        let mut perm: Vec<usize> = (0..n).collect();
        let mut batch: Vec<usize> = Vec::with_capacity(b);
        let mut mon = Monitor::new(self.trace, callback);
        let mut g = vec![T::zero(); d];
        let mut w = vec![T::zero(); d];
        let mut t = 0usize;
        let mut evals = 0usize;
        let mut msg = "all epochs done";
        let mut epoch = 0;
        let iters_per_epoch = n.div_ceil(b);
        while epoch < self.epochs {
            if b > 1 {
                rng.shuffle(&mut perm);
            }
            let mut next = rng.below(n);
            for k in 0..iters_per_epoch {
                batch.clear();
                if b == 1 {
                    batch.push(next);
                    // Draw one sample ahead and start loading its row during this iteration.
                    next = rng.below(n);
                    linalg::prefetch(p.row(next));
                } else {
                    batch.extend_from_slice(&perm[k * b..((k + 1) * b).min(n)]);
                    if let Some(&j) = perm.get((k + 1) * b) {
                        linalg::prefetch(p.row(j));
                    }
                }
                for &i in &batch {
                    let a = p.row(i);
                    let z = c * linalg::dot(a, &v);
                    let new = p.deriv(i, z) * inv_n;
                    let delta = new - alpha[i];
                    alpha[i] = new;
                    if delta != T::zero() {
                        linalg::axpy(delta, a, &mut r);
                    }
                }
                evals += batch.len();
                set.lmo(&r, &mut s)?;
                let gamma = T::c(2.0) / T::from_usize(t + 2);
                if gamma >= T::one() {
                    s.to_dense(&mut v);
                    c = T::one();
                } else {
                    c *= T::one() - gamma;
                    if c < tiny {
                        linalg::scale(c, &mut v);
                        c = T::one();
                    }
                    s.add_scaled_to(gamma / c, &mut v);
                }
                t += 1;
            }
            epoch += 1;
            let (fe, ge) = if self.trace {
                w.iter_mut().zip(&v).for_each(|(wi, &vi)| *wi = c * vi);
                let fv = full_value_grad(p, &w, &mut g);
                set.lmo(&g, &mut s)?;
                (fv, fw_gap(&g, &w, &s))
            } else {
                (T::nan(), T::nan())
            };
            w.iter_mut().zip(&v).for_each(|(wi, &vi)| *wi = c * vi);
            if mon.observe(epoch, &w, fe, ge) {
                msg = "stopped by callback";
                break;
            }
        }
        w.iter_mut().zip(&v).for_each(|(wi, &vi)| *wi = c * vi);
        let (f, cert) = if self.final_certificate {
            let fv = full_value_grad(p, &w, &mut g);
            set.lmo(&g, &mut s)?;
            (fv, Certificate::FrankWolfeGap(fw_gap(&g, &w, &s)))
        } else {
            (T::nan(), Certificate::None)
        };
        Ok(OptimizeResult {
            x: w,
            f,
            iterations: epoch,
            certificate: cert,
            success: true,
            message: msg.into(),
            trace: mon.into_trace(),
            grad_evals: evals,
            func_evals: 0,
        })
    }
}
