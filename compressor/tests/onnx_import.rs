//! `import-onnx` against ONNX Runtime: every fixture of `tests/fixtures/onnx/` (torch-style graphs and real
//! skl2onnx exports, written by `scripts/make_onnx_fixtures.py`) is imported, and the runtime's predictions on
//! real digits and on random inputs must equal ONNX Runtime's on the original graph: the same labels, logits and
//! probabilities within 1e-5 (relative, floor 1). ONNX Runtime is required: these tests fail, saying to run
//! `scripts/setup.sh`, when `libonnxruntime.so` cannot be found.

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::{Rng, SeedableRng};
use wolfpack::onnx::import::OutputKind;
use wolfpack::onnx::ort_runtime::{OrtModel, OutputData};
use wolfpack::onnx::{import_model, ImportOptions, OnnxError};
use wolfpack_format::ValueType;
use wolfpack_runtime::{Model, Session, Solver};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

/// 40 test digits (pixels / 16, as the fixtures were trained on) and 24 uniform random inputs.
fn inputs(p: usize) -> (Vec<f32>, usize) {
    let digits = wolfpack::data::digits::load().unwrap().test;
    assert_eq!(digits.p, p);
    let mut x: Vec<f32> = digits.x[..40 * p].to_vec();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    x.extend((0..24 * p).map(|_| rng.random::<f32>()));
    (x, 64)
}

fn close(a: f32, b: f32, rel: f32) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

fn softmax(row: &[f32]) -> Vec<f32> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// Imports `name`, runs both engines, compares every output; returns the checked output kinds.
fn check_fixture(name: &str) -> Vec<OutputKind> {
    let path = fixture(name);
    let bytes = std::fs::read(&path).unwrap();
    let imported = import_model(&bytes, &ImportOptions::default()).unwrap();
    let wpk = imported.model.to_bytes().unwrap();
    let model = Model::from_bytes(&wpk).unwrap();
    assert!(
        model.structure().triangular,
        "{name}: an MLP imports as a triangular model"
    );
    let (p, q) = (model.n_inputs(), model.n_outputs());
    let (x, batch) = inputs(p);
    let mut y = vec![0.0f32; batch * q];
    let stats = Session::with_batch(&model, batch)
        .predict_batch(&model, &x, batch, &mut y)
        .unwrap();
    if imported.layers.len() > 1 {
        assert_eq!(
            stats.solver,
            Solver::TriangularSweep,
            "{name}: one exact sweep"
        );
    }
    let mut ort = OrtModel::from_file(&path, 1).unwrap();
    let outs = ort.run(&x, batch).unwrap();
    let labels = model.labels().to_vec();
    let mut kinds = Vec::new();
    for (out_name, kind) in &imported.outputs {
        let data = &outs.iter().find(|(n, _)| n == out_name).unwrap().1;
        for s in 0..batch {
            let row = &y[s * q..(s + 1) * q];
            match (kind, data) {
                (OutputKind::Logits, OutputData::F32(v)) => {
                    for (a, b) in row.iter().zip(&v[s * q..(s + 1) * q]) {
                        assert!(
                            close(*a, *b, 1e-5),
                            "{name} sample {s}: logit {a} vs ONNX Runtime {b}"
                        );
                    }
                }
                (OutputKind::Probabilities, OutputData::F32(v)) => {
                    for (a, b) in softmax(row).iter().zip(&v[s * q..(s + 1) * q]) {
                        assert!(
                            close(*a, *b, 1e-5),
                            "{name} sample {s}: probability {a} vs {b}"
                        );
                    }
                }
                (OutputKind::Probabilities, OutputData::Other(_)) => {} // a ZipMap: its label output is compared
                (OutputKind::Label, OutputData::I64(v)) => {
                    assert_eq!(
                        labels[argmax(row)],
                        v[s].to_string(),
                        "{name} sample {s}: label"
                    );
                }
                (OutputKind::Label, OutputData::Str(v)) => {
                    assert_eq!(labels[argmax(row)], v[s], "{name} sample {s}: label");
                }
                (k, d) => {
                    panic!("{name}: output {out_name:?} is {k:?} but ONNX Runtime gave {d:?}")
                }
            }
        }
        kinds.push(*kind);
    }
    kinds
}

#[test]
fn torch_gemm_mlp_matches_onnx_runtime() {
    assert_eq!(check_fixture("torch_gemm_mlp.onnx"), [OutputKind::Logits]);
}

#[test]
fn torch_matmul_mlp_matches_onnx_runtime() {
    assert_eq!(check_fixture("torch_matmul_mlp.onnx"), [OutputKind::Logits]);
}

#[test]
fn sklearn_mlp_labels_and_probabilities_match_onnx_runtime() {
    assert_eq!(
        check_fixture("skl_digits_mlp.onnx"),
        [OutputKind::Label, OutputKind::Probabilities]
    );
}

#[test]
fn sklearn_mlp_with_zipmap_and_two_layers_matches_onnx_runtime() {
    assert_eq!(
        check_fixture("skl_digits_mlp_zipmap.onnx"),
        [OutputKind::Label, OutputKind::Probabilities]
    );
}

