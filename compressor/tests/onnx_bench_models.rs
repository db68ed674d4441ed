//! Writes the models of the ONNX Runtime comparison (docs/BENCHMARKS.md, "## ONNX") into `target/onnx-bench/`:
//!
//! * `sparse10k_implicit.wpk` / `sparse10k_feedforward.wpk`: the random 10,000-nonzero stand-ins of Fashion-MNIST
//!   shape ([`wolfpack::onnx::bench_model`]), and their ONNX exports (`*.onnx`: a `Loop` for the implicit one;
//!   `sparse10k_implicit_unrolled.onnx`: Picard unrolled for the steps it needs to reach the model tolerance
//!   on a test input);
//! * `fashion_mlp_784_256_10.wpk` and `fashion_mlp_784_256_10_plain.onnx`: the import of
//!   `fashion_mlp_784_256_10.onnx` and its re-export without skl2onnx's label post-processing, when
//!   `scripts/make_onnx_fixtures.py --fashion target/onnx-bench` has written it.
//!
//! Not a test (it writes files and takes seconds): run it with
//! `cargo test -p wolfpack --release --test onnx_bench_models -- --ignored --nocapture`.

use std::path::Path;

use wolfpack::onnx::bench_model::{random_sparse_model, SparseSpec};
use wolfpack::onnx::{export_model, import_model, ExportOptions, ImportOptions};
use wolfpack_format::ModelView;
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

#[test]
#[ignore = "writes the benchmark models into target/onnx-bench; run explicitly"]
fn write_bench_models() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/onnx-bench");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, spec) in [
        ("sparse10k_implicit", SparseSpec::fashion_implicit()),
        ("sparse10k_feedforward", SparseSpec::fashion_feedforward()),
    ] {
        let file = random_sparse_model(&spec);
        let wpk = dir.join(format!("{name}.wpk"));
        let bytes = file.write(&wpk).unwrap();
        let model = Model::open(&wpk).unwrap();
        let view = ModelView::parse(&std::fs::read(&wpk).unwrap())
            .unwrap()
            .nnz();
        // Iterations the runtime's default solve needs on uniform inputs (what an unrolled export must match).
        let x: Vec<f32> = (0..model.n_inputs())
            .map(|i| (i % 17) as f32 / 16.0)
            .collect();
        let mut y = vec![0.0; model.n_outputs()];
        let stats = Session::new(&model).predict(&model, &x, &mut y).unwrap();
        let picard = SolveOptions {
            method: Method::Picard,
            ..SolveOptions::default()
        };
        let jacobi = Session::new(&model)
            .predict_with(&model, &x, &mut y, &picard)
            .unwrap();
        println!(
            "{}: {bytes} bytes, {view} nonzeros, {stats:?}; Picard {jacobi:?}",
            wpk.display()
        );
        let file_bytes = std::fs::read(&wpk).unwrap();
        let view = ModelView::parse(&file_bytes).unwrap();
        let mut variants = vec![(format!("{name}.onnx"), ExportOptions::default())];
        if view.a.is_some() {
            variants.push((
                format!("{name}_unrolled.onnx"),
                ExportOptions {
                    unroll: Some(jacobi.iterations),
                },
            ));
        }
        for (onnx_name, options) in variants {
            let exported = export_model(&view, &options).unwrap();
            let path = dir.join(onnx_name);
            std::fs::write(&path, exported.to_bytes()).unwrap();
            println!(
                "{}: {:?}, {} bytes of weights",
                path.display(),
                exported.scheme,
                exported.weight_bytes
            );
        }
    }
    let fashion = dir.join("fashion_mlp_784_256_10.onnx");
    if fashion.exists() {
        let imported =
            import_model(&std::fs::read(&fashion).unwrap(), &ImportOptions::default()).unwrap();
        let wpk = dir.join("fashion_mlp_784_256_10.wpk");
        let bytes = imported.model.write(&wpk).unwrap();
        println!(
            "{}: {bytes} bytes (imported, layers {:?})",
            wpk.display(),
            imported.layers
        );
        // The same MLP as a plain ONNX graph (Gemm, Relu, Gemm: no label post-processing), for ONNX Runtime.
        let file_bytes = std::fs::read(&wpk).unwrap();
        let exported = export_model(
            &ModelView::parse(&file_bytes).unwrap(),
            &ExportOptions::default(),
        )
        .unwrap();
        let plain = dir.join("fashion_mlp_784_256_10_plain.onnx");
        std::fs::write(&plain, exported.to_bytes()).unwrap();
        println!("{}: {:?}", plain.display(), exported.scheme);
    } else {
        println!(
            "{} not found: run scripts/make_onnx_fixtures.py --fashion target/onnx-bench",
            fashion.display()
        );
    }
}
