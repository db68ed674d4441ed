//! `wolfpack compress`: train a sparse implicit model from scratch within a budget of stored weights, write the
//! `.wpk`, a JSON report and a training-curve plot, checkpointing every epoch.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use wolfpack_format::{write_atomic, ValueType};

use super::{CliError, CliResult};
use crate::data::Splits;
use crate::evaluate::{evaluate, Evaluation};
use crate::pack::compressed_model_file;
use crate::train::{self, Checkpoint, CompressConfig, Compressed, EpochStats};

/// Arguments of `compress`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data set: trained on its train split, scored on its test split.
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
    /// Budget of stored weights of A, B, C and D together.
    #[arg(long, default_value_t = 10_000)]
    pub max_nnz: usize,
    /// Hidden states n (default: the recipe's).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Training epochs (default: the recipe's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of every random choice: the same seed and data give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Value type of the stored weights: f16 (default), bf16, i8 (per-row scale) or f32.
    #[arg(long, default_value = "f16")]
    pub dtype: ValueType,
    /// Output model file.
    #[arg(long, default_value = "model.wpk")]
    pub out: PathBuf,
    /// Report file (JSON); the training-curve plot is written beside it as `.svg`. Default: `<out>.report.json`.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Continue from the checkpoint `<out>.ckpt` left by an interrupted run with the same settings.
    #[arg(long)]
    pub resume: bool,
    /// Print the report as JSON on standard output instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Per-feature input standardisation while training, folded into the stored model: the floor of the features'
    /// standard deviations as a fraction of their mean (default: the recipe's, 0.1), or `off` to train on the
    /// inputs as they are (as models made before it became the default were).
    #[arg(long, value_name = "FLOOR|off")]
    pub standardise: Option<Standardisation>,
    /// Decoupled (AdamW) weight decay of the training steps (default: the recipe's, 0.1); 0 turns it off.
    #[arg(long, value_name = "W")]
    pub weight_decay: Option<f32>,
    /// Adversarial training with PGD examples in the inner loop: `linf:EPS` or `l2:EPS` (inputs in [0, 1]).
    #[arg(long, value_name = "NORM:EPS", conflicts_with = "certified")]
    pub adversarial: Option<crate::robust::Threat>,
    /// Interval-bound (certified) training through the fixed point: `linf:EPS`.
    #[arg(long, value_name = "linf:EPS")]
    pub certified: Option<crate::robust::Threat>,
    /// Test examples (the first ones) on which a robust run's report measures PGD-20 and certified accuracy.
    #[arg(long, default_value_t = 2000)]
    pub robust_limit: usize,
    /// Compress an existing network: an ONNX multilayer perceptron reading the data set's scaled inputs. The
    /// student takes its hidden units (or `--hidden` of the most important ones), is fitted to their states row by
    /// row, then fine-tuned with the teacher's soft targets (see `wolfpack::teacher`).
    #[arg(long, value_name = "MODEL.onnx", conflicts_with_all = ["adversarial", "certified"], help_heading = "Teacher")]
    pub teacher: Option<PathBuf>,
    /// Weight of the teacher's soft targets in the fine-tuning loss.
    #[arg(
        long,
        default_value_t = 0.5,
        requires = "teacher",
        help_heading = "Teacher"
    )]
    pub teacher_weight: f32,
    /// Each row of the fit gets this multiple of its share of the budget; fine-tuning then selects the budget by
    /// magnitude over its first 30%.
    #[arg(
        long,
        default_value_t = 2.5,
        requires = "teacher",
        help_heading = "Teacher"
    )]
    pub teacher_atoms: f32,
    /// Row solver of the fit: `fw` (Frank-Wolfe on the Gram matrix) or `negiar` (stochastic Frank-Wolfe, 2 epochs).
    #[arg(long, default_value = "fw", value_parser = ["fw", "negiar"], requires = "teacher", help_heading = "Teacher")]
    pub teacher_solver: String,
    /// Fit the rows on the first N training examples only.
    #[arg(long, value_name = "N", requires = "teacher", help_heading = "Teacher")]
    pub teacher_examples: Option<usize>,
}

/// `--standardise` values: a floor, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardisation(pub Option<f32>);

impl std::str::FromStr for Standardisation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Standardisation(None));
        }
        s.parse::<f32>()
            .map(|f| Standardisation(Some(f)))
            .map_err(|_| format!("{s:?} is neither a number nor `off`"))
    }
}

