//! The training recipe end to end on the embedded digits (small enough for debug builds).

use wolfpack::data::{digits, Splits};
use wolfpack::model::Which;
use wolfpack::train::{compress, Checkpoint, CompressConfig, Method, Quant};

fn small(budget: usize) -> CompressConfig {
    CompressConfig {
        hidden: 32,
        max_nnz: Some(budget),
        epochs: 12,
        batch: 64,
        ..CompressConfig::default()
    }
}

fn data() -> Splits {
    digits::load().unwrap()
}

#[test]
fn meets_the_budget_exactly_and_learns() {
    let s = data();
    let mut epochs = 0;
    let out = compress(&s.train, &s.test, &small(600), None, &mut |st, _| {
        epochs += 1;
        assert!(st.kappa <= 0.5 + 1e-6, "A left its ball: {}", st.kappa);
    })
    .unwrap();
    assert_eq!(epochs, 12);
    let total: usize = out.nnz.iter().sum();
    assert!((590..=600).contains(&total), "nnz {total}");
    assert_eq!(out.params.total_nnz(), total);
    // Ten balanced classes: chance is 10%. 600 weights on 8x8 digits reach far more.
    assert!(out.test_accuracy > 0.85, "accuracy {}", out.test_accuracy);
    // The reported accuracy is that of the stored (f16) weights.
    let (acc, _) = out.params.accuracy(&s.test, &out.config.eval_solve);
    assert_eq!(acc, out.test_accuracy);
    assert!(out.params.kappa() <= out.kappa);
    assert!(out.nnz[Which::A as usize] > 0, "the implicit part is used");
}

#[test]
fn same_seed_same_model_and_resume_is_exact() {
    let s = data();
    let cfg = CompressConfig {
        epochs: 4,
        ..small(400)
    };
    let mut at2 = None;
    let a = compress(&s.train, &s.test, &cfg, None, &mut |st, ck| {
        if st.epoch == 2 {
            at2 = Some(ck.clone());
        }
    })
    .unwrap();
    let b = compress(&s.train, &s.test, &cfg, None, &mut |_, _| {}).unwrap();
    assert_eq!(a.params, b.params);
    // Through a file, as the CLI will do it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.json");
    at2.unwrap().save(&path).unwrap();
    let ck = Checkpoint::load(&path).unwrap();
    assert_eq!(ck.epoch, 2);
    let c = compress(&s.train, &s.test, &cfg, Some(ck), &mut |_, _| {}).unwrap();
    assert_eq!(a.params, c.params);
    assert_eq!(c.history.len(), 4);
    let other = compress(
        &s.train,
        &s.test,
        &CompressConfig { seed: 1, ..cfg },
        None,
        &mut |_, _| {},
    )
    .unwrap();
    assert_ne!(a.params, other.params);
}

#[test]
fn frank_wolfe_throughout_and_other_quantisations_work() {
    let s = data();
    for (method, quant) in [(Method::FrankWolfe, Quant::I8), (Method::Adam, Quant::Bf16)] {
        // Frank-Wolfe throughout leans on D early; global ranking lets it keep D (the default shares give D none).
        let cfg = CompressConfig {
            method,
            quant,
            epochs: 6,
            shares: None,
            ..small(500)
        };
        let out = compress(&s.train, &s.test, &cfg, None, &mut |_, _| {}).unwrap();
        assert!(out.nnz.iter().sum::<usize>() <= 500);
        assert!(
            out.test_accuracy > 0.5,
            "{method:?}/{quant:?}: {}",
            out.test_accuracy
        );
        assert!(out.params.kappa() <= 0.5);
    }
}

