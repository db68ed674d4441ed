//! [`ShortRows`]: rows of at most two weights packed one record each, for the exact solve of a sparse `A`.
//!
//! The block-triangular solve evaluates every acyclic row of `A` once, in dependency order. In the compressed
//! Fashion-MNIST model those are 172 rows of one or two weights, and through CSR each cost about 11 cycles:
//! two row-pointer loads, the `f16` widening of each weight (whose single-lane F16C form chained the rows
//! through a stale register, and whose integer form was twice the instructions), the short inner loop. A record
//! `{i, j0, j1, w0, w1, ws, g}` per row (the weights on other units, the row's own weight, the gain), widened
//! once at load (`i8` scales folded in), turns a row into a few loads and arithmetic without branches: an absent
//! weight is 0 on a valid index.
//!
//! Each row also reports its residual `|relu(z_i + A_i x) - x_i|` with its new value: the record keeps the row's
//! own weight apart, so this is the sum over the other units (already computed for the solve) plus the own
//! term, and exactly 0 for a row without a self-loop (own weight 0, gain 1).

use core::ops::Range;

use super::{larger, Index, Indices, MatRef, MatrixError, RowList, Storage, Values, Weight};

/// One row `x_i = g * relu(z_i + w0 x_j0 + w1 x_j1 + ws x_i)`: `w0`, `w1` the weights on other units (0 for an
/// absent one), `ws` the row's own weight (0 without a self-loop).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Record {
    i: u32,
    j0: u32,
    j1: u32,
    w0: f32,
    w1: f32,
    ws: f32,
    g: f32,
}

/// The rows of a [`RowList`] of a square CSR matrix, packed (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ShortRows {
    records: Vec<Record>,
    /// Rows (and columns) of the matrix: every index of `records` is below it.
    n: usize,
}

