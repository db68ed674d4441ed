//! Criterion comparisons of the wolfpack runtime with ONNX Runtime (through `ort`, one intra-op thread), the
//! developer's view of `wolfpack bench` (docs/BENCHMARKS.md, "## ONNX"):
//!
//! * `vs_ort_batch1` / `vs_ort_batch64`: latency per call of
//!   - the random 10,000-nonzero stand-ins of Fashion-MNIST shape (`wolfpack::onnx::bench_model`: implicit with
//!     `kappa = 0.5`, and feed-forward) in the runtime, and their ONNX exports in ONNX Runtime (the implicit one
//!     as a `Loop` and unrolled for the Picard steps it needs);
//!   - a dense 784-256-10 MLP (random f32 weights) in both.
//! * `load`: `Model::from_bytes` (full validation) against ONNX Runtime session creation, same models.
//!
//! `cargo bench -p wolfpack-benches --bench vs_onnxruntime`. Needs `libonnxruntime.so` (`scripts/setup.sh`, or
//! `ORT_DYLIB_PATH`); without it the bench stops with that message.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use wolfpack::onnx::bench_model::{random_sparse_model, SparseSpec};
use wolfpack::onnx::ort_runtime::OrtModel;
use wolfpack::onnx::{export_model, ExportOptions};
use wolfpack_format::{Matrix, Metadata, ModelFile, ModelView, StoredMatrix, ValueType};
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

/// A dense 784-256-10 MLP with torch's default initialisation scale.
fn dense_mlp() -> ModelFile {
    let (n, p, q) = (256usize, 784usize, 10usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut dense = |rows: usize, cols: usize| {
        let bound = 1.0 / (cols as f32).sqrt();
        let values = (0..rows * cols)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        StoredMatrix::new(Matrix::Dense { rows, cols, values }, ValueType::F32)
    };
    let mut file = ModelFile::new(Metadata::new(n as u32, p as u32, q as u32));
    file.b = Some(dense(n, p));
    file.c = Some(dense(q, n));
    file.bias_x = vec![0.01; n];
    file.bias_y = vec![0.01; q];
    file
}

/// A benchmark model: name, `.wpk` bytes, and the ONNX exports to run (name, bytes).
type BenchModel = (&'static str, Vec<u8>, Vec<(String, Vec<u8>)>);

/// The benchmark models.
fn models() -> Vec<BenchModel> {
    let mut out = Vec::new();
    for (name, file) in [
        (
            "sparse10k_implicit",
            random_sparse_model(&SparseSpec::fashion_implicit()),
        ),
        (
            "sparse10k_feedforward",
            random_sparse_model(&SparseSpec::fashion_feedforward()),
        ),
        ("dense_784_256_10", dense_mlp()),
    ] {
        let bytes = file.to_bytes().unwrap().to_vec();
        let view = ModelView::parse(&bytes).unwrap();
        let mut exports = vec![(
            format!("{name}.onnx"),
            export_model(&view, &ExportOptions::default()).unwrap(),
        )];
        if view.a.is_some() {
            // Picard steps the runtime needs on a typical input: what an unrolled graph must run.
            let model = Model::from_bytes(&bytes).unwrap();
            let x = vec![0.5f32; model.n_inputs()];
            let picard = SolveOptions {
                method: Method::Picard,
                ..SolveOptions::default()
            };
            let (_, stats) = model.predict(&x, &picard).unwrap();
            let unrolled = ExportOptions {
                unroll: Some(stats.iterations),
            };
            exports.push((
                format!("{name}_unrolled{}.onnx", stats.iterations),
                export_model(&view, &unrolled).unwrap(),
            ));
        }
        out.push((
            name,
            bytes,
            exports
                .into_iter()
                .map(|(n, e)| (n, e.to_bytes()))
                .collect(),
        ));
    }
    out
}

fn ort(bytes: &[u8]) -> OrtModel {
    OrtModel::from_bytes(bytes, 1).unwrap_or_else(|e| panic!("{e}"))
}

fn latency(c: &mut Criterion) {
    let models = models();
    for batch in [1usize, 64] {
        let mut group = c.benchmark_group(format!("vs_ort_batch{batch}"));
        group.throughput(Throughput::Elements(batch as u64));
        for (name, wpk, exports) in &models {
            let model = Model::from_bytes(wpk).unwrap();
            let inputs: Vec<f32> = (0..batch * model.n_inputs())
                .map(|i| ((i * 7919) % 255) as f32 / 255.0)
                .collect();
            let mut outputs = vec![0.0; batch * model.n_outputs()];
            let mut session = Session::with_batch(&model, batch);
            group.bench_function(BenchmarkId::new("wolfpack", name), |b| {
                b.iter(|| {
                    session
                        .predict_batch(&model, &inputs, batch, &mut outputs)
                        .unwrap()
                })
            });
            for (onnx_name, onnx) in exports {
                let mut m = ort(onnx);
                group.bench_function(BenchmarkId::new("onnxruntime", onnx_name), |b| {
                    b.iter(|| m.run_discard(&inputs, batch).unwrap())
                });
            }
        }
        group.finish();
    }
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    for (name, wpk, exports) in models() {
        group.bench_function(BenchmarkId::new("wolfpack", name), |b| {
            b.iter(|| Model::from_bytes(&wpk).unwrap())
        });
        let (onnx_name, onnx) = &exports[exports.len() - 1];
        group.bench_function(BenchmarkId::new("onnxruntime", onnx_name), |b| {
            b.iter(|| ort(onnx))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = latency, load
}
criterion_main!(benches);
