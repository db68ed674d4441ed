//! [`Session`]: the per-thread scratch of predictions, so that steady-state inference allocates nothing.

use crate::error::{check_len, Error};
use crate::model::Model;
use crate::solve::{add_product, broadcast, solve_hidden, SolveOptions, SolveStats, Work};

/// Scratch buffers for predicting with a [`Model`]; one per thread.
///
/// A session grows its buffers the first time it sees a larger model or batch and never shrinks them, so
/// repeated predictions of the same shape allocate nothing. It may be used with any model (it resizes).
///
/// Inputs are sample-major (`batch x p`, one sample after another, as in a NumPy `[N, p]` array) and so are
/// outputs (`batch x q`); internally the batch is transposed to `p x batch` so the kernels vectorise across it.
#[derive(Debug, Default)]
pub struct Session {
    u: Vec<f32>,
    x: Vec<f32>,
    z: Vec<f32>,
    prev: Vec<f32>,
    y: Vec<f32>,
    low_rank: Vec<f32>,
    samples: Vec<f32>,
    extra: Vec<f32>,
    lanes: Vec<f32>,
    hidden_len: usize,
}

fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

impl Session {
    /// A session sized for single predictions with `model`.
    pub fn new(model: &Model) -> Session {
        Session::with_batch(model, 1)
    }

    /// A session sized for batches of up to `batch` inputs with `model`.
    pub fn with_batch(model: &Model, batch: usize) -> Session {
        let mut s = Session::default();
        s.reserve(model, batch);
        s
    }

    fn reserve(&mut self, model: &Model, batch: usize) {
        let plan = model.plan();
        let (n, p, q) = (plan.n, plan.p, plan.q);
        grow(&mut self.u, p * batch);
        grow(&mut self.x, n * batch);
        grow(&mut self.z, n * batch);
        // `prev` is also the row buffer of Gauss-Seidel sweeps (batch lanes).
        grow(&mut self.prev, n.max(1) * batch);
        grow(&mut self.y, q * batch);
        grow(&mut self.low_rank, plan.scratch_len(batch));
        grow(&mut self.samples, p * batch);
        grow(&mut self.lanes, crate::stop::Lanes::PER_INPUT * batch);
    }

    /// Predicts `output` (length `q`) for one raw `input` (length `p`) with the model's solver defaults.
    pub fn predict(
        &mut self,
        model: &Model,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<SolveStats, Error> {
        self.predict_batch_with(model, input, 1, output, &SolveOptions::default())
    }

    /// [`Session::predict`] with solver overrides.
    pub fn predict_with(
        &mut self,
        model: &Model,
        input: &[f32],
        output: &mut [f32],
        options: &SolveOptions,
    ) -> Result<SolveStats, Error> {
        self.predict_batch_with(model, input, 1, output, options)
    }

    /// Predicts `batch` outputs (`batch x q`, sample-major) for `batch` raw inputs (`batch x p`); the stats
    /// cover the whole batch (iterations shared, residual the largest).
    pub fn predict_batch(
        &mut self,
        model: &Model,
        inputs: &[f32],
        batch: usize,
        outputs: &mut [f32],
    ) -> Result<SolveStats, Error> {
        self.predict_batch_with(model, inputs, batch, outputs, &SolveOptions::default())
    }

    /// [`Session::predict_batch`] with solver overrides.
    pub fn predict_batch_with(
        &mut self,
        model: &Model,
        inputs: &[f32],
        batch: usize,
        outputs: &mut [f32],
        options: &SolveOptions,
    ) -> Result<SolveStats, Error> {
        let plan = model.plan();
        let (n, p, q) = (plan.n, plan.p, plan.q);
        let too_large = || Error::InvalidOption("batch size overflows");
        check_len(
            "inputs",
            inputs.len(),
            p.checked_mul(batch).ok_or_else(too_large)?,
        )?;
        check_len(
            "outputs",
            outputs.len(),
            q.checked_mul(batch).ok_or_else(too_large)?,
        )?;
        if batch == 0 {
            return Ok(SolveStats {
                iterations: 0,
                residual: 0.0,
                solver: crate::Solver::Direct,
            });
        }
        // Cheap length checks; `reserve` only allocates when a buffer is too short.
        self.reserve(model, batch);
        let k = model.kernels();
        let pre = &plan.view.meta.preprocessing;
        // Preprocess each sample (the format's own map) and transpose the batch to p x batch; single inputs of a
        // model with a fold (fold.rs) are read in place, raw.
        let folded = crate::fold::applies(plan, batch);
        let u = &mut self.u[..p * batch];
        if folded {
            if !k.all_finite(inputs) {
                return Err(Error::NotFinite { what: "input" });
            }
        } else if batch == 1 {
            u.copy_from_slice(inputs);
            pre.apply(u);
        } else if pre.is_identity() {
            k.transpose(inputs, batch, p, u)?;
        } else {
            let samples = &mut self.samples[..p * batch];
            samples.copy_from_slice(inputs);
            for sample in samples.chunks_exact_mut(p.max(1)) {
                pre.apply(sample);
            }
            k.transpose(samples, batch, p, u)?;
        }
        if !folded && !k.all_finite(u) {
            return Err(Error::NotFinite {
                what: "input (after preprocessing)",
            });
        }
        let u: &[f32] = if folded { inputs } else { u };
        let work = Work {
            x: &mut self.x[..n * batch],
            z: &mut self.z[..n * batch],
            prev: &mut self.prev[..n.max(1) * batch],
            low_rank: &mut self.low_rank,
            extra: &mut self.extra,
            lanes: &mut self.lanes[..crate::stop::Lanes::PER_INPUT * batch],
        };
        self.hidden_len = 0;
        let stats = solve_hidden(plan, k, options, u, batch, work, folded)?;
        self.hidden_len = n * batch;
        // y = c + C x + D u
        let y = &mut self.y[..q * batch];
        broadcast(plan.view.bias_y, batch, y);
        // Single inputs multiply C's dense copy when it has one (cheaper than its gathers).
        let x = &self.x[..n * batch];
        match (&plan.c_columns, &plan.c_dense) {
            (Some(columns), _) if crate::solve::PACKED && batch == 1 => {
                columns.gemv_add(k, x, y)?
            }
            (_, Some(dense)) if crate::solve::PACKED && batch == 1 => {
                add_product(Some(dense.view()), k, x, batch, y, &mut self.low_rank)?
            }
            _ => add_product(plan.c, k, x, batch, y, &mut self.low_rank)?,
        }
        add_product(plan.d, k, u, batch, y, &mut self.low_rank)?;
        if !k.all_finite(y) {
            return Err(Error::NotFinite { what: "output" });
        }
        if batch == 1 {
            outputs.copy_from_slice(y);
        } else {
            k.transpose(y, q, batch, outputs)?;
        }
        Ok(stats)
    }

    /// The hidden state `x` of the last prediction (`n x batch`, unit-major).
    pub fn hidden(&self) -> &[f32] {
        &self.x[..self.hidden_len]
    }
}
