//! Sparse kernels for training once supports are small: products with a CSR weight matrix and weight gradients
//! computed only on a mask ("sampled" dense-dense products). Costs drop from `m * rows * cols` to `m * nnz`.

use rayon::prelude::*;

/// Density under which the sparse kernels beat the dense packed GEMM on this machine kind.
pub const SPARSE_BELOW: f64 = 0.15;

/// A compressed-sparse-row copy of a dense row-major matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row `r`'s entries are `row_ptr[r]..row_ptr[r + 1]`.
    pub row_ptr: Vec<u32>,
    /// Column of each entry.
    pub col: Vec<u32>,
    /// Value of each entry.
    pub val: Vec<f32>,
}

impl Csr {
    /// The nonzeros of `d` (`rows x cols`), or `None` when more than `SPARSE_BELOW` of them are nonzero.
    pub fn if_sparse(d: &[f32], rows: usize, cols: usize) -> Option<Csr> {
        let nnz = d.iter().filter(|v| **v != 0.0).count();
        if nnz as f64 > SPARSE_BELOW * d.len() as f64 {
            return None;
        }
        Some(Csr::from_dense(d, rows, cols))
    }

    /// The nonzeros of `d` (`rows x cols`, row-major).
    pub fn from_dense(d: &[f32], rows: usize, cols: usize) -> Csr {
        let nnz = d.iter().filter(|v| **v != 0.0).count();
        let mut c = Csr {
            rows,
            cols,
            row_ptr: Vec::with_capacity(rows + 1),
            col: Vec::with_capacity(nnz),
            val: Vec::with_capacity(nnz),
        };
        c.row_ptr.push(0);
        for row in d.chunks(cols.max(1)).take(rows) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    c.col.push(j as u32);
                    c.val.push(v);
                }
            }
            c.row_ptr.push(c.col.len() as u32);
        }
        c
    }

    /// `out = x self^T (+ out if accumulate)`, with `x` `m x cols` and `out` `m x rows`, rows of `x` in parallel.
    pub fn mul_t(&self, x: &[f32], out: &mut [f32], accumulate: bool) {
        let (r, c) = (self.rows, self.cols);
        if r == 0 {
            return;
        }
        out.par_chunks_mut(r)
            .zip(x.par_chunks(c.max(1)))
            .with_min_len(8)
            .for_each(|(o, xr)| {
                for (k, ok) in o.iter_mut().enumerate() {
                    let (a, b) = (self.row_ptr[k] as usize, self.row_ptr[k + 1] as usize);
                    let s: f32 = self.col[a..b]
                        .iter()
                        .zip(&self.val[a..b])
                        .map(|(&j, &v)| v * xr[j as usize])
                        .sum();
                    *ok = if accumulate { *ok + s } else { s };
                }
            });
    }

    /// `out += w self`, with `w` `m x rows` and `out` `m x cols`.
    pub fn scatter(&self, w: &[f32], out: &mut [f32]) {
        let (r, c) = (self.rows, self.cols);
        if c == 0 {
            return;
        }
        out.par_chunks_mut(c)
            .zip(w.par_chunks(r.max(1)))
            .with_min_len(8)
            .for_each(|(o, wr)| {
                for (k, &wk) in wr.iter().enumerate() {
                    if wk == 0.0 {
                        continue;
                    }
                    let (a, b) = (self.row_ptr[k] as usize, self.row_ptr[k + 1] as usize);
                    for (&j, &v) in self.col[a..b].iter().zip(&self.val[a..b]) {
                        o[j as usize] += wk * v;
                    }
                }
            });
    }
}

