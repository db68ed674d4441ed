//! `wolfpack bench MODEL.wpk [--onnx OTHER.onnx ...] [--batch 1,64] [--threads 1] [--seconds 1] [--json]`.
//!
//! Times the wolfpack runtime on `MODEL.wpk` and ONNX Runtime on each ONNX model in one process, on the same
//! inputs (`--inputs FILE`, a batch after another, or uniform random values in [0, 1)), after a warm-up. Calls
//! are timed in groups (`--group N` calls per clock reading; by default enough for about 200 us, at most 1,000, from
//! the warm-up's speed): reading the clock costs 0.1 us (wall) to 0.7 us (thread CPU time, a system call) on the
//! project's KVM machine, which timing every call on its own adds to both engines alike and so squeezes their
//! ratio for microsecond calls. Each group gives one sample, its time divided by its calls, and the table
//! reports the median (p50) and the 99th percentile of these per-call samples (with `--group 1`, of single
//! calls; with larger groups the p99 is that of group means, which smooths single-call outliers), the
//! throughput (samples per second at the mean latency), the model file size, the load time (wolfpack: memory map + full validation;
//! ONNX Runtime: session creation from the file's bytes, graph optimisations on; for both, the median of at least 21 loads and a quarter of a second's worth) and
//! the peak resident memory the load adds (Linux: the peak `VmHWM` after resetting it through
//! `/proc/self/clear_refs`, minus the `VmRSS` before the load; the ONNX Runtime library and environment are
//! loaded before, and every model stays loaded, so no figure includes them or reuses freed memory). Ratios are ONNX Runtime over wolfpack: above 1,
//! wolfpack is faster. ONNX Runtime runs with `--threads` intra-op threads; the wolfpack runtime is
//! single-threaded.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde::Serialize;
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

use super::{CliError, CliResult, PathArg};
use crate::onnx::ort_runtime::OrtModel;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model.
    pub model: PathArg,
    /// ONNX models to run through ONNX Runtime for comparison (repeatable).
    #[arg(long)]
    pub onnx: Vec<PathArg>,
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub batch: Vec<usize>,
    /// Intra-op threads of ONNX Runtime (the wolfpack runtime uses one).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Measuring time per model and batch size, in seconds (after a warm-up of a fifth of it).
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Raw inputs to cycle through, one batch per call (.npy, .csv or IDX `*-ubyte[.gz]`, as for `predict`);
    /// default: uniform random values in [0, 1). ONNX models with another input size get random inputs.
    #[arg(long)]
    pub inputs: Option<PathArg>,
    /// The runtime's fixed-point iteration (auto: the block-triangular solve when A's cyclic components are small,
    /// else Gauss-Seidel for long rows of A, Picard for short ones).
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Override of the model's solver tolerance (`max |x_{k+1} - x_k|` at which iterations stop).
    #[arg(long)]
    pub tolerance: Option<f32>,
    /// What to time: wall-clock time, or the CPU time of the calling thread (which leaves out the time the
    /// thread waits for a core on a busy machine; ONNX Runtime with one intra-op thread computes on the caller).
    #[arg(long, value_enum, default_value_t = Clock::Wall)]
    pub clock: Clock,
    /// Calls per timed sample (see the module documentation); default: about 200 us worth, at most 1,000.
    #[arg(long)]
    pub group: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Target duration of one timed group when `--group` is not given.
const GROUP_TARGET: Duration = Duration::from_micros(200);
/// Most calls in one timed group.
const GROUP_MAX: usize = 1000;

/// `--clock` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Wall-clock time (`Instant`).
    Wall,
    /// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
    Cpu,
}

/// `--method` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// The runtime's choice.
    Auto,
    /// Picard (Jacobi) iteration.
    Picard,
    /// Gauss-Seidel sweeps.
    GaussSeidel,
    /// The block-triangular solve (strongly connected components of A), whatever their size.
    BlockTriangular,
    /// Grouped Gauss-Seidel: eight rows at a time, Jacobi inside a group, groups in order (single inputs, CSR A).
    GroupedGaussSeidel,
    /// Picard with Anderson acceleration over the last 5 iterates.
    Anderson,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::Auto => Method::Auto,
            MethodArg::Picard => Method::Picard,
            MethodArg::GaussSeidel => Method::GaussSeidel,
            MethodArg::BlockTriangular => Method::BlockTriangular,
            MethodArg::GroupedGaussSeidel => Method::GroupedGaussSeidel,
            MethodArg::Anderson => Method::Anderson { depth: 5 },
        }
    }
}

