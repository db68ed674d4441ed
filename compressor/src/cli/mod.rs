//! The command-line interface: argument parsing (clap) and dispatch. One file per subcommand.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

mod attack;
mod bench;
mod certify;
mod compress;
mod data_args;
mod eval;
mod export_npz;
mod export_onnx;
mod import_onnx;
mod inspect;
pub mod predict;

/// An error for the user: one line, naming the file and the problem.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// `PATH: problem`; a problem that already starts by naming the path (as the format crate's atomic writer's
    /// errors do) is not prefixed twice.
    pub fn at(path: &Path, problem: impl std::fmt::Display) -> Self {
        let (path, problem) = (path.display().to_string(), problem.to_string());
        if problem.starts_with(&format!("{path}: ")) {
            CliError(problem)
        } else {
            CliError(format!("{path}: {problem}"))
        }
    }
}

/// Result of a subcommand.
pub type CliResult = Result<(), CliError>;

/// wolfpack trains small, sparse implicit neural networks with Frank-Wolfe and runs them fast on CPUs.
#[derive(Debug, Parser)]
#[command(name = "wolfpack", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a model file's dimensions, storage kinds, nonzero count, size, kappa and metadata.
    ///
    /// The file is fully validated first (checksums, structure, well-posedness); a bad file is reported in one
    /// line and the exit code is 1.
    Inspect(inspect::Args),
    /// Train a sparse implicit model from scratch with stochastic Frank-Wolfe within a budget of stored weights.
    ///
    /// Writes the model (`--out`), a JSON report and a training-curve SVG beside it, and a checkpoint every epoch
    /// (`<out>.ckpt`, removed on success) from which `--resume` continues an interrupted run.
    Compress(compress::Args),
    /// Test accuracy of a model on a data set's test split, measured through the runtime.
    Eval(eval::Args),
    /// Run a model on raw inputs from a .npy, IDX or CSV file and print outputs, labels and iterations.
    Predict(predict::Args),
    /// Write a model's weights as dense float32 arrays into a NumPy .npz file.
    ExportNpz(export_npz::Args),
    /// Convert an ONNX multilayer perceptron (torch.onnx.export, skl2onnx) into a `.wpk` implicit model.
    ///
    /// The layers become blocks of the hidden state with a strictly block-triangular A, evaluated exactly in one
    /// sweep. An unsupported node is reported in one line naming its op type and name.
    ImportOnnx(import_onnx::Args),
    /// Write a `.wpk` model as a standard ONNX graph computing the same output.
    ExportOnnx(export_onnx::Args),
    /// Time the runtime on a `.wpk` model against ONNX Runtime on ONNX models, side by side.
    Bench(bench::Args),
    /// White-box adversarial attacks (PGD, Frank-Wolfe, FGSM) through the fixed point; robust accuracy per radius,
    /// every counted adversarial example confirmed by the runtime.
    Attack(attack::Args),
    /// Certified accuracy: inputs whose prediction provably cannot change within the ball (interval bounds through
    /// the fixed point, and the Lipschitz bound).
    Certify(certify::Args),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Compress(args) => compress::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Attack(args) => attack::run(&args),
        Command::Certify(args) => certify::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::ExportNpz(args) => export_npz::run(&args),
        Command::ImportOnnx(args) => import_onnx::run(&args),
        Command::ExportOnnx(args) => export_onnx::run(&args),
        Command::Bench(args) => bench::run(&args),
    }
}

/// Reads a whole model file straight into an aligned buffer (read once, no second copy), naming the file in any
/// error. A file that changes length while it is read is reported, not half-read.
pub fn read_model_bytes(path: &Path) -> Result<wolfpack_format::AlignedBytes, CliError> {
    use std::io::Read;
    let at = |e: std::io::Error| CliError::at(path, e);
    let mut file = std::fs::File::open(path).map_err(at)?;
    let len = file.metadata().map_err(at)?.len();
    let len =
        usize::try_from(len).map_err(|_| CliError::at(path, "file too large for this machine"))?;
    let mut bytes = wolfpack_format::AlignedBytes::zeroed(len);
    file.read_exact(bytes.as_mut_slice()).map_err(at)?;
    if file.read(&mut [0u8; 1]).map_err(at)? != 0 {
        return Err(CliError::at(path, "the file grew while it was read"));
    }
    Ok(bytes)
}

/// A path argument.
pub type PathArg = PathBuf;
