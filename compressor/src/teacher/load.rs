//! Loading an ONNX teacher: the importer's implicit model as dense [`Params`], checked against ONNX Runtime.

use std::path::{Path, PathBuf};

use wolfpack_format::ModelView;

use super::TeacherError;
use crate::data::{Dataset, Preprocess};
use crate::model::{loss, Params, SolveOptions};
use crate::onnx::import::OutputKind;
use crate::onnx::ort_runtime::{OrtModel, OutputData};
use crate::onnx::{import_model, ImportOptions};

/// Largest relative difference (floor 1) tolerated between ONNX Runtime and the imported weights: both compute the
/// same f32 network, only the summation order differs.
pub const ORT_TOLERANCE: f32 = 1e-3;

/// What ONNX Runtime said about the import.
#[derive(Clone, Debug, PartialEq)]
pub struct OrtCheck {
    /// Inputs run through both.
    pub inputs: usize,
    /// Largest absolute difference over the compared float outputs.
    pub max_difference: f32,
}

/// A teacher network as an implicit model.
#[derive(Debug)]
pub struct Teacher {
    /// The ONNX file.
    pub path: PathBuf,
    /// The imported weights: `A` block-subdiagonal (one block per hidden layer), `B` the first layer, `C` the last.
    pub params: Params,
    /// Widths of the hidden layers.
    pub layers: Vec<usize>,
    /// The check against ONNX Runtime, or why ONNX Runtime could not run.
    pub ort_check: Result<OrtCheck, String>,
    ort: Option<OrtModel>,
    outputs: Vec<(String, OutputKind)>,
}

/// Exact solves of a block-triangular `A`: Picard reaches the fixed point after one sweep per layer and then stops
/// moving (residual 0).
pub(crate) fn exact_solve(p: &Params) -> SolveOptions {
    SolveOptions {
        tol: 0.0,
        max_iter: p.h + 2,
    }
}

