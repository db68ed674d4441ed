//! Matrix records: the three storages (dense, CSR, low-rank), their byte layout, and their validating parser.

use crate::layout::{align_up, all_zero, MATRIX_HEADER_LEN, MAX_DIM};
use crate::values::{Indices, ValueType, Values};
use crate::{FormatError, Role};

/// How a matrix is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Storage {
    /// Row-major, every entry stored.
    Dense,
    /// Compressed sparse rows.
    Csr,
    /// M = U V with U: rows x rank and V: rank x cols.
    LowRank,
}

impl Storage {
    pub(crate) const fn code(self) -> u8 {
        match self {
            Storage::Dense => 0,
            Storage::Csr => 1,
            Storage::LowRank => 2,
        }
    }

    const fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Storage::Dense),
            1 => Some(Storage::Csr),
            2 => Some(Storage::LowRank),
            _ => None,
        }
    }

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Storage::Dense => "dense",
            Storage::Csr => "csr",
            Storage::LowRank => "low-rank",
        }
    }
}

/// A dense row-major matrix; i8 scales are per row.
#[derive(Debug, Clone, Copy)]
pub struct DenseView<'a> {
    /// Row count.
    pub rows: usize,
    /// Column count.
    pub cols: usize,
    /// `rows * cols` values, row-major.
    pub values: Values<'a>,
}

/// A CSR matrix: row `i` holds `col_idx[row_ptr[i]..row_ptr[i+1]]` (strictly increasing) with the matching values.
/// i8 scales are per row.
#[derive(Debug, Clone, Copy)]
pub struct CsrView<'a> {
    /// Row count.
    pub rows: usize,
    /// Column count.
    pub cols: usize,
    /// `rows + 1` offsets, non-decreasing, from 0 to nnz.
    pub row_ptr: &'a [u32],
    /// Column of each stored value.
    pub col_idx: Indices<'a>,
    /// Stored values.
    pub values: Values<'a>,
}

/// A low-rank matrix M = U V. For i8, U has one scale per row of U and V one per row of V.
#[derive(Debug, Clone, Copy)]
pub struct LowRankView<'a> {
    /// Row count of M (and of U).
    pub rows: usize,
    /// Column count of M (and of V).
    pub cols: usize,
    /// Inner dimension.
    pub rank: usize,
    /// U, rows x rank, row-major.
    pub u: Values<'a>,
    /// V, rank x cols, row-major.
    pub v: Values<'a>,
}

