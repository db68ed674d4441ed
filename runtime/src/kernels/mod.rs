//! Compute kernels: sparse (CSR), low-rank and dense matrix products with one vector or a small batch, on
//! `f32`/`f16`/`bf16`/`i8` weights with `f32` accumulation.
//!
//! Three backends implement the same primitives: [`Isa::Scalar`] (portable, the reference), [`Isa::Avx2`]
//! (x86-64 with AVX2 + FMA + F16C) and [`Isa::Neon`] (aarch64). The backend is chosen once, by
//! [`Kernels::detect`], and the resulting [`Kernels`] token is stored by whoever calls the kernels (the
//! [`crate::Model`]), so no call pays for feature detection.
//!
//! Batches are stored *columns x batch* (row-major: element `(j, b)` at `j * batch + b`), so that every stored
//! weight `M[i, j]` does one AXPY `Y[i, :] += M[i, j] * X[j, :]` over contiguous batch lanes, the layout that
//! vectorises for any sparsity pattern.

mod dense_columns;
mod dense_copy;
mod element;
mod elementwise;
pub(crate) mod groups;
mod matrix;
mod pattern_cache;
mod scalar;
mod short_rows;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;

pub(crate) use dense_columns::DenseColumns;
pub(crate) use dense_copy::DenseCopy;
pub use element::{Index, Weight};
pub(crate) use elementwise::larger;
pub use matrix::{Indices, MatRef, MatrixError, RowList, Storage, Values};
pub(crate) use pattern_cache::PatternCache;
pub(crate) use short_rows::ShortRows;

/// An instruction-set family the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, no intrinsics.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C, 8 lanes.
    Avx2,
    /// aarch64 NEON, 4 lanes.
    Neon,
}

impl Isa {
    /// Whether this CPU can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// Proof that a backend runs on this CPU: the only way to call the kernels.
///
/// Construct it once ([`Kernels::detect`]) and keep it; it is `Copy` and costs nothing to pass around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernels {
    isa: Isa,
}

impl Kernels {
    /// The fastest backend this CPU supports.
    pub fn detect() -> Kernels {
        [Isa::Avx2, Isa::Neon]
            .into_iter()
            .find_map(Kernels::with_isa)
            .unwrap_or(Kernels::scalar())
    }

    /// The portable scalar backend (always available).
    pub fn scalar() -> Kernels {
        Kernels { isa: Isa::Scalar }
    }

    /// The given backend, if this CPU supports it.
    pub fn with_isa(isa: Isa) -> Option<Kernels> {
        isa.is_available().then_some(Kernels { isa })
    }

    /// Every backend this CPU supports, scalar first (what the tests compare).
    pub fn all_available() -> impl Iterator<Item = Kernels> {
        [Isa::Scalar, Isa::Avx2, Isa::Neon]
            .into_iter()
            .filter_map(Kernels::with_isa)
    }

    /// The backend.
    pub fn isa(self) -> Isa {
        self.isa
    }
}

/// The scale of row `i` of an `i8` matrix (1 for the float storage kinds).
#[inline(always)]
fn row_scale(scales: Option<&[f32]>, i: usize) -> f32 {
    scales.map_or(1.0, |s| s[i])
}

/// Rows per group of the grouped Gauss-Seidel sweep (`csr_groups_relu`, the same in every backend so that they
/// compute the same iteration): the AVX2 kernels' width, whose eight-row product reduces one group at a time.
pub(crate) const GROUP: usize = 8;

