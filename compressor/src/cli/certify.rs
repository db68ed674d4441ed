//! `wolfpack certify MODEL --norm linf --eps E[,E...]`: the fraction of test inputs whose prediction provably cannot
//! change within the ball, by interval bounds through the fixed point (and, for comparison, the Lipschitz bound).

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::robust::ibp::certify_dataset;
use crate::robust::load::params_from_view;
use crate::robust::Norm;

/// Arguments of `certify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// The data set (its test split is the one evaluated).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Norm of the ball: linf (interval bounds are boxes).
    #[arg(long, default_value = "linf")]
    pub norm: String,
    /// Radii, comma-separated, in the data's [0, 1] input scale.
    #[arg(long, value_delimiter = ',', required = true)]
    pub eps: Vec<f32>,
    /// Certify only the first N test examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print {"clean_accuracy": ..., "n": ..., "certified": [{"eps": ..., "accuracy": ...}, ...]}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `certify`.
pub fn run(args: &Args) -> CliResult {
    let norm: Norm = args.norm.parse().map_err(|e| CliError(format!("{e}")))?;
    if norm != Norm::Linf {
        return Err(CliError(format!(
            "certify: norm {norm} is not supported; interval bounds certify linf balls"
        )));
    }
    let model =
        wolfpack_runtime::Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let splits = args.data.load()?;
    let data = &splits.test;
    if data.p != model.n_inputs() {
        return Err(CliError::at(
            &args.model,
            format!(
                "the model takes {} inputs but {} has {} features",
                model.n_inputs(),
                splits.name,
                data.p
            ),
        ));
    }
    let params = params_from_view(model.view(), data.preprocess)
        .map_err(|e| CliError::at(&args.model, e))?;
    let start = std::time::Instant::now();
    let (clean, n, certified) = certify_dataset(&params, data, &args.eps, args.limit)
        .map_err(|e| CliError::at(&args.model, e))?;
    let seconds = start.elapsed().as_secs_f64();
    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "data": splits.name,
            "clean_accuracy": clean,
            "n": n,
            "kappa": params.kappa(),
            "certified": certified,
            "seconds": seconds,
        });
        println!("{out}");
    } else {
        println!(
            "{}: clean accuracy {:.2}% on the first {n} test examples of {} (kappa {:.3}, {seconds:.1} s)",
            args.model.display(),
            100.0 * clean,
            splits.name,
            params.kappa()
        );
        for c in &certified {
            println!(
                "eps {:<8} certified {:6.2}% by interval bounds, {:6.2}% by the Lipschitz bound",
                c.eps,
                100.0 * c.accuracy,
                100.0 * c.lipschitz_accuracy
            );
        }
    }
    Ok(())
}
