//! Accuracy of a stored model, measured through the runtime: the same code path an app uses, independent of the
//! training code's own forward pass.

use rayon::prelude::*;
use wolfpack_runtime::{Model, Session};

use crate::data::Dataset;

/// What [`evaluate`] measured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Fraction of examples whose largest output is their label.
    pub accuracy: f64,
    /// Examples evaluated.
    pub n: usize,
    /// Mean fixed-point iterations per example.
    pub mean_iterations: f64,
}

/// Examples per parallel work item.
const CHUNK: usize = 64;

/// Runs `model` on every example of `data` (one input per call, chunks in parallel) and scores its argmax against
/// the labels.
///
/// `data.x` holds preprocessed inputs, while the runtime applies the model's own preprocessing to raw inputs, so
/// the inputs are mapped back to raw values first (`raw = u / scale + offset`).
pub fn evaluate(model: &Model, data: &Dataset) -> Result<Evaluation, String> {
    if data.p != model.n_inputs() {
        return Err(format!(
            "the model takes {} inputs but the data has {} features",
            model.n_inputs(),
            data.p
        ));
    }
    let q = model.n_outputs();
    let pre = data.preprocess;
    let results: Result<Vec<(usize, u64)>, String> = (0..data.n.div_ceil(CHUNK))
        .into_par_iter()
        .map_init(
            || (Session::new(model), Vec::new(), Vec::new()),
            |(session, raw, out), c| {
                let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(data.n));
                let m = end - start;
                raw.clear();
                raw.extend(
                    data.x[start * data.p..end * data.p]
                        .iter()
                        .map(|&u| u / pre.scale + pre.offset),
                );
                out.resize(m * q, 0.0);
                // One input at a time, as an app calls it: the iteration count is then truly per input (a batch
                // shares the count of its slowest member) and the single-input solvers (Anderson) are the ones measured.
                let mut iterations = 0u64;
                for (u, y) in raw.chunks(data.p).zip(out.chunks_mut(q)) {
                    let stats = session.predict(model, u, y).map_err(|e| e.to_string())?;
                    iterations += u64::from(stats.iterations);
                }
                let correct = out
                    .chunks(q)
                    .zip(&data.y[start..end])
                    .filter(|(o, &y)| argmax(o) == y as usize)
                    .count();
                Ok((correct, iterations))
            },
        )
        .collect();
    let results = results?;
    let correct: usize = results.iter().map(|r| r.0).sum();
    let iterations: u64 = results.iter().map(|r| r.1).sum();
    let n = data.n.max(1);
    Ok(Evaluation {
        accuracy: correct as f64 / n as f64,
        n: data.n,
        mean_iterations: iterations as f64 / n as f64,
    })
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &x)| {
            if x > best.1 {
                (i, x)
            } else {
                best
            }
        })
        .0
}