/// One stored matrix, viewed in place.
#[derive(Debug, Clone, Copy)]
pub enum MatrixView<'a> {
    /// Dense storage.
    Dense(DenseView<'a>),
    /// CSR storage.
    Csr(CsrView<'a>),
    /// Low-rank storage.
    LowRank(LowRankView<'a>),
}

impl<'a> MatrixView<'a> {
    /// Row count.
    pub fn rows(&self) -> usize {
        match self {
            MatrixView::Dense(m) => m.rows,
            MatrixView::Csr(m) => m.rows,
            MatrixView::LowRank(m) => m.rows,
        }
    }

    /// Column count.
    pub fn cols(&self) -> usize {
        match self {
            MatrixView::Dense(m) => m.cols,
            MatrixView::Csr(m) => m.cols,
            MatrixView::LowRank(m) => m.cols,
        }
    }

    /// The storage kind.
    pub fn storage(&self) -> Storage {
        match self {
            MatrixView::Dense(_) => Storage::Dense,
            MatrixView::Csr(_) => Storage::Csr,
            MatrixView::LowRank(_) => Storage::LowRank,
        }
    }

    /// The value type.
    pub fn value_type(&self) -> ValueType {
        match self {
            MatrixView::Dense(m) => m.values.value_type(),
            MatrixView::Csr(m) => m.values.value_type(),
            MatrixView::LowRank(m) => m.u.value_type(),
        }
    }

    /// Stored weight count: CSR nnz, dense rows * cols, low-rank rank * (rows + cols).
    pub fn stored_weights(&self) -> usize {
        match self {
            MatrixView::Dense(m) => m.rows * m.cols,
            MatrixView::Csr(m) => m.values.len(),
            MatrixView::LowRank(m) => m.rank * (m.rows + m.cols),
        }
    }

    /// Bytes of weights, indices, row pointers and scales: what a product with this matrix streams from memory.
    pub fn stored_bytes(&self) -> u64 {
        let vals = |v: &Values| {
            let s = match v {
                Values::I8 { scales, .. } => 4 * scales.len() as u64,
                _ => 0,
            };
            v.len() as u64 * v.value_type().size() + s
        };
        match self {
            MatrixView::Dense(m) => vals(&m.values),
            MatrixView::Csr(m) => {
                vals(&m.values)
                    + m.col_idx.len() as u64 * m.col_idx.width()
                    + 4 * m.row_ptr.len() as u64
            }
            MatrixView::LowRank(m) => vals(&m.u) + vals(&m.v),
        }
    }

    /// Dequantised dense copy, row-major `rows * cols` (allocates; for inspection and export, not inference).
    pub fn to_dense(&self) -> Vec<f32> {
        let (rows, cols) = (self.rows(), self.cols());
        let mut out = vec![0.0f32; rows * cols];
        match self {
            MatrixView::Dense(m) => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = m.values.get(k, k / cols.max(1));
                }
            }
            MatrixView::Csr(m) => {
                for i in 0..rows {
                    for k in m.row_ptr[i] as usize..m.row_ptr[i + 1] as usize {
                        out[i * cols + m.col_idx.get(k)] = m.values.get(k, i);
                    }
                }
            }
            MatrixView::LowRank(m) => {
                for i in 0..rows {
                    for r in 0..m.rank {
                        let uir = m.u.get(i * m.rank + r, i);
                        for j in 0..cols {
                            out[i * cols + j] += uir * m.v.get(r * cols + j, r);
                        }
                    }
                }
            }
        }
        out
    }

    /// Calls `f(i, j, value)` for every stored entry of a dense or CSR matrix (zeros of dense storage included).
    /// Low-rank matrices have no entry-wise storage: returns false without calling `f`.
    pub fn for_each_stored(&self, mut f: impl FnMut(usize, usize, f32)) -> bool {
        match self {
            MatrixView::Dense(m) => {
                for i in 0..m.rows {
                    for j in 0..m.cols {
                        f(i, j, m.values.get(i * m.cols + j, i));
                    }
                }
                true
            }
            MatrixView::Csr(m) => {
                for i in 0..m.rows {
                    for k in m.row_ptr[i] as usize..m.row_ptr[i + 1] as usize {
                        f(i, m.col_idx.get(k), m.values.get(k, i));
                    }
                }
                true
            }
            MatrixView::LowRank(_) => false,
        }
    }
}

/// Byte placement of the arrays of a matrix record, shared by the writer and the reader so they cannot disagree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordLayout {
    /// (offset, length) of each array, relative to the section start.
    pub spans: [(u64, u64); 5],
    /// Number of arrays used.
    pub count: usize,
    /// Section length: end of the last array.
    pub end: u64,
}

/// Dimensions and encodings that determine a record's layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordShape {
    pub storage: Storage,
    pub dtype: ValueType,
    /// Bytes per column index (CSR only; 0 otherwise).
    pub index_width: u64,
    pub rows: u64,
    pub cols: u64,
    /// nnz for CSR, rank for low-rank, 0 for dense.
    pub count: u64,
}

