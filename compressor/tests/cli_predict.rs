//! `wolfpack predict` on .npy/CSV/IDX inputs, and `wolfpack export-npz` checked against an independent NumPy
//! fixed-point solve of the exported weights.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wolfpack(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack")
}

fn predict_json(model: &Path, input: &Path) -> serde_json::Value {
    let out = wolfpack(&[
        "predict".as_ref(),
        model.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Raw inputs for the sample model (p = 6), four of them.
fn inputs() -> Vec<f32> {
    (0..24)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 4.0)
        .collect()
}

fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh (it installs numpy into .venv)",
        py.display()
    );
    py
}

#[test]
fn npy_and_csv_inputs_agree_and_export_matches_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sample.wpk");
    wolfpack_format::sample::sample_model()
        .write(&model)
        .unwrap();
    let u = inputs();
    let npy = dir.path().join("u.npy");
    std::fs::write(&npy, wolfpack::npz::npy_f32(&[4, 6], &u)).unwrap();
    let csv = dir.path().join("u.csv");
    let text: String = u
        .chunks(6)
        .map(|r| {
            r.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(&csv, text).unwrap();
    let a = predict_json(&model, &npy);
    let b = predict_json(&model, &csv);
    assert_eq!(a, b);
    assert_eq!(a["outputs"].as_array().unwrap().len(), 4);
    assert!(["alpha", "beta", "gamma"].contains(&a["labels"][0].as_str().unwrap()));
    assert!(
        a["iterations"][0].as_u64().unwrap() >= 2,
        "A != 0 needs iterations"
    );

    let npz = dir.path().join("w.npz");
    let out = wolfpack(&[
        "export-npz".as_ref(),
        model.as_os_str(),
        "--out".as_ref(),
        npz.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An independent implementation: preprocess, iterate x = relu(A x + B u + b) to convergence, y = C x + D u + c.
    let script = r#"
import json, sys, numpy as np
w = np.load(sys.argv[1]); u = np.load(sys.argv[2]).astype(np.float64)
mean = w["preprocess_mean"] if w["preprocess_mean"].size else 0.0
std = w["preprocess_std"] if w["preprocess_std"].size else 1.0
u = (u * w["preprocess_scale"][0] - mean) / std
A, B, C, D = (w[k].astype(np.float64) for k in "ABCD")
x = np.zeros((u.shape[0], A.shape[0]))
for _ in range(500):
    x = np.maximum(x @ A.T + u @ B.T + w["b"], 0.0)
print(json.dumps((x @ C.T + u @ D.T + w["c"]).tolist()))
"#;
    let py = Command::new(python())
        .args(["-c", script])
        .arg(&npz)
        .arg(&npy)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let want: Vec<Vec<f64>> = serde_json::from_slice(&py.stdout).unwrap();
    for (row, ref_row) in a["outputs"].as_array().unwrap().iter().zip(&want) {
        for (got, w) in row.as_array().unwrap().iter().zip(ref_row) {
            let got = got.as_f64().unwrap();
            assert!(
                (got - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "runtime {got} vs numpy {w}"
            );
        }
    }
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sample.wpk");
    wolfpack_format::sample::sample_model()
        .write(&model)
        .unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("short.csv", b"1,2,3\n".to_vec()),
        ("ragged.csv", b"1,2,3,4,5,6\n1,2\n".to_vec()),
        ("nan.csv", b"1,2,3,4,5,nan\n".to_vec()),
        ("junk.npy", b"not numpy".to_vec()),
        ("x.bin", b"?".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = wolfpack(&[
            "predict".as_ref(),
            model.as_os_str(),
            "--input".as_ref(),
            path.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}
