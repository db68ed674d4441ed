//! Every storage kind and value type survives a write/read round trip within its quantisation error.

mod common;

use proptest::prelude::*;
use wolfpack_format::{
    Indices, Matrix, MatrixView, Metadata, ModelFile, ModelView, Role, Storage, StoredMatrix,
    ValueType,
};

/// Relative precision of each value type (i8: half a quantisation step of the row's largest entry).
fn tolerance(dtype: ValueType, scale: f32) -> f32 {
    match dtype {
        ValueType::F32 => 0.0,
        ValueType::F16 => 1e-3 * scale,
        ValueType::Bf16 => 8e-3 * scale,
        ValueType::I8 => scale / 127.0 * 0.5 + 1e-7,
    }
}

fn dense_of(m: &Matrix) -> Vec<f32> {
    match m {
        Matrix::Dense { values, .. } => values.clone(),
        Matrix::Csr {
            rows,
            cols,
            row_ptr,
            col_idx,
            values,
        } => {
            let mut d = vec![0.0; rows * cols];
            for i in 0..*rows {
                for k in row_ptr[i] as usize..row_ptr[i + 1] as usize {
                    d[i * cols + col_idx[k] as usize] = values[k];
                }
            }
            d
        }
        Matrix::LowRank {
            rows,
            cols,
            rank,
            u,
            v,
        } => {
            let mut d = vec![0.0; rows * cols];
            for i in 0..*rows {
                for r in 0..*rank {
                    for j in 0..*cols {
                        d[i * cols + j] += u[i * rank + r] * v[r * cols + j];
                    }
                }
            }
            d
        }
    }
}

fn model_with_b(p: usize, n: usize, b: Matrix, dtype: ValueType) -> ModelFile {
    let mut f = ModelFile::new(Metadata::new(n as u32, p as u32, 1));
    f.b = Some(StoredMatrix::new(b, dtype));
    f
}

fn storage_strategy(n: usize, p: usize) -> impl Strategy<Value = Matrix> {
    let dense = proptest::collection::vec(-2.0f32..2.0, n * p).prop_map(move |v| Matrix::Dense {
        rows: n,
        cols: p,
        values: v,
    });
    let csr = proptest::collection::vec(prop_oneof![Just(0.0f32), -2.0f32..2.0], n * p)
        .prop_map(move |v| Matrix::csr_from_dense(n, p, &v));
    let low = (1usize..4).prop_flat_map(move |r| {
        (
            proptest::collection::vec(-1.0f32..1.0, n * r),
            proptest::collection::vec(-1.0f32..1.0, r * p),
        )
            .prop_map(move |(u, v)| Matrix::LowRank {
                rows: n,
                cols: p,
                rank: r,
                u,
                v,
            })
    });
    prop_oneof![dense, csr, low]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn matrices_round_trip(
        (n, p, m) in (1usize..7, 1usize..9).prop_flat_map(|(n, p)| (Just(n), Just(p), storage_strategy(n, p))),
        dtype in prop_oneof![Just(ValueType::F32), Just(ValueType::F16), Just(ValueType::Bf16), Just(ValueType::I8)],
    ) {
        let want = dense_of(&m);
        let bytes = model_with_b(p, n, m.clone(), dtype).to_bytes().unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        let got = view.b.as_ref().unwrap().to_dense();
        prop_assert_eq!(view.b.as_ref().unwrap().value_type(), dtype);
        // The error bound scales with the largest magnitude involved (per row for i8; factors for low-rank).
        let scale = match &m {
            Matrix::LowRank { rank, .. } => 2.0 * *rank as f32 * 4.0,
            _ => 2.0,
        };
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= tolerance(dtype, scale), "{} vs {} ({:?})", g, w, dtype);
        }
    }
}

#[test]
fn sample_model_parses_with_every_storage_kind() {
    let bytes = common::sample_bytes();
    let v = ModelView::parse(&bytes).unwrap();
    let kinds: Vec<(Storage, ValueType)> = Role::ALL
        .iter()
        .map(|&r| v.matrix(r).map(|m| (m.storage(), m.value_type())).unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Storage::Csr, ValueType::F16),
            (Storage::Csr, ValueType::I8),
            (Storage::LowRank, ValueType::Bf16),
            (Storage::Dense, ValueType::F32)
        ]
    );
    assert!(
        v.structure.kappa < 0.601 && v.structure.kappa > 0.59,
        "kappa {}",
        v.structure.kappa
    );
    assert!(!v.structure.triangular);
    assert_eq!(v.meta.labels.len(), 3);
    assert!(v.bias_x.is_some() && v.bias_y.is_some());
    for r in Role::ALL {
        // Arrays are viewed in place: each lies inside the buffer.
        let m = v.matrix(r).unwrap();
        if let MatrixView::Csr(c) = m {
            let range = bytes.as_ptr_range();
            assert!(range.contains(&(c.row_ptr.as_ptr() as *const u8)));
        }
    }
}

#[test]
fn wide_matrices_use_u32_column_indices() {
    let p = 70_000;
    let mut dense = vec![0.0f32; 2 * p];
    dense[69_999] = 0.5;
    dense[p + 3] = -1.0;
    let bytes = model_with_b(p, 2, Matrix::csr_from_dense(2, p, &dense), ValueType::F32)
        .to_bytes()
        .unwrap();
    let v = ModelView::parse(&bytes).unwrap();
    let Some(MatrixView::Csr(b)) = v.b else {
        panic!("csr expected")
    };
    assert!(matches!(b.col_idx, Indices::U32(_)));
    assert_eq!(b.col_idx.get(0), 69_999);
    let narrow = model_with_b(
        10,
        2,
        Matrix::csr_from_dense(2, 10, &[1.0; 20]),
        ValueType::F32,
    )
    .to_bytes()
    .unwrap();
    let Some(MatrixView::Csr(b)) = ModelView::parse(&narrow).unwrap().b else {
        panic!("csr expected")
    };
    assert!(matches!(b.col_idx, Indices::U16(_)));
}

#[test]
fn write_is_atomic_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.wpk");
    let len = wolfpack_format::sample::sample_model()
        .write(&path)
        .unwrap();
    let bytes = wolfpack_format::AlignedBytes::copy_from(&std::fs::read(&path).unwrap());
    assert_eq!(bytes.len() as u64, len);
    assert_eq!(bytes.len() % 4, 0);
    ModelView::parse(&bytes).unwrap();
}
