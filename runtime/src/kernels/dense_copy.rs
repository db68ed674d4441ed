//! [`DenseCopy`]: a dense copy of a small, fairly dense CSR matrix, for single-vector products.
//!
//! A CSR product with one vector gathers one input per stored weight, and on x86-64 a gathered lane costs about
//! as much as eight lanes of a contiguous load and FMA (the AVX2 kernels: about 0.65 cycles per gathered
//! weight, 0.08 per dense weight). So a matrix whose density is above about an eighth is cheaper multiplied as
//! dense, zeros included. The output layer `C` of the compressed Fashion-MNIST model (10 x 256, 1,500 weights,
//! 59% dense) is one: its gathers were 0.35 us of the 3.8 us prediction.
//!
//! Batches keep the CSR kernels: there every stored weight does one FMA over contiguous batch lanes, gathered or
//! not, and the zeros would be pure extra work. The copy holds exactly the stored weights in their own type
//! (`f32`, `f16` or `bf16`: nothing to widen at load, half the bytes of `f32` for `f16`), only the order of the
//! sums differs. Not copied: `i8` matrices, and rows that store a column twice (the CSR product sums the two
//! weights in `f32`; a copy in the stored type would round their sum).

use half::{bf16, f16};

use super::{Indices, MatRef, Storage, Values};

/// The dense copy pays when `rows * cols <= DENSE_RATIO * nnz` (density at least a quarter: half the break-even
/// density estimated above, for margin on other CPUs).
pub(super) const DENSE_RATIO: usize = 4;

/// Largest copy, in weights (256 KiB of `f32`): the copy is for small matrices that stay in cache.
const MAX_WEIGHTS: usize = 1 << 16;

/// The weights of a [`DenseCopy`], in the stored type.
#[derive(Clone, Debug, PartialEq)]
enum Dense {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}

/// A dense row-major copy of a CSR matrix (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DenseCopy {
    rows: usize,
    cols: usize,
    w: Dense,
}

/// `out[i * cols + idx[k]] = w[k]` for the weights `k` of every row `i`; `None` if a row stores a column twice.
///
/// A row whose columns strictly increase (every row of a parsed file: the format requires it) cannot repeat one,
/// so the common case is a plain scatter that notes whether each row increased; only a row that did not has its
/// columns checked for a repeat, against a bitmap of `cols` flags allocated for the first such row. (A `filled`
/// flag per entry, tested and set at every weight, made the copy of m10000's `C` about a third slower.)
fn scatter<W: Copy + Default, I: Copy + Into<u32>>(
    row_ptr: &[u32],
    idx: &[I],
    w: &[W],
    cols: usize,
) -> Option<Vec<W>> {
    let rows = row_ptr.len() - 1;
    let mut out = vec![W::default(); rows * cols];
    let mut seen: Vec<bool> = Vec::new();
    for (row, ends) in out.chunks_exact_mut(cols.max(1)).zip(row_ptr.windows(2)) {
        let ks = ends[0] as usize..ends[1] as usize;
        let (idx, w) = (&idx[ks.clone()], &w[ks]);
        // Eight weights a step: the loop's own counting and branch were a third of the copy.
        let (idx8, w8) = (idx.chunks_exact(8), w.chunks_exact(8));
        let (idx_tail, w_tail) = (idx8.remainder(), w8.remainder());
        for (j, v) in idx8.zip(w8) {
            for t in 0..8 {
                row[j[t].into() as usize] = v[t];
            }
        }
        for (&j, &v) in idx_tail.iter().zip(w_tail) {
            row[j.into() as usize] = v;
        }
        // A fold without early exit, so that it vectorises.
        let increasing = idx
            .windows(2)
            .fold(true, |up, p| up & (p[0].into() < p[1].into()));
        if !increasing {
            seen.clear();
            seen.resize(cols, false);
            for &j in idx {
                let flag = &mut seen[j.into() as usize];
                if *flag {
                    return None;
                }
                *flag = true;
            }
        }
    }
    Some(out)
}

