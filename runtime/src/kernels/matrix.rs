//! [`MatRef`]: a validated, borrowed matrix (dense, CSR or low-rank) and its products with vectors and batches.

use core::fmt;

#[cfg(target_arch = "x86_64")]
use super::avx2;
#[cfg(target_arch = "aarch64")]
use super::neon;
use super::{scalar, Kernels};
use crate::stop::Stop;

pub use wolfpack_format::{Indices, Values};

/// Bytes the weights (and `i8` scales) occupy.
fn value_bytes(v: &Values) -> usize {
    let scales = match v {
        Values::I8 { scales, .. } => 4 * scales.len(),
        _ => 0,
    };
    v.len() * v.value_type().size() as usize + scales
}

/// Checks that `i8` values carry one scale per row (`rows` scale groups).
fn check_scales(v: &Values, what: &'static str, rows: usize) -> Result<(), MatrixError> {
    match v {
        Values::I8 { scales, .. } if scales.len() != rows => Err(MatrixError::Length {
            what,
            expected: rows,
            found: scales.len(),
        }),
        _ => Ok(()),
    }
}

/// How a [`MatRef`] stores its weights.
#[derive(Clone, Copy, Debug)]
pub enum Storage<'a> {
    /// Row-major `rows x cols`.
    Dense {
        /// The weights, row-major.
        values: Values<'a>,
    },
    /// Compressed sparse rows: the weights of row `i` are `values[row_ptr[i]..row_ptr[i + 1]]`, in columns
    /// `col_idx[row_ptr[i]..row_ptr[i + 1]]`.
    Csr {
        /// `rows + 1` monotone offsets, from 0 to the number of stored weights.
        row_ptr: &'a [u32],
        /// Column of each stored weight.
        col_idx: Indices<'a>,
        /// The stored weights.
        values: Values<'a>,
    },
    /// `M = U V` with `U`: `rows x rank` and `V`: `rank x cols`, both row-major (`i8` scales: one per row of
    /// each factor).
    LowRank {
        /// Inner dimension.
        rank: usize,
        /// Left factor, `rows x rank`.
        u: Values<'a>,
        /// Right factor, `rank x cols`.
        v: Values<'a>,
    },
}

/// Why a matrix or a product was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatrixError {
    /// A slice has the wrong length.
    Length {
        /// Which slice.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// `rows * cols` (or a batch size) overflows, or `cols` exceeds `i32::MAX` (the gather kernels' index range).
    TooLarge {
        /// Which dimension.
        what: &'static str,
    },
    /// CSR row pointers do not start at 0, decrease, or do not end at the number of stored weights.
    RowPointers {
        /// First offending row.
        row: usize,
    },
    /// A CSR column index is not below the number of columns.
    ColumnOutOfRange {
        /// Row of the stored weight.
        row: usize,
        /// Its column index.
        col: usize,
        /// Number of columns.
        cols: usize,
    },
    /// A row index is not below the number of rows.
    RowOutOfRange {
        /// Requested row.
        row: usize,
        /// Number of rows.
        rows: usize,
    },
}

impl fmt::Display for MatrixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatrixError::Length {
                what,
                expected,
                found,
            } => {
                write!(f, "{what} has length {found}, expected {expected}")
            }
            MatrixError::TooLarge { what } => write!(f, "{what} is too large"),
            MatrixError::RowPointers { row } => {
                write!(
                    f,
                    "CSR row pointers are not monotone from 0 to nnz (row {row})"
                )
            }
            MatrixError::ColumnOutOfRange { row, col, cols } => {
                write!(f, "CSR column index {col} in row {row} is not below {cols}")
            }
            MatrixError::RowOutOfRange { row, rows } => write!(f, "row {row} is not below {rows}"),
        }
    }
}

impl std::error::Error for MatrixError {}

fn check_len(what: &'static str, found: usize, expected: usize) -> Result<(), MatrixError> {
    if found == expected {
        Ok(())
    } else {
        Err(MatrixError::Length {
            what,
            expected,
            found,
        })
    }
}

fn product(what: &'static str, a: usize, b: usize) -> Result<usize, MatrixError> {
    a.checked_mul(b).ok_or(MatrixError::TooLarge { what })
}

/// Row indices checked once against a row count, so that [`MatRef::sweep_rows`] can hand them to the kernels
/// without checking them again on every call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowList {
    rows: Vec<u32>,
    bound: usize,
}

