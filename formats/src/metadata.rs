//! The human-readable metadata section: dimensions, solver defaults, preprocessing, labels, provenance.

use serde::{Deserialize, Serialize};

use crate::layout::{MAX_DIM, MAX_ITERATIONS};
use crate::lazy_json::LazyJson;
use crate::FormatError;

/// Model dimensions: hidden state n, input p, output q.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// n: length of the hidden state x.
    pub hidden: u32,
    /// p: length of the input u.
    pub inputs: u32,
    /// q: length of the output y.
    pub outputs: u32,
}

/// The activation in x = act(A x + B u + b). Format 1.0 knows only ReLU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// relu(z) = max(z, 0), 1-Lipschitz and monotone, so the fixed-point map inherits A's contraction.
    #[default]
    Relu,
}

/// Defaults for the fixed-point solve; the runtime may override them per call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SolverDefaults {
    /// Stop when ||x_{k+1} - x_k||_inf <= tolerance.
    pub tolerance: f32,
    /// Hard cap on iterations (sweeps).
    pub max_iterations: u32,
}

impl Default for SolverDefaults {
    fn default() -> Self {
        SolverDefaults {
            tolerance: 1e-5,
            max_iterations: 100,
        }
    }
}

/// Input preprocessing: the model sees `(u_raw * scale - mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Multiplier applied first (e.g. 1/255 for 8-bit pixels).
    #[serde(default = "one")]
    pub scale: f32,
    /// Empty (no centring), one value (broadcast) or p values.
    #[serde(default)]
    pub mean: Vec<f32>,
    /// Empty (no scaling), one value (broadcast) or p values; all > 0.
    #[serde(default)]
    pub std: Vec<f32>,
}

fn one() -> f32 {
    1.0
}

impl Default for Preprocessing {
    fn default() -> Self {
        Preprocessing {
            scale: 1.0,
            mean: Vec::new(),
            std: Vec::new(),
        }
    }
}

impl Preprocessing {
    /// True when the map is the identity, so callers can skip it.
    pub fn is_identity(&self) -> bool {
        self.scale == 1.0 && self.mean.is_empty() && self.std.is_empty()
    }

    /// Applies the preprocessing to one raw input, in place.
    pub fn apply(&self, u: &mut [f32]) {
        if self.is_identity() {
            return;
        }
        let pick = |v: &[f32], i: usize, default: f32| match v.len() {
            0 => default,
            1 => v[0],
            _ => v[i],
        };
        for (i, x) in u.iter_mut().enumerate() {
            *x = (*x * self.scale - pick(&self.mean, i, 0.0)) / pick(&self.std, i, 1.0);
        }
    }
}

/// Where a model came from: free-form, for people and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// Name of the training data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// Test accuracy measured when the model was written (fraction in [0, 1]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Version of wolfpack that wrote the file.
    #[serde(default)]
    pub wolfpack_version: String,
    /// Training settings, as the compressor chose to record them: checked when a file is read, built into a
    /// `serde_json::Value` only by [`LazyJson::to_value`] (nobody reads them at load).
    #[serde(default)]
    pub training: LazyJson,
}

/// Everything in the METADATA section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// n, p, q.
    pub dims: Dims,
    /// The hidden activation.
    #[serde(default)]
    pub activation: Activation,
    /// Solver defaults.
    #[serde(default)]
    pub solver: SolverDefaults,
    /// The well-posedness bound the model was trained under (informational; readers recompute it).
    pub kappa: f32,
    /// Input preprocessing.
    #[serde(default)]
    pub preprocessing: Preprocessing,
    /// Class names of the outputs (empty or q entries).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Provenance.
    #[serde(default)]
    pub provenance: Provenance,
}

impl Metadata {
    /// Metadata with the given dimensions and defaults elsewhere.
    pub fn new(hidden: u32, inputs: u32, outputs: u32) -> Self {
        Metadata {
            dims: Dims {
                hidden,
                inputs,
                outputs,
            },
            activation: Activation::Relu,
            solver: SolverDefaults::default(),
            kappa: 0.0,
            preprocessing: Preprocessing::default(),
            labels: Vec::new(),
            provenance: Provenance {
                wolfpack_version: env!("CARGO_PKG_VERSION").to_string(),
                ..Provenance::default()
            },
        }
    }

