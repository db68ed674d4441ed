//! `wolfpack compress --teacher` end to end on the embedded digits with the skl2onnx fixture teachers of
//! `tests/fixtures/onnx/` (trained on the digits / 16, as the embedded data set scales them), and its errors.
//! ONNX Runtime is required, as for the other ONNX tests: without it the teacher is not checked and these tests
//! fail, saying so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn wolfpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack")
}

fn compress_with(teacher: &Path, out: &Path, budget: &str) -> Output {
    wolfpack(&[
        "compress",
        "--embedded",
        "--teacher",
        teacher.to_str().unwrap(),
        "--max-nnz",
        budget,
        "--epochs",
        "3",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// One line on standard error naming `what`, and a failure status.
fn assert_one_line_error(run: &Output, what: &[&str]) {
    assert!(!run.status.success(), "should fail");
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for w in what {
        assert!(err.contains(w), "{err:?} should name {w:?}");
    }
}

#[test]
fn one_hidden_layer_teacher_is_compressed_within_budget() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student.wpk");
    let run = compress_with(&fixture("skl_digits_mlp.onnx"), &out, "600");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let nnz = report["nnz"].as_u64().unwrap();
    assert!(nnz <= 600, "budget respected: {nnz}");
    let t = &report["teacher"];
    // The teacher (32 hidden units, 2,368 weights) is checked against ONNX Runtime, which must have run.
    assert!(
        t["ort_max_difference"]["Ok"].as_f64().is_some(),
        "ONNX Runtime did not run (run scripts/setup.sh or set ORT_DYLIB_PATH): {}",
        t["ort_max_difference"]
    );
    assert_eq!(t["test_accuracy_ort"], t["test_accuracy"]);
    assert_eq!(t["layers"], serde_json::json!([32]));
    // The fit alone classifies well, and so does the stored student: far above chance (10%).
    let fit = t["fit_test_accuracy"].as_f64().unwrap();
    let acc = report["test_accuracy"].as_f64().unwrap();
    assert!(fit > 0.8, "row-wise fit: {fit}");
    assert!(acc > 0.85, "fine-tuned student: {acc}");
    assert!(
        t["fit"]["hidden_r2"].as_f64().unwrap() > 0.5,
        "{}",
        t["fit"]
    );
    // The runtime reads the student back and agrees with the report.
    let eval = wolfpack(&["eval", out.to_str().unwrap(), "--embedded", "--json"]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let e: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(e["accuracy"].as_f64().unwrap(), acc);
}

#[test]
fn two_hidden_layer_teacher_gives_a_wider_student() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student.wpk");
    let run = compress_with(&fixture("skl_digits_mlp_zipmap.onnx"), &out, "800");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["settings"]["hidden"], 40, "24 + 16 hidden units");
    assert!(report["nnz"].as_u64().unwrap() <= 800);
    assert!(
        report["kappa"].as_f64().unwrap() <= 0.5 + 1e-3,
        "well-posed: {}",
        report["kappa"]
    );
    assert!(
        report["test_accuracy"].as_f64().unwrap() > 0.8,
        "{}",
        report["test_accuracy"]
    );
}

#[test]
fn hidden_keeps_the_teachers_most_important_units() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student.wpk");
    let teacher = fixture("skl_digits_mlp.onnx");
    let run = wolfpack(&[
        "compress",
        "--embedded",
        "--teacher",
        teacher.to_str().unwrap(),
        "--hidden",
        "12",
        "--max-nnz",
        "500",
        "--epochs",
        "2",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["settings"]["hidden"], 12);
    assert!(report["nnz"].as_u64().unwrap() <= 500);
    assert!(
        report["test_accuracy"].as_f64().unwrap() > 0.8,
        "{}",
        report["test_accuracy"]
    );
}

#[test]
fn missing_teacher_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.onnx");
    let run = compress_with(&missing, &dir.path().join("s.wpk"), "600");
    assert_one_line_error(&run, &["nowhere.onnx"]);
    assert!(!dir.path().join("s.wpk").exists());
}

#[test]
fn unsupported_teacher_names_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let run = compress_with(
        &fixture("skl_tanh_mlp.onnx"),
        &dir.path().join("s.wpk"),
        "600",
    );
    assert_one_line_error(&run, &["skl_tanh_mlp.onnx", "Tanh"]);
}

#[test]
fn garbage_teacher_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"\xff\xff\xff not a protobuf").unwrap();
    let run = compress_with(&bad, &dir.path().join("s.wpk"), "600");
    assert_one_line_error(&run, &["bad.onnx", "ONNX"]);
}

#[test]
fn teacher_of_other_data_is_refused() {
    // The digits teacher reads 64 inputs; a CSV data set of 3 features does not fit it.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("tiny");
    std::fs::create_dir(&csv).unwrap();
    let rows: String = (0..40)
        .map(|i| format!("{},{},{},{}\n", i % 2, i % 3, i % 5, i % 7))
        .collect();
    std::fs::write(csv.join("train.csv"), &rows).unwrap();
    std::fs::write(csv.join("test.csv"), &rows).unwrap();
    let run = wolfpack(&[
        "compress",
        "--data",
        csv.to_str().unwrap(),
        "--teacher",
        fixture("skl_digits_mlp.onnx").to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        dir.path().join("s.wpk").to_str().unwrap(),
    ]);
    assert_one_line_error(&run, &["skl_digits_mlp.onnx", "64 inputs"]);
}

#[test]
fn resume_continues_a_teacher_checkpoint() {
    // A checkpoint as a `--teacher` run leaves it after its fit: resuming takes the fine-tuning settings from it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("student.wpk");
    let teacher = fixture("skl_digits_mlp.onnx");
    let splits = wolfpack::data::digits::load().unwrap();
    let base = wolfpack::train::CompressConfig {
        max_nnz: Some(500),
        epochs: 2,
        ..Default::default()
    };
    let prepared =
        wolfpack::teacher::prepare(&teacher, &splits, &base, &Default::default()).unwrap();
    assert_eq!(prepared.config.hidden, 32);
    prepared
        .checkpoint
        .save(&dir.path().join("student.wpk.ckpt"))
        .unwrap();
    let run = wolfpack(&[
        "compress",
        "--embedded",
        "--teacher",
        teacher.to_str().unwrap(),
        "--max-nnz",
        "500",
        "--epochs",
        "2",
        "--resume",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["history"].as_array().unwrap().len(), 2);
    assert_eq!(report["settings"]["fw_epochs"], 0.0);
    assert!(report["nnz"].as_u64().unwrap() <= 500);
}