impl RecordShape {
    /// Lays the arrays out in the order of `docs/FORMAT.md`; `None` on arithmetic overflow.
    pub fn layout(&self) -> Option<RecordLayout> {
        let v = self.dtype.size();
        let i8 = self.dtype == ValueType::I8;
        let mut lens = [0u64; 5];
        let mut count = 0;
        let mut push = |len: Option<u64>| -> Option<()> {
            lens[count] = len?;
            count += 1;
            Some(())
        };
        match self.storage {
            Storage::Dense => {
                push(self.rows.checked_mul(self.cols)?.checked_mul(v))?;
                if i8 {
                    push(self.rows.checked_mul(4))?;
                }
            }
            Storage::Csr => {
                push(self.rows.checked_add(1)?.checked_mul(4))?;
                push(self.count.checked_mul(self.index_width))?;
                push(self.count.checked_mul(v))?;
                if i8 {
                    push(self.rows.checked_mul(4))?;
                }
            }
            Storage::LowRank => {
                push(self.rows.checked_mul(self.count)?.checked_mul(v))?;
                push(self.count.checked_mul(self.cols)?.checked_mul(v))?;
                if i8 {
                    push(self.rows.checked_mul(4))?;
                    push(self.count.checked_mul(4))?;
                }
            }
        }
        let mut spans = [(0u64, 0u64); 5];
        let mut at = MATRIX_HEADER_LEN;
        for k in 0..count {
            at = align_up(at);
            spans[k] = (at, lens[k]);
            at = at.checked_add(lens[k])?;
        }
        Some(RecordLayout {
            spans,
            count,
            end: at,
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn cast<T: bytemuck::AnyBitPattern>(bytes: &[u8]) -> Result<&[T], FormatError> {
    bytemuck::try_cast_slice(bytes).map_err(|_| FormatError::Misaligned)
}

fn values<'a>(
    dtype: ValueType,
    bytes: &'a [u8],
    scales: Option<&'a [u8]>,
) -> Result<Values<'a>, FormatError> {
    Ok(match dtype {
        ValueType::F32 => Values::F32(cast(bytes)?),
        ValueType::F16 => Values::F16(cast(bytes)?),
        ValueType::Bf16 => Values::Bf16(cast(bytes)?),
        ValueType::I8 => Values::I8 {
            q: cast(bytes)?,
            scales: cast(scales.unwrap_or(&[]))?,
        },
    })
}

/// Parses and fully validates the matrix record `sec` for `role`, which must be `rows x cols`.
pub(crate) fn parse_matrix(
    role: Role,
    sec: &[u8],
    rows: usize,
    cols: usize,
) -> Result<MatrixView<'_>, FormatError> {
    let bad = |problem: String| FormatError::Matrix { role, problem };
    if (sec.len() as u64) < MATRIX_HEADER_LEN {
        return Err(bad(format!(
            "record is {} bytes, shorter than its {MATRIX_HEADER_LEN}-byte header",
            sec.len()
        )));
    }
    let storage = Storage::from_code(sec[0])
        .ok_or_else(|| bad(format!("unknown storage code {}", sec[0])))?;
    let dtype = ValueType::from_code(sec[1])
        .ok_or_else(|| bad(format!("unknown value type code {}", sec[1])))?;
    let index_width = match (storage, sec[2]) {
        (Storage::Csr, 1) => 2,
        (Storage::Csr, 2) => 4,
        (Storage::Csr, c) => return Err(bad(format!("unknown column index code {c}"))),
        (_, 0) => 0,
        (_, c) => {
            return Err(bad(format!(
                "index code {c} given for {} storage (must be 0)",
                storage.name()
            )))
        }
    };
    if sec[3] != 0 || !all_zero(&sec[16..64]) {
        return Err(bad("reserved header bytes are not zero".into()));
    }
    let (r, c, count) = (u32_at(sec, 4), u32_at(sec, 8), u32_at(sec, 12));
    if r as usize != rows || c as usize != cols {
        return Err(bad(format!(
            "stored as {r} x {c}, the metadata requires {rows} x {cols}"
        )));
    }
    if index_width == 2 && cols > 65_536 {
        return Err(bad(format!(
            "u16 column indices cannot address {cols} columns"
        )));
    }
    match storage {
        Storage::Dense if count != 0 => {
            return Err(bad(format!("dense record has count {count}, must be 0")))
        }
        Storage::LowRank if count == 0 || count > MAX_DIM => {
            return Err(bad(format!("rank {count} is outside 1..={MAX_DIM}")))
        }
        _ => {}
    }
    let shape = RecordShape {
        storage,
        dtype,
        index_width,
        rows: r.into(),
        cols: c.into(),
        count: count.into(),
    };
    let layout = shape
        .layout()
        .ok_or_else(|| bad("array sizes overflow".into()))?;
    if layout.end != sec.len() as u64 {
        return Err(bad(format!(
            "record is {} bytes, its arrays need exactly {}",
            sec.len(),
            layout.end
        )));
    }
    let mut gap = MATRIX_HEADER_LEN;
    for &(off, len) in &layout.spans[..layout.count] {
        if !all_zero(&sec[gap as usize..off as usize]) {
            return Err(bad("padding between arrays is not zero".into()));
        }
        gap = off + len;
    }
    let arr = |k: usize| {
        let (off, len) = layout.spans[k];
        &sec[off as usize..(off + len) as usize]
    };
    let is_i8 = dtype == ValueType::I8;
    let view = match storage {
        Storage::Dense => MatrixView::Dense(DenseView {
            rows,
            cols,
            values: values(dtype, arr(0), is_i8.then(|| arr(1)))?,
        }),
        Storage::Csr => {
            let row_ptr: &[u32] = cast(arr(0))?;
            let col_idx = if index_width == 2 {
                Indices::U16(cast(arr(1))?)
            } else {
                Indices::U32(cast(arr(1))?)
            };
            check_csr_structure(row_ptr, &col_idx, cols).map_err(bad)?;
            MatrixView::Csr(CsrView {
                rows,
                cols,
                row_ptr,
                col_idx,
                values: values(dtype, arr(2), is_i8.then(|| arr(3)))?,
            })
        }
        Storage::LowRank => MatrixView::LowRank(LowRankView {
            rows,
            cols,
            rank: count as usize,
            u: values(dtype, arr(0), is_i8.then(|| arr(2)))?,
            v: values(dtype, arr(1), is_i8.then(|| arr(3)))?,
        }),
    };
    let finite = |v: &Values, what: &str| match v.first_non_finite() {
        Some((index, value)) => Err(FormatError::NotFinite {
            what: format!("matrix {role} {what}"),
            index,
            value,
        }),
        None => Ok(()),
    };
    match &view {
        MatrixView::Dense(m) => finite(&m.values, "values")?,
        MatrixView::Csr(m) => finite(&m.values, "values")?,
        MatrixView::LowRank(m) => {
            finite(&m.u, "factor U")?;
            finite(&m.v, "factor V")?;
        }
    }
    Ok(view)
}

/// Within one CSR row: the first position whose index is out of range or not above its predecessor, with the index.
/// Strictly increasing indices need only the last one checked against `cols`; the common all-valid row costs one
/// branch-free pass.
fn first_bad_index<T: Copy + Into<u64>>(row: &[T], cols: usize) -> Option<(usize, usize)> {
    let increasing = row
        .windows(2)
        .fold(true, |ok, w| ok & (w[0].into() < w[1].into()));
    let in_range = row.last().is_none_or(|&j| j.into() < cols as u64);
    if increasing && in_range {
        return None;
    }
    let mut prev: Option<u64> = None;
    for (k, &j) in row.iter().enumerate() {
        let j = j.into();
        if j >= cols as u64 || prev.is_some_and(|p| j <= p) {
            return Some((k, usize::try_from(j).unwrap_or(usize::MAX)));
        }
        prev = Some(j);
    }
    None
}

/// Whether a CSR structure is valid: row pointers from 0 to nnz that never decrease, and column indices below
/// `cols` that strictly increase within each row.
///
/// The indices are read in one branch-free pass over the whole array, not row by row (rows of a sparse model hold a
/// few dozen entries, and a loop per row paid its setup and tail on each): a *descent* is a position `k` with
/// `idx[k] <= idx[k - 1]`, which is allowed only where a row starts. Each row start `b` with `0 < b < nnz` is
/// the end of exactly one non-empty row (the pointers never decrease), so the indices increase within every row
/// exactly when the descents of the whole array are the descents at the ends of non-empty rows; and indices that
/// increase within their rows are all below `cols` exactly when the largest of the whole array is. The same pass
/// finds that largest index, so the loop over rows only tests the one descent at each row's end.
fn csr_is_valid<T: RowEnds + Into<u64> + Default>(row_ptr: &[u32], idx: &[T], cols: usize) -> bool {
    let nnz = idx.len();
    if row_ptr.first() != Some(&0) || row_ptr.last().map(|&e| e as usize) != Some(nnz) {
        return false;
    }
    // From 0 to nnz without decreasing: every pointer is within 0..=nnz.
    let pointers_ok = row_ptr[..row_ptr.len() - 1]
        .iter()
        .zip(&row_ptr[1..])
        .fold(true, |ok, (s, e)| ok & (s <= e));
    if !pointers_ok {
        return false;
    }
    if nnz == 0 {
        return true;
    }
    let (descents, largest) = descents_and_largest(idx);
    if largest.into() >= cols as u64 {
        return false;
    }
    descents == descents_at_row_ends(row_ptr, idx)
}

/// How many rows end with a descent: `idx[e] <= idx[e - 1]` for a non-empty row ending at `e < nnz` (pointers
/// checked to rise from 0 to `nnz = idx.len() > 0`).
fn descents_at_row_ends<T: RowEnds>(row_ptr: &[u32], idx: &[T]) -> usize {
    T::descents_at_row_ends(row_ptr, idx)
}

/// Index types with their count of [`descents_at_row_ends`]: 16-bit indices have an AVX-512 gather of each row
/// end's pair `(idx[e - 1], idx[e])` as one 32-bit word; both have the AVX2 build of the portable loop.
trait RowEnds: Copy + Ord {
    fn descents_at_row_ends(row_ptr: &[u32], idx: &[Self]) -> usize;
}

impl RowEnds for u32 {
    fn descents_at_row_ends(row_ptr: &[u32], idx: &[u32]) -> usize {
        descents_at_row_ends_dispatched(row_ptr, idx)
    }
}

impl RowEnds for u16 {
    fn descents_at_row_ends(row_ptr: &[u32], idx: &[u16]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") && i32::try_from(idx.len()).is_ok() {
            // SAFETY: the CPU has AVX-512F (just detected) and nnz fits the gather's signed 32-bit offsets; the
            // other requirements (pointers from 0 to nnz without decreasing) are those of the function.
            return unsafe { descents_at_row_ends_u16_avx512(row_ptr, idx) };
        }
        descents_at_row_ends_dispatched(row_ptr, idx)
    }
}

