//! `wolfpack attack MODEL --norm {linf,l2} --eps E[,E...]`: white-box attacks through the fixed point, every counted
//! adversarial example confirmed by the runtime.

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::robust::attack::{AttackConfig, Method};
use crate::robust::summary::Target;
use crate::robust::{Norm, Threat};

/// Arguments of `attack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// The data set (its test split is the one evaluated).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Norm of the perturbation ball (intersected with the [0, 1] input box).
    #[arg(long, default_value = "linf")]
    pub norm: String,
    /// Radii, comma-separated, in the data's [0, 1] input scale.
    #[arg(long, value_delimiter = ',', required = true)]
    pub eps: Vec<f32>,
    /// Attack: pgd (projected steepest ascent, random start), fw (Frank-Wolfe), fgsm (one step).
    #[arg(long, value_enum, default_value_t = Method::Pgd)]
    pub method: Method,
    /// Iterations per run.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// PGD step length (default 2.5 eps / steps).
    #[arg(long)]
    pub step_size: Option<f32>,
    /// Runs per input (random starts after the first for fw and fgsm).
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Attack only the first N test examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of the random starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print {"clean_accuracy": ..., "n": ..., "robust": [{"eps": ..., "accuracy": ..., ...}, ...]}.
    #[arg(long)]
    pub json: bool,
    /// Write the robustness curve (accuracy against eps) to this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Runs `attack`.
pub fn run(args: &Args) -> CliResult {
    let norm: Norm = args.norm.parse().map_err(|e| CliError(format!("{e}")))?;
    let model =
        wolfpack_runtime::Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let splits = args.data.load()?;
    let data = &splits.test;
    let target = Target::new(&model, data, args.limit).map_err(|e| CliError::at(&args.model, e))?;
    let mut points = Vec::new();
    for &eps in &args.eps {
        let threat = Threat::new(norm, eps).map_err(|e| CliError(e.to_string()))?;
        let cfg = AttackConfig {
            method: args.method,
            step_size: args.step_size,
            restarts: args.restarts,
            seed: args.seed,
            ..AttackConfig::pgd(threat, args.steps)
        };
        let point = target
            .robust(data, &cfg)
            .map_err(|e| CliError::at(&args.model, e))?;
        if !args.json {
            println!(
                "eps {eps:<8} robust accuracy {:6.2}%  ({} of {} broken, mean {norm} norm {:.4}, {} batched solves, {:.1} s)",
                100.0 * point.accuracy,
                point.broken,
                target.n(),
                point.mean_norm,
                point.evaluations,
                point.seconds
            );
        }
        points.push(point);
    }
    if let Some(plot) = &args.plot {
        let mut curve = vec![(0.0, target.clean_accuracy())];
        curve.extend(points.iter().map(|p| (f64::from(p.eps), p.accuracy)));
        curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        let title = format!(
            "wolfpack attack: {:?}-{} on {}",
            args.method, args.steps, splits.name
        );
        crate::robust::plot::robustness_curve(
            &title,
            &norm.to_string(),
            &[("robust accuracy", curve)],
            plot,
        )
        .map_err(|e| CliError::at(plot, e))?;
    }
    if args.json {
        let out = serde_json::json!({
            "model": args.model.display().to_string(),
            "data": splits.name,
            "clean_accuracy": target.clean_accuracy(),
            "n": target.n(),
            "norm": norm,
            "method": args.method,
            "steps": args.steps,
            "restarts": args.restarts,
            "robust": points,
        });
        println!("{out}");
    } else {
        println!(
            "{}: clean accuracy {:.2}% on the first {} test examples of {} ({:?}, {} steps, {} restart(s))",
            args.model.display(),
            100.0 * target.clean_accuracy(),
            target.n(),
            splits.name,
            args.method,
            args.steps,
            args.restarts
        );
    }
    Ok(())
}
