//! `wolfpack eval MODEL [--data DIR] [--json]`: test accuracy of a stored model, through the runtime.

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::evaluate::evaluate;

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// The data set (its test split is the one evaluated).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Print {"accuracy": ..., "n": ..., "mean_iterations": ...}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `eval`.
pub fn run(args: &Args) -> CliResult {
    let model =
        wolfpack_runtime::Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let splits = args.data.load()?;
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
