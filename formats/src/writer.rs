//! The writer: owned matrices, quantisation to the stored value type, and the byte encoding of `docs/FORMAT.md`.

use std::path::Path;

use half::{bf16, f16};

use crate::layout::{self, align_up, kind, ENTRY_LEN, HEADER_LEN, MATRIX_HEADER_LEN};
use crate::matrix::{RecordShape, Storage};
use crate::reader::header_crc;
use crate::values::ValueType;
use crate::{AlignedBytes, FormatError, Metadata, ModelView, Role};

/// An owned matrix in f32, before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Matrix {
    /// Row-major `rows * cols` values.
    Dense {
        rows: usize,
        cols: usize,
        values: Vec<f32>,
    },
    /// Compressed sparse rows; column indices strictly increasing within each row.
    Csr {
        rows: usize,
        cols: usize,
        row_ptr: Vec<u32>,
        col_idx: Vec<u32>,
        values: Vec<f32>,
    },
    /// M = U V, U row-major `rows x rank`, V row-major `rank x cols`.
    LowRank {
        rows: usize,
        cols: usize,
        rank: usize,
        u: Vec<f32>,
        v: Vec<f32>,
    },
}

impl Matrix {
    /// CSR holding the nonzero entries of a dense row-major matrix.
    pub fn csr_from_dense(rows: usize, cols: usize, dense: &[f32]) -> Matrix {
        assert_eq!(
            dense.len(),
            rows * cols,
            "dense matrix must have rows * cols entries"
        );
        let mut row_ptr = Vec::with_capacity(rows + 1);
        let (mut col_idx, mut values) = (Vec::new(), Vec::new());
        row_ptr.push(0);
        for row in dense.chunks(cols.max(1)).take(rows) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    col_idx.push(j as u32);
                    values.push(v);
                }
            }
            row_ptr.push(values.len() as u32);
        }
        Matrix::Csr {
            rows,
            cols,
            row_ptr,
            col_idx,
            values,
        }
    }

    /// (rows, cols).
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Matrix::Dense { rows, cols, .. }
            | Matrix::Csr { rows, cols, .. }
            | Matrix::LowRank { rows, cols, .. } => (*rows, *cols),
        }
    }

    fn storage(&self) -> Storage {
        match self {
            Matrix::Dense { .. } => Storage::Dense,
            Matrix::Csr { .. } => Storage::Csr,
            Matrix::LowRank { .. } => Storage::LowRank,
        }
    }
}

/// A matrix together with the value type it is stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMatrix {
    /// The matrix, in f32.
    pub matrix: Matrix,
    /// How its values are stored (quantised on write).
    pub dtype: ValueType,
}

impl StoredMatrix {
    /// Pairs a matrix with a value type.
    pub fn new(matrix: Matrix, dtype: ValueType) -> Self {
        StoredMatrix { matrix, dtype }
    }
}

/// An owned model, ready to encode. Empty bias vectors and `None` matrices are stored as absent (zero).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// Metadata (its dims must match the matrices).
    pub meta: Metadata,
    /// A (n x n).
    pub a: Option<StoredMatrix>,
    /// B (n x p).
    pub b: Option<StoredMatrix>,
    /// C (q x n).
    pub c: Option<StoredMatrix>,
    /// D (q x p).
    pub d: Option<StoredMatrix>,
    /// b (n values) or empty.
    pub bias_x: Vec<f32>,
    /// c (q values) or empty.
    pub bias_y: Vec<f32>,
    /// Evaluation order of the hidden units, if not the identity.
    pub order: Option<Vec<u32>>,
}

impl ModelFile {
    /// A model with all matrices and biases absent (zero).
    pub fn new(meta: Metadata) -> Self {
        ModelFile {
            meta,
            a: None,
            b: None,
            c: None,
            d: None,
            bias_x: Vec::new(),
            bias_y: Vec::new(),
            order: None,
        }
    }

    /// Encodes the model. The result is parsed back before it is returned, so the writer can never emit a file
    /// that the reader rejects (e.g. a quantised A whose rows no longer satisfy kappa < 1).
    pub fn to_bytes(&self) -> Result<AlignedBytes, FormatError> {
        self.meta.validate()?;
        let mut sections: Vec<(u32, u32, Vec<u8>)> = vec![(kind::METADATA, 0, self.meta.to_json())];
        let (n, p, q) = (
            self.meta.dims.hidden as usize,
            self.meta.dims.inputs as usize,
            self.meta.dims.outputs as usize,
        );
        for role in Role::ALL {
            let m = match role {
                Role::A => &self.a,
                Role::B => &self.b,
                Role::C => &self.c,
                Role::D => &self.d,
            };
            if let Some(m) = m {
                let want = role.shape(n, p, q);
                if m.matrix.shape() != want {
                    return Err(FormatError::Matrix {
                        role,
                        problem: format!(
                            "is {:?}, the metadata requires {:?}",
                            m.matrix.shape(),
                            want
                        ),
                    });
                }
                sections.push((kind::MATRIX, role.code(), encode_matrix(role, m)?));
            }
        }
        for (role, v) in [(0, &self.bias_x), (1, &self.bias_y)] {
            if !v.is_empty() {
                sections.push((kind::VECTOR, role, bytemuck::cast_slice(v).to_vec()));
            }
        }
        if let Some(order) = &self.order {
            sections.push((kind::ORDER, 0, bytemuck::cast_slice(order).to_vec()));
        }
        let bytes = assemble(&sections);
        ModelView::parse(&bytes)?;
        Ok(bytes)
    }