/// [`descents_at_row_ends`] for 16-bit indices, 16 rows at a time: a row ending at `e` with `s < e < nnz` reads the
/// 32-bit word at byte `2 (e - 1)` of the indices, whose low half is `idx[e - 1]` and high half `idx[e]` (little
/// endian), in one masked gather; the other rows are masked out and read nothing. The last `rows % 16` rows go
/// through the portable loop. A valid m10000 has 522 row ends in A, B and C, ~1.7 ns each through the scalar loop.
///
/// # Safety
/// The CPU must support AVX-512F; `row_ptr` must be non-empty, start at 0, never decrease and end at
/// `nnz = idx.len()`, with `0 < nnz <= i32::MAX`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn descents_at_row_ends_u16_avx512(row_ptr: &[u32], idx: &[u16]) -> usize {
    use core::arch::x86_64::*;
    let rows = row_ptr.len() - 1;
    let full = rows - rows % 16;
    let nnz = _mm512_set1_epi32(idx.len() as i32);
    let (one, low) = (_mm512_set1_epi32(1), _mm512_set1_epi32(0xffff));
    let mut count = 0;
    for i in (0..full).step_by(16) {
        // SAFETY: rows i..i + 16 and their ends i + 1..i + 17 are within `row_ptr` (i + 16 <= full <= rows);
        // unaligned loads. A lane is gathered only where s < e < nnz, so e >= 1 and the word at byte 2 (e - 1)
        // ends at byte 2 e + 2 <= 2 nnz, inside the indices; the offset e - 1 < nnz <= i32::MAX is a valid
        // signed index, scaled by 2.
        let pairs = unsafe {
            let s = _mm512_loadu_si512(row_ptr.as_ptr().add(i).cast());
            let e = _mm512_loadu_si512(row_ptr.as_ptr().add(i + 1).cast());
            let inner = _mm512_cmplt_epu32_mask(s, e) & _mm512_cmplt_epu32_mask(e, nnz);
            let at = _mm512_sub_epi32(e, one);
            let pairs = _mm512_mask_i32gather_epi32::<2>(
                _mm512_setzero_si512(),
                inner,
                at,
                idx.as_ptr().cast(),
            );
            (inner, pairs)
        };
        let (inner, pairs) = pairs;
        let (before, at) = (_mm512_and_si512(pairs, low), _mm512_srli_epi32::<16>(pairs));
        count += _mm512_mask_cmple_epu32_mask(inner, at, before).count_ones() as usize;
    }
    count + descents_at_row_ends_portable(&row_ptr[full..], idx)
}