/// Defines the whole-matrix loops of a backend on top of its row primitives (`gather_dot`, `dot`,
/// `gather_batch_add`, `dense_batch_add`), compiled with the backend's target features so that the primitives
/// inline into them.
///
/// Safety contract of every generated function: the CPU supports the backend; the slices satisfy the invariants
/// established by [`MatRef`]'s constructors (monotone `row_ptr` ending at `w.len() == idx.len()`, column indices
/// `< cols`, `x.len() == cols * batch`, `y.len() == rows * batch`, `scales.len() == rows`).
macro_rules! row_loops {
    ($(#[$attr:meta])*) => {
        /// `Y[i, :] += s_i * sum_{k in row i} w[k] * X[idx[k], :]` (X: cols x batch, Y: rows x batch).
        $(#[$attr])*
        pub(crate) unsafe fn csr_matmat_add<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, x: &[f32], batch: usize, y: &mut [f32]) {
            for (i, yi) in y.chunks_exact_mut(batch.max(1)).enumerate() {
                let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                // SAFETY: the module's contract.
                unsafe { gather_batch_add(&w[s..e], &idx[s..e], super::row_scale(scales, i), x, batch, yi) }
            }
        }

        /// `y[i] += s_i * sum_j w[i * cols + j] * x[j]`.
        $(#[$attr])*
        pub(crate) unsafe fn dense_matvec_add<W: Weight>(cols: usize, w: &[W], scales: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
            for (i, yi) in y.iter_mut().enumerate() {
                // SAFETY: the module's contract.
                *yi += super::row_scale(scales, i) * unsafe { dot(&w[i * cols..(i + 1) * cols], x) };
            }
        }

        /// One in-place Gauss-Seidel sweep over a square CSR matrix, for one vector:
        /// `x[i] <- max(0, z[i] + s_i * sum_k w[k] * x[idx[k]])` for `i` in `order` (or `0..rows`), returning the
        /// largest change. Caller contract additionally: `z.len() == x.len() == rows`, `order` entries `< rows`.
        $(#[$attr])*
        pub(crate) unsafe fn csr_gauss_seidel<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], order: Option<&[u32]>) -> f32 {
            let mut r = 0.0f32;
            for pos in 0..x.len() {
                let i = order.map_or(pos, |o| o[pos] as usize);
                let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                // SAFETY: the module's contract.
                let new = super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { gather_dot::<W, I, true>(&w[s..e], &idx[s..e], x) });
                r = super::larger(r, (new - x[i]).abs());
                x[i] = new;
            }
            r
        }

        /// `x[i] <- max(0, z[i] + s_i * sum_k w[k] * x[idx[k]])` for `i` in `rows`, in that order (each row sees the
        /// values updated before it), returning the largest change; with `WRITE = false` nothing is stored and the
        /// result is the residual `max_i |relu(z_i + s_i A_i x) - x_i|` over `rows`. Caller contract additionally:
        /// `z.len() == x.len() == row_ptr.len() - 1`, every entry of `rows` below that.
        $(#[$attr])*
        pub(crate) unsafe fn csr_rows_relu<W: Weight, I: Index, const WRITE: bool>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32]) -> f32 {
            let mut r = 0.0f32;
            for &i in rows {
                let i = i as usize;
                let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                // SAFETY: the module's contract.
                let new = super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { gather_dot::<W, I, WRITE>(&w[s..e], &idx[s..e], x) });
                r = super::larger(r, (new - x[i]).abs());
                if WRITE {
                    x[i] = new;
                }
            }
            r
        }

        /// [`csr_rows_solve`] for a dense square matrix (a row reads its own unit when its diagonal weight is
        /// not zero).
        $(#[$attr])*
        pub(crate) unsafe fn dense_rows_solve<W: Weight>(w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32], gains: &[f32]) -> f32 {
            let n = x.len();
            let mut r = 0.0f32;
            for (&i, &g) in rows.iter().zip(gains) {
                let i = i as usize;
                let row = &w[i * n..(i + 1) * n];
                x[i] = 0.0;
                // SAFETY: the module's contract.
                let new = g * super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { dot(row, x) });
                x[i] = new;
                if row[i].to_f32() != 0.0 || g != 1.0 {
                    // SAFETY: as above.
                    let t = z[i] + super::row_scale(scales, i) * unsafe { dot(row, x) };
                    r = super::larger(r, (super::larger(0.0, t) - new).abs());
                }
            }
            r
        }

        /// [`csr_rows_relu`] (writing) repeated until its update meets `stop` (over the rows' states, see
        /// `stop.rs`) or is not finite, at most `stop.cap` times: the iteration of one cyclic component in a
        /// single call. Returns the sweeps run and the last update.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub(crate) unsafe fn csr_rows_iterate<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32], stop: crate::stop::Stop) -> (u32, f32) {
            let mut r = f32::INFINITY;
            let mut test = stop.running();
            for sweep in 1..=stop.cap {
                // SAFETY: the contract of csr_rows_relu, which is this function's.
                r = unsafe { csr_rows_relu::<W, I, true>(row_ptr, idx, w, scales, z, x, rows) };
                if test.met(r, || crate::stop::norm_inf_rows(x, rows)) || !r.is_finite() {
                    return (sweep, r);
                }
            }
            (stop.cap, r)
        }

        /// `csr_groups_relu` (the grouped Gauss-Seidel sweep over `rows`, or all rows) repeated until its update
        /// meets `stop` (over the swept rows' states) or is not finite, at most `stop.cap` times. Returns the sweeps run and the last update. Caller
        /// contract additionally: `z.len() == x.len() == row_ptr.len() - 1`, every entry of `rows` below that.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub(crate) unsafe fn csr_groups_iterate<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: Option<&[u32]>, stop: crate::stop::Stop) -> (u32, f32) {
            let mut r = f32::INFINITY;
            let mut test = stop.running();
            for sweep in 1..=stop.cap {
                // SAFETY: the contract of csr_groups_relu, which is this function's.
                r = unsafe { csr_groups_relu::<W, I>(row_ptr, idx, w, scales, z, x, rows) };
                let scale = || rows.map_or_else(|| crate::stop::norm_inf(x), |o| crate::stop::norm_inf_rows(x, o));
                if test.met(r, scale) || !r.is_finite() {
                    return (sweep, r);
                }
            }
            (stop.cap, r)
        }

        /// [`csr_rows_iterate`] for a dense square matrix.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub(crate) unsafe fn dense_rows_iterate<W: Weight>(w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32], stop: crate::stop::Stop) -> (u32, f32) {
            let mut r = f32::INFINITY;
            let mut test = stop.running();
            for sweep in 1..=stop.cap {
                // SAFETY: the contract of dense_rows_relu, which is this function's.
                r = unsafe { dense_rows_relu::<W, true>(w, scales, z, x, rows) };
                if test.met(r, || crate::stop::norm_inf_rows(x, rows)) || !r.is_finite() {
                    return (sweep, r);
                }
            }
            (stop.cap, r)
        }

        /// [`csr_rows_relu`] for a dense square matrix.
        $(#[$attr])*
        pub(crate) unsafe fn dense_rows_relu<W: Weight, const WRITE: bool>(w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32]) -> f32 {
            let n = x.len();
            let mut r = 0.0f32;
            for &i in rows {
                let i = i as usize;
                // SAFETY: the module's contract.
                let new = super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { dot(&w[i * n..(i + 1) * n], x) });
                r = super::larger(r, (new - x[i]).abs());
                if WRITE {
                    x[i] = new;
                }
            }
            r
        }

        /// [`csr_gauss_seidel`] for a dense square matrix.
        $(#[$attr])*
        pub(crate) unsafe fn dense_gauss_seidel<W: Weight>(w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], order: Option<&[u32]>) -> f32 {
            let n = x.len();
            let mut r = 0.0f32;
            for pos in 0..n {
                let i = order.map_or(pos, |o| o[pos] as usize);
                // SAFETY: the module's contract.
                let new = super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { dot(&w[i * n..(i + 1) * n], x) });
                r = super::larger(r, (new - x[i]).abs());
                x[i] = new;
            }
            r
        }

        /// `Y[i, :] += s_i * sum_j w[i * cols + j] * X[j, :]`.
        $(#[$attr])*
        pub(crate) unsafe fn dense_matmat_add<W: Weight>(cols: usize, w: &[W], scales: Option<&[f32]>, x: &[f32], batch: usize, y: &mut [f32]) {
            for (i, yi) in y.chunks_exact_mut(batch.max(1)).enumerate() {
                // SAFETY: the module's contract.
                unsafe { dense_batch_add(&w[i * cols..(i + 1) * cols], super::row_scale(scales, i), x, batch, yi) }
            }
        }
    };
}
use row_loops;

