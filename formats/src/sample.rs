//! A small, valid model that uses every storage kind and value type: for tests, fuzzing seeds and docs.

use crate::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};

/// A deterministic 8-hidden, 6-input, 3-output model:
/// A as CSR/f16 (row L1 norms <= 0.6, a contraction), B as CSR/i8 with per-row scales, C as low-rank (rank 2)
/// bf16, D dense f32, both biases, labels and preprocessing (scale 1/2).
pub fn sample_model() -> ModelFile {
    let (n, p, q) = (8usize, 6usize, 3usize);
    // A small deterministic generator (LCG) keeps this free of dependencies and identical on every platform.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let mut a = vec![0.0f32; n * n];
    for i in 0..n {
        // Three entries per row (one row left empty), scaled so the row L1 norm is 0.6.
        if i == 3 {
            continue;
        }
        let cols = [(i + 1) % n, (i + 3) % n, (i + 6) % n];
        let raw: Vec<f32> = cols.iter().map(|_| next()).collect();
        let l1: f32 = raw.iter().map(|v| v.abs()).sum();
        for (&j, v) in cols.iter().zip(raw) {
            a[i * n + j] = 0.6 * v / l1;
        }
    }
    let mut b = vec![0.0f32; n * p];
    for (k, v) in b.iter_mut().enumerate() {
        if k % 3 != 1 {
            *v = next();
        }
    }
    let u: Vec<f32> = (0..q * 2).map(|_| next()).collect();
    let v: Vec<f32> = (0..2 * n).map(|_| next()).collect();
    let d: Vec<f32> = (0..q * p).map(|_| 0.1 * next()).collect();
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.kappa = 0.6;
    meta.labels = vec!["alpha".into(), "beta".into(), "gamma".into()];
    meta.preprocessing.scale = 0.5;
    meta.provenance.dataset = Some("synthetic sample".into());
    let mut file = ModelFile::new(meta);
    file.a = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, n, &a),
        ValueType::F16,
    ));
    file.b = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, p, &b),
        ValueType::I8,
    ));
    file.c = Some(StoredMatrix::new(
        Matrix::LowRank {
            rows: q,
            cols: n,
            rank: 2,
            u,
            v,
        },
        ValueType::Bf16,
    ));
    file.d = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: q,
            cols: p,
            values: d,
        },
        ValueType::F32,
    ));
    file.bias_x = (0..n).map(|_| 0.1 * next()).collect();
    file.bias_y = (0..q).map(|_| 0.1 * next()).collect();
    file
}