/// [`descents_at_row_ends_portable`], compiled for AVX2 when the CPU has it.
fn descents_at_row_ends_dispatched<T: Copy + Ord>(row_ptr: &[u32], idx: &[T]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (just detected), the only requirement of the `target_feature` function.
        return unsafe { descents_at_row_ends_avx2(row_ptr, idx) };
    }
    descents_at_row_ends_portable(row_ptr, idx)
}

/// [`descents_at_row_ends_portable`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn descents_at_row_ends_avx2<T: Copy + Ord>(row_ptr: &[u32], idx: &[T]) -> usize {
    descents_at_row_ends_portable(row_ptr, idx)
}

/// The loop of [`descents_at_row_ends`] in plain Rust, branch-free per row (sparse rows are empty or not at
/// random, which a branch would mispredict): a row that is empty or ends the array tests position 0 against
/// itself, masked out.
#[inline(always)]
fn descents_at_row_ends_portable<T: Copy + Ord>(row_ptr: &[u32], idx: &[T]) -> usize {
    let nnz = idx.len();
    row_ptr[..row_ptr.len() - 1]
        .iter()
        .zip(&row_ptr[1..])
        .map(|(&s, &e)| {
            let inner = (s < e) & ((e as usize) < nnz);
            let k = if inner { e as usize } else { 0 };
            usize::from(inner & (idx[k] <= idx[k.saturating_sub(1)]))
        })
        .sum()
}

