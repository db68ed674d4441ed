//! From a teacher file to the first checkpoint of the training recipe: load and check the teacher, fit the student
//! row by row within the budget, and hand both to [`crate::train::compress`] for fine-tuning with distillation.

use std::path::Path;

use serde::Serialize;

use super::fit::{fit_student, FitOptions, FitReport, RowSolver};
use super::load::load;
use super::TeacherError;
use crate::data::Splits;
use crate::model::Which;
use crate::train::step::OptState;
use crate::train::support::{share_targets, Support};
use crate::train::{Checkpoint, CompressConfig, Distill};

/// User settings of a teacher run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeacherSettings {
    /// Weight of the teacher's soft targets in the fine-tuning loss (the labels get the rest).
    pub distill_weight: f32,
    /// Softmax temperature of the soft targets.
    pub temperature: f32,
    /// The fit gives each row this multiple of its share of the budget; above 1, fine-tuning then selects the
    /// budget by magnitude over its first `select_to` of training.
    pub atoms_factor: f32,
    /// End of budget selection during fine-tuning (fraction of training), when the fit holds more than the budget.
    pub select_to: f32,
    /// Fit on the first this many training examples only (`None`: all).
    pub fit_examples: Option<usize>,
    /// Row solver of the fit.
    pub solver: RowSolver,
    /// Hidden units of the student: the teacher's most important ones (`None`: all of them).
    pub hidden: Option<usize>,
}

impl Default for TeacherSettings {
    fn default() -> TeacherSettings {
        TeacherSettings {
            distill_weight: 0.5,
            temperature: 2.0,
            // Measured on Fashion-MNIST at 4,000 weights, 10 epochs: 85.91% with 1, 87.44% with 2.5; level at
            // 10,000 weights (docs/BENCHMARKS.md, `compress --teacher`).
            atoms_factor: 2.5,
            select_to: 0.3,
            fit_examples: None,
            solver: RowSolver::FrankWolfe,
            hidden: None,
        }
    }
}

/// What the teacher and the fit measured, for the run's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeacherReport {
    /// The teacher file.
    pub model: String,
    /// Its hidden layers' widths.
    pub layers: Vec<usize>,
    /// Its stored weights (dense).
    pub nnz: usize,
    /// Largest difference between ONNX Runtime and the imported weights on the probe inputs, or why ONNX Runtime
    /// did not run.
    pub ort_max_difference: Result<f32, String>,
    /// Test accuracy of the ONNX graph run by ONNX Runtime.
    pub test_accuracy_ort: Option<f64>,
    /// Test accuracy of the imported weights.
    pub test_accuracy: f64,
    /// The fit's settings.
    pub fit_options: FitOptions,
    /// What the fit did.
    pub fit: FitReport,
    /// Test accuracy of the fitted student before fine-tuning (f32 weights).
    pub fit_test_accuracy: f64,
    /// The teacher run's settings.
    pub settings: TeacherSettings,
}

/// A fitted student ready for fine-tuning.
#[derive(Debug)]
pub struct Prepared {
    /// The fine-tuning settings (hidden width of the teacher, no Frank-Wolfe start, distillation on).
    pub config: CompressConfig,
    /// The fitted student, its support and the teacher, at epoch 0.
    pub checkpoint: Checkpoint,
    /// Measurements so far.
    pub report: TeacherReport,
}

