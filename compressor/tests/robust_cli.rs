//! `wolfpack attack`, `wolfpack certify` and `compress --adversarial/--certified` end to end on the embedded digits.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wolfpack"))
        .args(args)
        .output()
        .expect("run wolfpack")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "wolfpack {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("a number")
}

#[test]
fn certified_training_attack_and_certify_agree() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.wpk");
    let m = model.to_str().unwrap();
    let report = json(&[
        "compress",
        "--embedded",
        "--max-nnz",
        "800",
        "--hidden",
        "16",
        "--epochs",
        "4",
        "--certified",
        "linf:0.02",
        "--robust-limit",
        "100",
        "--out",
        m,
        "--json",
    ]);
    let r = &report["robustness"];
    assert_eq!(r["n"].as_u64(), Some(100));
    let (clean, pgd, cert) = (
        f(&r["clean_accuracy"]),
        f(&r["pgd20"]["accuracy"]),
        f(&r["certified_accuracy"]),
    );
    assert!(cert <= pgd && pgd <= clean && clean > 0.3, "{r}");
    let attacked = json(&[
        "attack",
        m,
        "--embedded",
        "--eps",
        "0,0.02",
        "--limit",
        "100",
        "--json",
    ]);
    assert!((f(&attacked["clean_accuracy"]) - clean).abs() < 1e-9);
    assert!(
        (f(&attacked["robust"][0]["accuracy"]) - clean).abs() < 1e-9,
        "eps 0 breaks nothing"
    );
    let certified = json(&[
        "certify",
        m,
        "--embedded",
        "--eps",
        "0.02,0.05",
        "--limit",
        "100",
        "--json",
    ]);
    assert!((f(&certified["certified"][0]["accuracy"]) - cert).abs() < 1e-9);
    assert!(f(&certified["certified"][1]["accuracy"]) <= cert);
    for method in ["fw", "fgsm"] {
        let a = json(&[
            "attack",
            m,
            "--embedded",
            "--eps",
            "0.02",
            "--limit",
            "100",
            "--method",
            method,
            "--restarts",
            "2",
            "--json",
        ]);
        let acc = f(&a["robust"][0]["accuracy"]);
        assert!(cert <= acc && acc <= clean, "{method}: {acc}");
    }
    let svg = dir.path().join("curve.svg");
    let out = run(&[
        "attack",
        m,
        "--embedded",
        "--eps",
        "0.01,0.05",
        "--limit",
        "50",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn bad_arguments_are_reported_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.wpk");
    let m = model.to_str().unwrap();
    for (args, needle) in [
        (vec!["attack", m, "--embedded", "--eps", "0.1"], "m.wpk"),
        (
            vec![
                "compress",
                "--embedded",
                "--adversarial",
                "linf",
                "--out",
                m,
            ],
            "NORM:EPS",
        ),
        (
            vec![
                "compress",
                "--embedded",
                "--certified",
                "l2:0.1",
                "--out",
                m,
            ],
            "linf",
        ),
        (
            vec![
                "compress",
                "--embedded",
                "--adversarial",
                "linf:-0.1",
                "--out",
                m,
            ],
            "eps",
        ),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    json(&[
        "compress",
        "--embedded",
        "--max-nnz",
        "300",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--out",
        m,
        "--json",
    ]);
    for (args, needle) in [
        (
            vec!["attack", m, "--embedded", "--eps", "0.1", "--norm", "l3"],
            "norm",
        ),
        (vec!["attack", m, "--embedded", "--eps=-0.1"], "eps"),
        (
            vec!["attack", m, "--embedded", "--eps", "0.1", "--restarts", "0"],
            "restarts",
        ),
        (
            vec!["certify", m, "--embedded", "--eps", "0.1", "--norm", "l2"],
            "linf",
        ),
        (vec!["certify", m, "--embedded", "--eps", "nan"], "eps"),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
