//! `wolfpack predict` and `wolfpack export-npz` on the sample model: outputs equal the runtime's, in every input
//! format, and bad input is one error line with exit code 1.

use std::path::Path;
use std::process::Command;

use wolfpack_runtime::{Model, SolveOptions};

fn wolfpack(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A float32 `.npy` of shape [rows, cols].
fn npy(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    data.iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out
}

#[test]
fn predict_matches_the_runtime_for_csv_and_npy_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("s.wpk");
    wolfpack_format::sample::sample_model()
        .write(&model_path)
        .unwrap();
    let model = Model::open(&model_path).unwrap();
    let inputs: Vec<f32> = (0..18).map(|i| (i as f32 - 9.0) * 0.3).collect();
    let want: Vec<Vec<f32>> = inputs
        .chunks(6)
        .map(|u| model.predict(u, &SolveOptions::default()).unwrap().0)
        .collect();
    let csv: String = inputs
        .chunks(6)
        .map(|u| {
            u.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    std::fs::write(
        dir.path().join("in.csv"),
        format!("f0,f1,f2,f3,f4,f5\n{csv}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("in.npy"), npy(3, 6, &inputs)).unwrap();
    for file in ["in.csv", "in.npy"] {
        let input = dir.path().join(file);
        let (ok, stdout, stderr) = wolfpack(&[
            "predict",
            model_path.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ]);
        assert!(ok, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let got: Vec<Vec<f32>> = serde_json::from_value(v["outputs"].clone()).unwrap();
        assert_eq!(got, want, "{file}");
        assert_eq!(v["labels"].as_array().unwrap().len(), 3);
        assert!(v["labels"][0]
            .as_str()
            .is_some_and(|l| ["alpha", "beta", "gamma"].contains(&l)));
        assert!(v["iterations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.as_u64().unwrap() >= 1));
    }
    // Wrong width: one line naming the file, exit code 1.
    std::fs::write(dir.path().join("bad.csv"), "1,2,3\n").unwrap();
    let bad = dir.path().join("bad.csv");
    let (ok, _, stderr) = wolfpack(&[
        "predict",
        model_path.to_str().unwrap(),
        "--input",
        bad.to_str().unwrap(),
    ]);
    assert!(
        !ok && stderr.lines().count() == 1 && stderr.contains("bad.csv"),
        "{stderr}"
    );
}

#[test]
fn export_npz_writes_a_zip_of_the_six_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("s.wpk");
    wolfpack_format::sample::sample_model()
        .write(&model_path)
        .unwrap();
    let out = dir.path().join("s.npz");
    let (ok, _, stderr) = wolfpack(&[
        "export-npz",
        model_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    for name in ["A.npy", "B.npy", "C.npy", "D.npy", "b.npy", "c.npy"] {
        assert!(
            bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} missing"
        );
    }
    let (ok, _, stderr) = wolfpack(&[
        "export-npz",
        "/nonexistent.wpk",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("/nonexistent.wpk"), "{stderr}");
    assert!(Path::new(&out).exists());
}