/// Transposes a row-major `m x n` matrix.
pub fn transpose(a: &[f32], m: usize, n: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

/// `out[r, k] = sum_i a[i, r] b[i, k]` for `mask[r * nb + k]`, zero elsewhere; `a` is `m x na`, `b` `m x nb`, and
/// `at`, `bt` are their transposes (so both dot products run over contiguous memory).
pub fn masked_at_b(at: &[f32], bt: &[f32], m: usize, nb: usize, mask: &[bool], out: &mut [f32]) {
    out.par_chunks_mut(nb.max(1))
        .zip(mask.par_chunks(nb.max(1)))
        .enumerate()
        .with_min_len(4)
        .for_each(|(r, (o, mk))| {
            let ar = &at[r * m..(r + 1) * m];
            for (k, (ok, &keep)) in o.iter_mut().zip(mk).enumerate() {
                *ok = if keep {
                    ar.iter()
                        .zip(&bt[k * m..(k + 1) * m])
                        .map(|(x, y)| x * y)
                        .sum()
                } else {
                    0.0
                };
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sparse_vec(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if s.is_multiple_of(10) {
                    (s % 1000) as f32 / 500.0 - 1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn kernels_match_dense_references(m in 1usize..20, r in 1usize..30, c in 1usize..30, seed: u64) {
            let w = sparse_vec(r * c, seed);
            let csr = Csr::from_dense(&w, r, c);
            let x: Vec<f32> = (0..m * c).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut out = vec![1.0f32; m * r];
            csr.mul_t(&x, &mut out, true);
            for i in 0..m {
                for k in 0..r {
                    let d: f32 = (0..c).map(|j| w[k * c + j] * x[i * c + j]).sum();
                    prop_assert!((out[i * r + k] - 1.0 - d).abs() < 1e-4);
                }
            }
            let g: Vec<f32> = (0..m * r).map(|i| (i % 5) as f32 - 2.0).collect();
            let mut s = vec![0.0f32; m * c];
            csr.scatter(&g, &mut s);
            for i in 0..m {
                for j in 0..c {
                    let d: f32 = (0..r).map(|k| g[i * r + k] * w[k * c + j]).sum();
                    prop_assert!((s[i * c + j] - d).abs() < 1e-4);
                }
            }
            let mask: Vec<bool> = w.iter().map(|v| *v != 0.0).collect();
            let mut gr = vec![9.0f32; r * c];
            masked_at_b(&transpose(&g, m, r), &transpose(&x, m, c), m, c, &mask, &mut gr);
            for k in 0..r {
                for j in 0..c {
                    let d: f32 = if mask[k * c + j] { (0..m).map(|i| g[i * r + k] * x[i * c + j]).sum() } else { 0.0 };
                    prop_assert!((gr[k * c + j] - d).abs() < 1e-3);
                }
            }
        }
    }

    #[test]
    fn dense_matrices_are_left_to_gemm() {
        assert!(Csr::if_sparse(&[1.0, 2.0, 0.0, 3.0], 2, 2).is_none());
        let c = Csr::if_sparse(&[0.0; 12], 3, 4).unwrap();
        assert_eq!(c.row_ptr, vec![0, 0, 0, 0]);
    }
}

/// Per-example Gauss-Seidel solve of `out = act(k, rhs + a out)` (row `i` of `out` and `rhs` is example `i`): each
/// sweep updates entry `k` in place from the newest values, and each example stops on its own once `done(max change,
/// L1 change, L1 size)` holds or after `max_iter` sweeps. `out` holds the start. Returns the largest sweep count and
/// the largest final max-norm change over the examples.
///
/// Why Gauss-Seidel: for a map that is a `kappa`-contraction in a norm built from per-entry bounds (the max norm with
/// row-wise L1 `<= kappa`), in-place updates are a contraction with a factor no larger (each entry's update is a
/// `kappa`-Lipschitz function of the current values), and when `a` is (nearly) triangular a sweep in order resolves
/// whole chains at once.
pub fn gauss_seidel(
    a: &Csr,
    rhs: &[f32],
    out: &mut [f32],
    act: impl Fn(usize, usize, f32) -> f32 + Sync,
    done: impl Fn(f32, f32, f32) -> bool + Sync,
    max_iter: usize,
) -> (usize, f32) {
    let h = a.rows;
    if h == 0 {
        return (0, 0.0);
    }
    out.par_chunks_mut(h)
        .zip(rhs.par_chunks(h))
        .enumerate()
        .with_min_len(8)
        .map(|(i, (x, v))| {
            let mut sweeps = 0;
            let mut last = 0.0f32;
            while sweeps < max_iter.max(1) {
                let (mut dmax, mut dl1, mut size) = (0.0f32, 0.0f32, 0.0f32);
                for k in 0..h {
                    let (s, e) = (a.row_ptr[k] as usize, a.row_ptr[k + 1] as usize);
                    let z = v[k]
                        + a.col[s..e]
                            .iter()
                            .zip(&a.val[s..e])
                            .map(|(&j, &w)| w * x[j as usize])
                            .sum::<f32>();
                    let nx = act(i, k, z);
                    let d = (nx - x[k]).abs();
                    dmax = dmax.max(d);
                    dl1 += d;
                    size += nx.abs();
                    x[k] = nx;
                }
                sweeps += 1;
                last = dmax;
                if done(dmax, dl1, size) || !dl1.is_finite() {
                    break;
                }
            }
            (sweeps, last)
        })
        .reduce(|| (0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

/// The CSR form of the transpose.
pub fn csr_transpose(a: &Csr) -> Csr {
    let mut counts = vec![0u32; a.cols + 1];
    for &j in &a.col {
        counts[j as usize + 1] += 1;
    }
    for j in 0..a.cols {
        counts[j + 1] += counts[j];
    }
    let mut next = counts.clone();
    let (mut col, mut val) = (vec![0u32; a.col.len()], vec![0.0f32; a.val.len()]);
    for r in 0..a.rows {
        for e in a.row_ptr[r] as usize..a.row_ptr[r + 1] as usize {
            let j = a.col[e] as usize;
            let at = next[j] as usize;
            col[at] = r as u32;
            val[at] = a.val[e];
            next[j] += 1;
        }
    }
    Csr {
        rows: a.cols,
        cols: a.rows,
        row_ptr: counts,
        col,
        val,
    }
}

#[cfg(test)]
mod gs_tests {
    use super::*;

    #[test]
    fn transpose_round_trips_and_gauss_seidel_finds_the_fixed_point() {
        // A chain 0 -> 1 -> 2 (lower triangular): one in-order sweep is exact.
        let d = vec![0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, -0.5, 0.0];
        let a = Csr::from_dense(&d, 3, 3);
        assert_eq!(csr_transpose(&csr_transpose(&a)), a);
        let v: Vec<f32> = vec![1.0, 0.0, 0.5, -1.0, 2.0, 0.0];
        let mut x: Vec<f32> = v.iter().map(|z| z.max(0.0)).collect();
        let (sweeps, res) =
            gauss_seidel(&a, &v, &mut x, |_, _, z| z.max(0.0), |d, _, _| d <= 0.0, 50);
        assert_eq!(x, vec![1.0, 0.5, 0.25, 0.0, 2.0, 0.0]);
        assert_eq!((sweeps, res), (2, 0.0)); // one sweep to solve, one to see nothing move
    }
}
