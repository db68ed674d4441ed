//! L1-constrained logistic regression on a CSV file (label in {0, 1} first, then features):
//!
//! `min_w (1/n) sum_i log(1 + exp(-y_i a_i . w))  s.t.  ||w||_1 <= alpha`
//!
//! ```text
//! cargo run --release -p wolfpack-optim --example l1_logreg -- --data FILE.csv --alpha A \
//!     --solver {fw,afw,pfw,pgd,apgd,sfw} [--max-iter N] [--tol T] [--epochs E] \
//!     [--batch-size B] [--seed S] [--no-standardise] --json
//! ```
//!
//! Features are standardised (zero mean, unit population standard deviation) unless
//! `--no-standardise`. Prints one JSON line
//! `{"f": objective, "gap": certificate, "iterations": N, "seconds": wall time of the solve,
//! "cpu_seconds": CPU time of the solve}` (CPU time from `/proc/thread-self/stat` with 10 ms
//! resolution, NaN where unavailable; the steadier figure on a shared machine for long runs);
//! `gap` is the Frank-Wolfe gap at the returned point (for `sfw` computed after the solve, from
//! one full gradient, outside the timed region); `iterations` counts epochs for `sfw`.

use std::process::ExitCode;
use std::time::Instant;

use wolfpack_optim::fullbatch::{
    AwayPairwiseFw, FrankWolfe, FwVariant, ProjectedGradient, StepRule,
};
use wolfpack_optim::glm::{Dataset, Glm, Logistic};
use wolfpack_optim::sets::{fw_gap, ConstraintSet, L1Ball};
use wolfpack_optim::stochastic::NegiarSfw;
use wolfpack_optim::{Objective, OptimizeResult, Vertex};

struct Args {
    data: String,
    alpha: f64,
    solver: String,
    max_iter: usize,
    tol: f64,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    standardise: bool,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        data: String::new(),
        alpha: 1.0,
        solver: "fw".into(),
        max_iter: 1000,
        tol: 1e-6,
        epochs: 20,
        batch_size: 1,
        seed: 0,
        standardise: true,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--data" => a.data = val()?,
            "--alpha" => a.alpha = val()?.parse().map_err(|e| format!("--alpha: {e}"))?,
            "--solver" => a.solver = val()?,
            "--max-iter" => a.max_iter = val()?.parse().map_err(|e| format!("--max-iter: {e}"))?,
            "--tol" => a.tol = val()?.parse().map_err(|e| format!("--tol: {e}"))?,
            "--epochs" => a.epochs = val()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--batch-size" => {
                a.batch_size = val()?.parse().map_err(|e| format!("--batch-size: {e}"))?
            }
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--no-standardise" => a.standardise = false,
            "--json" => a.json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.data.is_empty() {
        return Err("--data FILE.csv is required".into());
    }
    Ok(a)
}

fn run(a: &Args) -> Result<(OptimizeResult<f64>, f64, f64), String> {
    let text = std::fs::read_to_string(&a.data).map_err(|e| format!("{}: {e}", a.data))?;
    let mut ds = Dataset::<f64>::from_csv_str(&text, true).map_err(|e| e.to_string())?;
    if a.standardise {
        ds.standardise();
    }
    let f = Glm::new(&ds.a, &ds.y, ds.d, Logistic).map_err(|e| e.to_string())?;
    let set = L1Ball::new(a.alpha).map_err(|e| e.to_string())?;
    let x0 = vec![0.0; ds.d];
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    let res = match a.solver.as_str() {
        "fw" => {
            let m = FrankWolfe {
                max_iter: a.max_iter,
                tol: a.tol,
                ..FrankWolfe::new(StepRule::Backtracking {
                    initial_lipschitz: None,
                })
            };
            m.minimize(&f, &set, x0)
        }
        "afw" | "pfw" => {
            let v = if a.solver == "afw" {
                FwVariant::Away
            } else {
                FwVariant::Pairwise
            };
            let m = AwayPairwiseFw {
                max_iter: a.max_iter,
                tol: a.tol,
                ..AwayPairwiseFw::new(v)
            };
            m.minimize(&f, &set, x0)
        }
        "pgd" | "apgd" => {
            let base = if a.solver == "pgd" {
                ProjectedGradient::pgd()
            } else {
                ProjectedGradient::apgd()
            };
            let m = ProjectedGradient {
                max_iter: a.max_iter,
                tol: a.tol,
                ..base
            };
            m.minimize(&f, &set, x0)
        }
        "sfw" => {
            let m = NegiarSfw {
                epochs: a.epochs,
                batch_size: a.batch_size,
                seed: a.seed,
                final_certificate: false,
                trace: false,
            };
            m.minimize(&f, &set, x0)
        }
        other => {
            return Err(format!(
                "unknown solver {other} (fw, afw, pfw, pgd, apgd, sfw)"
            ))
        }
    }
    .map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds() - cpu_start;
    let mut res = res;
    if a.solver == "sfw" {
        // Objective and certificate of the stochastic solve, outside the timed region.
        res.f = f.value(&res.x);
        res.certificate = wolfpack_optim::Certificate::FrankWolfeGap(certificate(&f, &set, &res.x));
    }
    Ok((res, seconds, cpu))
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((res, seconds, cpu)) => {
            let gap = res.certificate.value().unwrap_or(f64::NAN);
            if args.json {
                println!(
                    "{{\"f\": {:.17e}, \"gap\": {:.6e}, \"iterations\": {}, \"seconds\": {:.6}, \"cpu_seconds\": {:.6}}}",
                    res.f, gap, res.iterations, seconds, cpu
                );
            } else {
                println!(
                    "solver {}: f = {:.12} gap = {:.3e} iterations = {} seconds = {:.4} ({})",
                    args.solver, res.f, gap, res.iterations, seconds, res.message
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time (user + system) of this thread in seconds, from `/proc/thread-self/stat` (Linux;
/// resolution one clock tick, 10 ms), NaN elsewhere. On a shared machine it is steadier than
/// wall time for runs much longer than a tick.
fn thread_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = stat.rfind(')').map(|p| &stat[p + 1..]) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    match (
        f.get(11).and_then(|v| v.parse::<f64>().ok()),
        f.get(12).and_then(|v| v.parse::<f64>().ok()),
    ) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

fn certificate(f: &Glm<'_, f64, Logistic>, set: &L1Ball<f64>, x: &[f64]) -> f64 {
    let mut g = vec![0.0; x.len()];
    f.value_grad(x, &mut g);
    let mut v = Vertex::new();
    set.lmo(&g, &mut v).expect("dimensions match");
    fw_gap(&g, x, &v)
}