impl Args {
    fn teacher_settings(&self) -> crate::teacher::TeacherSettings {
        crate::teacher::TeacherSettings {
            distill_weight: self.teacher_weight,
            atoms_factor: self.teacher_atoms,
            fit_examples: self.teacher_examples,
            hidden: self.hidden,
            solver: match self.teacher_solver.as_str() {
                "negiar" => crate::teacher::RowSolver::Negiar {
                    epochs: 2,
                    batch: 1,
                },
                _ => crate::teacher::RowSolver::FrankWolfe,
            },
            ..crate::teacher::TeacherSettings::default()
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Runs `compress`.
pub fn run(args: &Args) -> CliResult {
    let mut cfg = CompressConfig {
        max_nnz: Some(args.max_nnz),
        seed: args.seed,
        quant: args.dtype,
        ..CompressConfig::default()
    };
    if let Some(h) = args.hidden {
        cfg.hidden = h;
    }
    if let Some(t) = args.adversarial {
        cfg.robust = Some(crate::robust::train::RobustTraining::adversarial(t));
    }
    if let Some(t) = args.certified {
        cfg.robust = Some(
            crate::robust::train::RobustTraining::certified(t)
                .map_err(|e| CliError(format!("--certified: {e}")))?,
        );
    }
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if let Some(Standardisation(floor)) = args.standardise {
        cfg.standardise = floor;
    }
    if let Some(w) = args.weight_decay {
        cfg.weight_decay = w;
    }
    if cfg.hidden == 0 || cfg.hidden > wolfpack_format::layout::MAX_DIM as usize {
        return Err(CliError(format!(
            "--hidden {} is outside 1..={}",
            cfg.hidden,
            wolfpack_format::layout::MAX_DIM
        )));
    }
    // Fail before training, not after it: the outputs' folders are made (as `mkdir -p` would) up front.
    for out in [Some(&args.out), args.report.as_ref()]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CliError::at(dir, e))?;
        }
    }
    let splits = args.data.load()?;
    let ckpt_path = with_suffix(&args.out, ".ckpt");
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| with_suffix(&args.out, ".report.json"));
    let mut teacher = None;
    let resume = if args.resume {
        let ck = Checkpoint::load(&ckpt_path).map_err(|e| CliError(e.to_string()))?;
        if args.teacher.is_some() {
            // The fit chose the fine-tuning settings; they are the checkpoint's.
            cfg = ck.config.clone();
        }
        Some(ck)
    } else if let Some(path) = &args.teacher {
        let prepared = crate::teacher::prepare(path, &splits, &cfg, &args.teacher_settings())
            .map_err(|e| CliError(format!("--teacher {e}")))?;
        if let Err(e) = &prepared.report.ort_max_difference {
            eprintln!("warning: the teacher was not checked against ONNX Runtime ({e})");
        }
        cfg = prepared.config;
        teacher = Some(prepared.report);
        Some(prepared.checkpoint)
    } else {
        None
    };
    if !args.json {
        eprintln!(
            "compress: {} ({} train / {} test examples, {} features, {} classes), budget {} weights, hidden {}, {} epochs",
            splits.name, splits.train.n, splits.test.n, splits.train.p, splits.train.n_classes, args.max_nnz, cfg.hidden, cfg.epochs
        );
    }
    let bar = progress_bar(cfg.epochs, args.json);
    let mut ckpt_error: Option<CliError> = None;
    let start = Instant::now();
    let compressed = train::compress(
        &splits.train,
        &splits.test,
        &cfg,
        resume,
        &mut |stats: &EpochStats, ck: &Checkpoint| {
            bar.set_position(stats.epoch as u64);
            bar.set_message(format!(
                "{:<10} loss {:.4}  train {:.2}%  test {:.2}%  nnz {}  kappa {:.3}",
                stats.phase,
                stats.loss,
                100.0 * stats.train_accuracy,
                100.0 * stats.test_accuracy,
                stats.nnz.iter().sum::<usize>(),
                stats.kappa
            ));
            // The checkpoint is replaced atomically, so an interruption at any moment leaves the last whole one.
            let saved = ck.save(&ckpt_path).map_err(|e| CliError(e.to_string()));
            if let Err(e) = saved {
                ckpt_error.get_or_insert(e);
            }
        },
    )
    .map_err(|e| CliError(format!("compress: {e}")))?;
    bar.finish_and_clear();
    if let Some(e) = ckpt_error {
        // The run finished: losing its model because a checkpoint could not be saved would be worse.
        eprintln!("warning: checkpoints could not be saved ({e}); the model is written anyway");
    }
    let file = compressed_model_file(&compressed, &splits.name);
    let bytes = file
        .write(&args.out)
        .map_err(|e| CliError::at(&args.out, e))?;
    // Re-measure through the runtime on the file as written: the figure users will see.
    let model = wolfpack_runtime::Model::open(&args.out).map_err(|e| CliError::at(&args.out, e))?;
    let stored = evaluate(&model, &splits.test).map_err(|e| CliError::at(&args.out, e))?;
    let threat = args.adversarial.or(args.certified);
    let robustness = threat
        .map(|t| {
            crate::robust::summary::summarize(&model, &splits.test, t, Some(args.robust_limit))
        })
        .transpose()
        .map_err(|e| CliError::at(&args.out, e))?;
    let mut report = Report::new(
        &compressed,
        &stored,
        bytes,
        &args.out,
        &splits,
        start.elapsed().as_secs_f64(),
    );
    report.robustness = robustness;
    report.teacher = teacher;
    // The certified bound of the file as written (after quantisation), not the training radius.
    report.kappa = model.structure().kappa;
    let json = serde_json::to_vec_pretty(&report).map_err(|e| CliError(e.to_string()))?;
    write_atomic(&report_path, &json).map_err(|e| CliError(e.to_string()))?;
    let plot_path = match report_path.with_extension("svg") {
        p if p == report_path => with_suffix(&report_path, ".curve.svg"),
        p => p,
    };
    crate::plot::training_curve(&compressed.history, &plot_path)
        .map_err(|e| CliError::at(&plot_path, e))?;
    let _ = std::fs::remove_file(&ckpt_path);
    if args.json {
        println!("{}", String::from_utf8_lossy(&json));
    } else {
        report.print(&report_path, &plot_path);
    }
    Ok(())
}

