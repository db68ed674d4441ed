//! Accuracy under attack and certified accuracy of a stored model, measured the way the goals are stated:
//! clean predictions and every counted adversarial example checked by the runtime.

use serde::Serialize;
use wolfpack_runtime::Model;

use super::attack::{attack_dataset, runtime_classes, verify, AttackConfig};
use super::ibp::certify_dataset;
use super::load::params_from_view;
use super::threat::{Norm, Threat};
use super::RobustError;
use crate::data::Dataset;
use crate::model::Params;

/// Robust accuracy at one radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RobustPoint {
    /// The radius.
    pub eps: f32,
    /// Fraction of inputs classified correctly (by the runtime) for which the attack found no adversarial example
    /// that the runtime confirms.
    pub accuracy: f64,
    /// Mean perturbation norm of the confirmed adversarial examples of correctly classified inputs (0 if none).
    pub mean_norm: f64,
    /// Confirmed adversarial examples of correctly classified inputs.
    pub broken: usize,
    /// Wall-clock seconds of the attack and the checks.
    pub seconds: f64,
    /// Batched forward+adjoint solves the attack made.
    pub evaluations: usize,
}

/// A stored model ready for attacks: the runtime model, its dense parameters on the data's inputs, and the data's
/// clean predictions by the runtime.
pub struct Target<'m> {
    /// The runtime model (the separate code path that confirms results).
    pub model: &'m Model<'m>,
    /// Dense parameters acting on the data set's `[0, 1]` inputs.
    pub params: Params,
    /// Whether the runtime classifies each of the first `n` examples correctly.
    pub clean: Vec<bool>,
}

impl<'m> Target<'m> {
    /// Prepares `model` on the first `limit` examples of `data`.
    pub fn new(
        model: &'m Model<'m>,
        data: &Dataset,
        limit: Option<usize>,
    ) -> Result<Target<'m>, RobustError> {
        if data.p != model.n_inputs() {
            return Err(RobustError::Data(format!(
                "the model takes {} inputs but the data has {} features",
                model.n_inputs(),
                data.p
            )));
        }
        let params = params_from_view(model.view(), data.preprocess)?;
        let n = limit.unwrap_or(data.n).min(data.n);
        let classes = runtime_classes(model, data.preprocess, &data.x[..n * data.p])?;
        let clean = classes
            .iter()
            .zip(&data.y)
            .map(|(c, &y)| *c == y as usize)
            .collect();
        Ok(Target {
            model,
            params,
            clean,
        })
    }

    /// Examples used.
    pub fn n(&self) -> usize {
        self.clean.len()
    }

    /// Clean accuracy by the runtime.
    pub fn clean_accuracy(&self) -> f64 {
        self.clean.iter().filter(|c| **c).count() as f64 / self.n().max(1) as f64
    }

    /// Runs the attack `cfg` on the examples and confirms its results through the runtime.
    pub fn robust(&self, data: &Dataset, cfg: &AttackConfig) -> Result<RobustPoint, RobustError> {
        let start = std::time::Instant::now();
        let out = attack_dataset(&self.params, data, Some(self.n()), cfg)?;
        let confirmed = verify(
            self.model,
            data.preprocess,
            data,
            &out.adversarial,
            cfg.threat,
        )?;
        let norms: Vec<f32> = confirmed
            .iter()
            .zip(&self.clean)
            .filter_map(|(c, &ok)| if ok { *c } else { None })
            .collect();
        let robust = self.clean.iter().filter(|c| **c).count() - norms.len();
        Ok(RobustPoint {
            eps: cfg.threat.eps,
            accuracy: robust as f64 / self.n().max(1) as f64,
            mean_norm: norms.iter().map(|&v| f64::from(v)).sum::<f64>() / norms.len().max(1) as f64,
            broken: norms.len(),
            seconds: start.elapsed().as_secs_f64(),
            evaluations: out.evaluations,
        })
    }
}

/// The robustness section of a `compress` report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The threat model trained for.
    pub threat: Threat,
    /// Test examples used (the first ones).
    pub n: usize,
    /// Clean accuracy on them (runtime).
    pub clean_accuracy: f64,
    /// Under PGD-20 (step `2.5 eps / 20`, one random start), confirmed by the runtime.
    pub pgd20: RobustPoint,
    /// Certified by interval bounds through the fixed point (L-infinity threats only).
    pub certified_accuracy: Option<f64>,
    /// Certified by the Lipschitz bound (L-infinity threats only).
    pub lipschitz_accuracy: Option<f64>,
}

/// Clean, PGD-20 and certified accuracy of `model` on the first `limit` examples of `data` under `threat`.
pub fn summarize(
    model: &Model<'_>,
    data: &Dataset,
    threat: Threat,
    limit: Option<usize>,
) -> Result<Summary, RobustError> {
    let target = Target::new(model, data, limit)?;
    let pgd20 = target.robust(data, &AttackConfig::pgd(threat, 20))?;
    let (certified_accuracy, lipschitz_accuracy) = if threat.norm == Norm::Linf {
        let (_, _, c) = certify_dataset(&target.params, data, &[threat.eps], Some(target.n()))?;
        (Some(c[0].accuracy), Some(c[0].lipschitz_accuracy))
    } else {
        (None, None)
    };
    Ok(Summary {
        threat,
        n: target.n(),
        clean_accuracy: target.clean_accuracy(),
        pgd20,
        certified_accuracy,
        lipschitz_accuracy,
    })
}
