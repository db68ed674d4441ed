//! `wolfpack export-onnx MODEL.wpk --out MODEL.onnx [--unroll K]`.

use wolfpack_format::ModelView;

use super::{read_model_bytes, CliError, CliResult, PathArg};
use crate::onnx::{export_model, ExportOptions};

/// Arguments of `export-onnx`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model.
    pub model: PathArg,
    /// Where to write the ONNX model (input "input" [batch, p], output "output" [batch, q] = y).
    #[arg(long)]
    pub out: PathArg,
    /// For a non-triangular A: unroll this many Picard steps instead of an ONNX Loop with the model's tolerance.
    #[arg(long)]
    pub unroll: Option<u32>,
}

/// Writes the standard ONNX graph computing the model's output.
pub fn run(args: &Args) -> CliResult {
    let bytes = read_model_bytes(&args.model)?;
    let view = ModelView::parse(&bytes).map_err(|e| CliError::at(&args.model, e))?;
    let exported = export_model(
        &view,
        &ExportOptions {
            unroll: args.unroll,
        },
    )
    .map_err(|e| CliError::at(&args.model, e))?;
    let onnx = exported.to_bytes();
    wolfpack_format::write_atomic(&args.out, &onnx).map_err(|e| CliError::at(&args.out, e))?;
    println!(
        "{} -> {}: {:?}, {} bytes ({} of dense float weights)",
        args.model.display(),
        args.out.display(),
        exported.scheme,
        onnx.len(),
        exported.weight_bytes
    );
    Ok(())
}
