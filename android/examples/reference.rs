//! Writes the models and reference outputs the host-JVM tests (`android/test-jvm.sh`) compare against.
//!
//! `cargo run -p wolfpack-android --example reference -- OUT_DIR`
//!
//! In `OUT_DIR`: `sample.wpk` (the format crate's sample: every storage kind and value type) and
//! `compressed.wpk` (a Fashion-MNIST-shaped sparse implicit model, 784 -> 256 hidden -> 10, 10,000 stored
//! weights, f16/i8 quantised, a general (non-triangular) `A` solved by iteration: the shape `wolfpack
//! compress` produces), and `io784.wpk` (784 -> 1 -> 10, 20 weights: the binding's cost without the solve, for
//! the benchmark), each with `NAME.ref`: inputs and the Rust runtime's outputs and solver statistics.
//!
//! `NAME.ref` is text: a line `inputs outputs count`, then per sample three lines: `iterations residual`,
//! the input values and the output values, space-separated, each float written in Rust's shortest form that
//! parses back to the same `f32`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use wolfpack_runtime::format::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};
use wolfpack_runtime::{Model, Session};

/// Fashion-MNIST's class names, in label order.
const FASHION_LABELS: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// A small deterministic generator (64-bit LCG, high bits), identical on every platform.
struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u32() as u64 * n as u64) >> 32) as usize
    }
}

/// A random sparse `rows x cols` matrix (dense row-major) with `per_row(i)` distinct nonzero columns in row
/// `i`, values uniform in `[-scale, scale]`.
fn random_sparse(
    rng: &mut Lcg,
    rows: usize,
    cols: usize,
    per_row: impl Fn(usize) -> usize,
    scale: f32,
) -> Vec<f32> {
    let mut dense = vec![0.0f32; rows * cols];
    for i in 0..rows {
        let mut placed = 0;
        while placed < per_row(i) {
            let j = rng.below(cols);
            if dense[i * cols + j] == 0.0 {
                let v = rng.uniform();
                dense[i * cols + j] = scale * if v == 0.0 { 0.5 } else { v };
                placed += 1;
            }
        }
    }
    dense
}

/// The Fashion-MNIST-shaped compressed model: 784 -> 256 -> 10 with 8,192 + 1,024 + 784 = 10,000 weights.
fn compressed_model() -> ModelFile {
    let (n, p, q) = (256usize, 784usize, 10usize);
    let mut rng = Lcg(0x5EED_F00D);
    // A: 4 entries per row, each row rescaled to L1 norm 0.5 (a contraction, not triangular).
    let mut a = random_sparse(&mut rng, n, n, |_| 4, 1.0);
    for row in a.chunks_mut(n) {
        let l1: f32 = row.iter().map(|v| v.abs()).sum();
        row.iter_mut().for_each(|v| *v *= 0.5 / l1);
    }
    let b = random_sparse(&mut rng, n, p, |_| 32, 0.25);
    // C: 79 hidden units for the first 4 classes, 78 for the others (784 weights).
    let c = random_sparse(&mut rng, q, n, |i| if i < 4 { 79 } else { 78 }, 0.3);
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.kappa = 0.5;
    meta.labels = FASHION_LABELS.iter().map(|s| s.to_string()).collect();
    meta.preprocessing.scale = 1.0 / 255.0;
    meta.preprocessing.mean = vec![0.286];
    meta.preprocessing.std = vec![0.353];
    meta.solver.tolerance = 1e-6;
    meta.provenance.dataset = Some("synthetic, Fashion-MNIST shaped (android JNI tests)".into());
    let mut file = ModelFile::new(meta);
    file.a = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, n, &a),
        ValueType::F16,
    ));
    file.b = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, p, &b),
        ValueType::I8,
    ));
    file.c = Some(StoredMatrix::new(
        Matrix::csr_from_dense(q, n, &c),
        ValueType::F16,
    ));
    file.bias_x = (0..n).map(|_| 0.1 * rng.uniform()).collect();
    file.bias_y = (0..q).map(|_| 0.1 * rng.uniform()).collect();
    file
}

