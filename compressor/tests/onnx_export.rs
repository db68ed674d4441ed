//! `export-onnx` against the runtime: ONNX Runtime running the exported graph must give the wolfpack runtime's
//! outputs within 1e-4 relative (floor 1), for a contraction (the sample model: `Loop` and unrolled Picard), for
//! triangular models with an evaluation order (random sparse, several levels), for `A = 0`, and for every
//! imported fixture (exact block sweep). ONNX Runtime is required: these tests fail, saying to run
//! `scripts/setup.sh`, when `libonnxruntime.so` cannot be found.

use std::path::Path;
use std::process::Command;

use rand::{Rng, SeedableRng};
use wolfpack::onnx::export::{HiddenScheme, OUTPUT};
use wolfpack::onnx::ort_runtime::OrtModel;
use wolfpack::onnx::{export_model, import_model, ExportOptions, ImportOptions};
use wolfpack_format::{Matrix, Metadata, ModelFile, ModelView, StoredMatrix, ValueType};
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

fn random_inputs(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0f32..2.0)).collect()
}

/// Exports `file`, runs ONNX Runtime and the runtime (converged tightly) on a batch, and compares.
fn check(file: &ModelFile, options: &ExportOptions) -> HiddenScheme {
    let bytes = file.to_bytes().unwrap();
    let view = ModelView::parse(&bytes).unwrap();
    let exported = export_model(&view, options).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let (p, q, batch) = (model.n_inputs(), model.n_outputs(), 9);
    let x = random_inputs(batch * p, 11);
    let mut want = vec![0.0f32; batch * q];
    let solve = SolveOptions {
        tolerance: Some(1e-7),
        max_iterations: Some(1000),
        method: Method::Auto,
    };
    Session::with_batch(&model, batch)
        .predict_batch_with(&model, &x, batch, &mut want, &solve)
        .unwrap();
    let mut ort = OrtModel::from_bytes(&exported.to_bytes(), 1).unwrap();
    let got = ort.run_f32(&x, batch, OUTPUT).unwrap();
    assert_eq!(got.len(), want.len());
    for (k, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1.0),
            "output {k}: ONNX Runtime {a}, runtime {b}"
        );
    }
    exported.scheme
}

#[test]
fn sample_contraction_exports_as_a_loop_and_matches() {
    let sample = wolfpack_format::sample::sample_model();
    let scheme = check(&sample, &ExportOptions::default());
    assert!(
        matches!(
            scheme,
            HiddenScheme::Loop {
                max_iterations: 100,
                ..
            }
        ),
        "{scheme:?}"
    );
}

#[test]
fn sample_contraction_unrolled_matches() {
    let sample = wolfpack_format::sample::sample_model();
    // kappa = 0.6: 0.6^40 < 1e-8, far below the 1e-4 comparison.
    assert_eq!(
        check(&sample, &ExportOptions { unroll: Some(40) }),
        HiddenScheme::Unrolled { iterations: 40 }
    );
}