/// Loads the teacher at `path`, fits a student within `base.max_nnz` on `splits.train`, and returns the checkpoint
/// from which [`crate::train::compress`] fine-tunes it. `base` supplies the budget, epochs, seed, value type and
/// `kappa`; the hidden width is the teacher's, or `settings.hidden` of its units.
pub fn prepare(
    path: &Path,
    splits: &Splits,
    base: &CompressConfig,
    settings: &TeacherSettings,
) -> Result<Prepared, TeacherError> {
    let train = &splits.train;
    if !(settings.atoms_factor.is_finite() && settings.atoms_factor > 0.0) {
        return Err(TeacherError::Config(format!(
            "atoms factor {} must be positive",
            settings.atoms_factor
        )));
    }
    let probe = train.head(64);
    let mut teacher = load(path, &probe.x, probe.n)?;
    teacher.check_data(train)?;
    let t = &teacher.params;
    let (p, n, q) = (t.p, t.h, t.q);
    if n == 0 || n > wolfpack_format::layout::MAX_DIM as usize {
        return Err(TeacherError::Data {
            path: path.to_path_buf(),
            problem: format!(
                "the teacher has {n} hidden units; a student needs 1..={}",
                wolfpack_format::layout::MAX_DIM
            ),
        });
    }
    let teacher_width = n;
    let n = settings.hidden.unwrap_or(n).min(n);
    let budget = base.max_nnz.unwrap_or(usize::MAX);
    let caps = [n * n, n * p, q * n, 0];
    let shares = base.shares.unwrap_or([0.02, 0.83, 0.15, 0.0]);
    let targets = share_targets(
        [shares[0], shares[1], shares[2], 0.0],
        budget.min(caps.iter().sum()),
        caps,
    );
    let scaled = |k: usize, rows: usize, cap: usize| {
        ((settings.atoms_factor as f64 * k as f64 / rows as f64).floor() as usize).clamp(1, cap)
    };
    let fit_options = FitOptions {
        kappa: base.kappa,
        hidden_atoms: scaled(targets[0] + targets[1], n, n - 1 + p),
        output_atoms: scaled(targets[2], q, n),
        solver: settings.solver,
        hidden: (n < teacher_width).then_some(n),
        ..FitOptions::default()
    };
    let m = settings.fit_examples.map_or(train.n, |k| k.min(train.n));
    let (student, fit) = fit_student(t, &teacher.layers, &train.x[..m * p], m, &fit_options)?;
    let fit_test_accuracy = student.accuracy(&splits.test, &base.eval_solve).0;
    let fitted = Which::ALL.map(|w| student.nnz(w));
    let total: usize = fitted.iter().sum();
    let mut config = base.clone();
    config.hidden = n;
    config.fw_epochs = 0.0;
    config.fw_support = false;
    // The fitted student and the teacher act on raw inputs, and the recipe above was measured without weight decay:
    // fine-tune them as they are (standardised training would read these weights as weights on standardised inputs).
    config.standardise = None;
    config.weight_decay = 0.0;
    config.select_from = 0.0;
    config.select_to = settings.select_to;
    // Selection, if the fit holds more than the budget, keeps the fit's own split between the matrices.
    config.shares = Some(fitted.map(|k| k as f32 / total.max(1) as f32));
    config.distill = Some(Distill {
        weight: settings.distill_weight,
        temperature: settings.temperature,
    });
    let mut support = Support::full(&student, true);
    for w in Which::ALL {
        support.masks[w as usize]
            .iter_mut()
            .zip(student.mat(w))
            .for_each(|(m, v)| *m = *v != 0.0);
    }
    let report = TeacherReport {
        model: path.display().to_string(),
        layers: teacher.layers.clone(),
        nnz: teacher.params.total_nnz(),
        ort_max_difference: teacher.ort_check.clone().map(|c| c.max_difference),
        test_accuracy_ort: teacher.ort_accuracy(&splits.test).transpose()?,
        test_accuracy: teacher.accuracy(&splits.test),
        fit_options,
        fit,
        fit_test_accuracy,
        settings: settings.clone(),
    };
    let checkpoint = Checkpoint {
        config: config.clone(),
        epoch: 0,
        opt: OptState::new(&student),
        support,
        params: student,
        teacher: Some(teacher.params),
        history: Vec::new(),
        seconds: 0.0,
        selection_start: None,
        average: None,
    };
    Ok(Prepared {
        config,
        checkpoint,
        report,
    })
}