impl RowList {
    /// `rows` for a matrix of `bound` rows; fails on the first index that is not below `bound`.
    pub fn new(rows: Vec<u32>, bound: usize) -> Result<RowList, MatrixError> {
        match rows.iter().find(|&&r| r as usize >= bound) {
            Some(&bad) => Err(MatrixError::RowOutOfRange {
                row: bad as usize,
                rows: bound,
            }),
            None => Ok(RowList { rows, bound }),
        }
    }

    /// The indices.
    pub fn as_slice(&self) -> &[u32] {
        &self.rows
    }

    /// The row count they were checked against.
    pub fn bound(&self) -> usize {
        self.bound
    }
}

/// A borrowed matrix whose structure has been validated, so that the kernels may read it without bounds checks.
///
/// Built by [`MatRef::dense`], [`MatRef::csr`] or [`MatRef::low_rank`]. Products *add* into their output
/// (`y += M x`), so a bias can be loaded first and `y = b + B u + D u'` costs no extra pass.
///
/// ```
/// use wolfpack_runtime::kernels::{Indices, Kernels, MatRef, Values};
/// // [[1, 0, 2], [0, 0, 0]] in CSR
/// let m = MatRef::csr(2, 3, &[0, 2, 2], Indices::U16(&[0, 2]), Values::F32(&[1.0, 2.0])).unwrap();
/// let mut y = [10.0, 10.0];
/// m.gemv_add(Kernels::detect(), &[1.0, 5.0, 3.0], &mut y, &mut []).unwrap();
/// assert_eq!(y, [17.0, 10.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    rows: usize,
    cols: usize,
    storage: Storage<'a>,
}

/// Runs a backend function on the backend the [`Kernels`] token proved available.
macro_rules! on_backend {
    ($k:expr, $f:ident $(::<$($g:tt),*>)? ($($arg:expr),* $(,)?)) => {
        match $k.isa() {
            // SAFETY: a `Kernels` token only holds a backend detected on this CPU, and `MatRef`'s constructors
            // and the shape checks of the calling method establish the slice contract of the backends.
            #[cfg(target_arch = "x86_64")]
            super::Isa::Avx2 => unsafe { avx2::$f $(::<$($g),*>)? ($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "aarch64")]
            super::Isa::Neon => unsafe { neon::$f $(::<$($g),*>)? ($($arg),*) },
            // SAFETY: the scalar backend checks its indexing.
            _ => unsafe { scalar::$f $(::<$($g),*>)? ($($arg),*) },
        }
    };
}

/// Binds the typed weight slice and the optional per-row scales of a [`Values`].
macro_rules! with_values {
    ($values:expr, |$w:ident, $scales:ident| $body:expr) => {
        match $values {
            Values::F32($w) => {
                let $scales: Option<&[f32]> = None;
                $body
            }
            Values::F16($w) => {
                let $scales: Option<&[f32]> = None;
                $body
            }
            Values::Bf16($w) => {
                let $scales: Option<&[f32]> = None;
                $body
            }
            Values::I8 { q: $w, scales } => {
                let $scales: Option<&[f32]> = Some(scales);
                $body
            }
        }
    };
}

/// Binds the typed index slice of an [`Indices`].
macro_rules! with_indices {
    ($indices:expr, |$i:ident| $body:expr) => {
        match $indices {
            Indices::U16($i) => $body,
            Indices::U32($i) => $body,
        }
    };
}

