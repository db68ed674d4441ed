//! The natives' life cycle without a JVM: open (file, borrowed bytes, copy) -> handle -> predictions
//! through the per-thread scratch -> release, as `natives.rs` drives it, checked against the runtime.

use std::sync::Arc;

use wolfpack_android::{Error, NativeModel};
use wolfpack_runtime::{Model, Session};

fn sample_bytes() -> Vec<u8> {
    wolfpack_runtime::format::sample::sample_model()
        .to_bytes()
        .unwrap()
        .to_vec()
}

/// What the runtime alone predicts.
fn reference(bytes: &[u8], u: &[f32]) -> Vec<f32> {
    let model = Model::from_bytes_copied(bytes).unwrap();
    let mut y = vec![0.0; model.n_outputs()];
    Session::new(&model).predict(&model, u, &mut y).unwrap();
    y
}

/// One prediction through a handle, as the `predict` native does it.
fn predict_via_handle(handle: i64, u: &[f32]) -> Result<Vec<f32>, Error> {
    // SAFETY: the tests pass live handles only, and release them after the last use.
    let m = unsafe { NativeModel::from_handle(handle) }?;
    let mut y = vec![0.0; m.model().n_outputs()];
    m.predict(
        u.len(),
        y.len(),
        |dst| {
            dst.copy_from_slice(u);
            Ok(())
        },
        |src| {
            y.copy_from_slice(src);
            Ok(())
        },
    )?;
    Ok(y)
}

#[test]
fn every_way_of_opening_gives_the_runtimes_outputs() {
    let bytes = sample_bytes();
    let path = std::env::temp_dir().join(format!("wolfpack-android-{}.wpk", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let aligned = wolfpack_runtime::format::AlignedBytes::copy_from(&bytes);
    let opened = [
        NativeModel::open(&path).unwrap(),
        NativeModel::from_bytes_copied(&bytes).unwrap(),
        // SAFETY: `aligned` outlives every model (released below, before the end of the test).
        unsafe { NativeModel::from_borrowed(aligned.as_ptr(), aligned.len(), Box::new(())) }
            .unwrap(),
    ];
    assert!(opened[0].is_zero_copy() && !opened[1].is_zero_copy() && opened[2].is_zero_copy());
    for model in opened {
        let handle = model.into_handle();
        for k in 0..8 {
            let u: Vec<f32> = (0..6).map(|j| ((k * 5 + j * 3) % 7) as f32 - 3.0).collect();
            assert_eq!(
                predict_via_handle(handle, &u).unwrap(),
                reference(&bytes, &u)
            );
        }
        // SAFETY: released once, after its last use.
        unsafe { NativeModel::release(handle) }.unwrap();
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_handle_serves_threads_that_each_keep_their_statistics() {
    let bytes = sample_bytes();
    let handle = NativeModel::from_bytes_copied(&bytes)
        .unwrap()
        .into_handle();
    let bytes = Arc::new(bytes);
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let bytes = bytes.clone();
            std::thread::spawn(move || {
                // SAFETY: the handle stays live until every worker has been joined.
                let m = unsafe { NativeModel::from_handle(handle) }.unwrap();
                assert_eq!(m.last_solve().unwrap(), None);
                let u = vec![t as f32 * 0.5 - 1.0; 6];
                let expected = reference(&bytes, &u);
                for _ in 0..500 {
                    assert_eq!(predict_via_handle(handle, &u).unwrap(), expected);
                }
                m.last_solve().unwrap().unwrap()
            })
        })
        .collect();
    let solves: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(solves.iter().all(|s| s.iterations >= 1));
    // SAFETY: every user of the handle has been joined.
    unsafe { NativeModel::release(handle) }.unwrap();
}

#[test]
fn bad_models_are_errors_with_the_runtimes_message() {
    let bytes = sample_bytes();
    for cut in [0, 1, 16, bytes.len() / 3, bytes.len() - 1] {
        let err = NativeModel::from_bytes_copied(&bytes[..cut]).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid model: "),
            "{cut}: {err}"
        );
    }
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    assert!(NativeModel::from_bytes_copied(&flipped).is_err());
}
