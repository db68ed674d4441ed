//! `wolfpack inspect`: a summary for valid files; exit code 1 and one line for every bad one, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wolfpack(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack")
}

fn sample(dir: &Path) -> PathBuf {
    let p = dir.join("sample.wpk");
    wolfpack_format::sample::sample_model().write(&p).unwrap();
    p
}

fn assert_one_line_error(out: &Output, path: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "the message names the file: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn json_summary_of_the_sample_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path());
    let out = wolfpack(&["inspect".as_ref(), p.as_os_str(), "--json".as_ref()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hidden"], 8);
    assert_eq!(v["nnz"], 21 + 32 + 22 + 18);
    assert_eq!(v["matrices"].as_array().unwrap().len(), 4);
    assert_eq!(v["matrices"][2]["storage"], "low-rank");
    assert_eq!(v["metadata"]["labels"][1], "beta");
    // The runtime's plan accounts for every hidden unit exactly once.
    let b = &v["blocks"];
    let units: u64 = ["empty_rows", "exact_rows", "self_loops", "cyclic_rows"]
        .iter()
        .map(|k| b[k].as_u64().unwrap())
        .sum();
    assert_eq!(units, 8, "{b}");
    assert_eq!(
        v["file_bytes"].as_u64().unwrap(),
        std::fs::metadata(&p).unwrap().len()
    );
    let table = wolfpack(&["inspect".as_ref(), p.as_os_str()]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("kappa"));
}

#[test]
fn malformed_files_fail_with_one_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/tests/corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wpk") {
            assert_one_line_error(&wolfpack(&["inspect".as_ref(), path.as_os_str()]), &path);
            n += 1;
        }
    }
    assert!(n >= 20);
    let missing = Path::new("/nonexistent/model.wpk");
    assert_one_line_error(
        &wolfpack(&["inspect".as_ref(), missing.as_os_str()]),
        missing,
    );
}

#[test]
fn truncated_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample(dir.path())).unwrap();
    let cut = dir.path().join("cut.wpk");
    for len in (0..bytes.len()).step_by(37) {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        assert_one_line_error(&wolfpack(&["inspect".as_ref(), cut.as_os_str()]), &cut);
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["inspect"][..],
        &["inspect", "a.wpk", "--bogus"],
        &["no-such-command"],
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = wolfpack(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    assert!(wolfpack(&["--help".as_ref()]).status.success());
}

/// `wolfpack inspect m.wpk | head -1`: a reader that goes away is not an error of ours. The pipe's read end is
/// closed before the process starts, so every write fails with EPIPE, deterministically.
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let p = sample(dir.path());
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(["inspect".as_ref(), p.as_os_str()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "killed by SIGPIPE like any Unix tool: {:?} {stderr}",
        out.status
    );
}
