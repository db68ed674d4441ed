//! Measures the runtime beside its roofline and prints the markdown tables of `docs/BENCHMARKS.md`.
//!
//! `cargo run --release -p wolfpack-benches --example roofline [SECTION...]`
//!
//! With no argument every table is printed; otherwise only the named ones, among `load`, `product`, `predict`
//! (whole predictions), `solvers` (each solver on the whole-prediction models at batch 1) and `slow` (slow
//! contractions), e.g. for a quick A/B run of one change.
//!
//! Roofline of one call: `max(bytes streamed / bandwidth, FLOPs / peak)`, with the bandwidth of a STREAM-like copy
//! (arrays far larger than the caches, and arrays that fit in L2) and the peak of an FMA loop, all measured in
//! this run on one core. Bytes streamed are the weights, column indices, row pointers and scales of every
//! product (`MatRef::bytes`); FLOPs are 2 per stored weight per batch column.

use std::time::Duration;

use wolfpack_benches::{
    copy_bandwidth, cpu_name, kernel_matrix_file, kernel_shape, peak_flops, random_csr,
    random_model, rounds_per_call, time_per_call, Clock, SIZES,
};
use wolfpack_runtime::format::{
    Matrix, Metadata, ModelFile, ModelView, Role, StoredMatrix, ValueType,
};
use wolfpack_runtime::kernels::{Kernels, MatRef};
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let show = |section: &str| wanted.is_empty() || wanted.iter().any(|w| w == section);
    let round = Duration::from_millis(40);
    let dram_bw = copy_bandwidth(256 << 20, 5);
    let l2_bw = copy_bandwidth(1 << 20, 200);
    let peak = peak_flops();
    let k = Kernels::detect();
    println!(
        "Machine: {} ({} logical CPUs), kernels: {:?}, one thread.",
        cpu_name(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        k.isa()
    );
    println!(
        "Clock: {}; each figure is the median of 9 rounds.",
        Clock::kind()
    );
    println!(
        "Measured in this run: copy bandwidth {:.1} GB/s (2 x 256 MiB arrays), {:.1} GB/s (2 x 1 MiB, L2-resident); peak {:.1} GFLOP/s (FMA loop).\n",
        dram_bw / 1e9,
        l2_bw / 1e9,
        peak / 1e9
    );
    let roof = |bytes: f64, flops: f64, bw: f64| (bytes / bw).max(flops / peak);

    if show("load") {
        println!(
        "### Loading (validation by the format crate, views in place, kernel structure checks)\n"
    );
        println!("| dtype | weights | file bytes | Model::from_bytes |");
        println!("|---|---|---|---|");
        for dtype in [ValueType::F32, ValueType::F16] {
            for nnz in SIZES {
                let bytes = random_model(nnz, dtype, 42);
                let t = time_per_call(
                    || drop(Model::from_bytes(std::hint::black_box(&bytes)).unwrap()),
                    9,
                    round,
                );
                println!(
                    "| {} | {} | {} | {} |",
                    dtype.name(),
                    nnz,
                    bytes.len(),
                    fmt_time(t)
                );
            }
        }
        println!();
    }

    if show("product") {
        println!("### CSR product y += M x (about 5% dense, u16 indices)\n");
        println!(
        "| dtype | nnz | shape | weight bytes | batch | time | roofline (DRAM bw) | ratio | roofline (L2 bw) | ratio |"
    );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for dtype in [ValueType::F32, ValueType::F16] {
            for nnz in SIZES {
                let (rows, cols) = kernel_shape(nnz);
                let bytes = kernel_matrix_file(nnz, dtype);
                let view = ModelView::parse(&bytes).unwrap();
                let m = MatRef::try_from(view.matrix(Role::B).unwrap()).unwrap();
                for batch in [1usize, 64] {
                    let x = vec![0.5f32; cols * batch];
                    let mut y = vec![0.0f32; rows * batch];
                    let t = time_per_call(
                        || {
                            m.gemm_add(k, std::hint::black_box(&x), batch, &mut y, &mut [])
                                .unwrap()
                        },
                        9,
                        round,
                    );
                    let (b, f) = (m.bytes() as f64, 2.0 * (nnz * batch) as f64);
                    let (rd, rl) = (roof(b, f, dram_bw), roof(b, f, l2_bw));
                    println!(
                        "| {} | {} | {}x{} | {} | {} | {} | {} | {:.2} | {} | {:.2} |",
                        dtype.name(),
                        nnz,
                        rows,
                        cols,
                        m.bytes(),
                        batch,
                        fmt_time(t),
                        fmt_time(rd),
                        t / rd,
                        fmt_time(rl),
                        t / rl
                    );
                }
            }
        }
    }

    if show("predict") {
        println!("\n### Whole prediction (implicit model: B 80%, A 10% with kappa 0.5, C 10% of the weights; Method::Auto to 1e-5)\n");
        println!("| dtype | weights | n, p, q | batch | solver | iterations | time per call | per sample | roofline (DRAM bw) | ratio | roofline (L2 bw) | ratio |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for dtype in [ValueType::F32, ValueType::F16] {
            for nnz in SIZES {
                let bytes = random_model(nnz, dtype, 42);
                let model = Model::from_bytes(&bytes).unwrap();
                let (n, p, q) = (model.n_hidden(), model.n_inputs(), model.n_outputs());
                let (a, b, c) = (
                    model.matrix(Role::A).unwrap(),
                    model.matrix(Role::B).unwrap(),
                    model.matrix(Role::C).unwrap(),
                );
                for batch in [1usize, 64] {
                    let mut session = Session::with_batch(&model, batch);
                    let inputs: Vec<f32> = (0..batch * p)
                        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
                        .collect();
                    let mut out = vec![0.0; batch * q];
                    let stats = session
                        .predict_batch(&model, &inputs, batch, &mut out)
                        .unwrap();
                    let t = time_per_call(
                        || {
                            session
                                .predict_batch(
                                    &model,
                                    std::hint::black_box(&inputs),
                                    batch,
                                    &mut out,
                                )
                                .unwrap();
                        },
                        9,
                        round,
                    );
                    let it = stats.iterations as f64;
                    let wbytes = (b.bytes() + c.bytes()) as f64 + it * a.bytes() as f64;
                    let flops = 2.0
                        * batch as f64
                        * ((b.stored() + c.stored()) as f64 + it * a.stored() as f64);
                    let (rd, rl) = (roof(wbytes, flops, dram_bw), roof(wbytes, flops, l2_bw));
                    println!(
                        "| {} | {} | {}, {}, {} | {} | {:?} | {} | {} | {} | {} | {:.2} | {} | {:.2} |",
                        dtype.name(),
                        model.view().nnz(),
                        n,
                        p,
                        q,
                        batch,
                        stats.solver,
                        stats.iterations,
                        fmt_time(t),
                        fmt_time(t / batch as f64),
                        fmt_time(rd),
                        t / rd,
                        fmt_time(rl),
                        t / rl
                    );
                }
            }
        }
    }

    if show("solvers") {
        solvers_at_batch_1();
    }

    if show("slow") {
        println!("\n### Solvers on slow contractions (n = 256, p = 64, A: 10% dense, nonnegative, row sums kappa, every unit active; tolerance 1e-4)\n");
        println!("| kappa | batch | method | iterations | time per call | per sample |");
        println!("|---|---|---|---|---|---|");
        for kappa in [0.9f32, 0.99] {
            let (n, p) = (256usize, 64usize);
            let mut meta = Metadata::new(n as u32, p as u32, 10);
            meta.solver.tolerance = 1e-4;
            meta.solver.max_iterations = 100_000;
            let mut file = ModelFile::new(meta);
            let mut a = random_csr(n, n, n * n / 10, None, 5);
            if let Matrix::Csr {
                values, row_ptr, ..
            } = &mut a
            {
                for r in 0..n {
                    let row = &mut values[row_ptr[r] as usize..row_ptr[r + 1] as usize];
                    let s: f32 = row.iter().map(|v| v.abs()).sum();
                    row.iter_mut()
                        .for_each(|v| *v = v.abs() * kappa * 0.999 / s);
                }
            }
            file.a = Some(StoredMatrix::new(a, ValueType::F32));
            file.b = Some(StoredMatrix::new(
                random_csr(n, p, n * p / 4, None, 6),
                ValueType::F32,
            ));
            file.c = Some(StoredMatrix::new(
                random_csr(10, n, 10 * n / 4, None, 7),
                ValueType::F32,
            ));
            file.bias_x = vec![1.0; n];
            let bytes = file.to_bytes().unwrap();
            let model = Model::from_bytes(&bytes).unwrap();
            for batch in [1usize, 64] {
                // Inputs that differ per sample, so that a batch's columns converge differently.
                let u: Vec<f32> = (0..p * batch)
                    .map(|i| ((i * 37 + i / p) % 11) as f32 / 11.0 - 0.5)
                    .collect();
                let mut out = vec![0.0; 10 * batch];
                for (name, method) in [
                    ("Picard", Method::Picard),
                    ("Gauss-Seidel", Method::GaussSeidel),
                    ("Anderson (depth 5)", Method::Anderson { depth: 5 }),
                ] {
                    let mut session = Session::with_batch(&model, batch);
                    let options = SolveOptions {
                        method,
                        ..SolveOptions::default()
                    };
                    match session.predict_batch_with(&model, &u, batch, &mut out, &options) {
                        Ok(stats) => {
                            let t = time_per_call(
                                || {
                                    session
                                        .predict_batch_with(&model, &u, batch, &mut out, &options)
                                        .unwrap();
                                },
                                5,
                                round,
                            );
                            println!(
                                "| {kappa} | {batch} | {name} | {} | {} | {} |",
                                stats.iterations,
                                fmt_time(t),
                                fmt_time(t / batch as f64)
                            );
                        }
                        Err(e) => println!("| {kappa} | {batch} | {name} | failed: {e} | | |"),
                    }
                }
            }
        }
    }
}

