//! The training recipe behind `wolfpack compress`: from all-zero weights to a sparse implicit model within a budget
//! of stored weights.
//!
//! 1. **Frank-Wolfe start.** Stochastic Frank-Wolfe with momentum ([`step::frank_wolfe`]) from `θ = 0`: `A` in the
//!    row-wise L1 ball of radius `kappa < 1` (every iterate is well-posed), `B`, `C`, `D` in K-sparse polytopes whose
//!    radii come from the scale of a default initialisation ([`step::FwSets::from_init`]); the random choice among
//!    tied vertices at `θ = 0` breaks the symmetry between hidden units.
//!    By default every input feature is standardised while training ([`standardise`]; folded exactly into the stored
//!    first layer) and the Adam steps carry decoupled weight decay.
//! 2. **Training with gradual support selection.** Either more Frank-Wolfe steps or Adam steps followed by the
//!    projection of `A` onto its ball ([`Method`]); meanwhile, when a budget is set, the support shrinks on Zhu &
//!    Gupta's cubic schedule by exact global magnitude ranking ([`support`]) until it holds `max_nnz` entries.
//!    Optionally the model at the start of selection serves as a dense teacher (distillation, Hinton et al. 2015).
//! 3. **Fine-tuning restricted to the kept support**, same update rule.
//! 4. **Quantisation** of the final weights ([`quant`]) and evaluation of the stored model.
//!
//! [`compress`] runs it, reporting each epoch and handing out a [`Checkpoint`] from which it can resume exactly.

pub mod augment;
pub mod lmo;
pub mod project;
pub mod quant;
pub mod saliency;
pub mod standardise;
pub mod step;
pub mod support;

pub use quant::Quant;

use crate::data::{Dataset, Preprocess};
use crate::model::{loss, InputGrad, Params, SolveOptions, Which};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use standardise::Standardise;
use std::time::Instant;
use step::{FwSets, OptState};
use support::Support;

/// The update rule after the Frank-Wolfe start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Adam, then the projection of `A`'s rows onto the L1 ball of radius `kappa`.
    Adam,
    /// Stochastic Frank-Wolfe with momentum throughout.
    FrankWolfe,
}

/// Distillation from the dense model reached when support selection starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distill {
    /// Weight of the teacher's soft targets in the loss (the labels get `1 - weight`).
    pub weight: f32,
    /// Softmax temperature of the soft targets.
    pub temperature: f32,
}

