//! ONNX Runtime through `ort` (feature `load-dynamic`): finding `libonnxruntime.so`, creating sessions with a
//! fixed intra-op thread count, and running float models on row-major batches.
//!
//! The library is the one shipped in the PyPI `onnxruntime` wheel that `scripts/setup.sh` installs into the
//! project's `.venv`. It is looked up in this order: `ORT_DYLIB_PATH` (what `scripts/env.sh` exports), then
//! `.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*` under the workspace this crate was
//! built in and under the current directory. When it is nowhere, every call fails with
//! [`OnnxError::Runtime`] saying to run `scripts/setup.sh`: nothing silently skips.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::OnnxError;

/// Where `libonnxruntime.so` is, or why it cannot be found.
pub fn dylib_path() -> Result<PathBuf, OnnxError> {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        if !p.is_empty() && Path::new(&p).is_file() {
            return Ok(PathBuf::from(p));
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let roots = [workspace, std::env::current_dir().unwrap_or_default()];
    for root in &roots {
        let lib = root.join(".venv").join("lib");
        let Ok(pythons) = std::fs::read_dir(&lib) else {
            continue;
        };
        let mut found: Vec<PathBuf> = pythons
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .filter_map(|e| std::fs::read_dir(e.path().join("site-packages/onnxruntime/capi")).ok())
            .flat_map(|dir| dir.flatten().map(|f| f.path()))
            .filter(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
                    && f.is_file()
            })
            .collect();
        found.sort();
        if let Some(f) = found.pop() {
            return Ok(f);
        }
    }
    Err(OnnxError::Runtime(
        "libonnxruntime.so not found: set ORT_DYLIB_PATH, or run scripts/setup.sh (it installs the onnxruntime \
         wheel into .venv)"
            .into(),
    ))
}

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<&'static Environment, OnnxError> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = dylib_path().map_err(|e| e.to_string())?;
        let builder =
            ort::init_from(&path).map_err(|e| format!("loading {}: {e}", path.display()))?;
        builder
            .with_name("wolfpack")
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| OnnxError::Runtime(e.clone()))
}

/// One output of a run, copied out of ONNX Runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputData {
    /// A float tensor, row-major.
    F32(Vec<f32>),
    /// An integer tensor (INT64 labels).
    I64(Vec<i64>),
    /// A string tensor (string labels).
    Str(Vec<String>),
    /// Anything else (a ZipMap's sequence of maps): its type, not its data.
    Other(String),
}

/// An ONNX model loaded into an ONNX Runtime session: one float input `[batch, ...]`, any outputs.
pub struct OrtModel {
    session: Session,
    input: String,
    /// The input shape with the batch dimension first (set per run).
    input_shape: Vec<i64>,
    /// Features per sample (product of the non-batch dimensions).
    features: usize,
}

impl std::fmt::Debug for OrtModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtModel")
            .field("input", &self.input)
            .field("input_shape", &self.input_shape)
            .finish()
    }
}

impl OrtModel {
    /// Creates a session for the model in `bytes` with `threads` intra-op threads (all graph optimisations on).
    pub fn from_bytes(bytes: &[u8], threads: usize) -> Result<OrtModel, OnnxError> {
        let env = environment()?;
        let session = Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(ort::Error::from)?
            .with_intra_threads(threads)
            .map_err(ort::Error::from)?
            .with_inter_threads(1)
            .map_err(ort::Error::from)?
            .commit_from_memory(bytes)?;
        OrtModel::from_session(session)
    }

    /// [`OrtModel::from_bytes`] on a file's contents (the file is read into memory first, as ORT itself does).
    pub fn from_file(path: &Path, threads: usize) -> Result<OrtModel, OnnxError> {
        let bytes = std::fs::read(path)
            .map_err(|e| OnnxError::Runtime(format!("{}: {e}", path.display())))?;
        OrtModel::from_bytes(&bytes, threads)
    }

    fn from_session(session: Session) -> Result<OrtModel, OnnxError> {
        let [input] = session.inputs() else {
            return Err(OnnxError::Graph(format!(
                "expected one model input, found {}",
                session.inputs().len()
            )));
        };
        let ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } = input.dtype()
        else {
            return Err(OnnxError::Graph(format!(
                "input {:?} is not a float tensor ({})",
                input.name(),
                input.dtype()
            )));
        };
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims.is_empty() || dims[1..].iter().any(|&d| d <= 0) {
            return Err(OnnxError::Graph(format!(
                "input {:?} has shape {dims:?}; [batch, fixed sizes...] expected",
                input.name()
            )));
        }
        let features = dims[1..].iter().map(|&d| d as usize).product();
        Ok(OrtModel {
            input: input.name().to_string(),
            input_shape: dims,
            features,
            session,
        })
    }

    /// Features per sample.
    pub fn n_inputs(&self) -> usize {
        self.features
    }

    /// Name of the input.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// Names of the outputs, in graph order.
    pub fn output_names(&self) -> Vec<String> {
        self.session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect()
    }

    fn shape(&self, batch: usize, len: usize) -> Result<Vec<i64>, OnnxError> {
        if len != batch * self.features {
            return Err(OnnxError::Runtime(format!(
                "{len} input values for a batch of {batch} x {} features",
                self.features
            )));
        }
        let mut shape = self.input_shape.clone();
        shape[0] = batch as i64;
        Ok(shape)
    }

    /// Runs a batch (`batch x features`, row-major) and copies every output out.
    pub fn run(
        &mut self,
        input: &[f32],
        batch: usize,
    ) -> Result<Vec<(String, OutputData)>, OnnxError> {
        let shape = self.shape(batch, input.len())?;
        let tensor = TensorRef::from_array_view((shape, input))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])?;
        let mut all = Vec::new();
        for (name, value) in outputs.iter() {
            let data = match value.dtype() {
                ValueType::Tensor {
                    ty: TensorElementType::Float32,
                    ..
                } => OutputData::F32(value.try_extract_tensor::<f32>()?.1.to_vec()),
                ValueType::Tensor {
                    ty: TensorElementType::Int64,
                    ..
                } => OutputData::I64(value.try_extract_tensor::<i64>()?.1.to_vec()),
                ValueType::Tensor {
                    ty: TensorElementType::String,
                    ..
                } => OutputData::Str(value.try_extract_strings()?.1),
                other => OutputData::Other(other.to_string()),
            };
            all.push((name.to_string(), data));
        }
        Ok(all)
    }

    /// Runs a batch and drops the outputs (what a latency benchmark times).
    pub fn run_discard(&mut self, input: &[f32], batch: usize) -> Result<(), OnnxError> {
        let shape = self.shape(batch, input.len())?;
        let tensor = TensorRef::from_array_view((shape, input))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])?;
        drop(outputs);
        Ok(())
    }

    /// The float output named `name` of one run.
    pub fn run_f32(
        &mut self,
        input: &[f32],
        batch: usize,
        name: &str,
    ) -> Result<Vec<f32>, OnnxError> {
        self.run(input, batch)?
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| match d {
                OutputData::F32(v) => Some(v),
                _ => None,
            })
            .ok_or_else(|| OnnxError::Runtime(format!("no float output named {name:?}")))
    }
}