/// A model with Fashion-MNIST's input and output sizes (784 -> 10) but almost no compute (one hidden unit,
/// 20 weights): for the JNI benchmark, it isolates the binding's per-call cost, copies of 784 inputs and 10
/// outputs included, from the solve.
fn io_model() -> ModelFile {
    let (n, p, q) = (1usize, 784usize, 10usize);
    let mut b = vec![0.0f32; n * p];
    for j in (0..p).step_by(80) {
        b[j] = 0.01;
    }
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.labels = FASHION_LABELS.iter().map(|s| s.to_string()).collect();
    meta.preprocessing.scale = 1.0 / 255.0;
    let mut file = ModelFile::new(meta);
    file.b = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, p, &b),
        ValueType::F32,
    ));
    file.c = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: q,
            cols: n,
            values: vec![0.5; q],
        },
        ValueType::F32,
    ));
    file
}

/// Writes `NAME.wpk` and `NAME.ref` with `count` inputs drawn by `input`.
fn write_case(
    dir: &Path,
    name: &str,
    file: &ModelFile,
    count: usize,
    mut input: impl FnMut(usize) -> f32,
) -> Result<String, String> {
    let wpk = dir.join(format!("{name}.wpk"));
    file.write(&wpk)
        .map_err(|e| format!("{}: {e}", wpk.display()))?;
    // Read the file back the way the JNI side does, so the reference is what the runtime computes from it.
    let model = Model::open(&wpk).map_err(|e| e.to_string())?;
    let mut session = Session::new(&model);
    let (p, q) = (model.n_inputs(), model.n_outputs());
    let mut text = format!("{p} {q} {count}\n");
    let mut y = vec![0.0; q];
    let mut iterations = Vec::new();
    let mut all = Vec::with_capacity(count * p);
    for _ in 0..count {
        let u: Vec<f32> = (0..p).map(&mut input).collect();
        all.extend_from_slice(&u);
        let stats = session
            .predict(&model, &u, &mut y)
            .map_err(|e| e.to_string())?;
        iterations.push(stats.iterations);
        let join = |v: &[f32]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            text,
            "{} {}\n{}\n{}",
            stats.iterations,
            stats.residual,
            join(&u),
            join(&y)
        )
        .unwrap();
    }
    // The batch API iterates all inputs together (they share a stopping test), so its outputs differ from the
    // single ones within the solver tolerance: the JNI batch is compared against the Rust batch, written here.
    let mut batch_out = vec![0.0; count * q];
    session
        .predict_batch(&model, &all, count, &mut batch_out)
        .map_err(|e| e.to_string())?;
    let batch_text: Vec<String> = batch_out.iter().map(|x| x.to_string()).collect();
    let batch_path = dir.join(format!("{name}.batch"));
    std::fs::write(&batch_path, batch_text.join(" ") + "\n")
        .map_err(|e| format!("{}: {e}", batch_path.display()))?;
    let reference = dir.join(format!("{name}.ref"));
    std::fs::write(&reference, text).map_err(|e| format!("{}: {e}", reference.display()))?;
    let (lo, hi) = (
        iterations.iter().min().unwrap(),
        iterations.iter().max().unwrap(),
    );
    Ok(format!(
        "{}: {p} -> {} hidden -> {q}, {} weights, {} bytes; {count} reference inputs, {lo}..={hi} iterations",
        wpk.display(),
        model.n_hidden(),
        model.view().nnz(),
        std::fs::metadata(&wpk).map(|m| m.len()).unwrap_or(0),
    ))
}

fn run(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut rng = Lcg(42);
    let sample = wolfpack_runtime::format::sample::sample_model();
    println!(
        "{}",
        write_case(dir, "sample", &sample, 16, |_| 2.0 * rng.uniform())?
    );
    let mut rng = Lcg(7);
    // Pixels 0..=255 like Fashion-MNIST's, a third of them black.
    let pixel = move |_| {
        if rng.below(3) == 0 {
            0.0
        } else {
            rng.below(256) as f32
        }
    };
    println!(
        "{}",
        write_case(dir, "compressed", &compressed_model(), 32, pixel)?
    );
    let mut rng = Lcg(11);
    let pixel = move |_| rng.below(256) as f32;
    println!("{}", write_case(dir, "io784", &io_model(), 4, pixel)?);
    Ok(())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: reference OUT_DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