/// Every setting of a run. [`CompressConfig::default`] is what `wolfpack compress` uses; only `max_nnz`, `hidden`,
/// `epochs` and `seed` are meant for users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressConfig {
    /// Hidden states `n`.
    pub hidden: usize,
    /// Budget of stored weights of `A`, `B`, `C`, `D` together (`None`: no selection).
    pub max_nnz: Option<usize>,
    /// Training epochs in all.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Seed of every random choice (shuffling, tie-breaking).
    pub seed: u64,
    /// Row-wise L1 radius of `A`: the contraction factor, below 1.
    pub kappa: f32,
    /// Whether `A` may be nonzero (`false` gives a feed-forward model).
    pub use_a: bool,
    /// Update rule after the Frank-Wolfe start.
    pub method: Method,
    /// Learning rate of the update rule (peak of a cosine schedule).
    pub lr: f32,
    /// Epochs (fractions allowed) of Frank-Wolfe from zero before `method` takes over.
    pub fw_epochs: f32,
    /// Frank-Wolfe step scale of the gradient-rescaled step.
    pub fw_lr: f32,
    /// Frank-Wolfe momentum `rho`.
    pub fw_momentum: f32,
    /// Width factor of the K-sparse polytopes' radii relative to a default initialisation.
    pub fw_width: f32,
    /// `K` of the K-sparse polytopes as a fraction of each matrix's entries.
    pub fw_k_frac: f32,
    /// After the Frank-Wolfe start, shrink every matrix's support to the entries its vertices touched: Frank-Wolfe
    /// proposes the candidate connections, and the later (denser) update rule trains only those. Default on:
    /// measured at 10,000 weights it matched the full support's accuracy (89.0%) while keeping `A` and `B` sparse
    /// enough for the sparse kernels from the first Adam step.
    pub fw_support: bool,
    /// Share of each matrix's support exchanged by a drop/add step ([`Support::swap`]) every quarter epoch of
    /// fine-tuning, decaying to zero (cosine) at 90% of training; 0 turns it off.
    pub swap_frac: f32,
    /// Shares of the budget for `A`, `B`, `C`, `D` (selection within each matrix); `None` ranks all entries together
    /// by magnitude. Default `[0.02, 0.83, 0.15, 0]`: the first/second-layer split of the pruning anchor (85/15)
    /// with 2% of the budget for `A`. Measured at 10,000 weights on Fashion-MNIST: 89.0% against 88.6% with global
    /// ranking, which left `C` about 420 weights and so cut many hidden units off from the output.
    pub shares: Option<[f32; 4]>,
    /// Support selection runs from this fraction of training...
    pub select_from: f32,
    /// ...to this one; afterwards the support is fixed.
    pub select_to: f32,
    /// Optional distillation from the dense model at the start of selection.
    pub distill: Option<Distill>,
    /// Value type of the stored weights.
    pub quant: Quant,
    /// Fixed-point solves during training.
    pub train_solve: SolveOptions,
    /// Fixed-point solves when evaluating.
    pub eval_solve: SolveOptions,
    /// Adversarial or interval-bound (certified) training ([`crate::robust::train`]); `None`: plain training.
    #[serde(default)]
    pub robust: Option<crate::robust::train::RobustTraining>,
    /// Label smoothing `eps` ([`loss::smooth_labels`]); 0 trains on the hard labels.
    #[serde(default)]
    pub label_smoothing: f32,
    /// Decoupled weight decay of the Adam steps ([`step::adam`]); 0 turns it off. Default 0.1, with standardised
    /// inputs: standardisation lets the sparse model fit the training set far better (Fashion-MNIST, 10,000 weights:
    /// 96% train accuracy against 93%), and the decay turns that into test accuracy (3 seeds: 89.68% against 89.20%
    /// for neither; docs/BENCHMARKS.md, "Issue 5: session 3"). A checkpoint without the field means 0 (it was trained
    /// before the default changed).
    #[serde(default)]
    pub weight_decay: f32,
    /// Largest random translation, in pixels along each axis, of the training images ([`augment`]); 0 turns it off.
    /// Needs square images (`p` a perfect square).
    #[serde(default)]
    pub shift: usize,
    /// Score ranking the entries during per-matrix support selection ([`saliency`]).
    #[serde(default)]
    pub saliency: saliency::Saliency,
    /// Learning-rate rewinding for fine-tuning (Renda, Frankle, Carbin 2020, "Comparing rewinding and fine-tuning in
    /// neural network pruning"): when selection ends, the cosine schedule restarts from `restart_lr` times the peak
    /// learning rate and decays to zero at the end of training; 0 keeps the single cosine decay.
    #[serde(default)]
    pub restart_lr: f32,
    /// Stochastic weight averaging (Izmailov et al. 2018, "Averaging weights leads to wider optima"): the returned
    /// model is the uniform average of the iterates after every step from this fraction of training on (with the
    /// final support applied); `None` returns the last iterate. The average of models whose `A` rows lie in the L1
    /// ball lies in it too (the ball is convex), so the averaged model stays well-posed.
    #[serde(default)]
    pub average_from: Option<f32>,
    /// Restrict `A` to its strictly lower triangle ([`Support::full_with`]): the hidden units form a directed acyclic
    /// graph, the model is a sparse deep feed-forward network, and one sweep in index order solves it exactly (the
    /// runtime's triangular solve), instead of about 17 Gauss-Seidel sweeps with a general `A` at kappa 0.5.
    #[serde(default)]
    pub triangular_a: bool,
    /// Train on per-feature standardised inputs ([`standardise`]), folded exactly into `B`, `b`, `D`, `c` when the
    /// model is returned: the stored model reads the same inputs and holds the same number of weights, but magnitude
    /// selection ranks `B`'s entries by their effect per standard deviation of the input. The value is the floor of
    /// the standard deviations as a fraction of their mean ([`Standardise::fit`]); `None` trains on the inputs as
    /// they are. Robust training ignores it: its threat radius and input box are in raw-input units. Default
    /// `Some(0.1)`.
    #[serde(default)]
    pub standardise: Option<f32>,
}

