//! Fuzzes the `.wpk` reader: any byte string must parse or fail with an error, never panic or read out of bounds.
//!
//! Each input is tried twice: as given (exercising the header and checksum checks) and resealed with valid
//! checksums (so mutations reach the structural checks behind them). Parsed models are walked entirely.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfpack_format::{reseal, AlignedBytes, ModelView, Role};

fn exercise(bytes: &AlignedBytes) {
    if let Ok(view) = ModelView::parse(bytes) {
        let mut sum = 0.0f64;
        for role in Role::ALL {
            if let Some(m) = view.matrix(role) {
                // to_dense allocates rows * cols: bounded here so the fuzzer measures the reader, not the allocator.
                if m.rows().saturating_mul(m.cols()) <= 1 << 20 {
                    sum += m.to_dense().iter().map(|&v| f64::from(v)).sum::<f64>();
                }
            }
        }
        std::hint::black_box((sum, view.nnz()));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = AlignedBytes::copy_from(data);
    exercise(&bytes);
    reseal(bytes.as_mut_slice());
    exercise(&bytes);
});