fn progress_bar(epochs: usize, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {pos:>3}/{len} [{bar:24}] {elapsed_precise} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

/// The report file of a run.
#[derive(serde::Serialize)]
struct Report<'a> {
    model: String,
    data: String,
    /// Test accuracy of the stored model, measured through the runtime.
    test_accuracy: f64,
    /// Test accuracy of the f32 weights before quantisation (training code's forward pass).
    test_accuracy_f32: f64,
    /// Test accuracy of the quantised weights (training code's forward pass).
    test_accuracy_quantised: f64,
    test_examples: usize,
    nnz: usize,
    nnz_per_matrix: serde_json::Value,
    file_bytes: u64,
    dtype: String,
    kappa: f32,
    mean_iterations: f64,
    training_seconds: f64,
    wall_seconds: f64,
    settings: &'a CompressConfig,
    history: &'a [EpochStats],
    /// Clean, PGD-20 and certified accuracy of a robust run (`--adversarial`, `--certified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    robustness: Option<crate::robust::summary::Summary>,
    /// The teacher and the row-wise fit of a `--teacher` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    teacher: Option<crate::teacher::TeacherReport>,
}

impl<'a> Report<'a> {
    fn new(
        c: &'a Compressed,
        stored: &Evaluation,
        bytes: u64,
        out: &Path,
        splits: &Splits,
        wall: f64,
    ) -> Self {
        let [a, b, cc, d] = c.nnz;
        Report {
            model: out.display().to_string(),
            data: splits.name.clone(),
            test_accuracy: stored.accuracy,
            test_accuracy_f32: c.test_accuracy_f32,
            test_accuracy_quantised: c.test_accuracy,
            test_examples: stored.n,
            nnz: c.nnz.iter().sum(),
            nnz_per_matrix: serde_json::json!({"A": a, "B": b, "C": cc, "D": d}),
            file_bytes: bytes,
            dtype: c.quant.name().to_string(),
            kappa: c.kappa,
            mean_iterations: stored.mean_iterations,
            training_seconds: c.train_seconds,
            wall_seconds: wall,
            settings: &c.config,
            history: &c.history,
            robustness: None,
            teacher: None,
        }
    }

    fn print(&self, report: &Path, plot: &Path) {
        println!(
            "model             {} ({} bytes)",
            self.model, self.file_bytes
        );
        println!(
            "data              {} ({} test examples)",
            self.data, self.test_examples
        );
        println!(
            "test accuracy     {:.2}% stored {} (f32 weights: {:.2}%)",
            100.0 * self.test_accuracy,
            self.dtype,
            100.0 * self.test_accuracy_f32
        );
        println!("nonzeros          {} ({})", self.nnz, self.nnz_per_matrix);
        println!("kappa             {:.3}", self.kappa);
        println!(
            "solve             {:.1} iterations per input on average",
            self.mean_iterations
        );
        println!(
            "training          {:.1} s ({:.1} s wall)",
            self.training_seconds, self.wall_seconds
        );
        println!("report            {}", report.display());
        println!("training curve    {}", plot.display());
        if let Some(t) = &self.teacher {
            println!(
                "teacher           {} (layers {:?}, {} weights): test {:.2}% (ONNX Runtime: {})",
                t.model,
                t.layers,
                t.nnz,
                100.0 * t.test_accuracy,
                t.test_accuracy_ort
                    .map_or("not run".into(), |a| format!("{:.2}%", 100.0 * a))
            );
            println!(
                "row-wise fit      test {:.2}% before fine-tuning, R2 hidden {:.3} / logits {:.3}, {} weights, {:.1} s",
                100.0 * t.fit_test_accuracy,
                t.fit.hidden_r2,
                t.fit.output_r2,
                t.fit.nnz.iter().sum::<usize>(),
                t.fit.seconds
            );
        }
        if let Some(r) = &self.robustness {
            println!(
                "robustness        {}: clean {:.2}%, PGD-20 {:.2}%, certified {} on the first {} test examples",
                r.threat,
                100.0 * r.clean_accuracy,
                100.0 * r.pgd20.accuracy,
                r.certified_accuracy
                    .map_or("n/a".into(), |c| format!("{:.2}%", 100.0 * c)),
                r.n
            );
        }
    }
}
