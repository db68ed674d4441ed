//! `wolfpack eval MODEL [--data DIR] [--json]`: test accuracy of a stored model, through the runtime.

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::evaluate::evaluate;

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// Data folder (as for `compress`); its test split is used. Default: as for `compress`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the embedded 8x8 digits.
    #[arg(long, conflicts_with = "data")]
    pub embedded: bool,
    /// Print {"accuracy": ..., "n": ..., "mean_iterations": ...}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `eval`.
pub fn run(args: &Args) -> CliResult {
    let model =
        wolfpack_runtime::Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let splits = super::compress::load_data(args.data.as_deref(), args.embedded)?;
    let ev = evaluate(&model, &splits.test)
        .map_err(|e| CliError::at(&args.model, format!("{e} ({})", splits.name)))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&ev).map_err(|e| CliError(e.to_string()))?
        );
    } else {
        println!(
            "{}: accuracy {:.2}% on {} test examples of {} ({:.1} fixed-point iterations per input)",
            args.model.display(),
            100.0 * ev.accuracy,
            ev.n,
            splits.name,
            ev.mean_iterations
        );
    }
    Ok(())
}
