//! Well-posedness of A, recomputed from the stored values: a contraction bound or a triangular structure.

use crate::matrix::MatrixView;
use crate::FormatError;

/// What the reader proved about A.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Structure {
    /// Certified bound on the infinity-norm of A: max_i sum_j |A_ij| (for low-rank A = U V the upper bound
    /// max_i sum_k |U_ik| ||V_k,:||_1). When below 1, x -> relu(A x + B u + b) is a contraction with this rate.
    pub kappa: f32,
    /// A is strictly lower-triangular under the evaluation order: one Gauss-Seidel sweep in that order is exact.
    pub triangular: bool,
}

/// Computes [`Structure`] and rejects A unless kappa < 1 or A is strictly triangular under `order`.
///
/// `order` has been validated as a permutation of `0..n`; `pos[order[k]] = k` is the position of unit
/// `order[k]` in the sweep. Allocates at most an n-entry position table and a rank-entry norm table.
pub(crate) fn analyse(
    a: Option<&MatrixView>,
    order: Option<&[u32]>,
    n: usize,
) -> Result<Structure, FormatError> {
    let Some(a) = a else {
        return Ok(Structure {
            kappa: 0.0,
            triangular: true,
        });
    };
    let kappa = row_l1_bound(a);
    let pos: Option<Vec<u32>> = order.map(|o| {
        let mut pos = vec![0u32; n];
        for (k, &unit) in o.iter().enumerate() {
            pos[unit as usize] = k as u32;
        }
        pos
    });
    let at = |i: usize| pos.as_ref().map_or(i as u32, |p| p[i]);
    // The first nonzero A_ij (in storage order) whose unit j is not evaluated before unit i.
    let violation = match a {
        MatrixView::Csr(m) => (0..m.rows).find_map(|i| {
            (m.row_ptr[i] as usize..m.row_ptr[i + 1] as usize)
                .find(|&k| at(m.col_idx.get(k)) >= at(i) && m.values.is_nonzero(k, i))
                .map(|k| (i, m.col_idx.get(k)))
        }),
        MatrixView::Dense(m) => (0..m.rows).find_map(|i| {
            (0..m.cols)
                .find(|&j| at(j) >= at(i) && m.values.is_nonzero(i * m.cols + j, i))
                .map(|j| (i, j))
        }),
        MatrixView::LowRank(_) => None,
    };
    let entrywise = !matches!(a, MatrixView::LowRank(_));
    let triangular = entrywise && violation.is_none();
    // The f64 row sums carry a relative rounding error below n * 2^-53 < 2e-9 (n <= 2^24), so a margin of 1e-6
    // makes "computed < 1 - 1e-6" imply "true norm < 1".
    if kappa < 1.0 - KAPPA_MARGIN || triangular {
        return Ok(Structure {
            kappa: round_up(kappa),
            triangular,
        });
    }
    let reason = match violation {
        Some((i, j)) => {
            format!("A[{i}][{j}] is nonzero but unit {j} is not evaluated before unit {i}")
        }
        None => "low-rank A is accepted only as a contraction".to_string(),
    };
    Err(FormatError::NotWellPosed {
        kappa: round_up(kappa),
        reason,
    })
}

/// Safety margin below 1 for the computed contraction bound (see [`analyse`]).
pub const KAPPA_MARGIN: f64 = 1e-6;

/// The smallest f32 at or above `x`, so that the reported bound stays a bound.
fn round_up(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f
    }
}

/// max over rows of the L1 norm (an upper bound for low-rank storage), accumulated in f64.
fn row_l1_bound(a: &MatrixView) -> f64 {
    match a {
        MatrixView::LowRank(m) => {
            let vnorm: Vec<f64> = (0..m.rank)
                .map(|r| {
                    (0..m.cols)
                        .map(|j| f64::from(m.v.get(r * m.cols + j, r)).abs())
                        .sum()
                })
                .collect();
            (0..m.rows)
                .map(|i| {
                    (0..m.rank)
                        .map(|r| f64::from(m.u.get(i * m.rank + r, i)).abs() * vnorm[r])
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
        }
        MatrixView::Csr(m) => m
            .values
            .max_row_abs_sum(m.rows, |i| m.row_ptr[i] as usize..m.row_ptr[i + 1] as usize),
        MatrixView::Dense(m) => m
            .values
            .max_row_abs_sum(m.rows, |i| i * m.cols..(i + 1) * m.cols),
    }
}
