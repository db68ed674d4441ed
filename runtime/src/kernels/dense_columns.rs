//! [`DenseColumns`]: a column-major `f32` copy of a small, fairly dense CSR matrix with few rows, for
//! single-vector products `y += M x` without gathers and without horizontal sums.
//!
//! The row-major [`super::DenseCopy`] computes one dot product per row and reduces each with a horizontal sum;
//! on a short, wide matrix the reduction is most of the work (the 32 x 64 `f16` input layer `B` of the random
//! 1,000-weight model: about 11 cycles per row, 170 ns of a 600 ns prediction). Column-major, the product is a
//! sum of columns, `y += sum_j M[:, j] x_j`: for blocks of up to 32 rows the block's part of `y` stays in at most
//! four AVX registers, each column costs one broadcast and one FMA per eight rows, and nothing is reduced across
//! lanes. To keep the FMA chains short (each register accumulates every column), the columns are split into
//! interleaved sets with their own accumulators, added at the end. The weights are widened to `f32` at load
//! (exactly), so no conversion is on the path.
//!
//! Taken for `B` and `C` of single inputs when they are at least a quarter dense (the rule of
//! [`super::DenseCopy`]), short enough for the columns to beat the rows ([`ROW_COST`]) and fit [`MAX_WEIGHTS`];
//! the roofline of `docs/BENCHMARKS.md` still counts the stored bytes. Not copied: `i8` matrices, and rows that store a column twice (the CSR product sums two products, a
//! copy would have to sum the weights). Only the order of the sums differs from the CSR product.

use super::{Indices, Kernels, MatRef, MatrixError, Storage};

/// Largest copy, in padded weights (128 KiB of `f32`): the copy is for small matrices that stay in cache.
const MAX_WEIGHTS: usize = 1 << 15;

/// Rows per block: four AVX registers of eight.
const BLOCK: usize = 32;

/// What the row-major copy pays per row beyond its `cols / 8` FMAs, in FMAs: the horizontal sum and the scalar
/// add, about 10 cycles on AVX2. The column-major copy pays `cols` FMAs per eight padded rows and nothing per
/// row, so it is taken when `(rows / 8, rounded up) * cols < rows * (cols / 8 + ROW_COST)`: the 32 x 64 `B` and the
/// 10 x 32 `C` of the random 1,000-weight model (256 < 576, 64 < 140), not the 10 x 256 `C` of the compressed
/// Fashion-MNIST model (512 > 420; measured 3-4% slower per prediction column-major).
const ROW_COST: usize = 10;

/// A column-major copy of a CSR matrix, in blocks of [`BLOCK`] rows (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DenseColumns {
    rows: usize,
    cols: usize,
    /// Block `b` (rows `32 b..`, `h` of them rounded up to eight: `hp`) starts at `32 b cols` and stores column `j`
    /// at `32 b cols + j hp .. + hp`, zeros past the last row.
    w: Vec<f32>,
}

impl DenseColumns {
    /// The copy of `m` when it pays: CSR storage of `f32`, `f16` or `bf16` weights, not empty, at least a quarter
    /// dense, cheaper column-major than row-major ([`ROW_COST`]), at most [`MAX_WEIGHTS`] padded entries, no
    /// column stored twice in a row.
    pub(crate) fn of(m: &MatRef) -> Option<DenseColumns> {
        let (rows, cols) = (m.rows(), m.cols());
        let Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } = *m.storage()
        else {
            return None;
        };
        let size = rows.next_multiple_of(8).checked_mul(cols)?;
        if !super::dense_copy::dense_enough(m)
            || size / 8 >= rows.saturating_mul(cols.div_ceil(8) + ROW_COST)
            || size > MAX_WEIGHTS
        {
            return None;
        }
        let mut w = vec![0.0f32; size];
        let mut filled = vec![false; size];
        for i in 0..rows {
            let (b, r) = (i / BLOCK, i % BLOCK);
            let hp = (rows - b * BLOCK).min(BLOCK).next_multiple_of(8);
            let base = b * BLOCK * cols;
            for k in row_ptr[i] as usize..row_ptr[i + 1] as usize {
                let at = base + col_index(col_idx, k) * hp + r;
                if filled[at] {
                    return None;
                }
                filled[at] = true;
                w[at] = values.get(k, i);
            }
        }
        Some(DenseColumns { rows, cols, w })
    }

    /// `y += M x` (`x`: `cols`, `y`: `rows`).
    pub(crate) fn gemv_add(&self, k: Kernels, x: &[f32], y: &mut [f32]) -> Result<(), MatrixError> {
        for (what, found, expected) in [("x", x.len(), self.cols), ("y", y.len(), self.rows)] {
            if found != expected {
                return Err(MatrixError::Length {
                    what,
                    expected,
                    found,
                });
            }
        }
        for (b, yb) in y.chunks_mut(BLOCK).enumerate() {
            let w = &self.w[b * BLOCK * self.cols..][..yb.len().next_multiple_of(8) * self.cols];
            match k.isa() {
                // SAFETY: the token proves AVX2 and FMA; `w` holds `cols` columns of `hp` lanes for this block,
                // `x` has `cols` entries (checked above) and `yb` at most `hp` rows.
                #[cfg(target_arch = "x86_64")]
                super::Isa::Avx2 => unsafe { avx2::block_add(w, x, yb) },
                _ => block_add_portable(w, x, yb),
            }
        }
        Ok(())
    }
}