impl ShortRows {
    /// The records of `units` with their `gains` (same length), when `a` is a square CSR matrix and every one of
    /// those rows stores one or two weights; `None` otherwise (the CSR kernels then solve the rows).
    pub(crate) fn new(a: &MatRef, units: &RowList, gains: &[f32]) -> Option<ShortRows> {
        let n = a.rows();
        let Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } = *a.storage()
        else {
            return None;
        };
        if a.cols() != n || units.bound() != n || gains.len() != units.as_slice().len() {
            return None;
        }
        // Typed once (`Weight::to_f32` inlined), not a `Values::get` per weight with its out-of-line f16
        // conversion: 2.6 us of the model's load for this plan's 178 rows.
        fn pack<W: Weight, I: Index>(
            row_ptr: &[u32],
            idx: &[I],
            w: &[W],
            scales: Option<&[f32]>,
            units: &[u32],
            gains: &[f32],
        ) -> Option<Vec<Record>> {
            let mut records = Vec::with_capacity(units.len());
            for (&i, &g) in units.iter().zip(gains) {
                let row = i as usize;
                let (s, e) = (row_ptr[row] as usize, row_ptr[row + 1] as usize);
                if !(1..=2).contains(&(e - s)) {
                    return None;
                }
                let scale = scales.map_or(1.0, |sc| sc[row]);
                let mut rec = Record {
                    i,
                    j0: i,
                    j1: i,
                    w0: 0.0,
                    w1: 0.0,
                    ws: 0.0,
                    g,
                };
                let mut others = 0;
                for (j, v) in idx[s..e].iter().zip(&w[s..e]) {
                    let (j, v) = (j.to_usize(), v.to_f32() * scale);
                    if j == row {
                        rec.ws += v;
                    } else {
                        if others == 0 {
                            (rec.j0, rec.w0) = (j as u32, v);
                        } else {
                            (rec.j1, rec.w1) = (j as u32, v);
                        }
                        others += 1;
                    }
                }
                records.push(rec);
            }
            Some(records)
        }
        let (units, idx) = (units.as_slice(), col_idx);
        let records = match (values, idx) {
            (Values::F32(w), Indices::U16(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::F32(w), Indices::U32(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::F16(w), Indices::U16(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::F16(w), Indices::U32(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::Bf16(w), Indices::U16(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::Bf16(w), Indices::U32(i)) => pack(row_ptr, i, w, None, units, gains),
            (Values::I8 { q, scales }, Indices::U16(i)) => {
                pack(row_ptr, i, q, Some(scales), units, gains)
            }
            (Values::I8 { q, scales }, Indices::U32(i)) => {
                pack(row_ptr, i, q, Some(scales), units, gains)
            }
        }?;
        Some(ShortRows { records, n })
    }

    /// Solves the rows `range` of the list in order: `x_i <- g * max(0, z_i + sum_{j != i} A_ij x_j)`, and returns
    /// their residual `max |relu(z_i + A_i x) - x_i|` with the new values. The inputs of every row must be final
    /// before it and stay so (the caller's dependency order).
    pub(crate) fn solve(
        &self,
        z: &[f32],
        x: &mut [f32],
        range: Range<usize>,
    ) -> Result<f32, MatrixError> {
        for (what, found) in [("z", z.len()), ("x", x.len())] {
            if found != self.n {
                return Err(MatrixError::Length {
                    what,
                    expected: self.n,
                    found,
                });
            }
        }
        let found = self.records.len();
        let records = self.records.get(range.clone()).ok_or(MatrixError::Length {
            what: "row list range",
            expected: range.end,
            found,
        })?;
        let mut r = 0.0f32;
        for rec in records {
            let (i, j0, j1) = (rec.i as usize, rec.j0 as usize, rec.j1 as usize);
            // SAFETY: i, j0, j1 are row and column indices of the CSR matrix the records were built from (a
            // `MatRef`, whose invariant bounds its columns: checked by `MatRef::csr`, or for a model's matrices by
            // the format's `check_csr_structure` before `MatRef::from_parsed`; the row list bounds the rows), all
            // below n == z.len() == x.len(), checked above.
            unsafe {
                // Other units only (an absent weight is 0 on a valid index): the solve reads x_i as 0.
                let t = *z.get_unchecked(i)
                    + (rec.w0 * *x.get_unchecked(j0) + rec.w1 * *x.get_unchecked(j1));
                let new = rec.g * larger(0.0, t);
                *x.get_unchecked_mut(i) = new;
                // z_i + A_i x with the new x_i. Without a self-loop, ws = 0 and g = 1: relu(t + 0) = new exactly, so
                // only self-loop rows are evaluated again (a fifth of the default model's; the same rows on every
                // call, so the branch predicts).
                if rec.ws != 0.0 || rec.g != 1.0 {
                    r = larger(r, (larger(0.0, t + rec.ws * new) - new).abs());
                }
            }
        }
        Ok(r)
    }

    /// `z_i + sum_{j != i} A_ij x_j` of the row at position `at` of the list (its own weight left out): the
    /// input from outside of a unit of a cyclic component, whose members the caller has set to 0 in `x`. A
    /// record instead of a CSR row product (`MatRef::row_dot`: checks, storage dispatch, a gather for one or two
    /// weights). `None` when `at` is past the list or `z`, `x` are not of length `n`.
    pub(crate) fn outside(&self, z: &[f32], x: &[f32], at: usize) -> Option<f32> {
        let rec = self.records.get(at)?;
        if z.len() != self.n || x.len() != self.n {
            return None;
        }
        // Bounds-checked reads: the checks are a few compares against n, next to a call's other work.
        Some(z[rec.i as usize] + (rec.w0 * x[rec.j0 as usize] + rec.w1 * x[rec.j1 as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Kernels;
    use super::*;

    /// Rows 0-3 of one or two weights (two with a self-loop), row 4 of three: packed only without row 4, and
    /// then solving like the CSR kernels, residual included.
    #[test]
    fn packs_short_rows_only_and_solves_like_the_csr_kernels() {
        let row_ptr = [0u32, 1, 3, 4, 6, 9];
        let idx = [4u16, 0, 4, 2, 1, 3, 0, 1, 2];
        let w = [0.5f32, -0.25, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1];
        let a = MatRef::csr(5, 5, &row_ptr, Indices::U16(&idx), Values::F32(&w)).unwrap();
        let all = RowList::new(vec![4, 0, 1, 2, 3], 5).unwrap();
        assert_eq!(ShortRows::new(&a, &all, &[1.0; 5]), None);
        // Row 4 (three weights) solved first by hand as an input; then 0, 1, 2 (self-loop, gain 1 / 0.6), 3.
        let units = RowList::new(vec![0, 1, 2, 3], 5).unwrap();
        let gains = [1.0, 1.0, 1.0 / 0.6, 1.0];
        let packed = ShortRows::new(&a, &units, &gains).unwrap();
        let z = [0.3f32, -0.2, 0.7, 0.1, 0.9];
        for k in Kernels::all_available() {
            let mut want = vec![0.0f32, 0.0, 0.0, 0.0, 0.9];
            let r_want = a
                .solve_rows(k, &z, &mut want, &units, 0..4, &gains)
                .unwrap()
                .unwrap();
            let mut got = vec![0.0f32, 0.0, 0.0, 0.0, 0.9];
            let r_got = packed.solve(&z, &mut got, 0..4).unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-6, "{:?}: {got:?} vs {want:?}", k.isa());
            }
            assert!((r_got - r_want).abs() <= 1e-6);
            // Row 2's self-loop is solved in closed form (x = 0.7 / 0.6); row 3's (weight 0.2) was given gain 1,
            // so row 3 is not at its fixed point, and the residual shows it: 0.2 x_3.
            assert!((got[2] - 0.7 / 0.6).abs() <= 1e-6);
            assert!(
                got[3] > 0.0 && (r_got - 0.2 * got[3]).abs() <= 1e-6,
                "{r_got} {got:?}"
            );
        }
        // Shapes are checked, not trusted.
        let mut x = vec![0.0f32; 4];
        assert!(packed.solve(&z, &mut x, 0..4).is_err());
        let mut x = vec![0.0f32; 5];
        assert!(packed.solve(&z, &mut x, 0..5).is_err());
    }
}