impl<'a> MatRef<'a> {
    /// A dense row-major `rows x cols` matrix.
    pub fn dense(rows: usize, cols: usize, values: Values<'a>) -> Result<MatRef<'a>, MatrixError> {
        check_len(
            "dense values",
            values.len(),
            product("rows x cols", rows, cols)?,
        )?;
        check_scales(&values, "dense i8 scales", rows)?;
        Ok(MatRef {
            rows,
            cols,
            storage: Storage::Dense { values },
        })
    }

    /// A CSR matrix; checks the row pointers, every column index and the lengths (O(nnz)).
    pub fn csr(
        rows: usize,
        cols: usize,
        row_ptr: &'a [u32],
        col_idx: Indices<'a>,
        values: Values<'a>,
    ) -> Result<MatRef<'a>, MatrixError> {
        let m = MatRef::csr_lengths(rows, cols, row_ptr, col_idx, values)?;
        let nnz = values.len();
        if row_ptr[0] != 0 {
            return Err(MatrixError::RowPointers { row: 0 });
        }
        for (i, w) in row_ptr.windows(2).enumerate() {
            if w[1] < w[0] || w[1] as usize > nnz {
                return Err(MatrixError::RowPointers { row: i });
            }
        }
        if row_ptr[rows] as usize != nnz {
            return Err(MatrixError::RowPointers { row: rows });
        }
        // A max reduction vectorises; the position is looked for only when something is out of range, so checking a
        // mapped model's indices costs a pass at memory speed.
        let out_of_range = |col: usize| col >= cols;
        let bad = match col_idx {
            Indices::U16(v)
                if v.iter()
                    .copied()
                    .max()
                    .is_some_and(|m| out_of_range(m.into())) =>
            {
                v.iter().position(|&c| out_of_range(usize::from(c)))
            }
            Indices::U32(v)
                if v.iter()
                    .copied()
                    .max()
                    .is_some_and(|m| out_of_range(m as usize)) =>
            {
                v.iter().position(|&c| out_of_range(c as usize))
            }
            _ => None,
        };
        if let Some(k) = bad {
            let row = row_ptr.partition_point(|&p| p as usize <= k) - 1;
            return Err(MatrixError::ColumnOutOfRange {
                row,
                col: col_idx.get(k),
                cols,
            });
        }
        Ok(m)
    }