/// The descents (`idx[k] <= idx[k - 1]`) of a non-empty index array and its largest index, with AVX-512BW or AVX2
/// when the CPU has them (32 or 16 lanes of u16 instead of SSE2's 8: the format crate is built for the x86-64
/// baseline).
fn descents_and_largest<T: Copy + Ord + Default>(idx: &[T]) -> (usize, T) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512F and BW (BW implies F), the only requirement of the function.
        return unsafe { descents_and_largest_avx512(idx) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (just detected), the only requirement of the `target_feature` function.
        return unsafe { descents_and_largest_avx2(idx) };
    }
    descents_and_largest_portable(idx)
}

/// [`descents_and_largest_portable`] compiled for AVX-512BW (32 lanes of u16).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn descents_and_largest_avx512<T: Copy + Ord + Default>(idx: &[T]) -> (usize, T) {
    descents_and_largest_portable(idx)
}

/// [`descents_and_largest_portable`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn descents_and_largest_avx2<T: Copy + Ord + Default>(idx: &[T]) -> (usize, T) {
    descents_and_largest_portable(idx)
}

/// The pass of [`descents_and_largest`] in plain Rust that vectorises: descents counted in 16-bit lanes, chunk by
/// chunk (a chunk of 65,535 pairs cannot overflow them), with the running maximum of the same elements.
#[inline(always)]
fn descents_and_largest_portable<T: Copy + Ord + Default>(idx: &[T]) -> (usize, T) {
    let pairs = idx.len().saturating_sub(1);
    let (descents, largest) = idx[..pairs]
        .chunks(u16::MAX as usize)
        .zip(idx[1.min(idx.len())..].chunks(u16::MAX as usize))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .fold((0u16, T::default()), |(n, m), (x, y)| {
                    (n + u16::from(y <= x), m.max(*y))
                })
        })
        .fold((0usize, idx[0]), |(n, m), (c, l)| {
            (n + usize::from(c), m.max(l))
        });
    (descents, largest)
}

