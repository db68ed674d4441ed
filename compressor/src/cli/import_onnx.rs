//! `wolfpack import-onnx MODEL.onnx --out MODEL.wpk [--dtype f32]`.

use wolfpack_format::ValueType;

use super::{CliError, CliResult, PathArg};
use crate::onnx::{import_model, ImportOptions};

/// Arguments of `import-onnx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ONNX model: a multilayer perceptron as written by torch.onnx.export or skl2onnx.
    pub model: PathArg,
    /// Where to write the `.wpk` model.
    #[arg(long)]
    pub out: PathArg,
    /// Value type of the stored weights (f32 keeps the network exactly; f16, bf16, i8 shrink it).
    #[arg(long, default_value = "f32")]
    pub dtype: ValueType,
}

/// Converts the MLP into an implicit model with a strictly block-triangular `A` and writes it.
pub fn run(args: &Args) -> CliResult {
    let bytes = std::fs::read(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let options = ImportOptions {
        dtype: args.dtype,
        ..ImportOptions::default()
    };
    let imported = import_model(&bytes, &options).map_err(|e| CliError::at(&args.model, e))?;
    let written = imported
        .model
        .write(&args.out)
        .map_err(|e| CliError::at(&args.out, e))?;
    let d = imported.model.meta.dims;
    let layers: Vec<String> = imported.layers.iter().map(usize::to_string).collect();
    println!(
        "{} -> {}: {} inputs, hidden layers [{}], {} outputs{}; {} bytes",
        args.model.display(),
        args.out.display(),
        d.inputs,
        layers.join(", "),
        d.outputs,
        if imported.model.meta.labels.is_empty() {
            String::new()
        } else {
            format!(" (labels {})", imported.model.meta.labels.join(", "))
        },
        written
    );
    Ok(())
}