impl Default for CompressConfig {
    fn default() -> CompressConfig {
        CompressConfig {
            hidden: 256,
            max_nnz: Some(10_000),
            epochs: 30,
            batch: 128,
            seed: 0,
            kappa: 0.5,
            use_a: true,
            method: Method::Adam,
            lr: 2e-3,
            fw_epochs: 1.0,
            fw_lr: 0.1,
            fw_momentum: 0.9,
            fw_width: 10.0,
            fw_k_frac: 0.05,
            fw_support: true,
            swap_frac: 0.0,
            shares: Some([0.02, 0.83, 0.15, 0.0]),
            select_from: 0.1,
            select_to: 0.6,
            distill: None,
            quant: Quant::F16,
            train_solve: SolveOptions {
                tol: 1e-4,
                max_iter: 50,
            },
            eval_solve: SolveOptions {
                tol: 1e-5,
                max_iter: 100,
            },
            robust: None,
            label_smoothing: 0.0,
            weight_decay: 0.1,
            shift: 0,
            saliency: saliency::Saliency::Magnitude,
            restart_lr: 0.0,
            average_from: None,
            triangular_a: false,
            standardise: Some(0.1),
        }
    }
}

/// Why training could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The data sets do not fit together or with the checkpoint.
    #[error("data: {0}")]
    Data(String),
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// `frank-wolfe`, `select` or `fine-tune`: what most of the epoch did.
    pub phase: String,
    /// Mean training loss over the epoch's batches.
    pub loss: f32,
    /// Training accuracy over the epoch's batches (as they were seen).
    pub train_accuracy: f64,
    /// Test accuracy at the end of the epoch (f32 weights).
    pub test_accuracy: f64,
    /// Nonzeros of `A`, `B`, `C`, `D` at the end of the epoch.
    pub nnz: [usize; 4],
    /// Largest row L1 norm of `A`.
    pub kappa: f32,
    /// Mean forward fixed-point iterations per batch.
    pub mean_iterations: f64,
    /// Seconds since training started (across resumes).
    pub seconds: f64,
}

/// Everything needed to continue a run exactly where it stopped (after a whole epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The run's settings.
    pub config: CompressConfig,
    /// Epochs completed.
    pub epoch: usize,
    /// The model.
    pub params: Params,
    /// The update rule's state.
    pub opt: OptState,
    /// The current support.
    pub support: Support,
    /// The distillation teacher, once taken.
    pub teacher: Option<Params>,
    /// Per-epoch statistics so far.
    pub history: Vec<EpochStats>,
    /// Training seconds so far.
    pub seconds: f64,
    /// Support sizes of `A`..`D` when selection started (the cubic schedule's starting point).
    pub selection_start: Option<[usize; 4]>,
    /// The running weight average and the number of iterates in it ([`CompressConfig::average_from`]).
    #[serde(default)]
    pub average: Option<(Params, u64)>,
}

