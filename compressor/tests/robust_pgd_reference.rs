//! `wolfpack attack` (PGD-20) against an independent NumPy PGD (`tests/pgd_reference.py`) on the same model: the
//! robust accuracies must agree within 1.5 points on the 360 embedded test digits (the two use different random
//! starts, so a few borderline inputs may differ; the 1-point goal is measured on 2,000 Fashion-MNIST images
//! in docs/BENCHMARKS.md).
//!
//! Needs the project venv's Python with NumPy (`scripts/setup.sh`), or `WOLFPACK_PYTHON` pointing at one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WOLFPACK_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with NumPy: run scripts/setup.sh (creates .venv) or set WOLFPACK_PYTHON"
    );
    venv
}

fn wolfpack(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack");
    assert!(
        out.status.success(),
        "wolfpack {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn pgd_matches_numpy_reference() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.wpk");
    let npz = dir.path().join("m.npz");
    let data_npz = dir.path().join("data.npz");
    let m = model.to_str().unwrap();
    wolfpack(&[
        "compress",
        "--embedded",
        "--max-nnz",
        "1500",
        "--hidden",
        "32",
        "--epochs",
        "6",
        "--out",
        m,
        "--json",
    ]);
    wolfpack(&["export-npz", m, "--out", npz.to_str().unwrap()]);
    let test = wolfpack::data::digits::load().unwrap().test;
    let bytes = wolfpack::npz::npz(&[
        ("u", vec![test.n, test.p], test.x.clone()),
        (
            "labels",
            vec![test.n],
            test.y.iter().map(|&y| y as f32).collect(),
        ),
        ("data_scale", vec![1], vec![test.preprocess.scale]),
        ("data_offset", vec![1], vec![test.preprocess.offset]),
    ])
    .unwrap();
    std::fs::write(&data_npz, bytes).unwrap();
    let eps = "0.05";
    let ours: serde_json::Value = serde_json::from_str(&wolfpack(&[
        "attack",
        m,
        "--embedded",
        "--eps",
        eps,
        "--steps",
        "20",
        "--json",
    ]))
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pgd_reference.py");
    let out = Command::new(python())
        .arg(&script)
        .args([npz.to_str().unwrap(), data_npz.to_str().unwrap(), eps])
        .output()
        .expect("run the NumPy reference");
    assert!(
        out.status.success(),
        "pgd_reference.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert_eq!(ours["n"].as_u64(), theirs["n"].as_u64());
    assert!(
        (f(&ours["clean_accuracy"]) - f(&theirs["clean_accuracy"])).abs() < 1e-9,
        "clean: {ours} vs {theirs}"
    );
    let (a, b) = (
        f(&ours["robust"][0]["accuracy"]),
        f(&theirs["robust_accuracy"]),
    );
    eprintln!("PGD-20 at eps {eps}: wolfpack {a}, NumPy {b}");
    // A meaningful comparison: the attack must break a good share of the inputs but not all.
    assert!(
        a > 0.1 && a < f(&ours["clean_accuracy"]) - 0.05,
        "robust {a}: eps not informative"
    );
    assert!(
        (a - b).abs() <= 0.015,
        "wolfpack PGD-20 {a} vs NumPy PGD-20 {b}"
    );
}