/// One model at one batch size.
#[derive(Debug, Clone, Serialize)]
struct Row {
    path: String,
    batch: usize,
    threads: usize,
    clock: Clock,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
    calls: usize,
    /// Calls per timed sample (group).
    calls_per_sample: usize,
    throughput_per_s: f64,
    file_bytes: u64,
    load_us: f64,
    /// How many loads `load_us` is the median of.
    loads: usize,
    load_peak_rss_kib: Option<u64>,
    /// This model's p50 over wolfpack's p50 (absent for wolfpack itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    p50_ratio_to_wolfpack: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_ratio_to_wolfpack: Option<f64>,
}

#[derive(Serialize)]
struct BatchReport {
    wolfpack: Row,
    onnx: Vec<Row>,
}

/// Load time and memory of one model, measured once.
struct Load {
    file_bytes: u64,
    load_us: f64,
    /// How many loads `load_us` is the median of.
    loads: usize,
    peak_kib: Option<u64>,
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Loads once under the peak-RSS probe: the peak `VmHWM` (after a reset) minus the `VmRSS` before, in KiB.
fn load_with_peak<T, E>(load: impl FnOnce() -> Result<T, E>) -> Result<(T, Option<u64>), E> {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS:");
    let first = load()?;
    let peak = status_kib("VmHWM:");
    let delta = match (reset, before, peak) {
        (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
        _ => None,
    };
    Ok((first, delta))
}

/// The rule of every engine's `load_us`: loads are repeated until at least [`LOAD_MIN`] have run and
/// [`LOAD_BUDGET`] has passed (or [`LOAD_MAX`] have run), and the median is reported. A load of a few
/// microseconds thus gets thousands of repetitions and one of milliseconds a hundred: the 21 (wolfpack) and 5 (ONNX
/// Runtime) fixed repetitions before left medians that moved by a quarter between runs on a busy machine.
const LOAD_MIN: usize = 21;
const LOAD_BUDGET: Duration = Duration::from_millis(250);
const LOAD_MAX: usize = 20_001;

/// Median time of repeated loads (each result dropped at once, outside the timing), in microseconds, and the
/// number of loads, by the rule of [`LOAD_BUDGET`].
fn load_time<T, E>(mut load: impl FnMut() -> Result<T, E>) -> Result<(f64, usize), E> {
    let mut times = Vec::with_capacity(LOAD_MIN);
    let start = Instant::now();
    while times.len() < LOAD_MAX && (times.len() < LOAD_MIN || start.elapsed() < LOAD_BUDGET) {
        let t = Instant::now();
        let m = load()?;
        times.push(t.elapsed().as_secs_f64());
        drop(m);
    }
    let loads = times.len();
    Ok((median(&mut times) * 1e6, loads))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// Per-call latencies in microseconds on `clock`, and the calls per sample: `call` runs for `budget` (wall clock)
/// after a warm-up of a fifth of it, in groups of `group` calls (default: [`GROUP_TARGET`] worth at the warm-up's
/// speed, at most [`GROUP_MAX`]), one clock reading per group; at least 50 samples.
fn time_calls<E>(
    budget: Duration,
    clock: Clock,
    group: Option<usize>,
    mut call: impl FnMut() -> Result<(), E>,
) -> Result<(Vec<f64>, usize), E> {
    let warm = Instant::now();
    let mut warm_calls = 0u32;
    while warm.elapsed() < budget / 5 || warm_calls == 0 {
        call()?;
        warm_calls += 1;
    }
    let per_call = warm.elapsed() / warm_calls;
    let group = group.unwrap_or_else(|| {
        (GROUP_TARGET.as_nanos() / per_call.as_nanos().max(1)).clamp(1, GROUP_MAX as u128) as usize
    });
    let mut samples = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    while (start.elapsed() < budget || samples.len() < 50) && samples.len() < 2_000_000 {
        let elapsed = match clock {
            Clock::Wall => {
                let t = Instant::now();
                for _ in 0..group {
                    call()?;
                }
                t.elapsed()
            }
            Clock::Cpu => {
                let t = cpu_time::ThreadTime::now();
                for _ in 0..group {
                    call()?;
                }
                t.elapsed()
            }
        };
        samples.push(elapsed.as_secs_f64() * 1e6 / group as f64);
    }
    samples.sort_by(f64::total_cmp);
    Ok((samples, group))
}

fn row(
    path: &Path,
    batch: usize,
    threads: usize,
    clock: Clock,
    (samples, group): (&[f64], usize),
    load: &Load,
) -> Row {
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    Row {
        path: path.display().to_string(),
        batch,
        threads,
        clock,
        p50_us: percentile(samples, 0.5),
        p99_us: percentile(samples, 0.99),
        mean_us: mean,
        calls: samples.len() * group,
        calls_per_sample: group,
        throughput_per_s: batch as f64 / (mean * 1e-6),
        file_bytes: load.file_bytes,
        load_us: load.load_us,
        loads: load.loads,
        load_peak_rss_kib: load.peak_kib,
        p50_ratio_to_wolfpack: None,
        load_ratio_to_wolfpack: None,
    }
}

/// Whole batches of inputs, handed out in turn (the file's samples, repeated when it holds fewer than a
/// batch; or one batch of random values).
struct Pool {
    values: Vec<f32>,
    batch_len: usize,
}

impl Pool {
    fn new(file: Option<&[f32]>, p: usize, batch: usize) -> Pool {
        let batch_len = p * batch;
        let values = match file {
            Some(v) if !v.is_empty() => {
                let whole = (v.len() / batch_len).max(1) * batch_len;
                v.iter().copied().cycle().take(whole).collect()
            }
            _ => inputs(batch_len, 7),
        };
        Pool { values, batch_len }
    }

    fn batch(&self, next: &mut usize) -> &[f32] {
        let count = self.values.len() / self.batch_len;
        let k = *next % count;
        *next += 1;
        &self.values[k * self.batch_len..(k + 1) * self.batch_len]
    }
}

fn inputs(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random::<f32>()).collect()
}

fn file_len(path: &Path) -> Result<u64, CliError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| CliError::at(path, e))
}