/// The trained, quantised model and its measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compressed {
    /// Weights as stored (dequantised from `quant` to f32; zeros are not stored).
    pub params: Params,
    /// The f32 weights before quantisation.
    pub params_f32: Params,
    /// Value type of the stored weights.
    pub quant: Quant,
    /// The row-wise L1 radius `A` was trained in (an upper bound of the stored `A`'s contraction factor).
    pub kappa: f32,
    /// Nonzeros of `A`, `B`, `C`, `D` as stored.
    pub nnz: [usize; 4],
    /// Test accuracy of the f32 weights.
    pub test_accuracy_f32: f64,
    /// Test accuracy of the stored (quantised) weights: the figure to report.
    pub test_accuracy: f64,
    /// Mean fixed-point iterations per test batch of the stored model.
    pub mean_iterations: f64,
    /// Training seconds (wall clock, across resumes).
    pub train_seconds: f64,
    /// Per-epoch statistics.
    pub history: Vec<EpochStats>,
    /// Input preprocessing to store with the model.
    pub preprocess: Preprocess,
    /// Class names.
    pub labels: Vec<String>,
    /// The settings used.
    pub config: CompressConfig,
}

impl CompressConfig {
    fn check(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if let Some(r) = &self.robust {
            r.check().map_err(|e| TrainError::Config(e.to_string()))?;
        }
        if let Some(sh) = self.shares {
            if sh.iter().any(|v| !v.is_finite() || *v < 0.0) || sh.iter().sum::<f32>() <= 0.0 {
                return bad(format!(
                    "budget shares {sh:?} must be non-negative with a positive sum"
                ));
            }
        }
        if self.hidden == 0 || self.batch == 0 || self.epochs == 0 {
            return bad(format!(
                "hidden ({}), batch ({}) and epochs ({}) must be positive",
                self.hidden, self.batch, self.epochs
            ));
        }
        if !(0.0..1.0).contains(&self.kappa) {
            return bad(format!(
                "kappa = {} must lie in [0, 1) for a well-posed model",
                self.kappa
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) || !(0.0..1e3).contains(&self.weight_decay) {
            return bad(format!(
                "label smoothing ({}) must lie in [0, 1) and weight decay ({}) in [0, 1000)",
                self.label_smoothing, self.weight_decay
            ));
        }
        if !(0.0..=1.0).contains(&self.average_from.unwrap_or(0.0))
            || !(0.0..=10.0).contains(&self.restart_lr)
        {
            return bad(format!(
                "average_from ({:?}) must lie in [0, 1] and restart_lr ({}) in [0, 10]",
                self.average_from, self.restart_lr
            ));
        }
        if self.standardise.is_some_and(|f| !(f > 0.0 && f <= 100.0)) {
            return bad(format!(
                "standardisation floor {:?} must lie in (0, 100]",
                self.standardise
            ));
        }
        if self.max_nnz == Some(0) {
            return bad("max_nnz must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.select_from)
            || !(self.select_from..=1.0).contains(&self.select_to)
        {
            return bad(format!(
                "selection window {}..{} must satisfy 0 <= from <= to <= 1",
                self.select_from, self.select_to
            ));
        }
        if !(self.lr > 0.0
            && self.fw_lr > 0.0
            && self.fw_width > 0.0
            && self.fw_k_frac > 0.0
            && self.fw_k_frac <= 1.0)
        {
            return bad(
                "learning rates, width and K fraction must be positive (K fraction at most 1)"
                    .into(),
            );
        }
        if !(0.0..1.0).contains(&self.fw_momentum) {
            return bad(format!(
                "fw_momentum = {} must lie in [0, 1)",
                self.fw_momentum
            ));
        }
        if let Some(d) = self.distill {
            if !(0.0..=1.0).contains(&d.weight) || d.temperature <= 0.0 {
                return bad(
                    "distillation weight must lie in [0, 1] and temperature be positive".into(),
                );
            }
        }
        Ok(())
    }
}

/// Trains a model on `train` per `cfg` (or continues `resume`), calling `progress` after every epoch with its
/// statistics and a checkpoint, and returns the quantised model evaluated on `test`.
pub fn compress(
    train: &Dataset,
    test: &Dataset,
    cfg: &CompressConfig,
    resume: Option<Checkpoint>,
    progress: &mut dyn FnMut(&EpochStats, &Checkpoint),
) -> Result<Compressed, TrainError> {
    cfg.check()?;
    if train.n == 0 || train.p == 0 || train.n_classes < 2 {
        return Err(TrainError::Data(format!(
            "training set has {} examples of {} features in {} classes; need at least one example, one feature and two classes",
            train.n, train.p, train.n_classes
        )));
    }
    if test.p != train.p || test.n_classes > train.n_classes {
        return Err(TrainError::Data(format!(
            "test set ({} features, {} classes) does not match the training set ({} features, {} classes)",
            test.p, test.n_classes, train.p, train.n_classes
        )));
    }
    let (p, h, q) = (train.p, cfg.hidden, train.n_classes);
    let side = match (cfg.shift, augment::square_side(p)) {
        (0, _) => 0,
        (_, Some(s)) => s,
        (_, None) => {
            return Err(TrainError::Data(format!(
                "shift augmentation needs square images, but examples have {p} features"
            )))
        }
    };
    let mut ck = match resume {
        Some(ck) => {
            if (ck.params.p, ck.params.h, ck.params.q) != (p, h, q) || ck.config != *cfg {
                return Err(TrainError::Data(
                    "the checkpoint was made with other data or settings (one made before input standardisation and weight decay became the defaults resumes with `--standardise off --weight-decay 0`)".into(),
                ));
            }
            ck
        }
        None => {
            let params = Params::zeros(p, h, q);
            Checkpoint {
                config: cfg.clone(),
                epoch: 0,
                opt: OptState::new(&params),
                support: Support::full_with(&params, cfg.use_a, cfg.triangular_a),
                params,
                teacher: None,
                history: Vec::new(),
                seconds: 0.0,
                selection_start: None,
                average: None,
            }
        }
    };

    let standardise = cfg
        .standardise
        .filter(|_| cfg.robust.is_none())
        .map(|floor| Standardise::fit(train, floor));
    // The model on raw inputs: the one evaluated and stored.
    let on_raw = |params: &Params| match &standardise {
        Some(st) => st.fold(params),
        None => params.clone(),
    };
    let sets = FwSets::from_init(&ck.params, cfg.kappa, cfg.fw_width, cfg.fw_k_frac);
    let steps_per_epoch = train.n.div_ceil(cfg.batch);
    let total_steps = (cfg.epochs * steps_per_epoch) as f64;
    let fw_steps = (f64::from(cfg.fw_epochs) * steps_per_epoch as f64).round() as usize;
    let sel_from = (f64::from(cfg.select_from) * total_steps).round() as usize;
    let sel_to = (f64::from(cfg.select_to) * total_steps).round() as usize;
    // Select about 10 times per epoch: often enough to be gradual, rarely enough to be cheap.
    let sel_every = (steps_per_epoch / 10).max(1);
    let mut ubuf = vec![0.0f32; cfg.batch * p];
    let mut grad_y = vec![0.0f32; cfg.batch * q];
    while ck.epoch < cfg.epochs {
        let t0 = Instant::now();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            cfg.seed ^ (ck.epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut order: Vec<usize> = (0..train.n).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut right, mut iters, mut phase_counts) =
            (0.0f64, 0usize, 0usize, [0usize; 3]);
        for (bi, chunk) in order.chunks(cfg.batch).enumerate() {
            let step = ck.epoch * steps_per_epoch + bi;
            let m = chunk.len();
            for (r, &i) in chunk.iter().enumerate() {
                let dst = &mut ubuf[r * p..(r + 1) * p];
                if side > 0 {
                    augment::random_shift(train.row(i), dst, side, cfg.shift, &mut rng);
                } else {
                    dst.copy_from_slice(train.row(i));
                }
            }
            if let Some(st) = &standardise {
                st.apply(&mut ubuf[..m * p]);
            }
            let labels: Vec<u32> = chunk.iter().map(|&i| train.y[i]).collect();
            let progress = step as f64 / total_steps;
            if let Some(r) = &cfg.robust {
                let (params, solve) = (&ck.params, cfg.train_solve);
                r.perturb_batch(
                    params,
                    &mut ubuf[..m * p],
                    &labels,
                    progress,
                    solve,
                    &mut rng,
                )
                .map_err(|e| TrainError::Config(e.to_string()))?;
            }
            let u = &ubuf[..m * p];
            let fwd = ck.params.forward(u, m, &cfg.train_solve);
            iters += fwd.iterations;
            right += fwd
                .y
                .chunks(q)
                .zip(&labels)
                .filter(|(y, &t)| loss::argmax(y) == t)
                .count();
            let soft = match (&ck.teacher, cfg.distill) {
                (Some(t), Some(d)) => {
                    let ty = t.forward(u, m, &cfg.train_solve).y;
                    let mut s = vec![0.0f32; m * q];
                    loss::softmax(&ty, q, d.temperature, &mut s);
                    Some((s, d))
                }
                _ => None,
            };
            let g = &mut grad_y[..m * q];
            let l = loss::cross_entropy(
                &fwd.y,
                q,
                &labels,
                soft.as_ref()
                    .map(|(s, d)| (&s[..], d.weight, d.temperature)),
                g,
            );
            if cfg.label_smoothing > 0.0 {
                loss::smooth_labels(g, q, &labels, cfg.label_smoothing);
            }
            loss_sum += f64::from(l);
            let swap_end = (0.9 * total_steps) as usize;
            let swap = cfg.swap_frac > 0.0
                && cfg.max_nnz.is_some()
                && step >= sel_to
                && step < swap_end
                && (step - sel_to).is_multiple_of((steps_per_epoch / 4).max(1));
            // A drop/add step needs the gradient outside the support too: one dense backward.
            let masks = (!swap).then_some(&ck.support.masks);
            let mut bw = ck
                .params
                .backward_on(&fwd, u, g, &cfg.train_solve, InputGrad::No, masks);
            if let Some(r) = &cfg.robust {
                r.certified_grad(
                    &ck.params,
                    u,
                    &labels,
                    progress,
                    &cfg.train_solve,
                    masks,
                    &mut bw.grads,
                );
            }
            if swap {
                let progress = (step - sel_to) as f64 / (swap_end - sel_to).max(1) as f64;
                let frac =
                    cfg.swap_frac * (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32;
                let bound = Support::full_with(&ck.params, cfg.use_a, cfg.triangular_a);
                for (wi, i) in ck.support.swap(&mut ck.params, &bw.grads, frac, &bound) {
                    let w = Which::ALL[wi];
                    ck.opt.first.mat_mut(w)[i] = 0.0;
                    ck.opt.second.mat_mut(w)[i] = 0.0;
                }
            }
            if step == fw_steps && cfg.method == Method::Adam {
                // Frank-Wolfe's momentum is no Adam moment: start Adam's estimates afresh.
                ck.opt = OptState::new(&ck.params);
            }
            if step == fw_steps && cfg.fw_support && fw_steps > 0 {
                // A matrix keeps its full support when Frank-Wolfe touched fewer than twice its final budget
                // (short Frank-Wolfe starts on small data): selection needs candidates to choose from.
                let nnz = Which::ALL.map(|w| ck.params.nnz(w));
                let full = Support::full_with(&ck.params, cfg.use_a, cfg.triangular_a).sizes();
                let restrict = match (cfg.shares, cfg.max_nnz) {
                    (Some(sh), Some(b)) => {
                        let want = support::share_targets(sh, b, full);
                        [0, 1, 2, 3].map(|i| nnz[i] >= 2 * want[i])
                    }
                    (None, Some(b)) => [nnz.iter().sum::<usize>() >= 2 * b; 4],
                    (_, None) => [true; 4],
                };
                for w in Which::ALL.into_iter().filter(|&w| restrict[w as usize]) {
                    let vals = ck.params.mat(w).to_vec();
                    ck.support.masks[w as usize]
                        .iter_mut()
                        .zip(vals)
                        .for_each(|(m, v)| *m &= v != 0.0);
                }
            }
            if step < fw_steps {
                phase_counts[0] += 1;
                step::frank_wolfe(
                    &mut ck.params,
                    &bw.grads,
                    &mut ck.opt,
                    cfg.fw_lr,
                    cfg.fw_momentum,
                    cfg.lr,
                    &sets,
                    &ck.support,
                    &mut rng,
                );
            } else {
                phase_counts[if step < sel_to && cfg.max_nnz.is_some() {
                    1
                } else {
                    2
                }] += 1;
                // Cosine decay from the end of the Frank-Wolfe start to the end of training, or restarted when
                // selection ends.
                let (from, peak) =
                    if cfg.restart_lr > 0.0 && cfg.max_nnz.is_some() && step >= sel_to {
                        (sel_to.max(fw_steps), cfg.lr * cfg.restart_lr)
                    } else {
                        (fw_steps, cfg.lr)
                    };
                let frac = (step - from) as f64 / (total_steps - from as f64).max(1.0);
                let lr = peak * (0.5 * (1.0 + (std::f64::consts::PI * frac).cos())) as f32;
                match cfg.method {
                    Method::Adam => step::adam(
                        &mut ck.params,
                        &bw.grads,
                        &mut ck.opt,
                        lr,
                        cfg.weight_decay,
                        cfg.kappa,
                        &ck.support,
                    ),
                    Method::FrankWolfe => {
                        let s = cfg.fw_lr * (lr / cfg.lr);
                        step::frank_wolfe(
                            &mut ck.params,
                            &bw.grads,
                            &mut ck.opt,
                            s,
                            cfg.fw_momentum,
                            lr,
                            &sets,
                            &ck.support,
                            &mut rng,
                        )
                    }
                }
            }
            if let Some(budget) = cfg.max_nnz {
                let at_end = step + 1 >= sel_to;
                let sizes = ck.support.sizes();
                // Per-matrix targets are sized from the supports at the start of selection (a Frank-Wolfe-chosen
                // support may hold fewer entries than a share; its shortfall goes to the other matrices).
                let targets = cfg.shares.map(|sh| {
                    support::share_targets(sh, budget, ck.selection_start.unwrap_or(sizes))
                });
                let over = match targets {
                    None => sizes.iter().sum::<usize>() > budget,
                    Some(t) => sizes.iter().zip(t).any(|(s, t)| *s > t),
                };
                if step >= sel_from
                    && (at_end || (step - sel_from).is_multiple_of(sel_every))
                    && over
                {
                    if ck.teacher.is_none() && cfg.distill.is_some() {
                        ck.teacher = Some(ck.params.clone());
                    }
                    let start = *ck.selection_start.get_or_insert(ck.support.sizes());
                    let frac = if sel_to > sel_from {
                        (step + 1 - sel_from) as f64 / (sel_to - sel_from) as f64
                    } else {
                        1.0
                    };
                    match targets {
                        None => {
                            let k = support::cubic_keep(start.iter().sum(), budget, frac);
                            ck.support.keep_top(&ck.params, k);
                        }
                        Some(targets) => {
                            for (w, fin) in Which::ALL.into_iter().zip(targets) {
                                let k = support::cubic_keep(start[w as usize], fin, frac);
                                let sc = saliency::scores(cfg.saliency, &ck.params, &ck.opt, w);
                                ck.support.keep_top_scored(w, &sc, k);
                            }
                        }
                    }
                    ck.support.apply(&mut ck.params);
                }
            }
            if cfg
                .average_from
                .is_some_and(|f| step as f64 >= f64::from(f) * total_steps)
            {
                let (avg, n) = ck
                    .average
                    .get_or_insert_with(|| (Params::zeros(p, h, q), 0));
                *n += 1;
                let w = 1.0 / *n as f32;
                for (a, x) in avg.tensors_mut().into_iter().zip(ck.params.tensors()) {
                    a.iter_mut().zip(x).for_each(|(a, x)| *a += w * (x - *a));
                }
            }
        }
        ck.epoch += 1;
        ck.seconds += t0.elapsed().as_secs_f64();
        let (test_acc, _) = on_raw(&ck.params).accuracy(test, &cfg.eval_solve);
        let phase = ["frank-wolfe", "select", "fine-tune"]
            [(0..3).max_by_key(|&i| (phase_counts[i], i)).unwrap_or(2)];
        let stats = EpochStats {
            epoch: ck.epoch,
            epochs: cfg.epochs,
            phase: phase.into(),
            loss: (loss_sum / steps_per_epoch as f64) as f32,
            train_accuracy: right as f64 / train.n as f64,
            test_accuracy: test_acc,
            nnz: Which::ALL.map(|w| ck.params.nnz(w)),
            kappa: ck.params.kappa(),
            mean_iterations: iters as f64 / steps_per_epoch as f64,
            seconds: ck.seconds,
        };
        ck.history.push(stats.clone());
        progress(&stats, &ck);
    }
    if let Some((avg, _)) = ck.average.take() {
        ck.params = avg;
        ck.support.apply(&mut ck.params);
    }
    if let Some(budget) = cfg.max_nnz {
        // Selection ends inside training; this only guards the budget if the window was cut short.
        ck.support.keep_top(&ck.params, budget);
        ck.support.apply(&mut ck.params);
    }
    ck.params = on_raw(&ck.params);
    let stored = quant::quantise(&ck.params, cfg.quant, cfg.kappa);
    let (acc_f32, _) = ck.params.accuracy(test, &cfg.eval_solve);
    let (acc, iters) = stored.accuracy(test, &cfg.eval_solve);
    Ok(Compressed {
        nnz: Which::ALL.map(|w| stored.nnz(w)),
        params: stored,
        params_f32: ck.params,
        quant: cfg.quant,
        kappa: cfg.kappa,
        test_accuracy_f32: acc_f32,
        test_accuracy: acc,
        mean_iterations: iters,
        train_seconds: ck.seconds,
        history: ck.history,
        preprocess: train.preprocess,
        labels: train.labels.clone(),
        config: cfg.clone(),
    })
}

/// Why a checkpoint could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint of this version.
    #[error("{}: not a wolfpack checkpoint: {reason}", path.display())]
    Invalid {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Checkpoint {
    /// Writes the checkpoint as JSON to `path` atomically: a temporary file beside it is renamed over it, so an
    /// interruption leaves either the previous checkpoint or the new one, never half of one.
    pub fn save(&self, path: &std::path::Path) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a checkpoint written by [`save`](Checkpoint::save).
    pub fn load(path: &std::path::Path) -> Result<Checkpoint, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ck: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Invalid {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let shapes_ok = {
            let p = &ck.params;
            p.a.len() == p.h * p.h
                && p.b.len() == p.h * p.p
                && p.c.len() == p.q * p.h
                && p.d.len() == p.q * p.p
                && p.bias_x.len() == p.h
                && p.bias_y.len() == p.q
                && ck
                    .support
                    .masks
                    .iter()
                    .zip(Which::ALL)
                    .all(|(m, w)| m.len() == p.mat(w).len())
        };
        if !shapes_ok {
            return Err(CheckpointError::Invalid {
                path: path.to_path_buf(),
                reason: "tensor sizes disagree".into(),
            });
        }
        Ok(ck)
    }
}
