//! A set applied independently to every row of a row-major matrix.

use super::ConstraintSet;
use crate::error::{check_len, check_param, Result};
use crate::{Float, Vertex};

/// The product set `C x C x ... x C` (one copy per row) over a row-major `rows x cols` matrix.
///
/// The LMO and the projection of a product are the per-row LMOs and projections. With the L1
/// ball of radius `kappa < 1` this is `{A : max_i ||A_i.||_1 <= kappa}`, i.e.
/// `||A||_inf <= kappa`, the well-posedness set of implicit models
/// (El Ghaoui, Gu, Travacca, Askari & Tsai 2021, "Implicit deep learning", Sec. 3): there
/// `x = relu(A x + B u)` is a contraction with a unique fixed point. Its LMO is one signed
/// entry per row, `-kappa sign(g_ij*) e_ij*` with `j* = argmax_j |g_ij|`.
///
/// The oracle is allocation-free once `out` is warm: per-row answers go through a scratch
/// vertex kept inside `out` and are appended with a row offset.
#[derive(Debug, Clone, PartialEq)]
pub struct RowWise<S> {
    rows: usize,
    cols: usize,
    inner: S,
}

impl<S> RowWise<S> {
    /// Applies `inner` to each of the `rows` rows of length `cols`.
    pub fn new(rows: usize, cols: usize, inner: S) -> Result<Self> {
        check_param(cols > 0 || rows == 0, "cols", "must be positive")?;
        Ok(Self { rows, cols, inner })
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Row length.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The per-row set.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<T: Float, S: ConstraintSet<T>> ConstraintSet<T> for RowWise<S> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        check_len("gradient", self.rows * self.cols, grad.len())?;
        let mut row = out.row.take().unwrap_or_default();
        out.clear_sparse(grad.len());
        let mut res = Ok(());
        for (r, g) in grad.chunks_exact(self.cols).enumerate() {
            if let Err(e) = self.inner.lmo(g, &mut row) {
                res = Err(e);
                break;
            }
            out.append_shifted(&row, r * self.cols);
        }
        out.row = Some(row);
        res
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.rows * self.cols, x.len())?;
        for row in x.chunks_exact_mut(self.cols) {
            self.inner.project(row)?;
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.len() == self.rows * self.cols
            && x.chunks_exact(self.cols)
                .all(|r| self.inner.contains(r, tol))
    }

    fn dim(&self) -> Option<usize> {
        Some(self.rows * self.cols)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::sets::{KSparsePolytope, L1Ball, L2Ball};
    use proptest::prelude::*;

    proptest! {
        /// Row-wise L1 LMO = one entry per row at the row's largest |g|, with sign opposite.
        #[test]
        fn rowwise_l1_lmo_is_one_signed_entry_per_row(
            rows in 1usize..6, cols in 1usize..7, seed in 0u64..1000, kappa in 0.01f64..0.99,
        ) {
            let mut rng = SplitMix64::new(seed);
            let g: Vec<f64> = (0..rows * cols).map(|_| rng.normal()).collect();
            let set = RowWise::new(rows, cols, L1Ball::new(kappa).unwrap()).unwrap();
            let mut v = Vertex::new();
            set.lmo(&g, &mut v).unwrap();
            let (idx, val) = v.sparse().unwrap();
            prop_assert_eq!(idx.len(), rows);
            for r in 0..rows {
                let row = &g[r * cols..(r + 1) * cols];
                let best = row.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                let j = idx[r] - r * cols;
                prop_assert!(j < cols);
                prop_assert_eq!(row[j].abs(), best);
                prop_assert_eq!(val[r], -kappa * row[j].signum());
            }
            // Optimal value = -kappa sum_r max_j |g_rj|.
            let opt: f64 = (0..rows).map(|r| g[r*cols..(r+1)*cols].iter().fold(0.0f64, |m, x| m.max(x.abs()))).sum();
            prop_assert!((v.dot(&g) + kappa * opt).abs() < 1e-12);
        }
    }

    #[test]
    fn rowwise_projection_and_dense_inner() {
        let mut rng = SplitMix64::new(16);
        let set = RowWise::new(3, 4, L2Ball::new(1.0).unwrap()).unwrap();
        let mut x: Vec<f64> = (0..12).map(|_| rng.normal() * 3.0).collect();
        set.project(&mut x).unwrap();
        assert!(set.contains(&x, 1e-12));
        let g: Vec<f64> = (0..12).map(|_| rng.normal()).collect();
        let mut v = Vertex::new();
        set.lmo(&g, &mut v).unwrap();
        let expected: f64 = (0..3)
            .map(|r| -crate::linalg::norm2(&g[r * 4..r * 4 + 4]))
            .sum();
        assert!((v.dot(&g) - expected).abs() < 1e-12);
        let ks = RowWise::new(2, 5, KSparsePolytope::new(2, 0.5).unwrap()).unwrap();
        ks.lmo(&g[..10], &mut v).unwrap();
        assert_eq!(v.nnz(), 4);
        assert!(set.lmo(&g[..5], &mut v).is_err());
    }
}
