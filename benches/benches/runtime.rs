//! Criterion benchmarks of the runtime: latency of one prediction (batch 1) and throughput at batch 64 on random
//! implicit models of 1k to 200k stored weights (f32 and f16), and the bare CSR product on matrices of the same
//! sizes. `cargo bench -p wolfpack-benches`; the roofline table is `cargo run --release -p wolfpack-benches
//! --example roofline`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wolfpack_benches::{kernel_matrix_file, kernel_shape, random_model, SIZES};
use wolfpack_runtime::format::{ModelView, Role, ValueType};
use wolfpack_runtime::kernels::MatRef;
use wolfpack_runtime::{Model, Session};

fn predict(c: &mut Criterion) {
    for batch in [1usize, 64] {
        let mut group = c.benchmark_group(format!("predict_batch{batch}"));
        group.throughput(Throughput::Elements(batch as u64));
        for dtype in [ValueType::F32, ValueType::F16] {
            for nnz in SIZES {
                let bytes = random_model(nnz, dtype, 42);
                let model = Model::from_bytes(&bytes).unwrap();
                let mut session = Session::with_batch(&model, batch);
                let inputs: Vec<f32> = (0..batch * model.n_inputs())
                    .map(|i| ((i * 7919) % 255) as f32 / 255.0)
                    .collect();
                let mut outputs = vec![0.0; batch * model.n_outputs()];
                group.bench_with_input(BenchmarkId::new(dtype.name(), nnz), &nnz, |b, _| {
                    b.iter(|| {
                        session
                            .predict_batch(&model, &inputs, batch, &mut outputs)
                            .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

fn csr_product(c: &mut Criterion) {
    for batch in [1usize, 64] {
        let mut group = c.benchmark_group(format!("csr_batch{batch}"));
        for dtype in [ValueType::F32, ValueType::F16] {
            for nnz in SIZES {
                let (rows, cols) = kernel_shape(nnz);
                let bytes = kernel_matrix_file(nnz, dtype);
                let view = ModelView::parse(&bytes).unwrap();
                let m = MatRef::try_from(view.matrix(Role::B).unwrap()).unwrap();
                let k = wolfpack_runtime::kernels::Kernels::detect();
                let x = vec![0.5f32; cols * batch];
                let mut y = vec![0.0f32; rows * batch];
                group.throughput(Throughput::Elements(nnz as u64 * batch as u64));
                group.bench_with_input(BenchmarkId::new(dtype.name(), nnz), &nnz, |b, _| {
                    b.iter(|| m.gemm_add(k, &x, batch, &mut y, &mut []).unwrap())
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared and has two cores.
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = predict, csr_product
}
criterion_main!(benches);