#[test]
fn sklearn_binary_mlp_with_string_classes_matches_onnx_runtime() {
    assert_eq!(
        check_fixture("skl_binary_mlp.onnx"),
        [OutputKind::Label, OutputKind::Probabilities]
    );
}

#[test]
fn imported_layers_and_labels() {
    let bytes = std::fs::read(fixture("skl_digits_mlp_zipmap.onnx")).unwrap();
    let imported = import_model(&bytes, &ImportOptions::default()).unwrap();
    assert_eq!(imported.layers, [24, 16]);
    let m = &imported.model;
    assert_eq!(
        (m.meta.dims.hidden, m.meta.dims.inputs, m.meta.dims.outputs),
        (40, 64, 10)
    );
    assert_eq!(
        m.meta.labels,
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    // A holds only the second layer, below the block diagonal; D is zero.
    assert!(m.d.is_none());
    let view_bytes = m.to_bytes().unwrap();
    let view = wolfpack_format::ModelView::parse(&view_bytes).unwrap();
    let a = view.a.unwrap().to_dense();
    for i in 0..40 {
        for j in 0..40 {
            if a[i * 40 + j] != 0.0 {
                assert!(i >= 24 && j < 24, "A[{i}][{j}] outside the layer-2 block");
            }
        }
    }
    assert_eq!(
        m.meta.provenance.training.to_value()["producer"],
        "skl2onnx 1.20.0"
    );
}

#[test]
fn f16_import_stays_close_to_onnx_runtime() {
    let path = fixture("torch_gemm_mlp.onnx");
    let options = ImportOptions {
        dtype: ValueType::F16,
        ..ImportOptions::default()
    };
    let imported = import_model(&std::fs::read(&path).unwrap(), &options).unwrap();
    let wpk = imported.model.to_bytes().unwrap();
    let model = Model::from_bytes(&wpk).unwrap();
    let (x, batch) = inputs(64);
    let mut y = vec![0.0f32; batch * 10];
    Session::with_batch(&model, batch)
        .predict_batch(&model, &x, batch, &mut y)
        .unwrap();
    let want = OrtModel::from_file(&path, 1)
        .unwrap()
        .run_f32(&x, batch, "logits")
        .unwrap();
    let worst = y
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 2e-2, "f16 weights: worst logit error {worst}");
    assert!(
        worst > 0.0,
        "f16 storage changes the weights, so the logits cannot be bit-equal"
    );
}

#[test]
fn unsupported_node_is_named() {
    let bytes = std::fs::read(fixture("skl_tanh_mlp.onnx")).unwrap();
    let err = import_model(&bytes, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&err, OnnxError::Unsupported { op, .. } if op == "Tanh"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("Tanh") && !msg.contains('\n'), "{msg}");
}

#[test]
fn garbage_is_a_decode_error() {
    let err = import_model(b"\xff\xff\xff not a protobuf", &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, OnnxError::Decode(_)), "{err}");
}

#[test]
fn cli_imports_and_reports_bad_models_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlp.wpk");
    let ok = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args([
            "import-onnx".as_ref(),
            fixture("skl_digits_mlp.onnx").as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(Model::open(&out).unwrap().structure().triangular);
    let tanh = fixture("skl_tanh_mlp.onnx");
    let bad = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args([
            "import-onnx".as_ref(),
            tanh.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&tanh.display().to_string()) && stderr.contains("unsupported node Tanh"),
        "{stderr}"
    );
}

/// Damaged files (bit flips, truncations, byte runs) are errors or imports, never panics.
#[test]
fn damaged_fixtures_never_panic() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let mut outcomes = [0usize; 2];
    for name in [
        "torch_gemm_mlp.onnx",
        "torch_matmul_mlp.onnx",
        "skl_digits_mlp_zipmap.onnx",
        "skl_binary_mlp.onnx",
    ] {
        let original = std::fs::read(fixture(name)).unwrap();
        for trial in 0..300 {
            let mut bytes = original.clone();
            match trial % 3 {
                0 => {
                    for _ in 0..rng.random_range(1..8) {
                        let i = rng.random_range(0..bytes.len());
                        bytes[i] ^= 1 << rng.random_range(0..8);
                    }
                }
                1 => bytes.truncate(rng.random_range(0..bytes.len())),
                _ => {
                    let i = rng.random_range(0..bytes.len());
                    let end = (i + rng.random_range(1..16)).min(bytes.len());
                    let v = rng.random::<u8>();
                    bytes[i..end].fill(v);
                }
            }
            let result =
                std::panic::catch_unwind(|| import_model(&bytes, &ImportOptions::default()));
            let result = result.unwrap_or_else(|_| panic!("{name} trial {trial}: import panicked"));
            outcomes[usize::from(result.is_ok())] += 1;
            if let Err(e) = result {
                assert!(!e.to_string().contains('\n'), "{name} trial {trial}: {e}");
            }
        }
    }
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "both outcomes occur: {outcomes:?}"
    );
}
