//! `wolfpack compress` and `wolfpack eval` end to end on the embedded digits (small settings, seconds).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wolfpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack")
}

fn compress(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "compress",
        "--embedded",
        "--max-nnz",
        "1500",
        "--hidden",
        "32",
        "--epochs",
        "6",
        "--json",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    wolfpack(&args)
}

#[test]
fn compress_writes_model_report_and_plot_and_eval_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("digits.wpk");
    let run = compress(&out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(
        report["nnz"].as_u64().unwrap() <= 1500,
        "budget respected: {}",
        report["nnz"]
    );
    assert_eq!(
        report["file_bytes"].as_u64().unwrap(),
        std::fs::metadata(&out).unwrap().len()
    );
    assert!(
        report["test_accuracy"].as_f64().unwrap() > 0.3,
        "learns something: {}",
        report["test_accuracy"]
    );
    assert!(dir.path().join("digits.wpk.report.json").is_file());
    let svg = std::fs::read_to_string(dir.path().join("digits.wpk.report.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("test accuracy"));
    assert!(
        !dir.path().join("digits.wpk.ckpt").exists(),
        "checkpoint removed after success"
    );

    let eval = wolfpack(&["eval", out.to_str().unwrap(), "--embedded", "--json"]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let ev: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(ev["n"], 360);
    assert_eq!(ev["accuracy"], report["test_accuracy"]);

    // The model file holds what inspect reports, and inspect's nnz equals the report's.
    let inspect = wolfpack(&["inspect", out.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(info["nnz"], report["nnz"]);
    assert!(info["kappa"].as_f64().unwrap() < 1.0);
}

#[test]
fn same_seed_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.wpk"), dir.path().join("b.wpk"));
    assert!(compress(&a, &["--seed", "7"]).status.success());
    assert!(compress(&b, &["--seed", "7"]).status.success());
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn an_interrupted_run_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.wpk");
    let ckpt = dir.path().join("m.wpk.ckpt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args([
            "compress",
            "--embedded",
            "--max-nnz",
            "600",
            "--hidden",
            "64",
            "--epochs",
            "200",
            "--json",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ckpt.exists() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ckpt.exists(), "a checkpoint was written during training");
    assert!(!out.exists(), "no model file before training ends");
    // Resuming with other settings is refused; with the same settings it finishes.
    let other = wolfpack(&[
        "compress",
        "--embedded",
        "--max-nnz",
        "600",
        "--hidden",
        "32",
        "--epochs",
        "200",
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(other.status.code(), Some(1));
    let resumed = wolfpack(&[
        "compress",
        "--embedded",
        "--max-nnz",
        "600",
        "--hidden",
        "64",
        "--epochs",
        "200",
        "--resume",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(out.exists());
}

#[test]
fn bad_data_is_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte"),
        b"not an idx file",
    )
    .unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), b"nope").unwrap();
    let out = dir.path().join("m.wpk");
    let run = wolfpack(&[
        "compress",
        "--data",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("train-"), "{stderr}");
    assert!(!out.exists());
}

/// Output folders are made before training (as `mkdir -p`), so a long run never trains and then fails on a missing
/// folder; a folder that cannot be made fails at once, naming it once.
#[test]
fn missing_output_folders_are_made_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/deeper/digits.wpk");
    let run = compress(&out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.exists());
    assert!(dir
        .path()
        .join("new/deeper/digits.wpk.report.json")
        .exists());

    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = blocker.join("m.wpk");
    let run = compress(&out, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches(blocker.to_str().unwrap()).count(),
        1,
        "{stderr}"
    );
    assert!(
        !stderr.contains("epoch"),
        "failed before training: {stderr}"
    );
}

/// `--standardise` and `--weight-decay` reach the recipe: off and 0 reproduce the recipe without them (a model
/// different from the default's), and bad values are one-line errors that write nothing.
#[test]
fn standardisation_and_decay_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, default) = (dir.path().join("plain.wpk"), dir.path().join("default.wpk"));
    let run = compress(&plain, &["--standardise", "off", "--weight-decay", "0"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = compress(&default, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_ne!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&default).unwrap()
    );
    for bad in [
        &["--standardise", "bogus"][..],
        &["--standardise", "-1"],
        &["--weight-decay", "-1"],
    ] {
        let out = dir.path().join("bad.wpk");
        let run = compress(&out, bad);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{bad:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{bad:?}: {stderr}");
        assert!(!out.exists(), "{bad:?}");
    }
}
