//! The 8x8 UCI handwritten digits (Alpaydin & Kaynak 1998, as shipped by scikit-learn's `load_digits`), embedded.
//!
//! `compressor/data/digits.bin` is written once by `scripts/make_digits.py`. Layout (integers little-endian u32):
//! magic `WPDG`, version 1, `n_train`, `n_test`, `p` = 64, `max_value` = 16; then `n_train * p` pixel bytes
//! (row-major) and `n_train` label bytes; then the same for the test split. The split is stratified 1437/360 with
//! seed 0.

use super::{DataError, Dataset, Preprocess, Splits};
use std::path::Path;

static DIGITS: &[u8] = include_bytes!("../../data/digits.bin");

/// The embedded digits, pixels scaled from `0..=16` to `[0, 1]`.
pub fn load() -> Result<Splits, DataError> {
    parse(DIGITS, Path::new("<embedded digits.bin>"))
}

/// Parses a buffer in the layout above; `name` labels errors.
pub fn parse(bytes: &[u8], name: &Path) -> Result<Splits, DataError> {
    if bytes.len() < 24 || &bytes[..4] != b"WPDG" {
        return Err(DataError::invalid(
            name,
            "wrong magic number: not a WPDG digits file",
        ));
    }
    let word = |i: usize| {
        u32::from_le_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
    };
    let (version, n_train, n_test, p, max) = (word(0), word(1), word(2), word(3), word(4));
    if version != 1 || max == 0 || max > 255 {
        return Err(DataError::invalid(
            name,
            format!("unsupported version {version} or maximum {max}"),
        ));
    }
    let need = (n_train as u64 + n_test as u64) * (p as u64 + 1) + 24;
    if need != bytes.len() as u64 {
        return Err(DataError::invalid(
            name,
            format!("header declares {need} bytes, file holds {}", bytes.len()),
        ));
    }
    let pre = Preprocess {
        offset: 0.0,
        scale: 1.0 / max as f32,
    };
    let split = |at: usize, n: usize| {
        let x = bytes[at..at + n * p]
            .iter()
            .map(|&v| pre.apply(f32::from(v)))
            .collect();
        let y = bytes[at + n * p..at + n * (p + 1)]
            .iter()
            .map(|&c| u32::from(c))
            .collect();
        Dataset {
            n,
            p,
            x,
            y,
            n_classes: 10,
            labels: (0..10).map(|c| c.to_string()).collect(),
            preprocess: pre,
        }
    };
    let train = split(24, n_train);
    let test = split(24 + n_train * (p + 1), n_test);
    train.validate(name)?;
    test.validate(name)?;
    Splits {
        name: "embedded 8x8 digits".into(),
        train,
        test,
    }
    .check_compatible(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits_have_the_documented_shape() {
        let s = load().unwrap();
        assert_eq!((s.train.n, s.test.n, s.train.p), (1437, 360, 64));
        assert!(s.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Stratified: every class appears 35 or 36 times in the test split.
        for c in 0..10 {
            let k = s.test.y.iter().filter(|&&y| y == c).count();
            assert!((35..=37).contains(&k), "class {c}: {k}");
        }
    }

    #[test]
    fn corrupt_buffers_are_errors() {
        assert!(parse(b"nope", Path::new("x")).is_err());
        let mut b = DIGITS.to_vec();
        b.pop();
        assert!(parse(&b, Path::new("x"))
            .unwrap_err()
            .to_string()
            .contains("declares"));
        b.truncate(30);
        assert!(parse(&b, Path::new("x")).is_err());
    }
}
