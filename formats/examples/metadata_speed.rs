//! Times `Metadata::from_json` (the small reader of `src/json.rs`) against what it replaced, serde_json's
//! derived deserializer plus the same validation, on the METADATA section of each `.wpk` given (the sample
//! model's if none): both in the same process, interleaved, the median over rounds of the time per parse.
//!
//! `cargo run --release -p wolfpack-format --example metadata_speed -- [MODEL.wpk ...]`

use std::hint::black_box;
use std::time::Instant;

use wolfpack_format::layout::{kind, ENTRY_LEN, HEADER_LEN};
use wolfpack_format::Metadata;

/// The METADATA section of a well-formed file.
fn metadata_section(bytes: &[u8]) -> Option<Vec<u8>> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    (0..u32_at(24) as usize).find_map(|i| {
        let e = (HEADER_LEN + ENTRY_LEN * i as u64) as usize;
        (u32_at(e) == kind::METADATA).then(|| bytes[u64_at(e + 8)..][..u64_at(e + 16)].to_vec())
    })
}

fn with_serde(json: &[u8]) -> Metadata {
    let m: Metadata = serde_json::from_slice(json).unwrap();
    m.validate().unwrap();
    m
}

/// Nanoseconds per call of `f`, over `n` calls.
fn time(n: u32, f: impl Fn()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut inputs: Vec<(String, Vec<u8>)> = std::env::args()
        .skip(1)
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
            (p, bytes)
        })
        .collect();
    if inputs.is_empty() {
        let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
        inputs.push(("sample model".into(), bytes.to_vec()));
    }
    for (name, bytes) in inputs {
        let json = metadata_section(&bytes).expect("a METADATA section");
        assert_eq!(Metadata::from_json(&json).unwrap(), with_serde(&json));
        let (mut ours, mut serde) = (Vec::new(), Vec::new());
        for _ in 0..21 {
            ours.push(time(2000, || {
                black_box(Metadata::from_json(black_box(&json)).unwrap());
            }));
            serde.push(time(2000, || {
                black_box(with_serde(black_box(&json)));
            }));
        }
        let (a, b) = (median(ours), median(serde));
        println!(
            "{name}: {} bytes of metadata: from_json {a:.0} ns, serde_json {b:.0} ns (ratio {:.2})",
            json.len(),
            a / b
        );
    }
}