/// Row pointers start at 0, never decrease and end at nnz; columns within a row strictly increase and stay `< cols`.
/// A valid structure costs the vectorised passes of [`csr_is_valid`]; an invalid one is walked row by row to name
/// the first problem.
fn check_csr_structure(row_ptr: &[u32], col_idx: &Indices, cols: usize) -> Result<(), String> {
    let valid = match col_idx {
        Indices::U16(v) => csr_is_valid(row_ptr, v, cols),
        Indices::U32(v) => csr_is_valid(row_ptr, v, cols),
    };
    if valid {
        return Ok(());
    }
    first_csr_problem(row_ptr, col_idx, cols)
}

/// The first problem of a CSR structure, walking it row by row (`Ok` when there is none).
fn first_csr_problem(row_ptr: &[u32], col_idx: &Indices, cols: usize) -> Result<(), String> {
    let nnz = col_idx.len();
    if row_ptr[0] != 0 {
        return Err(format!("row_ptr[0] = {}, must be 0", row_ptr[0]));
    }
    let last = row_ptr[row_ptr.len() - 1] as usize;
    if last != nnz {
        return Err(format!(
            "row_ptr ends at {last} but {nnz} values are stored"
        ));
    }
    for i in 0..row_ptr.len() - 1 {
        let (s, e) = (row_ptr[i] as usize, row_ptr[i + 1] as usize);
        if e < s {
            return Err(format!("row_ptr decreases at row {i} ({s} -> {e})"));
        }
        if e > nnz {
            return Err(format!("row_ptr[{}] = {e} exceeds nnz = {nnz}", i + 1));
        }
        let bad = match col_idx {
            Indices::U16(v) => first_bad_index(&v[s..e], cols),
            Indices::U32(v) => first_bad_index(&v[s..e], cols),
        };
        if let Some((k, j)) = bad {
            let k = s + k;
            return Err(if j >= cols {
                format!("row {i}: column index {j} is out of range (cols = {cols})")
            } else {
                format!("row {i}: column indices not strictly increasing at position {k}")
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Row pointers and indices that are often valid and often broken in one place: rows of random lengths (some
    /// empty), increasing columns, then maybe one pointer or one index changed.
    fn structure() -> impl Strategy<Value = (Vec<u32>, Vec<u32>, usize)> {
        (
            proptest::collection::vec((0usize..6, any::<u64>()), 0..12),
            1usize..40,
            0u32..4,
            any::<u64>(),
        )
            .prop_map(|(rows, cols, damage, seed)| {
                let (mut ptr, mut idx) = (vec![0u32], Vec::new());
                for (len, bits) in rows {
                    let mut row: Vec<u32> = (0..cols as u32)
                        .filter(|&j| bits >> (j % 64) & 1 == 1)
                        .take(len)
                        .collect();
                    row.sort_unstable();
                    idx.extend(row);
                    ptr.push(idx.len() as u32);
                }
                let pick = |n: usize| (seed >> 8) as usize % n.max(1);
                match damage {
                    1 if !idx.is_empty() => {
                        let k = pick(idx.len());
                        idx[k] = (seed % (cols as u64 + 2)) as u32;
                    }
                    2 => {
                        let k = pick(ptr.len());
                        ptr[k] = (seed % (idx.len() as u64 + 2)) as u32;
                    }
                    3 if idx.len() > 1 => {
                        let k = pick(idx.len() - 1);
                        idx.swap(k, k + 1);
                    }
                    _ => {}
                }
                (ptr, idx, cols)
            })
    }

    proptest! {
        /// The vectorised check accepts exactly the structures the row-by-row walk finds no problem in, for both
        /// index widths.
        #[test]
        fn whole_array_check_matches_the_row_walk((ptr, idx, cols) in structure()) {
            let walk = first_csr_problem(&ptr, &Indices::U32(&idx), cols);
            prop_assert_eq!(csr_is_valid(&ptr, &idx, cols), walk.is_ok(), "{:?}", walk);
            let idx16: Vec<u16> = idx.iter().map(|&j| j as u16).collect();
            let walk16 = first_csr_problem(&ptr, &Indices::U16(&idx16), cols);
            prop_assert_eq!(csr_is_valid(&ptr, &idx16, cols), walk16.is_ok(), "{:?}", walk16);
            prop_assert_eq!(check_csr_structure(&ptr, &Indices::U32(&idx), cols), walk);
        }
    }

    /// The AVX2 builds of the two passes (the dispatching functions, on a CPU that has AVX2) equal the portable
    /// ones around their vector widths and the 65,535-pair chunks, at both index widths.
    #[test]
    fn dispatched_passes_equal_the_portable_ones() {
        let mut bits = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            bits
        };
        for len in [
            1usize, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 65_535, 65_536, 65_537, 140_001,
        ] {
            // Mostly rising runs, so that descents are rare as in real rows, with the largest value anywhere.
            let idx32: Vec<u32> = (0..len)
                .map(|k| (k as u32 % 97).wrapping_mul(3) ^ (next() % 5 == 0) as u32)
                .collect();
            let idx16: Vec<u16> = idx32
                .iter()
                .map(|&j| (j ^ (next() as u32 & 0x8000)) as u16)
                .collect();
            assert_eq!(
                descents_and_largest(&idx32),
                descents_and_largest_portable(&idx32),
                "{len}"
            );
            assert_eq!(
                descents_and_largest(&idx16),
                descents_and_largest_portable(&idx16),
                "{len}"
            );
            let mut ptr = vec![0u32];
            while (*ptr.last().unwrap() as usize) < len {
                let step = (next() % 9) as u32;
                ptr.push((ptr.last().unwrap() + step).min(len as u32));
            }
            assert_eq!(
                descents_at_row_ends(&ptr, &idx32),
                descents_at_row_ends_portable(&ptr, &idx32),
                "{len}"
            );
            assert_eq!(
                descents_at_row_ends(&ptr, &idx16),
                descents_at_row_ends_portable(&ptr, &idx16),
                "{len}"
            );
            // Few distinct values: equal pairs (a descent), rises and falls at row ends, at both halves of the
            // 16-bit range (the gathered word's halves), and empty rows at every lane.
            let few: Vec<u16> = (0..len)
                .map(|_| [0, 1, 2, 0x7fff, 0x8000, 0xffff][(next() % 6) as usize])
                .collect();
            assert_eq!(
                descents_at_row_ends(&ptr, &few),
                descents_at_row_ends_portable(&ptr, &few),
                "{len}"
            );
        }
    }

    #[test]
    fn descents_are_allowed_only_at_row_starts() {
        // Rows [0, 2] [1] [] [0]: three row starts, two of them descents.
        let ptr = [0, 2, 3, 3, 4];
        assert!(csr_is_valid(&ptr, &[0u16, 2, 1, 0], 3));
        // The same indices in one row of four, and two rows with a repeated column.
        assert!(!csr_is_valid(&[0, 4], &[0u16, 2, 1, 0], 3));
        assert!(!csr_is_valid(&[0, 2, 3], &[1u16, 1, 0], 3));
        // Out of range only in the last row; an empty matrix; pointers that end short of nnz.
        assert!(!csr_is_valid(&ptr, &[0u16, 2, 1, 3], 3));
        assert!(csr_is_valid::<u16>(&[0, 0, 0], &[], 1));
        assert!(!csr_is_valid(&[0, 1], &[0u16, 1], 3));
    }
}