/// Column of stored weight `k`.
fn col_index(idx: Indices, k: usize) -> usize {
    match idx {
        Indices::U16(v) => usize::from(v[k]),
        Indices::U32(v) => v[k] as usize,
    }
}

/// One block: `y += sum_j w[j hp..(j + 1) hp] x_j` over the first `y.len()` lanes (`hp` = `y.len()` rounded up
/// to eight).
fn block_add_portable(w: &[f32], x: &[f32], y: &mut [f32]) {
    let hp = y.len().next_multiple_of(8);
    let mut acc = [0.0f32; BLOCK];
    for (col, &xj) in w.chunks_exact(hp).zip(x) {
        for (a, &wj) in acc.iter_mut().zip(col) {
            *a += wj * xj;
        }
    }
    for (yi, a) in y.iter_mut().zip(acc) {
        *yi += a;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    /// [`super::block_add_portable`] with the block's `y` in `R = hp / 8` registers per set of columns.
    ///
    /// # Safety
    /// AVX2 and FMA available; `w.len() == x.len() * hp`, `1 <= y.len() <= 32`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_add(w: &[f32], x: &[f32], y: &mut [f32]) {
        // SAFETY: the caller's contract, with R registers for y.len() rows.
        unsafe {
            match y.len().div_ceil(8) {
                1 => sets::<1, 4>(w, x, y),
                2 => sets::<2, 4>(w, x, y),
                3 => sets::<3, 2>(w, x, y),
                _ => sets::<4, 2>(w, x, y),
            }
        }
    }

    /// `S` interleaved sets of columns (column `j` in set `j mod S`), each with its `R` accumulators: FMA chains
    /// of `cols / S` instead of `cols`.
    ///
    /// # Safety
    /// That of [`block_add`], with `y.len() <= 8 R`.
    #[inline(always)]
    unsafe fn sets<const R: usize, const S: usize>(w: &[f32], x: &[f32], y: &mut [f32]) {
        let hp = 8 * R;
        let cols = x.len();
        let wp = w.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); R]; S];
        let mut j = 0;
        // SAFETY (whole block): column j's lanes are w[j hp..(j + 1) hp], inside w for j < cols.
        unsafe {
            while j + S <= cols {
                for (s, a) in acc.iter_mut().enumerate() {
                    let xj = _mm256_set1_ps(*x.get_unchecked(j + s));
                    for (r, v) in a.iter_mut().enumerate() {
                        *v = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add((j + s) * hp + 8 * r)), xj, *v);
                    }
                }
                j += S;
            }
            while j < cols {
                let xj = _mm256_set1_ps(*x.get_unchecked(j));
                for (r, v) in acc[0].iter_mut().enumerate() {
                    *v = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(j * hp + 8 * r)), xj, *v);
                }
                j += 1;
            }
        }
        let mut out = [0.0f32; 32];
        for r in 0..R {
            let mut sum = acc[0][r];
            for a in &acc[1..] {
                sum = _mm256_add_ps(sum, a[r]);
            }
            // SAFETY: 8r + 8 <= 8R <= 32.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(8 * r), sum) };
        }
        for (yi, o) in y.iter_mut().zip(out) {
            *yi += o;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::dense_copy::DENSE_RATIO;
    use super::super::tests::Rng;
    use super::super::Values;
    use super::*;

    proptest! {
        /// The copy's product equals the CSR product on every backend, to rounding, for matrices dense enough to
        /// be copied (several blocks of rows, rows that are not a multiple of eight, one column); rows with a
        /// repeated column are not copied.
        #[test]
        fn copy_multiplies_like_the_csr_matrix(rows in 1usize..80, cols in 1usize..40, seed in any::<u64>(), half in any::<bool>(), twice in any::<bool>()) {
            let mut rng = Rng::new(seed);
            let (mut ptr, mut idx, mut val) = (vec![0u32], vec![], vec![]);
            for _ in 0..rows {
                for j in 0..cols {
                    if rng.below(3) > 0 {
                        idx.push(j as u16);
                        val.push(rng.sym());
                    }
                }
                ptr.push(idx.len() as u32);
            }
            if twice && !idx.is_empty() {
                // The first row's first column again, at the end of the last row.
                idx.push(idx[0]);
                val.push(0.5);
                *ptr.last_mut().unwrap() += 1;
            }
            let halves: Vec<half::f16> = val.iter().map(|&v| half::f16::from_f32(v)).collect();
            let values = if half { Values::F16(&halves) } else { Values::F32(&val) };
            let m = MatRef::csr(rows, cols, &ptr, Indices::U16(&idx), values).unwrap();
            let x: Vec<f32> = (0..cols).map(|_| rng.sym()).collect();
            let repeated = ptr.windows(2).any(|r| {
                let row = &idx[r[0] as usize..r[1] as usize];
                row.iter().enumerate().any(|(a, j)| row[..a].contains(j))
            });
            let Some(copy) = DenseColumns::of(&m) else {
                let row_major_pays = rows.div_ceil(8) * cols >= rows * (cols.div_ceil(8) + ROW_COST);
                prop_assert!(repeated || row_major_pays || rows * cols > DENSE_RATIO * m.stored());
                return Ok(());
            };
            prop_assert!(!repeated);
            for k in Kernels::all_available() {
                let (mut want, mut got) = (vec![0.5f32; rows], vec![0.5f32; rows]);
                m.gemv_add(k, &x, &mut want, &mut []).unwrap();
                copy.gemv_add(k, &x, &mut got).unwrap();
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{:?}: {} vs {}", k.isa(), g, w);
                }
            }
        }
    }

    #[test]
    fn declines_what_it_cannot_copy_and_checks_lengths() {
        let w = [1.0f32, 2.0];
        // 1 x 8 with 2 weights: a quarter dense, copied (column-major, one block padded to 8 lanes).
        let m = MatRef::csr(1, 8, &[0, 2], Indices::U16(&[3, 5]), Values::F32(&w)).unwrap();
        let copy = DenseColumns::of(&m).unwrap();
        assert_eq!((copy.w.len(), copy.w[3 * 8], copy.w[5 * 8]), (64, 1.0, 2.0));
        let k = Kernels::detect();
        let mut y = [1.0];
        copy.gemv_add(k, &[1.0; 8], &mut y).unwrap();
        assert_eq!(y, [4.0]);
        assert!(matches!(
            copy.gemv_add(k, &[1.0; 7], &mut y),
            Err(MatrixError::Length { what: "x", .. })
        ));
        assert!(matches!(
            copy.gemv_add(k, &[1.0; 8], &mut [0.0; 2]),
            Err(MatrixError::Length { what: "y", .. })
        ));
        // Too sparse, a column twice, i8, dense storage, nothing stored, one long row (cheaper row-major: 8 / 8 * 256
        // FMAs against 256 / 8 + 10): not copied.
        let long_w = vec![1.0f32; 256];
        let long_idx: Vec<u16> = (0..256).collect();
        let long = MatRef::csr(
            1,
            256,
            &[0, 256],
            Indices::U16(&long_idx),
            Values::F32(&long_w),
        )
        .unwrap();
        let sparse = MatRef::csr(1, 8, &[0, 1], Indices::U16(&[3]), Values::F32(&w[..1])).unwrap();
        let twice = MatRef::csr(1, 4, &[0, 2], Indices::U16(&[1, 1]), Values::F32(&w)).unwrap();
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
        let dense = MatRef::dense(1, 2, Values::F32(&w)).unwrap();
        let empty = MatRef::csr(0, 4, &[0], Indices::U16(&[]), Values::F32(&[])).unwrap();
        for m in [sparse, twice, i8m, dense, empty, long] {
            assert_eq!(DenseColumns::of(&m), None, "{m:?}");
        }
    }
}
