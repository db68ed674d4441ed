//! Fuzzes the runtime's loading and solving: any byte string given to `Model::from_bytes` must load or fail with an
//! error, and a loaded model must predict (or report non-convergence) without panicking, hanging or reading out of
//! bounds. Inputs are resealed with valid checksums so mutations reach the structure behind them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfpack_format::{reseal, AlignedBytes};
use wolfpack_runtime::{Model, Session, SolveOptions};

fuzz_target!(|data: &[u8]| {
    let mut bytes = AlignedBytes::copy_from(data);
    reseal(bytes.as_mut_slice());
    let Ok(model) = Model::from_bytes(&bytes) else { return };
    let (p, q) = (model.n_inputs(), model.n_outputs());
    // Scratch is O(n + p + q): skip absurd declared sizes so the fuzzer measures the solver, not the allocator.
    if model.n_hidden() + p + q > 1 << 16 {
        return;
    }
    let input: Vec<f32> = (0..p).map(|i| f32::from(data.get(i % data.len().max(1)).copied().unwrap_or(0)) / 64.0 - 2.0).collect();
    let mut output = vec![0.0f32; q];
    let mut session = Session::new(&model);
    let options = SolveOptions { max_iterations: Some(50), ..SolveOptions::default() };
    if let Ok(stats) = session.predict_with(&model, &input, &mut output, &options) {
        assert!(output.iter().all(|v| v.is_finite()), "a successful solve returned non-finite outputs");
        std::hint::black_box(stats);
    }
});