    /// Encodes the model and writes it atomically (temporary file + rename); returns the byte count.
    pub fn write(&self, path: &Path) -> Result<u64, FormatError> {
        let bytes = self.to_bytes()?;
        crate::write_atomic(path, &bytes)?;
        Ok(bytes.len() as u64)
    }
}

/// Lays out header, table and sections (each 64-byte aligned) and fills in every checksum.
fn assemble(sections: &[(u32, u32, Vec<u8>)]) -> AlignedBytes {
    let table_end = HEADER_LEN + ENTRY_LEN * sections.len() as u64;
    let mut offsets = Vec::with_capacity(sections.len());
    let mut at = align_up(table_end);
    for (_, _, data) in sections {
        offsets.push(at);
        at = align_up(at + data.len() as u64);
    }
    let total = offsets
        .last()
        .map_or(at, |&o| o + sections.last().map_or(0, |s| s.2.len() as u64));
    let mut out = AlignedBytes::zeroed(total as usize);
    let buf = out.as_mut_slice();
    buf[..8].copy_from_slice(&layout::MAGIC);
    buf[8..10].copy_from_slice(&layout::VERSION_MAJOR.to_le_bytes());
    buf[10..12].copy_from_slice(&layout::VERSION_MINOR.to_le_bytes());
    buf[12..16].copy_from_slice(&layout::BYTE_ORDER_MARK.to_le_bytes());
    buf[16..24].copy_from_slice(&total.to_le_bytes());
    buf[24..28].copy_from_slice(&(sections.len() as u32).to_le_bytes());
    for (i, ((k, role, data), &off)) in sections.iter().zip(&offsets).enumerate() {
        let e = (HEADER_LEN + ENTRY_LEN * i as u64) as usize;
        buf[e..e + 4].copy_from_slice(&k.to_le_bytes());
        buf[e + 4..e + 8].copy_from_slice(&role.to_le_bytes());
        buf[e + 8..e + 16].copy_from_slice(&off.to_le_bytes());
        buf[e + 16..e + 24].copy_from_slice(&(data.len() as u64).to_le_bytes());
        buf[e + 24..e + 28].copy_from_slice(&crate::crc32::hash(data).to_le_bytes());
        buf[off as usize..off as usize + data.len()].copy_from_slice(data);
    }
    let crc = header_crc(&buf[..table_end as usize]);
    buf[28..32].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Encodes one matrix record; checks array lengths first so a malformed `Matrix` is an error, not a panic.
fn encode_matrix(role: Role, m: &StoredMatrix) -> Result<Vec<u8>, FormatError> {
    let bad = |problem: String| FormatError::Matrix { role, problem };
    let (rows, cols) = m.matrix.shape();
    let storage = m.matrix.storage();
    let (count, index_width) = match &m.matrix {
        Matrix::Dense { values, .. } => {
            if values.len() != rows * cols {
                return Err(bad(format!(
                    "{} dense values for {rows} x {cols}",
                    values.len()
                )));
            }
            (0, 0)
        }
        Matrix::Csr {
            row_ptr,
            col_idx,
            values,
            ..
        } => {
            if row_ptr.len() != rows + 1 || col_idx.len() != values.len() {
                return Err(bad(format!(
                    "CSR arrays disagree: {} row pointers for {rows} rows, {} indices, {} values",
                    row_ptr.len(),
                    col_idx.len(),
                    values.len()
                )));
            }
            (values.len(), if cols <= 65_536 { 2 } else { 4 })
        }
        Matrix::LowRank { rank, u, v, .. } => {
            if u.len() != rows * rank || v.len() != rank * cols {
                return Err(bad(format!(
                    "low-rank factors have {} and {} values for rank {rank}",
                    u.len(),
                    v.len()
                )));
            }
            (*rank, 0)
        }
    };
    let shape = RecordShape {
        storage,
        dtype: m.dtype,
        index_width,
        rows: rows as u64,
        cols: cols as u64,
        count: count as u64,
    };
    let layout = shape
        .layout()
        .ok_or_else(|| bad("array sizes overflow".into()))?;
    let all_values: [&[f32]; 2] = match &m.matrix {
        Matrix::Dense { values, .. } | Matrix::Csr { values, .. } => [values, &[]],
        Matrix::LowRank { u, v, .. } => [u, v],
    };
    for (part, vals) in all_values.iter().enumerate() {
        if let Some(index) = vals.iter().position(|x| !x.is_finite()) {
            let what = format!(
                "matrix {role} {}",
                if part == 0 { "values" } else { "factor V" }
            );
            return Err(FormatError::NotFinite {
                what,
                index,
                value: vals[index],
            });
        }
    }
    let mut arrays: Vec<Vec<u8>> = Vec::new();
    match &m.matrix {
        Matrix::Dense { values, .. } => arrays.extend(encode_values(values, cols, m.dtype)),
        Matrix::Csr {
            row_ptr,
            col_idx,
            values,
            ..
        } => {
            arrays.push(bytemuck::cast_slice(row_ptr).to_vec());
            if let Some(k) = col_idx.iter().position(|&j| j as usize >= cols) {
                return Err(bad(format!(
                    "column index {} at position {k} is out of range (cols = {cols})",
                    col_idx[k]
                )));
            }
            arrays.push(if index_width == 2 {
                col_idx
                    .iter()
                    .flat_map(|&j| (j as u16).to_le_bytes())
                    .collect()
            } else {
                bytemuck::cast_slice(col_idx).to_vec()
            });
            arrays.extend(encode_csr_values(row_ptr, values, m.dtype));
        }
        Matrix::LowRank { rank, u, v, .. } => {
            let mut eu = encode_values(u, *rank, m.dtype);
            let mut ev = encode_values(v, cols, m.dtype);
            arrays.push(eu.remove(0));
            arrays.push(ev.remove(0));
            arrays.extend(eu);
            arrays.extend(ev);
        }
    }
    let mut rec = vec![0u8; layout.end as usize];
    rec[0] = storage.code();
    rec[1] = m.dtype.code();
    rec[2] = match index_width {
        2 => 1,
        4 => 2,
        _ => 0,
    };
    rec[4..8].copy_from_slice(&(rows as u32).to_le_bytes());
    rec[8..12].copy_from_slice(&(cols as u32).to_le_bytes());
    rec[12..16].copy_from_slice(&(count as u32).to_le_bytes());
    debug_assert!(MATRIX_HEADER_LEN == 64 && arrays.len() == layout.count);
    for (k, a) in arrays.iter().enumerate() {
        let (off, len) = layout.spans[k];
        debug_assert_eq!(len as usize, a.len());
        rec[off as usize..off as usize + a.len()].copy_from_slice(a);
    }
    Ok(rec)
}

/// Values of a row-major array whose rows have `row_len` entries; for i8, `[quantised, scales]`.
fn encode_values(values: &[f32], row_len: usize, dtype: ValueType) -> Vec<Vec<u8>> {
    let bounds: Vec<usize> = (0..=values.len().div_ceil(row_len.max(1)))
        .map(|r| (r * row_len).min(values.len()))
        .collect();
    encode_grouped(values, &bounds, dtype)
}

/// CSR values; i8 groups are the rows given by `row_ptr`.
fn encode_csr_values(row_ptr: &[u32], values: &[f32], dtype: ValueType) -> Vec<Vec<u8>> {
    let bounds: Vec<usize> = row_ptr
        .iter()
        .map(|&x| (x as usize).min(values.len()))
        .collect();
    encode_grouped(values, &bounds, dtype)
}

/// Encodes `values`; for i8, group g = `values[bounds[g]..bounds[g+1]]` gets scale max|w| / 127.
fn encode_grouped(values: &[f32], bounds: &[usize], dtype: ValueType) -> Vec<Vec<u8>> {
    match dtype {
        ValueType::F32 => vec![bytemuck::cast_slice(values).to_vec()],
        ValueType::F16 => vec![values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect()],
        ValueType::Bf16 => vec![values
            .iter()
            .flat_map(|&v| bf16::from_f32(v).to_le_bytes())
            .collect()],
        ValueType::I8 => {
            let mut q = vec![0u8; values.len()];
            let mut scales = Vec::with_capacity(bounds.len().saturating_sub(1));
            for w in bounds.windows(2) {
                let group = &values[w[0]..w[1].max(w[0])];
                let max = group.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
                scales.push(scale);
                for (k, &v) in group.iter().enumerate() {
                    let r = if scale > 0.0 {
                        (v / scale).round().clamp(-127.0, 127.0)
                    } else {
                        0.0
                    };
                    q[w[0] + k] = (r as i8) as u8;
                }
            }
            vec![q, bytemuck::cast_slice(&scales).to_vec()]
        }
    }
}