/// The plain CSR matrix-vector product, one gather dot per row (the scalar and NEON backends; AVX2 has its own,
/// which reduces eight rows at a time). Same safety contract as [`row_loops`].
macro_rules! csr_matvec_by_rows {
    ($(#[$attr:meta])*) => {
        /// `y[i] += s_i * sum_{k in row i} w[k] * x[idx[k]]`.
        $(#[$attr])*
        pub(crate) unsafe fn csr_matvec_add<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
            for (i, yi) in y.iter_mut().enumerate() {
                let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                // SAFETY: the module's contract.
                *yi += super::row_scale(scales, i) * unsafe { gather_dot::<W, I, false>(&w[s..e], &idx[s..e], x) };
            }
        }
    };
}
use csr_matvec_by_rows;

/// The portable exact solve of rows with final inputs (the scalar and NEON backends; AVX2 has an unchecked
/// version with a branch-free path for rows of one or two weights, most rows of a sparse `A`). Same safety
/// contract as [`row_loops`].
macro_rules! csr_rows_solve_portable {
    ($(#[$attr:meta])*) => {
        /// The exact solve of rows whose inputs are final: `x[i] <- g * max(0, z[i] + s_i * sum_{k, idx[k] != i}
        /// w[k] * x[idx[k]])` for the `i` of `rows` in that order, `g` the matching entry of `gains`. With `g = 1`
        /// this evaluates a row without a self-loop; with `g = 1 / (1 - A_ii)` it is the fixed point of
        /// `x_i = relu(A_ii x_i + r)`, `|A_ii| < 1` (`x_i` is zeroed first so the row's own weight reads 0).
        ///
        /// Returns the residual `max_i |relu(z[i] + s_i sum_k w[k] x[idx[k]]) - x[i]|` of the solved rows, the
        /// row evaluated again with its new value, for the rows that read their own unit or have a gain other
        /// than 1; any other row would repeat the same operations on the same values, so its residual is 0 by
        /// construction (as long as its inputs stay as they are: the caller's dependency order). Caller contract additionally:
        /// `z.len() == x.len() == row_ptr.len() - 1`, every entry of `rows` below that,
        /// `gains.len() >= rows.len()`.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        pub(crate) unsafe fn csr_rows_solve<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: &[u32], gains: &[f32]) -> f32 {
            let mut r = 0.0f32;
            for (&i, &g) in rows.iter().zip(gains) {
                let i = i as usize;
                let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                let (w, idx) = (&w[s..e], &idx[s..e]);
                x[i] = 0.0;
                // No running residual here, so the F16C widening (`CHAIN = false`) cannot chain the rows.
                // SAFETY: the module's contract.
                let new = g * super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { gather_dot::<W, I, false>(w, idx, x) });
                x[i] = new;
                if g != 1.0 || idx.iter().any(|j| j.to_usize() == i) {
                    // SAFETY: as above.
                    let t = z[i] + super::row_scale(scales, i) * unsafe { gather_dot::<W, I, false>(w, idx, x) };
                    r = super::larger(r, (super::larger(0.0, t) - new).abs());
                }
            }
            r
        }

    };
}
use csr_rows_solve_portable;