#[test]
fn bad_settings_and_checkpoints_are_typed_errors() {
    let s = data();
    for cfg in [
        CompressConfig {
            kappa: 1.0,
            ..small(10)
        },
        CompressConfig {
            hidden: 0,
            ..small(10)
        },
        CompressConfig {
            max_nnz: Some(0),
            ..small(10)
        },
        CompressConfig {
            select_from: 0.7,
            select_to: 0.2,
            ..small(10)
        },
        CompressConfig {
            shares: Some([0.0, -1.0, 1.0, 0.0]),
            ..small(10)
        },
        CompressConfig {
            label_smoothing: 1.0,
            ..small(10)
        },
        CompressConfig {
            average_from: Some(1.5),
            ..small(10)
        },
        CompressConfig {
            standardise: Some(0.0),
            ..small(10)
        },
    ] {
        let e = compress(&s.train, &s.test, &cfg, None, &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid setting"), "{e}");
    }
    let mut test = s.test.clone();
    test.p = 3;
    let e = compress(&s.train, &test, &small(10), None, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not match"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.json");
    std::fs::write(&path, b"{\"epoch\": 3}").unwrap();
    let e = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(e.contains("not a wolfpack checkpoint"), "{e}");
    assert!(Checkpoint::load(&dir.path().join("none")).is_err());
}

#[test]
fn frank_wolfe_support_bounds_the_later_support() {
    let s = data();
    let cfg = CompressConfig {
        fw_support: true,
        max_nnz: None,
        epochs: 3,
        ..small(1)
    };
    let mut after_fw = None;
    let out = compress(&s.train, &s.test, &cfg, None, &mut |st, ck| {
        if st.epoch == 1 {
            after_fw = Some(ck.params.clone());
        }
    })
    .unwrap();
    let fw = after_fw.unwrap();
    for w in Which::ALL {
        let inside = fw
            .mat(w)
            .iter()
            .zip(out.params_f32.mat(w))
            .all(|(a, b)| *b == 0.0 || *a != 0.0);
        assert!(inside, "{w:?} grew outside the Frank-Wolfe support");
    }
    // Adam moved the weights on that support (it is not frozen).
    assert_ne!(fw.b, out.params_f32.b);
    assert!(out.params_f32.total_nnz() > 100);
}

#[test]
fn budget_shares_are_met_per_matrix() {
    let s = data();
    let cfg = CompressConfig {
        shares: Some([0.1, 0.7, 0.2, 0.0]),
        epochs: 4,
        ..small(500)
    };
    let out = compress(&s.train, &s.test, &cfg, None, &mut |_, _| {}).unwrap();
    let n = out.params_f32.total_nnz();
    assert!(n <= 500);
    // Each matrix holds at most its share (entries may end at exactly zero, never above it).
    for (w, cap) in Which::ALL.into_iter().zip([50, 350, 100, 0]) {
        assert!(
            out.params_f32.nnz(w) <= cap,
            "{w:?}: {} > {cap}",
            out.params_f32.nnz(w)
        );
    }
    assert!(n >= 480, "nnz {n}");
}

#[test]
fn recipe_options_keep_the_budget_well_posedness_and_exact_resume() {
    let s = data();
    let cfg = CompressConfig {
        label_smoothing: 0.1,
        weight_decay: 0.1,
        saliency: wolfpack::train::saliency::Saliency::Fisher,
        restart_lr: 0.5,
        average_from: Some(0.6),
        standardise: Some(0.1),
        ..small(600)
    };
    let mut at10 = None;
    let a = compress(&s.train, &s.test, &cfg, None, &mut |st, ck| {
        assert!(st.kappa <= 0.5 + 1e-6, "A left its ball: {}", st.kappa);
        if st.epoch == 10 {
            at10 = Some(ck.clone());
        }
    })
    .unwrap();
    let ck = at10.unwrap();
    assert!(ck.average.is_some(), "averaging runs from 60% of training");
    let kept = a.params_f32.total_nnz();
    assert!((580..=600).contains(&kept), "nnz {kept}");
    assert!(a.params.kappa() <= 0.5);
    assert!(a.test_accuracy > 0.85, "accuracy {}", a.test_accuracy);
    // The average is not the last iterate.
    let last = compress(
        &s.train,
        &s.test,
        &CompressConfig {
            average_from: None,
            ..cfg.clone()
        },
        None,
        &mut |_, _| {},
    )
    .unwrap();
    assert_ne!(a.params_f32, last.params_f32);
    let b = compress(&s.train, &s.test, &cfg, Some(ck), &mut |_, _| {}).unwrap();
    assert_eq!(a.params, b.params);
    // Shifts need square images.
    let mut odd = s.train.clone();
    odd.p = 63;
    odd.x.truncate(odd.n * 63);
    let shifted = CompressConfig { shift: 1, ..cfg };
    let e = compress(&odd, &odd, &shifted, None, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("square images"), "{e}");
}