/// Whether a dense copy of `m` can pay at all, the policy of both dense copies ([`DenseCopy`] and
/// [`super::dense_columns::DenseColumns`]): CSR storage of `f32`, `f16` or `bf16` weights (not `i8`, whose per-row
/// scales the dense kernels do not take), not empty, and `rows * cols <= DENSE_RATIO * nnz`. Each copy adds its own
/// size bound.
pub(super) fn dense_enough(m: &MatRef) -> bool {
    let Storage::Csr { values, .. } = *m.storage() else {
        return false;
    };
    m.stored() > 0
        && !matches!(values, Values::I8 { .. })
        && m.rows()
            .checked_mul(m.cols())
            .is_some_and(|size| size <= DENSE_RATIO.saturating_mul(m.stored()))
}

impl DenseCopy {
    /// The copy of `m` when it pays: CSR storage of `f32`, `f16` or `bf16` weights, not empty, at least a quarter
    /// dense, at most [`MAX_WEIGHTS`] entries, no column stored twice in a row.
    pub(crate) fn of(m: &MatRef) -> Option<DenseCopy> {
        let (rows, cols) = (m.rows(), m.cols());
        let Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } = *m.storage()
        else {
            return None;
        };
        let size = rows.checked_mul(cols)?;
        if !dense_enough(m) || size > MAX_WEIGHTS {
            return None;
        }
        // Typed once: a `Values::get` per weight, with its out-of-line f16 conversion, took 4.8 us of the model's
        // load for the 1,500 weights of the compressed Fashion-MNIST C.
        macro_rules! copy {
            ($w:expr) => {
                match col_idx {
                    Indices::U16(idx) => scatter(row_ptr, idx, $w, cols),
                    Indices::U32(idx) => scatter(row_ptr, idx, $w, cols),
                }
            };
        }
        let w = match values {
            Values::F32(w) => Dense::F32(copy!(w)?),
            Values::F16(w) => Dense::F16(copy!(w)?),
            Values::Bf16(w) => Dense::Bf16(copy!(w)?),
            Values::I8 { .. } => return None,
        };
        Some(DenseCopy { rows, cols, w })
    }

    /// The copy as a matrix for the kernels.
    pub(crate) fn view(&self) -> MatRef<'_> {
        let values = match &self.w {
            Dense::F32(w) => Values::F32(w),
            Dense::F16(w) => Values::F16(w),
            Dense::Bf16(w) => Values::Bf16(w),
        };
        MatRef::dense(self.rows, self.cols, values)
            .expect("rows * cols weights, checked when copied")
    }
}

#[cfg(test)]
mod tests {
    use super::super::Kernels;
    use super::*;
    use half::f16;
    use proptest::prelude::*;