/// A random sparse model whose A is strictly triangular under a shuffled evaluation order, with some units
/// that read no input (their level is constant or fed only by A) and a nonzero D.
fn random_triangular(seed: u64) -> ModelFile {
    let (n, p, q) = (30usize, 12usize, 4usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut pos = vec![0usize; n];
    for (k, &u) in order.iter().enumerate() {
        pos[u as usize] = k;
    }
    let mut a = vec![0.0f32; n * n];
    let mut b = vec![0.0f32; n * p];
    for i in 0..n {
        for j in 0..n {
            if pos[j] < pos[i] && rng.random::<f32>() < 0.15 {
                a[i * n + j] = rng.random_range(-1.5f32..1.5);
            }
        }
        if i % 5 != 0 {
            for k in 0..p {
                if rng.random::<f32>() < 0.4 {
                    b[i * p + k] = rng.random_range(-1.0f32..1.0);
                }
            }
        }
    }
    let c: Vec<f32> = (0..q * n)
        .map(|_| {
            if rng.random::<f32>() < 0.5 {
                rng.random_range(-1.0f32..1.0)
            } else {
                0.0
            }
        })
        .collect();
    let d: Vec<f32> = (0..q * p).map(|_| rng.random_range(-0.2f32..0.2)).collect();
    let mut file = ModelFile::new(Metadata::new(n as u32, p as u32, q as u32));
    file.a = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, n, &a),
        ValueType::F32,
    ));
    file.b = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, p, &b),
        ValueType::F16,
    ));
    file.c = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: q,
            cols: n,
            values: c,
        },
        ValueType::F32,
    ));
    file.d = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: q,
            cols: p,
            values: d,
        },
        ValueType::I8,
    ));
    file.bias_x = (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect();
    file.bias_y = (0..q).map(|_| rng.random_range(-0.5f32..0.5)).collect();
    file.order = Some(order);
    file.meta.preprocessing.mean = vec![0.25];
    file.meta.preprocessing.std = vec![2.0];
    file
}

#[test]
fn triangular_models_with_an_order_export_as_exact_sweeps() {
    for seed in 0..4 {
        let file = random_triangular(seed);
        let bytes = file.to_bytes().unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        assert!(
            view.structure.triangular && view.structure.kappa >= 1.0,
            "seed {seed}: not a contraction"
        );
        match check(&file, &ExportOptions::default()) {
            HiddenScheme::Sweep { levels } => assert!(levels > 2, "seed {seed}: {levels} levels"),
            other => panic!("seed {seed}: {other:?}"),
        }
    }
}

#[test]
fn a_model_without_a_exports_as_one_layer() {
    let mut file = random_triangular(9);
    file.a = None;
    file.order = None;
    assert_eq!(
        check(&file, &ExportOptions::default()),
        HiddenScheme::Direct
    );
}

#[test]
fn imported_mlps_round_trip_through_onnx() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx");
    for (name, layers) in [
        ("torch_gemm_mlp.onnx", 2),
        ("torch_matmul_mlp.onnx", 1),
        ("skl_digits_mlp.onnx", 1),
        ("skl_digits_mlp_zipmap.onnx", 2),
        ("skl_binary_mlp.onnx", 1),
    ] {
        let imported = import_model(
            &std::fs::read(dir.join(name)).unwrap(),
            &ImportOptions::default(),
        )
        .unwrap();
        let scheme = check(&imported.model, &ExportOptions::default());
        let expected = if layers == 1 {
            HiddenScheme::Direct
        } else {
            HiddenScheme::Sweep { levels: layers }
        };
        assert_eq!(scheme, expected, "{name}");
    }
}

#[test]
fn cli_export_writes_a_model_onnx_runtime_loads() {
    let dir = tempfile::tempdir().unwrap();
    let wpk = dir.path().join("sample.wpk");
    let onnx = dir.path().join("sample.onnx");
    wolfpack_format::sample::sample_model().write(&wpk).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args([
            "export-onnx".as_ref(),
            wpk.as_os_str(),
            "--out".as_ref(),
            onnx.as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ort = OrtModel::from_file(&onnx, 1).unwrap();
    assert_eq!(
        (ort.n_inputs(), ort.output_names()),
        (6, vec![OUTPUT.to_string()])
    );
    let model = Model::open(&wpk).unwrap();
    let x = random_inputs(6, 5);
    let (want, _) = model
        .predict(
            &x,
            &SolveOptions {
                tolerance: Some(1e-7),
                ..SolveOptions::default()
            },
        )
        .unwrap();
    let got = ort.run_f32(&x, 1, OUTPUT).unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "{a} vs {b}");
    }
    // A missing model is one line naming the file.
    let missing = dir.path().join("missing.wpk");
    let bad = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args([
            "export-onnx".as_ref(),
            missing.as_os_str(),
            "--out".as_ref(),
            onnx.as_os_str(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr.contains("missing.wpk") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
}