/// Each solver on the whole-prediction models at batch 1: iterations and time per call, the solvers measured in
/// turn round after round (so that a burst of load hits them alike) and each reported by its least disturbed
/// round (the A/B of a solver change).
fn solvers_at_batch_1() {
    const ROUNDS: usize = 11;
    println!("\n### Solvers on the whole-prediction models at batch 1 (least disturbed of {ROUNDS} interleaved rounds; solver run, iterations)\n");
    let methods = [
        ("Auto", Method::Auto),
        ("Picard", Method::Picard),
        ("Gauss-Seidel", Method::GaussSeidel),
        ("grouped Gauss-Seidel", Method::GroupedGaussSeidel),
        ("block-triangular", Method::BlockTriangular),
    ];
    print!("| dtype | weights |");
    for (name, _) in methods {
        print!(" {name} |");
    }
    println!();
    println!("|---|---|{}", "---|".repeat(methods.len()));
    for dtype in [ValueType::F32, ValueType::F16] {
        for nnz in SIZES {
            let bytes = random_model(nnz, dtype, 42);
            let model = Model::from_bytes(&bytes).unwrap();
            let p = model.n_inputs();
            let input: Vec<f32> = (0..p).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
            let mut out = vec![0.0; model.n_outputs()];
            let mut session = Session::new(&model);
            let options = methods.map(|(_, method)| SolveOptions {
                method,
                ..SolveOptions::default()
            });
            let stats =
                options.map(|o| session.predict_with(&model, &input, &mut out, &o).unwrap());
            let mut best = [f64::INFINITY; 5];
            for _ in 0..ROUNDS {
                for (o, b) in options.iter().zip(best.iter_mut()) {
                    let t = rounds_per_call(
                        || {
                            session
                                .predict_with(&model, std::hint::black_box(&input), &mut out, o)
                                .unwrap();
                        },
                        1,
                        Duration::from_millis(8),
                    )[0];
                    *b = b.min(t);
                }
            }
            print!("| {} | {} |", dtype.name(), model.view().nnz());
            for (t, st) in best.iter().zip(&stats) {
                print!(" {} ({:?}, {}) |", fmt_time(*t), st.solver, st.iterations);
            }
            println!();
        }
    }
}

fn fmt_time(s: f64) -> String {
    if s < 1e-6 {
        format!("{:.0} ns", s * 1e9)
    } else if s < 1e-3 {
        format!("{:.2} us", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}