/// The grouped Gauss-Seidel sweep with one gather dot per row (the scalar and NEON backends; AVX2 has its own,
/// on the eight-row product). Same safety contract as [`row_loops`].
macro_rules! csr_groups_portable {
    ($(#[$attr:meta])*) => {
        /// One grouped Gauss-Seidel sweep: the positions of `rows` (or `0..x.len()`) in consecutive groups of
        /// [`super::GROUP`]; every row of a group computes `max(0, z_i + s_i A_i x)` from the values before the
        /// group (Jacobi inside a group), then the group's updates are stored (Gauss-Seidel between groups).
        /// Returns the largest change. Caller contract additionally: `z.len() == x.len() == row_ptr.len() - 1`,
        /// every entry of `rows` below that.
        $(#[$attr])*
        pub(crate) unsafe fn csr_groups_relu<W: Weight, I: Index>(row_ptr: &[u32], idx: &[I], w: &[W], scales: Option<&[f32]>, z: &[f32], x: &mut [f32], rows: Option<&[u32]>) -> f32 {
            let len = rows.map_or(x.len(), <[u32]>::len);
            let unit = |pos: usize| rows.map_or(pos, |o| o[pos] as usize);
            let mut r = 0.0f32;
            let mut g = 0;
            while g < len {
                let m = (len - g).min(super::GROUP);
                let mut new = [0.0f32; super::GROUP];
                for (j, v) in new.iter_mut().enumerate().take(m) {
                    let i = unit(g + j);
                    let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                    // SAFETY: the module's contract.
                    *v = super::larger(0.0, z[i] + super::row_scale(scales, i) * unsafe { gather_dot::<W, I, false>(&w[s..e], &idx[s..e], x) });
                }
                for (j, &v) in new.iter().enumerate().take(m) {
                    let i = unit(g + j);
                    r = super::larger(r, (v - x[i]).abs());
                    x[i] = v;
                }
                g += m;
            }
            r
        }
    };
}
use csr_groups_portable;

#[cfg(test)]
mod tests;
