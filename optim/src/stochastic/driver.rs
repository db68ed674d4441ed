//! An epoch loop for per-step stochastic optimisers.

use super::StochasticStep;
use crate::error::{check_len, check_param, Result};
use crate::problem::StochasticObjective;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::rng::SplitMix64;
use crate::Float;

/// Options of [`minimize`].
#[derive(Debug, Clone, PartialEq)]
pub struct EpochOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Record `(running mean of mini-batch losses)` per epoch.
    pub trace: bool,
}

impl Default for EpochOptions {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            seed: 0,
            trace: false,
        }
    }
}

/// Runs `opt` for `opts.epochs` passes over `f`'s samples, reshuffled each epoch (sampling
/// without replacement), one [`StochasticStep::step`] per mini-batch. The callback is called
/// once per epoch with the running mean of the mini-batch losses of that epoch.
///
/// The result's `f` is that running mean for the last epoch (no full pass is made), its
/// certificate is [`Certificate::None`], `iterations` counts epochs and `grad_evals` per-sample
/// gradients.
pub fn minimize<T: Float, P: StochasticObjective<T>, O: StochasticStep<T>>(
    f: &P,
    opt: &mut O,
    x0: Vec<T>,
    opts: &EpochOptions,
    callback: Option<Callback<'_, T>>,
) -> Result<OptimizeResult<T>> {
    check_len("x0", f.dim(), x0.len())?;
    check_param(opts.batch_size > 0, "batch_size", "must be > 0")?;
    check_param(f.n_samples() > 0, "n_samples", "need at least one sample")?;
    let n = f.n_samples();
    let mut x = x0;
    let mut g = vec![T::zero(); x.len()];
    let mut perm: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(opts.seed);
    let mut mon = Monitor::new(opts.trace, callback);
    let mut last = T::nan();
    let mut evals = 0;
    let mut msg = "all epochs done";
    let mut epoch = 0;
    while epoch < opts.epochs {
        rng.shuffle(&mut perm);
        let mut acc = T::zero();
        for batch in perm.chunks(opts.batch_size) {
            let v = f.batch_value_grad(&x, batch, &mut g);
            if !v.is_finite() || !crate::linalg::all_finite(&g) {
                return Err(crate::OptimError::NotFinite {
                    what: "mini-batch loss or gradient",
                });
            }
            acc += v * T::from_usize(batch.len());
            evals += batch.len();
            opt.step(&mut x, &g)?;
        }
        last = acc / T::from_usize(n);
        epoch += 1;
        if mon.observe(epoch, &x, last, T::nan()) {
            msg = "stopped by callback";
            break;
        }
    }
    Ok(OptimizeResult {
        x,
        f: last,
        iterations: epoch,
        certificate: Certificate::None,
        success: true,
        message: msg.into(),
        trace: mon.into_trace(),
        grad_evals: evals,
        func_evals: 0,
    })
}