/// Imports the teacher at `path` and checks it on `probe` (`m` inputs of the data set) against ONNX Runtime.
///
/// An ONNX graph the importer cannot read fails with the importer's one-line error naming the node; a disagreement
/// with ONNX Runtime is an error too. ONNX Runtime missing is not: [`Teacher::ort_check`] then holds why.
pub fn load(path: &Path, probe: &[f32], m: usize) -> Result<Teacher, TeacherError> {
    let onnx = |problem: String| TeacherError::Onnx {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|source| TeacherError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let imported =
        import_model(&bytes, &ImportOptions::default()).map_err(|e| onnx(e.to_string()))?;
    let file = imported.model.to_bytes().map_err(|e| onnx(e.to_string()))?;
    let view = ModelView::parse(&file).map_err(|e| onnx(e.to_string()))?;
    // The teacher reads the data set's scaled inputs directly: no preprocessing to fold.
    let identity = Preprocess {
        offset: 0.0,
        scale: 1.0,
    };
    let params =
        crate::robust::load::params_from_view(&view, identity).map_err(|e| onnx(e.to_string()))?;
    let mut teacher = Teacher {
        path: path.to_path_buf(),
        params,
        layers: imported.layers,
        ort_check: Err(String::new()),
        ort: None,
        outputs: imported.outputs,
    };
    if m > 0 && probe.len() != m * teacher.params.p {
        return Err(TeacherError::Data {
            path: path.to_path_buf(),
            problem: format!(
                "the teacher reads {} inputs, the data set has {} features",
                teacher.params.p,
                probe.len() / m
            ),
        });
    }
    match OrtModel::from_bytes(&bytes, 1) {
        Ok(ort) => {
            teacher.ort = Some(ort);
            teacher.ort_check = teacher.compare(probe, m)?.ok_or_else(|| {
                "ONNX Runtime returned no float logits or probabilities to compare with the import".to_string()
            });
        }
        Err(e) => teacher.ort_check = Err(e.to_string()),
    }
    Ok(teacher)
}

impl Teacher {
    /// Checks that the teacher fits a data set: same number of inputs, one output unit per class.
    pub fn check_data(&self, data: &Dataset) -> Result<(), TeacherError> {
        let (p, q) = (self.params.p, self.params.q);
        if p != data.p || q != data.n_classes {
            return Err(TeacherError::Data {
                path: self.path.clone(),
                problem: format!(
                    "the teacher maps {p} inputs to {q} outputs; the data set has {} features and {} classes",
                    data.p, data.n_classes
                ),
            });
        }
        Ok(())
    }

    /// Runs ONNX Runtime and the imported weights on `m` inputs and returns their largest difference, failing when
    /// it exceeds [`ORT_TOLERANCE`] (relative, floor 1).
    /// `None` when ONNX Runtime returns no float logits or probabilities to compare (labels only).
    fn compare(&mut self, u: &[f32], m: usize) -> Result<Option<OrtCheck>, TeacherError> {
        let q = self.params.q;
        let y = self.params.forward(u, m, &exact_solve(&self.params)).y;
        let mut probs = vec![0.0f32; y.len()];
        loss::softmax(&y, q, 1.0, &mut probs);
        let ort = self.ort.as_mut().expect("compare runs with a session");
        let outs = ort.run(u, m).map_err(|e| TeacherError::Onnx {
            path: self.path.clone(),
            problem: e.to_string(),
        })?;
        let mut worst = 0.0f32;
        let mut compared = 0usize;
        for (name, data) in outs {
            let kind = self
                .outputs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| *k);
            let ours = match kind {
                Some(OutputKind::Logits) => &y,
                Some(OutputKind::Probabilities) => &probs,
                _ => continue,
            };
            let OutputData::F32(theirs) = data else {
                continue;
            };
            if theirs.len() != ours.len() {
                return Err(TeacherError::Onnx {
                    path: self.path.clone(),
                    problem: format!(
                        "ONNX Runtime output {name:?} holds {} values, the import {}",
                        theirs.len(),
                        ours.len()
                    ),
                });
            }
            for (a, b) in theirs.iter().zip(ours) {
                let diff = (a - b).abs();
                if diff.is_nan() || diff > ORT_TOLERANCE * a.abs().max(1.0) {
                    return Err(TeacherError::Onnx {
                        path: self.path.clone(),
                        problem: format!(
                            "ONNX Runtime and the imported weights disagree on output {name:?} ({a} against {b})"
                        ),
                    });
                }
                worst = worst.max(diff);
            }
            compared += 1;
        }
        Ok((compared > 0).then_some(OrtCheck {
            inputs: m,
            max_difference: worst,
        }))
    }

    /// Accuracy of the original ONNX graph run by ONNX Runtime on `data`: the arg-max of its float logits or
    /// probabilities, else its integer label. `None` when ONNX Runtime is unavailable or the graph has neither.
    pub fn ort_accuracy(&mut self, data: &Dataset) -> Option<Result<f64, TeacherError>> {
        let ort = self.ort.as_mut()?;
        let q = self.params.q;
        let mut right = 0usize;
        for start in (0..data.n).step_by(1000) {
            let m = 1000.min(data.n - start);
            let outs = match ort.run(&data.x[start * data.p..(start + m) * data.p], m) {
                Ok(o) => o,
                Err(e) => {
                    return Some(Err(TeacherError::Onnx {
                        path: self.path.clone(),
                        problem: e.to_string(),
                    }))
                }
            };
            let kind = |name: &str| {
                self.outputs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, k)| *k)
            };
            let classes: Vec<u32> = if let Some(scores) =
                outs.iter().find_map(|(n, d)| match (kind(n), d) {
                    (Some(OutputKind::Logits | OutputKind::Probabilities), OutputData::F32(v)) => {
                        Some(v)
                    }
                    _ => None,
                }) {
                scores.chunks(q).map(loss::argmax).collect()
            } else if let Some(labels) = outs.iter().find_map(|(n, d)| match (kind(n), d) {
                (Some(OutputKind::Label), OutputData::I64(v)) => Some(v),
                _ => None,
            }) {
                labels
                    .iter()
                    .map(|&l| u32::try_from(l).unwrap_or(u32::MAX))
                    .collect()
            } else {
                return None;
            };
            right += classes
                .iter()
                .zip(&data.y[start..start + m])
                .filter(|(a, b)| a == b)
                .count();
        }
        Some(Ok(right as f64 / data.n.max(1) as f64))
    }

    /// Accuracy of the imported weights on `data` (exact block-triangular solves).
    pub fn accuracy(&self, data: &Dataset) -> f64 {
        self.params.accuracy(data, &exact_solve(&self.params)).0
    }
}
