//! `wolfpack bench`: the JSON shape of the issue (`{"wolfpack": {...}, "onnx": [...]}`, nested under the batch
//! size when several are given), figures that make sense, and one-line errors. Short runs (0.05 s per model).

use std::process::{Command, Output};

use wolfpack::onnx::{export_model, ExportOptions};
use wolfpack_format::ModelView;

fn bench(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap()
}

fn check_row(row: &serde_json::Value, batch: u64) {
    assert_eq!(row["batch"], batch);
    let p50 = row["p50_us"].as_f64().unwrap();
    let p99 = row["p99_us"].as_f64().unwrap();
    assert!(p50 > 0.0 && p99 >= p50, "{row}");
    assert!(row["calls"].as_u64().unwrap() >= 50, "{row}");
    assert!(
        row["load_us"].as_f64().unwrap() > 0.0 && row["file_bytes"].as_u64().unwrap() > 0,
        "{row}"
    );
    // Both engines' load times follow one rule: the median of at least 21 loads.
    assert!(row["loads"].as_u64().unwrap() >= 21, "{row}");
    let throughput = row["throughput_per_s"].as_f64().unwrap();
    let mean = row["mean_us"].as_f64().unwrap();
    assert!(
        (throughput * mean * 1e-6 / batch as f64 - 1.0).abs() < 1e-9,
        "{row}"
    );
}

#[test]
fn json_shape_for_one_and_several_batch_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let wpk = dir.path().join("sample.wpk");
    let onnx = dir.path().join("sample.onnx");
    let file = wolfpack_format::sample::sample_model();
    file.write(&wpk).unwrap();
    let bytes = file.to_bytes().unwrap();
    let exported = export_model(
        &ModelView::parse(&bytes).unwrap(),
        &ExportOptions::default(),
    )
    .unwrap();
    std::fs::write(&onnx, exported.to_bytes()).unwrap();
    let common = [
        wpk.as_os_str(),
        "--onnx".as_ref(),
        onnx.as_os_str(),
        "--seconds".as_ref(),
        "0.05".as_ref(),
        "--json".as_ref(),
    ];

    let out = bench(&common);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    check_row(&v["wolfpack"], 1);
    let onnx_rows = v["onnx"].as_array().unwrap();
    assert_eq!(onnx_rows.len(), 1);
    check_row(&onnx_rows[0], 1);
    assert_eq!(onnx_rows[0]["path"], onnx.display().to_string());
    let ratio = onnx_rows[0]["p50_ratio_to_wolfpack"].as_f64().unwrap();
    let expect =
        onnx_rows[0]["p50_us"].as_f64().unwrap() / v["wolfpack"]["p50_us"].as_f64().unwrap();
    assert!((ratio / expect - 1.0).abs() < 1e-9);

    let mut args = common.to_vec();
    args.extend([std::ffi::OsStr::new("--batch"), std::ffi::OsStr::new("1,3")]);
    let out = bench(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for b in [1u64, 3] {
        check_row(&v[b.to_string()]["wolfpack"], b);
        check_row(&v[b.to_string()]["onnx"][0], b);
    }
}

#[test]
fn bad_arguments_and_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wpk = dir.path().join("sample.wpk");
    wolfpack_format::sample::sample_model().write(&wpk).unwrap();
    let not_onnx = dir.path().join("garbage.onnx");
    std::fs::write(&not_onnx, b"not a model").unwrap();
    for (args, needle) in [
        (
            vec![wpk.as_os_str(), "--batch".as_ref(), "0".as_ref()],
            "batch".to_string(),
        ),
        (
            vec![dir.path().join("missing.wpk").as_os_str()],
            "missing.wpk".to_string(),
        ),
        (
            vec![wpk.as_os_str(), "--onnx".as_ref(), not_onnx.as_os_str()],
            not_onnx.display().to_string(),
        ),
    ] {
        let out = bench(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&needle), "{stderr} should name {needle}");
    }
}