    proptest! {
        /// The copy's product equals the CSR product on every backend, to rounding (the order of the sums
        /// differs), for matrices dense enough to be copied; rows with a repeated column are not copied.
        #[test]
        fn copy_multiplies_like_the_csr_matrix(rows in 1usize..20, cols in 1usize..40, seed in any::<u64>(), half in any::<bool>()) {
            let mut rng = super::super::tests::Rng::new(seed);
            let (mut ptr, mut idx, mut val) = (vec![0u32], vec![], vec![]);
            for _ in 0..rows {
                for j in 0..cols {
                    if rng.below(3) > 0 {
                        idx.push(j as u16);
                        val.push(rng.sym());
                    }
                }
                if rng.below(4) == 0 && cols > 0 {
                    // A repeated column.
                    idx.push(rng.below(cols) as u16);
                    val.push(rng.sym());
                }
                ptr.push(idx.len() as u32);
            }
            let halves: Vec<f16> = val.iter().map(|&v| f16::from_f32(v)).collect();
            let values = if half { Values::F16(&halves) } else { Values::F32(&val) };
            let m = MatRef::csr(rows, cols, &ptr, Indices::U16(&idx), values).unwrap();
            let x: Vec<f32> = (0..cols).map(|_| rng.sym()).collect();
            let twice = ptr.windows(2).any(|r| {
                let row = &idx[r[0] as usize..r[1] as usize];
                row.iter().enumerate().any(|(a, j)| row[..a].contains(j))
            });
            let Some(copy) = DenseCopy::of(&m) else {
                // Not copied: too sparse by chance, or a column stored twice in a row.
                prop_assert!(twice || rows * cols > DENSE_RATIO * m.stored());
                return Ok(());
            };
            prop_assert!(!twice);
            for k in Kernels::all_available() {
                let (mut want, mut got) = (vec![0.5f32; rows], vec![0.5f32; rows]);
                m.gemv_add(k, &x, &mut want, &mut []).unwrap();
                copy.view().gemv_add(k, &x, &mut got, &mut []).unwrap();
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{:?}: {} vs {}", k.isa(), g, w);
                }
            }
        }
    }

    /// The plain per-entry scatter the copy must equal: every weight at its place, `None` at the first column
    /// stored twice in a row.
    fn naive_scatter(row_ptr: &[u32], idx: &[u16], w: &[f32], cols: usize) -> Option<Vec<f32>> {
        let rows = row_ptr.len() - 1;
        let mut out = vec![0.0; rows * cols];
        let mut filled = vec![false; rows * cols];
        for i in 0..rows {
            for k in row_ptr[i] as usize..row_ptr[i + 1] as usize {
                let at = i * cols + usize::from(idx[k]);
                if filled[at] {
                    return None;
                }
                filled[at] = true;
                out[at] = w[k];
            }
        }
        Some(out)
    }

    proptest! {
        /// The scatter equals the naive one bit for bit, on rows in increasing order (as files store them), in any
        /// order, and with a column stored twice (then `None`), at both index widths.
        #[test]
        fn scatter_equals_the_naive_reference(rows in 1usize..12, cols in 1usize..40, seed in any::<u64>(), order in 0u32..3) {
            let mut rng = super::super::tests::Rng::new(seed);
            let (mut ptr, mut idx, mut val) = (vec![0u32], vec![], vec![]);
            for _ in 0..rows {
                let start = idx.len();
                for j in 0..cols {
                    if rng.below(2) > 0 {
                        idx.push(j as u16);
                        val.push(rng.sym());
                    }
                }
                let row = &mut idx[start..];
                if order >= 1 && row.len() > 1 && rng.below(2) == 0 {
                    // Out of order, columns still distinct.
                    let a = rng.below(row.len());
                    row.swap(a, row.len() - 1);
                    row.swap(0, rng.below(row.len()));
                }
                if order == 2 && !row.is_empty() && rng.below(3) == 0 {
                    // A column stored twice, anywhere in the row.
                    let again = row[rng.below(row.len())];
                    let at = start + rng.below(row.len() + 1);
                    idx.insert(at, again);
                    val.insert(at, rng.sym());
                }
                ptr.push(idx.len() as u32);
            }
            let want = naive_scatter(&ptr, &idx, &val, cols);
            let wide: Vec<u32> = idx.iter().map(|&j| u32::from(j)).collect();
            let bits = |v: Option<Vec<f32>>| v.map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            prop_assert_eq!(bits(scatter(&ptr, &idx, &val, cols)), bits(want.clone()));
            prop_assert_eq!(bits(scatter(&ptr, &wide, &val, cols)), bits(want));
        }
    }

    #[test]
    fn only_dense_enough_float_csr_is_copied() {
        // 1 x 8 with 2 weights: a quarter dense, copied; with 1 weight: not.
        let w = [1.0f32, 2.0];
        let m = MatRef::csr(1, 8, &[0, 2], Indices::U16(&[3, 5]), Values::F32(&w)).unwrap();
        let copy = DenseCopy::of(&m).unwrap();
        assert_eq!(
            copy.w,
            Dense::F32(vec![0.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0])
        );
        // A column stored twice in a row: not copied.
        let twice = MatRef::csr(1, 4, &[0, 2], Indices::U16(&[1, 1]), Values::F32(&w)).unwrap();
        assert_eq!(DenseCopy::of(&twice), None);
        let m = MatRef::csr(1, 8, &[0, 1], Indices::U16(&[3]), Values::F32(&w[..1])).unwrap();
        assert_eq!(DenseCopy::of(&m), None);
        // i8 and dense storage are left alone.
        let q = [1i8, 2];
        let i8m = MatRef::csr(
            1,
            2,
            &[0, 2],
            Indices::U16(&[0, 1]),
            Values::I8 {
                q: &q,
                scales: &[0.5],
            },
        )
        .unwrap();
        assert_eq!(DenseCopy::of(&i8m), None);
        let dense = MatRef::dense(1, 2, Values::F32(&w)).unwrap();
        assert_eq!(DenseCopy::of(&dense), None);
        // An empty matrix (0 rows) is not copied either (nothing stored).
        let empty = MatRef::csr(0, 4, &[0], Indices::U16(&[]), Values::F32(&[])).unwrap();
        assert_eq!(DenseCopy::of(&empty), None);
    }
}