    /// Parses and validates the JSON of a METADATA section.
    ///
    /// Accepts exactly what `serde_json::from_slice::<Metadata>` accepts, with equal results (the reader is
    /// `metadata_read.rs`, lighter than serde_json's deserializer); then [`Metadata::validate`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(FormatError::Metadata("must be a JSON object".into()));
        }
        // The small reader of `json.rs`, not serde_json: same documents, same values, 30 KB less on phones.
        let meta = crate::metadata_read::parse(bytes)
            .map_err(|e| FormatError::Metadata(format!("invalid JSON: {e}")))?;
        meta.validate()?;
        Ok(meta)
    }

    /// Serialises to compact JSON, without whitespace: still readable in a hex dump or with `strings`, and the
    /// reader of every load skips nothing (pretty printing made the metadata of the default Fashion-MNIST model
    /// 1,710 bytes, about 40% indentation and line breaks). Files written pretty by earlier versions read the same.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata serialises: no maps with non-string keys")
    }

    /// Checks every rule of `docs/FORMAT.md` that concerns metadata alone.
    pub fn validate(&self) -> Result<(), FormatError> {
        let bad = |m: String| Err(FormatError::Metadata(m));
        let d = self.dims;
        for (name, v) in [
            ("hidden", d.hidden),
            ("inputs", d.inputs),
            ("outputs", d.outputs),
        ] {
            if v == 0 || v > MAX_DIM {
                return bad(format!("dims.{name} = {v} is outside 1..={MAX_DIM}"));
            }
        }
        let s = self.solver;
        if !(s.tolerance.is_finite() && s.tolerance > 0.0) {
            return bad(format!(
                "solver.tolerance = {} must be finite and > 0",
                s.tolerance
            ));
        }
        if s.max_iterations == 0 || s.max_iterations > MAX_ITERATIONS {
            return bad(format!(
                "solver.max_iterations = {} is outside 1..={MAX_ITERATIONS}",
                s.max_iterations
            ));
        }
        if !(self.kappa.is_finite() && self.kappa >= 0.0) {
            return bad(format!("kappa = {} must be finite and >= 0", self.kappa));
        }
        let p = &self.preprocessing;
        if !p.scale.is_finite() {
            return bad(format!("preprocessing.scale = {} is not finite", p.scale));
        }
        for (name, v) in [("mean", &p.mean), ("std", &p.std)] {
            if !(v.len() <= 1 || v.len() == d.inputs as usize) {
                return bad(format!(
                    "preprocessing.{name} has {} entries; expected 0, 1 or {}",
                    v.len(),
                    d.inputs
                ));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return bad(format!("preprocessing.{name}[{i}] is not finite"));
            }
        }
        if let Some(i) = p.std.iter().position(|&x| x <= 0.0) {
            return bad(format!("preprocessing.std[{i}] = {} must be > 0", p.std[i]));
        }
        if !(self.labels.is_empty() || self.labels.len() == d.outputs as usize) {
            return bad(format!(
                "{} labels for {} outputs",
                self.labels.len(),
                d.outputs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_defaults() {
        let mut m = Metadata::new(4, 3, 2);
        m.labels = vec!["a".into(), "b".into()];
        m.preprocessing.mean = vec![0.5];
        let back = Metadata::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        // Compact: no whitespace outside strings (these labels and numbers have none); and the pretty JSON of
        // files written before reads the same.
        assert!(!m.to_json().iter().any(|b| b" \n\t\r".contains(b)));
        let pretty = serde_json::to_vec_pretty(&m).unwrap();
        assert!(pretty.len() > m.to_json().len());
        assert_eq!(Metadata::from_json(&pretty).unwrap(), m);
        let minimal =
            br#"{"dims":{"hidden":1,"inputs":1,"outputs":1},"kappa":0.5,"future_field":1}"#;
        let parsed = Metadata::from_json(minimal).unwrap();
        assert_eq!(parsed.solver, SolverDefaults::default());
        assert!(parsed.preprocessing.is_identity());
    }

    #[test]
    fn rules_are_enforced() {
        type Mutation = Box<dyn Fn(&mut Metadata)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("dims.hidden", Box::new(|m| m.dims.hidden = 0)),
            ("tolerance", Box::new(|m| m.solver.tolerance = f32::NAN)),
            ("max_iterations", Box::new(|m| m.solver.max_iterations = 0)),
            ("kappa", Box::new(|m| m.kappa = -1.0)),
            ("mean", Box::new(|m| m.preprocessing.mean = vec![0.0, 0.0])),
            ("std[0]", Box::new(|m| m.preprocessing.std = vec![0.0])),
            ("labels", Box::new(|m| m.labels = vec!["x".into()])),
        ];
        for (needle, mutate) in cases {
            let mut m = Metadata::new(4, 3, 2);
            mutate(&mut m);
            let err = m.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
        assert!(Metadata::from_json(b"{not json")
            .unwrap_err()
            .to_string()
            .contains("invalid JSON"));
    }

    #[test]
    fn preprocessing_applies_scale_mean_std() {
        let p = Preprocessing {
            scale: 0.5,
            mean: vec![1.0],
            std: vec![2.0, 4.0],
        };
        let mut u = [4.0, 6.0];
        p.apply(&mut u);
        assert_eq!(u, [0.5, 0.5]);
    }
}