/// Measures everything and prints the table or the JSON.
pub fn run(args: &Args) -> CliResult {
    if args.batch.is_empty() || args.batch.contains(&0) {
        return Err(CliError("--batch: batch sizes must be at least 1".into()));
    }
    if args.group == Some(0) {
        return Err(CliError("--group must be at least 1".into()));
    }
    if args.threads == 0 {
        return Err(CliError("--threads must be at least 1".into()));
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(CliError("--seconds must be positive".into()));
    }
    let budget = Duration::from_secs_f64(args.seconds);

    // Load the ONNX Runtime library and environment first, so that no model's figures include them.
    if !args.onnx.is_empty() {
        crate::onnx::ort_runtime::environment().map_err(|e| CliError(e.to_string()))?;
    }
    // Peak memory first, every model kept alive, so that no load reuses memory another one freed.
    let (model, wp_peak) =
        load_with_peak(|| Model::open(&args.model)).map_err(|e| CliError::at(&args.model, e))?;
    let mut ort_models = Vec::new();
    for path in &args.onnx {
        let (m, peak) = load_with_peak(|| OrtModel::from_file(path, args.threads))
            .map_err(|e| CliError::at(path, e))?;
        ort_models.push((path.clone(), m, peak));
    }
    let (load_us, loads) =
        load_time(|| Model::open(&args.model)).map_err(|e| CliError::at(&args.model, e))?;
    let wp_load = Load {
        file_bytes: file_len(&args.model)?,
        load_us,
        loads,
        peak_kib: wp_peak,
    };
    let mut ort_models: Vec<(PathArg, OrtModel, Load)> = ort_models
        .into_iter()
        .map(|(path, m, peak)| {
            let (load_us, loads) = load_time(|| OrtModel::from_file(&path, args.threads))
                .map_err(|e| CliError::at(&path, e))?;
            Ok((
                path.clone(),
                m,
                Load {
                    file_bytes: file_len(&path)?,
                    load_us,
                    loads,
                    peak_kib: peak,
                },
            ))
        })
        .collect::<Result<_, CliError>>()?;
    let solve = SolveOptions {
        method: args.method.into(),
        tolerance: args.tolerance,
        ..SolveOptions::default()
    };

    let file_inputs = match &args.inputs {
        Some(path) => Some(super::predict::read_inputs(path, model.n_inputs())?),
        None => None,
    };
    let mut reports = Vec::new();
    for &batch in &args.batch {
        let pool = Pool::new(file_inputs.as_deref(), model.n_inputs(), batch);
        let mut y = vec![0.0f32; batch * model.n_outputs()];
        let mut session = Session::with_batch(&model, batch);
        let mut next = 0;
        let (samples, group) = time_calls(budget, args.clock, args.group, || {
            let x = pool.batch(&mut next);
            session
                .predict_batch_with(&model, x, batch, &mut y, &solve)
                .map(|_| ())
        })
        .map_err(|e| CliError::at(&args.model, e))?;
        let wolfpack = row(
            &args.model,
            batch,
            1,
            args.clock,
            (&samples, group),
            &wp_load,
        );
        let mut onnx = Vec::new();
        for (path, m, load) in &mut ort_models {
            let same_size = m.n_inputs() == model.n_inputs();
            let pool = Pool::new(
                file_inputs.as_deref().filter(|_| same_size),
                m.n_inputs(),
                batch,
            );
            let mut next = 0;
            let (samples, group) = time_calls(budget, args.clock, args.group, || {
                m.run_discard(pool.batch(&mut next), batch)
            })
            .map_err(|e| CliError::at(path, e))?;
            let mut r = row(
                path,
                batch,
                args.threads,
                args.clock,
                (&samples, group),
                load,
            );
            r.p50_ratio_to_wolfpack = Some(r.p50_us / wolfpack.p50_us);
            r.load_ratio_to_wolfpack = Some(r.load_us / wolfpack.load_us);
            onnx.push(r);
        }
        reports.push((batch, BatchReport { wolfpack, onnx }));
    }

    if args.json {
        let value = if reports.len() == 1 {
            serde_json::to_value(&reports[0].1)
        } else {
            let map: serde_json::Map<String, serde_json::Value> = reports
                .iter()
                .map(|(b, r)| {
                    (
                        b.to_string(),
                        serde_json::to_value(r).expect("report serialises"),
                    )
                })
                .collect();
            Ok(serde_json::Value::Object(map))
        }
        .expect("report serialises");
        println!("{}", serde_json::to_string_pretty(&value).expect("json"));
        return Ok(());
    }
    println!(
        "wolfpack runtime: 1 thread, kernels {:?}, method {:?}; ONNX Runtime: {} intra-op thread(s); {} s per \
         measurement; {:?} clock; calls per sample: {}",
        model.kernels().isa(),
        args.method,
        args.threads,
        args.seconds,
        args.clock,
        args.group
            .map_or("about 200 us worth (column group)".to_string(), |g| g
                .to_string())
    );
    for (batch, r) in &reports {
        println!("\nbatch {batch}");
        println!(
            "{:<10} {:<40} {:>9} {:>9} {:>7} {:>12} {:>10} {:>10} {:>7} {:>10} {:>8} {:>8}",
            "engine",
            "model",
            "p50 us",
            "p99 us",
            "group",
            "samples/s",
            "bytes",
            "load us",
            "loads",
            "load KiB",
            "p50 x",
            "load x"
        );
        let line = |engine: &str, r: &Row| {
            let ratio = |v: Option<f64>| v.map_or("1".to_string(), |v| format!("{v:.1}"));
            println!(
                "{:<10} {:<40} {:>9.2} {:>9.2} {:>7} {:>12.0} {:>10} {:>10.1} {:>7} {:>10} {:>8} {:>8}",
                engine,
                short(&r.path, 40),
                r.p50_us,
                r.p99_us,
                r.calls_per_sample,
                r.throughput_per_s,
                r.file_bytes,
                r.load_us,
                r.loads,
                r.load_peak_rss_kib.map_or("-".into(), |k| k.to_string()),
                ratio(r.p50_ratio_to_wolfpack),
                ratio(r.load_ratio_to_wolfpack),
            );
        };
        line("wolfpack", &r.wolfpack);
        for o in &r.onnx {
            line("onnxrt", o);
        }
    }
    Ok(())
}

/// The last `width` characters of a path.
fn short(s: &str, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= width {
        s.to_string()
    } else {
        format!(
            "…{}",
            chars[chars.len() - width + 1..].iter().collect::<String>()
        )
    }
}
