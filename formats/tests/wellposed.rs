//! The reader recomputes well-posedness from the stored values of A.

use wolfpack_format::{
    FormatError, Matrix, Metadata, ModelFile, ModelView, StoredMatrix, ValueType,
};

fn with_a(
    n: usize,
    a: Matrix,
    dtype: ValueType,
    order: Option<Vec<u32>>,
) -> Result<(f32, bool), FormatError> {
    let mut f = ModelFile::new(Metadata::new(n as u32, 1, 1));
    f.a = Some(StoredMatrix::new(a, dtype));
    f.order = order;
    let bytes = f.to_bytes()?;
    let v = ModelView::parse(&bytes)?;
    Ok((v.structure.kappa, v.structure.triangular))
}

#[test]
fn contraction_is_accepted_and_kappa_is_the_max_row_l1_norm() {
    let a = [0.0, 0.5, -0.3, 0.2, 0.0, 0.0, 0.1, -0.1, 0.1];
    let (kappa, tri) = with_a(3, Matrix::csr_from_dense(3, 3, &a), ValueType::F32, None).unwrap();
    assert!((kappa - 0.8).abs() < 1e-6);
    assert!(!tri);
}

#[test]
fn strictly_triangular_under_the_order_is_accepted_even_with_large_weights() {
    // Feed-forward chain 2 -> 0 -> 1 with weights far above 1: acceptable only through the triangular structure.
    let mut a = vec![0.0f32; 9];
    a[3] = 5.0; // A[1][0]
    a[2] = -4.0; // A[0][2]
    let order = vec![2, 0, 1];
    let (kappa, tri) = with_a(
        3,
        Matrix::csr_from_dense(3, 3, &a),
        ValueType::F16,
        Some(order),
    )
    .unwrap();
    assert!(tri);
    assert!(kappa >= 4.0);
    // The same A under the identity order is neither triangular nor a contraction.
    let err = with_a(3, Matrix::csr_from_dense(3, 3, &a), ValueType::F16, None).unwrap_err();
    assert!(matches!(err, FormatError::NotWellPosed { .. }), "{err}");
    assert!(err.to_string().contains("A[0][2]"), "{err}");
    // Dense storage with explicit zeros is analysed entry-wise too.
    let (_, tri) = with_a(
        3,
        Matrix::Dense {
            rows: 3,
            cols: 3,
            values: a.clone(),
        },
        ValueType::F32,
        Some(vec![2, 0, 1]),
    )
    .unwrap();
    assert!(tri);
}

#[test]
fn a_diagonal_entry_is_never_triangular() {
    let err = with_a(
        2,
        Matrix::csr_from_dense(2, 2, &[1.5, 0.0, 0.0, 0.0]),
        ValueType::F32,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, FormatError::NotWellPosed { .. }));
}

#[test]
fn low_rank_uses_a_certified_upper_bound() {
    // A = u v^T with |u| = (0.5, 0.25) and ||v||_1 = 1.5: kappa = 0.75 exactly for rank one.
    let a = Matrix::LowRank {
        rows: 2,
        cols: 2,
        rank: 1,
        u: vec![0.5, -0.25],
        v: vec![1.0, -0.5],
    };
    let (kappa, tri) = with_a(2, a, ValueType::F32, None).unwrap();
    assert!((kappa - 0.75).abs() < 1e-6);
    assert!(!tri);
    let big = Matrix::LowRank {
        rows: 2,
        cols: 2,
        rank: 1,
        u: vec![1.0, 1.0],
        v: vec![1.0, 0.0],
    };
    assert!(matches!(
        with_a(2, big, ValueType::F32, None),
        Err(FormatError::NotWellPosed { .. })
    ));
}

#[test]
fn order_must_be_a_permutation() {
    let a = Matrix::csr_from_dense(2, 2, &[0.0, 0.1, 0.0, 0.0]);
    let err = with_a(2, a.clone(), ValueType::F32, Some(vec![1, 1])).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    let err = with_a(2, a, ValueType::F32, Some(vec![0, 7])).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn writer_rejects_non_finite_values_and_bad_shapes() {
    let err = with_a(
        2,
        Matrix::csr_from_dense(2, 2, &[0.0, f32::NAN, 0.0, 0.0]),
        ValueType::I8,
        None,
    )
    .unwrap_err();
    assert!(matches!(err, FormatError::NotFinite { .. }), "{err}");
    let err = with_a(
        3,
        Matrix::csr_from_dense(2, 2, &[0.0; 4]),
        ValueType::F32,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("metadata requires"), "{err}");
    // f16 overflow becomes infinity and is caught by the writer's own validation.
    let mut f = ModelFile::new(Metadata::new(1, 1, 1));
    f.b = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: 1,
            cols: 1,
            values: vec![1e6],
        },
        ValueType::F16,
    ));
    assert!(matches!(f.to_bytes(), Err(FormatError::NotFinite { .. })));
}