    /// The checks of [`MatRef::csr`] on the column count and the lengths (O(1)); the row pointers and column
    /// indices are the caller's.
    fn csr_lengths(
        rows: usize,
        cols: usize,
        row_ptr: &'a [u32],
        col_idx: Indices<'a>,
        values: Values<'a>,
    ) -> Result<MatRef<'a>, MatrixError> {
        if cols > i32::MAX as usize {
            return Err(MatrixError::TooLarge { what: "cols" });
        }
        check_len(
            "CSR row pointers",
            row_ptr.len(),
            rows.checked_add(1)
                .ok_or(MatrixError::TooLarge { what: "rows" })?,
        )?;
        let nnz = values.len();
        check_len("CSR column indices", col_idx.len(), nnz)?;
        check_scales(&values, "CSR i8 scales", rows)?;
        Ok(MatRef {
            rows,
            cols,
            storage: Storage::Csr {
                row_ptr,
                col_idx,
                values,
            },
        })
    }

    /// A matrix of a model that [`wolfpack_format::ModelView::parse`] has returned, without repeating the O(nnz)
    /// passes of [`MatRef::csr`] that the parse has made (a quarter of the runtime's share of a load before).
    ///
    /// Invariant (what the kernels' unchecked indexing rests on): `m` is a view of a `ModelView` that `parse`
    /// returned and nobody has changed (`Plan::parse` parses and converts in one step; the fields of a view are
    /// public, so a view from anywhere else goes through the checked `TryFrom`). `parse` has checked a CSR record's
    /// row pointers to rise from 0 to nnz without decreasing and its columns to lie below `cols` (strictly
    /// increasing in each row, `wolfpack_format`'s `check_csr_structure`); the O(1) checks here (lengths, end
    /// pointers, `cols` within `i32`) are repeated. `parsed_views_pass_the_full_checks` (test) holds both to agree.
    pub(crate) fn from_parsed(
        m: &wolfpack_format::MatrixView<'a>,
    ) -> Result<MatRef<'a>, MatrixError> {
        match *m {
            wolfpack_format::MatrixView::Csr(c) => {
                let m = MatRef::csr_lengths(c.rows, c.cols, c.row_ptr, c.col_idx, c.values)?;
                let ends = (c.row_ptr[0], c.row_ptr[c.rows] as usize);
                if ends != (0, c.values.len()) {
                    let row = if ends.0 != 0 { 0 } else { c.rows };
                    return Err(MatrixError::RowPointers { row });
                }
                Ok(m)
            }
            _ => MatRef::try_from(m),
        }
    }

    /// The low-rank product `U V`, `U`: `rows x rank`, `V`: `rank x cols`, both row-major.
    pub fn low_rank(
        rows: usize,
        cols: usize,
        rank: usize,
        u: Values<'a>,
        v: Values<'a>,
    ) -> Result<MatRef<'a>, MatrixError> {
        check_len("low-rank U", u.len(), product("rows x rank", rows, rank)?)?;
        check_len("low-rank V", v.len(), product("rank x cols", rank, cols)?)?;
        check_scales(&u, "low-rank U i8 scales", rows)?;
        check_scales(&v, "low-rank V i8 scales", rank)?;
        Ok(MatRef {
            rows,
            cols,
            storage: Storage::LowRank { rank, u, v },
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The storage.
    pub fn storage(&self) -> &Storage<'a> {
        &self.storage
    }

    /// Number of stored weights (CSR nonzeros, `rows * cols`, or `rank * (rows + cols)`).
    pub fn stored(&self) -> usize {
        match &self.storage {
            Storage::Dense { values } | Storage::Csr { values, .. } => values.len(),
            Storage::LowRank { u, v, .. } => u.len() + v.len(),
        }
    }

    /// Bytes one product streams from memory: weights, scales, indices and row pointers.
    pub fn bytes(&self) -> usize {
        match &self.storage {
            Storage::Dense { values } => value_bytes(values),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => value_bytes(values) + col_idx.len() * col_idx.width() as usize + 4 * row_ptr.len(),
            Storage::LowRank { u, v, .. } => value_bytes(u) + value_bytes(v),
        }
    }

    /// Length of the scratch buffer [`MatRef::gemv_add`] (`batch = 1`) and [`MatRef::gemm_add`] need:
    /// `rank * batch` for low-rank matrices, else 0.
    pub fn scratch_len(&self, batch: usize) -> usize {
        match self.storage {
            Storage::LowRank { rank, .. } => rank.saturating_mul(batch),
            _ => 0,
        }
    }

    /// Whether single rows are cheap to multiply (dense and CSR); a row of a low-rank matrix costs a whole
    /// `V x` product, so Gauss-Seidel sweeps avoid them.
    pub fn has_cheap_rows(&self) -> bool {
        !matches!(self.storage, Storage::LowRank { .. })
    }

    /// `y += M x`.
    pub fn gemv_add(
        &self,
        k: Kernels,
        x: &[f32],
        y: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), MatrixError> {
        self.gemm_add(k, x, 1, y, scratch)
    }

    /// `Y += M X` for a batch: `X` is `cols x batch` and `Y` is `rows x batch`, both row-major (element
    /// `(j, b)` at `j * batch + b`).
    pub fn gemm_add(
        &self,
        k: Kernels,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<(), MatrixError> {
        check_len("input", x.len(), product("cols x batch", self.cols, batch)?)?;
        check_len(
            "output",
            y.len(),
            product("rows x batch", self.rows, batch)?,
        )?;
        if batch == 0 {
            return Ok(());
        }
        let vector = batch == 1;
        match self.storage {
            Storage::Dense { values } => with_values!(values, |w, s| if vector {
                match k.isa() {
                    // SAFETY: the backend was detected on this CPU; the shape checks above give the contract
                    // (w: rows x cols, x: cols, y: rows, scales: rows).
                    #[cfg(target_arch = "x86_64")]
                    super::Isa::Avx2 => unsafe { avx2::dense_matvec_add8(self.cols, w, s, x, y) },
                    _ => on_backend!(k, dense_matvec_add(self.cols, w, s, x, y)),
                }
            } else {
                on_backend!(k, dense_matmat_add(self.cols, w, s, x, batch, y))
            }),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => {
                with_values!(values, |w, s| with_indices!(col_idx, |idx| if vector {
                    on_backend!(k, csr_matvec_add(row_ptr, idx, w, s, x, y))
                } else {
                    on_backend!(k, csr_matmat_add(row_ptr, idx, w, s, x, batch, y))
                }))
            }
            Storage::LowRank { rank, u, v } => {
                let need = self.scratch_len(batch);
                let found = scratch.len();
                let t = scratch.get_mut(..need).ok_or(MatrixError::Length {
                    what: "low-rank scratch",
                    expected: need,
                    found,
                })?;
                t.fill(0.0);
                MatRef {
                    rows: rank,
                    cols: self.cols,
                    storage: Storage::Dense { values: v },
                }
                .gemm_add(k, x, batch, t, &mut [])?;
                MatRef {
                    rows: self.rows,
                    cols: rank,
                    storage: Storage::Dense { values: u },
                }
                .gemm_add(k, t, batch, y, &mut [])?;
            }
        }
        Ok(())
    }

    /// One in-place Gauss-Seidel sweep of `x = relu(M x + z)` for one vector (square dense or CSR `M`):
    /// `x_i <- max(0, z_i + M[i, :] x)` for `i` in `order` (default `0..rows`), each update seeing the newest
    /// values; returns the largest change `max_i |x_i,new - x_i,old|`. `None` for low-rank storage, whose single
    /// rows are expensive (use [`MatRef::row_dot`] or whole products instead).
    pub fn gauss_seidel_sweep(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        order: Option<&[u32]>,
    ) -> Result<Option<f32>, MatrixError> {
        check_len("square matrix columns", self.cols, self.rows)?;
        check_len("z", z.len(), self.rows)?;
        check_len("x", x.len(), self.rows)?;
        if let Some(o) = order {
            check_len("order", o.len(), self.rows)?;
            if let Some(&bad) = o.iter().find(|&&u| u as usize >= self.rows) {
                return Err(MatrixError::RowOutOfRange {
                    row: bad as usize,
                    rows: self.rows,
                });
            }
        }
        Ok(match self.storage {
            Storage::Dense { values } => Some(with_values!(values, |w, s| on_backend!(
                k,
                dense_gauss_seidel(w, s, z, x, order)
            ))),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => Some(with_values!(values, |w, s| with_indices!(
                col_idx,
                |idx| on_backend!(k, csr_gauss_seidel(row_ptr, idx, w, s, z, x, order))
            ))),
            Storage::LowRank { .. } => None,
        })
    }

    /// Gauss-Seidel over some rows of a square dense or CSR `M`, for one vector: `x_i <- max(0, z_i + M[i, :] x)`
    /// for `i` in `rows[range]`, in that order, each update seeing the newest values; returns the largest change.
    /// With `write = false`, `x` is left unchanged and the result is the residual
    /// `max_i |relu(z_i + M[i, :] x) - x_i|` over those rows. `None` for low-rank storage.
    ///
    /// The block-triangular solve runs its exact runs (one call, in dependency order) and its cyclic components
    /// (repeated calls) through this; the checks are O(1) because `rows` was checked when it was built.
    pub fn sweep_rows(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        rows: &RowList,
        range: core::ops::Range<usize>,
        write: bool,
    ) -> Result<Option<f32>, MatrixError> {
        let rows = self.checked_rows(z, x, rows, range)?;
        Ok(match self.storage {
            Storage::Dense { values } => Some(with_values!(values, |w, s| if write {
                on_backend!(k, dense_rows_relu::<_, true>(w, s, z, x, rows))
            } else {
                on_backend!(k, dense_rows_relu::<_, false>(w, s, z, x, rows))
            })),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => Some(with_values!(values, |w, s| with_indices!(col_idx, |idx| {
                if write {
                    on_backend!(
                        k,
                        csr_rows_relu::<_, _, true>(row_ptr, idx, w, s, z, x, rows)
                    )
                } else {
                    on_backend!(
                        k,
                        csr_rows_relu::<_, _, false>(row_ptr, idx, w, s, z, x, rows)
                    )
                }
            }))),
            Storage::LowRank { .. } => None,
        })
    }

    /// [`MatRef::sweep_rows`] (writing) repeated until the update is at most `tol`, or has stalled within
    /// `2^-21 (1 - kappa) max_i |x_i|` of the listed rows' states (the stopping test of
    /// [`crate::SolveOptions::tolerance`]; `kappa` a bound on `||M||_inf` over those rows, 1 to use `tol` alone),
    /// or is not finite, at most `cap` times, in one call: returns the sweeps
    /// run and the last update, so the caller sees a non-converged or non-finite result. `None` for low-rank
    /// storage.
    #[allow(clippy::too_many_arguments)]
    pub fn iterate_rows(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        rows: &RowList,
        range: core::ops::Range<usize>,
        tol: f32,
        cap: u32,
        kappa: f32,
    ) -> Result<Option<(u32, f32)>, MatrixError> {
        let rows = self.checked_rows(z, x, rows, range)?;
        Ok(match self.storage {
            Storage::Dense { values } => Some(with_values!(values, |w, s| on_backend!(
                k,
                dense_rows_iterate(w, s, z, x, rows, Stop::new(tol, cap, kappa))
            ))),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => Some(with_values!(values, |w, s| with_indices!(
                col_idx,
                |idx| on_backend!(
                    k,
                    csr_rows_iterate(row_ptr, idx, w, s, z, x, rows, Stop::new(tol, cap, kappa))
                )
            ))),
            Storage::LowRank { .. } => None,
        })
    }

    /// Grouped Gauss-Seidel iteration of `x = relu(M x + z)` for one vector (square CSR `M`), in one call: sweeps
    /// over the rows `rows` (default `0..rows`) in consecutive groups of eight, every row of a group reading the
    /// values from before the group (Jacobi inside a group, Gauss-Seidel between groups), until the update
    /// `max_i |x_i,new - x_i,old|` of a sweep is at most `tol`, or has stalled within `2^-21 (1 - kappa)` of the
    /// swept rows' states (the stopping test of [`crate::SolveOptions::tolerance`]; `kappa` a bound on
    /// `||M||_inf`, 1 to use `tol` alone), or is not finite, at most `cap`
    /// sweeps. Returns
    /// the sweeps run and the last update; `None` for dense and low-rank storage (use [`MatRef::iterate_rows`]
    /// or whole products). With a row list only the listed rows are swept, and the update reported is theirs.
    ///
    /// For `||M||_inf <= kappa < 1` every such sweep contracts the error in the infinity norm by at least
    /// `kappa`, like a Picard step: each updated component is a `kappa`-contraction of values that are each old
    /// or already updated, so within the current error bound (the asynchronous and block iterations of max-norm
    /// contractions: Bertsekas & Tsitsiklis, *Parallel and Distributed Computation: Numerical Methods*, 1989,
    /// section 3.2 and chapter 6). Its point is speed: a group's eight rows are independent, so the kernels
    /// evaluate them together (on AVX2 with the eight-row product of `gemv_add`) and a sweep is a serial chain of
    /// `rows / 8` steps instead of `rows`.
    #[allow(clippy::too_many_arguments)]
    pub fn iterate_groups(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        rows: Option<&[u32]>,
        tol: f32,
        cap: u32,
        kappa: f32,
    ) -> Result<Option<(u32, f32)>, MatrixError> {
        check_len("square matrix columns", self.cols, self.rows)?;
        check_len("z", z.len(), self.rows)?;
        check_len("x", x.len(), self.rows)?;
        if let Some(&bad) = rows.and_then(|o| o.iter().find(|&&u| u as usize >= self.rows)) {
            return Err(MatrixError::RowOutOfRange {
                row: bad as usize,
                rows: self.rows,
            });
        }
        Ok(match self.storage {
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => Some(with_values!(values, |w, s| with_indices!(
                col_idx,
                |idx| on_backend!(
                    k,
                    csr_groups_iterate(row_ptr, idx, w, s, z, x, rows, Stop::new(tol, cap, kappa))
                )
            ))),
            Storage::Dense { .. } | Storage::LowRank { .. } => None,
        })
    }

    /// Solves rows whose inputs are final, for one vector (square dense or CSR `M`): for `i` in `rows[range]` in
    /// that order, `x_i <- g * max(0, z_i + sum_{j != i} M_ij x_j)` with `g` the matching entry of `gains`: with
    /// `g = 1` the evaluation of a row without a self-loop, with `g = 1 / (1 - M_ii)` the exact fixed point of
    /// `x_i = relu(M_ii x_i + r)` for `|M_ii| < 1` (`relu` is positively homogeneous). `None` for low-rank storage.
    ///
    /// Returns the residual `max_i |relu(z_i + M[i, :] x) - x_i|` over these rows, each row with its new value as
    /// it is set: a row that reads its own unit (or has a gain other than 1) is evaluated again; any other row
    /// would repeat the same operations on the same inputs, so its residual is exactly 0. It stays the residual of the final state
    /// as long as the caller changes none of the rows' inputs afterwards (a dependency order: each row's inputs
    /// final before it, as in the block-triangular solve).
    pub fn solve_rows(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        rows: &RowList,
        range: core::ops::Range<usize>,
        gains: &[f32],
    ) -> Result<Option<f32>, MatrixError> {
        let rows = self.checked_rows(z, x, rows, range)?;
        check_len("gains", gains.len(), rows.len())?;
        Ok(match self.storage {
            Storage::Dense { values } => Some(with_values!(values, |w, s| on_backend!(
                k,
                dense_rows_solve(w, s, z, x, rows, gains)
            ))),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => Some(with_values!(values, |w, s| with_indices!(
                col_idx,
                |idx| on_backend!(k, csr_rows_solve(row_ptr, idx, w, s, z, x, rows, gains))
            ))),
            Storage::LowRank { .. } => None,
        })
    }

    /// The shape checks of [`MatRef::sweep_rows`] and [`MatRef::solve_rows`]: O(1), the row list having been
    /// checked when it was built.
    fn checked_rows<'r>(
        &self,
        z: &[f32],
        x: &[f32],
        rows: &'r RowList,
        range: core::ops::Range<usize>,
    ) -> Result<&'r [u32], MatrixError> {
        check_len("square matrix columns", self.cols, self.rows)?;
        check_len("z", z.len(), self.rows)?;
        check_len("x", x.len(), self.rows)?;
        check_len("row list bound", rows.bound, self.rows)?;
        let found = rows.rows.len();
        rows.rows.get(range.clone()).ok_or(MatrixError::Length {
            what: "row list range",
            expected: range.end,
            found,
        })
    }

    /// Row `i` of `M` times `x` (the "gather dot" of a Gauss-Seidel sweep).
    pub fn row_dot(&self, k: Kernels, i: usize, x: &[f32]) -> Result<f32, MatrixError> {
        let mut out = [0.0];
        self.row_batch_add(k, i, x, 1, &mut out)?;
        Ok(out[0])
    }

    /// `out += M[i, :] X` for a batch `X` of `cols x batch` (a batched Gauss-Seidel step).
    pub fn row_batch_add(
        &self,
        k: Kernels,
        i: usize,
        x: &[f32],
        batch: usize,
        out: &mut [f32],
    ) -> Result<(), MatrixError> {
        if i >= self.rows {
            return Err(MatrixError::RowOutOfRange {
                row: i,
                rows: self.rows,
            });
        }
        check_len("input", x.len(), product("cols x batch", self.cols, batch)?)?;
        check_len("output", out.len(), batch)?;
        let vector = batch == 1;
        let cols = self.cols;
        match self.storage {
            Storage::Dense { values } => with_values!(values, |w, s| {
                let (w, s) = (&w[i * cols..(i + 1) * cols], super::row_scale(s, i));
                if vector {
                    out[0] += s * on_backend!(k, dot(w, x));
                } else {
                    on_backend!(k, dense_batch_add(w, s, x, batch, out));
                }
            }),
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } => {
                let (a, b) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
                with_values!(values, |w, s| with_indices!(col_idx, |idx| {
                    let (w, idx, s) = (&w[a..b], &idx[a..b], super::row_scale(s, i));
                    if vector {
                        out[0] += s * on_backend!(k, gather_dot::<_, _, false>(w, idx, x));
                    } else {
                        on_backend!(k, gather_batch_add(w, idx, s, x, batch, out));
                    }
                }))
            }
            Storage::LowRank { rank, u, v } => with_values!(v, |w, s| {
                // M[i, :] X = sum_r U[i, r] (V[r, :] X): `rank` dense rows of V.
                for r in 0..rank {
                    let scale = u.get(i * rank + r, i) * super::row_scale(s, r);
                    let vr = &w[r * cols..(r + 1) * cols];
                    if vector {
                        out[0] += scale * on_backend!(k, dot(vr, x));
                    } else {
                        on_backend!(k, dense_batch_add(vr, scale, x, batch, out));
                    }
                }
            }),
        }
        Ok(())
    }
}

impl<'a> TryFrom<&wolfpack_format::MatrixView<'a>> for MatRef<'a> {
    type Error = MatrixError;

    /// Re-checks the structure the kernels rely on (the format's parser has checked it too, but its views are
    /// plain public structs that anyone can build).
    fn try_from(m: &wolfpack_format::MatrixView<'a>) -> Result<MatRef<'a>, MatrixError> {
        use wolfpack_format::MatrixView as V;
        match *m {
            V::Dense(d) => MatRef::dense(d.rows, d.cols, d.values),
            V::Csr(c) => MatRef::csr(c.rows, c.cols, c.row_ptr, c.col_idx, c.values),
            V::LowRank(l) => MatRef::low_rank(l.rows, l.cols, l.rank, l.u, l.v),
        }
    }
}
