//! The validating, zero-copy reader: header -> section table -> metadata -> matrices, vectors, order ->
//! well-posedness. Nothing is trusted and nothing is copied: every array is a typed slice into the input.

use crate::layout::{self, align_up, kind, ENTRY_LEN, HEADER_LEN, MAX_METADATA_LEN, MAX_SECTIONS};
use crate::matrix::{parse_matrix, MatrixView};
use crate::wellposed::{analyse, Structure};
use crate::{FormatError, Metadata, Role, Values};

/// A parsed, fully validated model whose weights are borrowed from the file's bytes.
#[derive(Debug, Clone)]
pub struct ModelView<'a> {
    /// The metadata section.
    pub meta: Metadata,
    /// A (n x n); `None` means zero.
    pub a: Option<MatrixView<'a>>,
    /// B (n x p); `None` means zero.
    pub b: Option<MatrixView<'a>>,
    /// C (q x n); `None` means zero.
    pub c: Option<MatrixView<'a>>,
    /// D (q x p); `None` means zero.
    pub d: Option<MatrixView<'a>>,
    /// Hidden bias b (length n); `None` means zero.
    pub bias_x: Option<&'a [f32]>,
    /// Output bias c (length q); `None` means zero.
    pub bias_y: Option<&'a [f32]>,
    /// Evaluation order of the hidden units (a permutation of `0..n`); `None` means `0, 1, ..., n-1`.
    pub order: Option<&'a [u32]>,
    /// What the reader proved about A.
    pub structure: Structure,
}

impl<'a> ModelView<'a> {
    /// Parses and validates a whole `.wpk` file held in `bytes` (which must be 4-byte aligned, as a memory map is;
    /// see [`crate::AlignedBytes`] otherwise). Never panics and never reads out of bounds, whatever `bytes` holds.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let sections = parse_table(bytes)?;
        let meta_bytes = sections
            .find(kind::METADATA, 0)
            .ok_or_else(|| FormatError::Metadata("no metadata section".into()))?;
        if meta_bytes.len() as u64 > MAX_METADATA_LEN {
            return Err(FormatError::Metadata(format!(
                "section is {} bytes, the limit is {MAX_METADATA_LEN}",
                meta_bytes.len()
            )));
        }
        let meta = Metadata::from_json(meta_bytes)?;
        let (n, p, q) = (
            meta.dims.hidden as usize,
            meta.dims.inputs as usize,
            meta.dims.outputs as usize,
        );
        let matrix = |role: Role| -> Result<Option<MatrixView<'a>>, FormatError> {
            let (rows, cols) = role.shape(n, p, q);
            sections
                .find(kind::MATRIX, role.code())
                .map(|s| parse_matrix(role, s, rows, cols))
                .transpose()
        };
        let (a, b, c, d) = (
            matrix(Role::A)?,
            matrix(Role::B)?,
            matrix(Role::C)?,
            matrix(Role::D)?,
        );
        let bias_x = vector(sections.find(kind::VECTOR, 0), "bias b", n)?;
        let bias_y = vector(sections.find(kind::VECTOR, 1), "bias c", q)?;
        let order = match sections.find(kind::ORDER, 0) {
            Some(s) => Some(permutation(s, n)?),
            None => None,
        };
        let structure = analyse(a.as_ref(), order, n)?;
        Ok(ModelView {
            meta,
            a,
            b,
            c,
            d,
            bias_x,
            bias_y,
            order,
            structure,
        })
    }

    /// The matrix stored for `role`, if any.
    pub fn matrix(&self, role: Role) -> Option<&MatrixView<'a>> {
        match role {
            Role::A => self.a.as_ref(),
            Role::B => self.b.as_ref(),
            Role::C => self.c.as_ref(),
            Role::D => self.d.as_ref(),
        }
    }

    /// Total stored weight count of A, B, C and D (biases excluded).
    pub fn nnz(&self) -> usize {
        Role::ALL
            .iter()
            .filter_map(|&r| self.matrix(r))
            .map(|m| m.stored_weights())
            .sum()
    }
}

/// The validated section table: (kind, role, bytes) for every section.
struct Sections<'a> {
    entries: Vec<(u32, u32, &'a [u8])>,
}

impl<'a> Sections<'a> {
    fn find(&self, kind: u32, role: u32) -> Option<&'a [u8]> {
        self.entries
            .iter()
            .find(|e| e.0 == kind && e.1 == role)
            .map(|e| e.2)
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn truncated(what: &'static str, needed: u64, available: usize) -> FormatError {
    FormatError::Truncated {
        what,
        needed,
        available: available as u64,
    }
}

/// Validates the header and the section table, and checks every section's placement and checksum.
fn parse_table(bytes: &[u8]) -> Result<Sections<'_>, FormatError> {
    let len = bytes.len();
    if len < layout::MAGIC.len() || bytes[..8] != layout::MAGIC {
        return Err(if len < 8 {
            truncated("the magic bytes", 8, len)
        } else {
            FormatError::BadMagic
        });
    }
    if (len as u64) < HEADER_LEN {
        return Err(truncated("the header", HEADER_LEN, len));
    }
    let (major, minor) = (u16_at(bytes, 8), u16_at(bytes, 10));
    if major != layout::VERSION_MAJOR {
        return Err(FormatError::UnsupportedVersion { major, minor });
    }
    let bom = u32_at(bytes, 12);
    if bom != layout::BYTE_ORDER_MARK {
        return Err(FormatError::ByteOrder { found: bom });
    }
    let declared = u64_at(bytes, 16);
    if declared != len as u64 {
        return Err(FormatError::FileLength {
            declared,
            actual: len as u64,
        });
    }
    let count = u32_at(bytes, 24);
    if count == 0 || count > MAX_SECTIONS {
        return Err(FormatError::Header(format!(
            "section count {count} is outside 1..={MAX_SECTIONS}"
        )));
    }
    if u32_at(bytes, 32) != 0 || !layout::all_zero(&bytes[36..64]) {
        return Err(FormatError::Header(
            "flags or reserved bytes are not zero".into(),
        ));
    }
    let table_end = HEADER_LEN + ENTRY_LEN * u64::from(count);
    if (len as u64) < table_end {
        return Err(truncated("the section table", table_end, len));
    }
    let stored = u32_at(bytes, 28);
    let computed = header_crc(&bytes[..table_end as usize]);
    if stored != computed {
        return Err(FormatError::Checksum {
            what: "header and section table".into(),
            stored,
            computed,
        });
    }
    if bytes.as_ptr().align_offset(4) != 0 {
        return Err(FormatError::Misaligned);
    }
    let first_data = align_up(table_end);
    let mut entries = Vec::with_capacity(count as usize);
    let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let e = &bytes[(HEADER_LEN + ENTRY_LEN * index as u64) as usize..][..ENTRY_LEN as usize];
        let (k, role, off, slen, crc) = (
            u32_at(e, 0),
            u32_at(e, 4),
            u64_at(e, 8),
            u64_at(e, 16),
            u32_at(e, 24),
        );
        // The section's name is only formatted for an error (it allocates).
        let bad = |problem: String| FormatError::Section {
            index,
            what: section_name(k, role),
            problem,
        };
        if u32_at(e, 28) != 0 {
            return Err(bad("reserved field is not zero".into()));
        }
        let known = match k {
            kind::METADATA | kind::ORDER => role == 0,
            kind::MATRIX => role <= 3,
            kind::VECTOR => role <= 1,
            k if k & kind::OPTIONAL_FLAG != 0 => true,
            _ => return Err(bad(format!("unknown section kind {k}"))),
        };
        if !known {
            return Err(bad(format!("unknown role {role}")));
        }
        if off % layout::ALIGN != 0 {
            return Err(bad(format!(
                "offset {off} is not a multiple of {}",
                layout::ALIGN
            )));
        }
        if off < first_data {
            return Err(bad(format!(
                "offset {off} lies inside the header or section table"
            )));
        }
        let end = off.checked_add(slen).filter(|&e| e <= len as u64);
        let Some(end) = end else {
            return Err(bad(format!(
                "bytes {off}..{off}+{slen} run past the end of the file ({len} bytes)"
            )));
        };
        let data = &bytes[off as usize..end as usize];
        let computed = crate::crc32::hash(data);
        if computed != crc {
            return Err(FormatError::Checksum {
                what: format!("section {index} ({})", section_name(k, role)),
                stored: crc,
                computed,
            });
        }
        if entries.iter().any(|&(k2, r2, _)| k2 == k && r2 == role) {
            return Err(bad("appears twice".into()));
        }
        spans.push((off, end, index));
        entries.push((k, role, data));
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(FormatError::Section {
                index: w[1].2,
                what: section_name(entries[w[1].2].0, entries[w[1].2].1),
                problem: format!("overlaps section {}", w[0].2),
            });
        }
    }
    // Padding is specified as zero; checking it means no byte of the file escapes validation.
    let mut gap_start = table_end;
    for &(off, end, index) in &spans {
        if !layout::all_zero(&bytes[gap_start as usize..off as usize]) {
            return Err(FormatError::Section {
                index,
                what: section_name(entries[index].0, entries[index].1),
                problem: "padding before this section is not zero".into(),
            });
        }
        gap_start = end;
    }
    if !layout::all_zero(&bytes[gap_start as usize..]) {
        return Err(FormatError::Header(
            "bytes after the last section are not zero padding".into(),
        ));
    }
    entries.retain(|e| e.0 & kind::OPTIONAL_FLAG == 0);
    Ok(Sections { entries })
}

/// CRC-32 of the header and table with the checksum field (bytes 28..32) taken as zero.
pub(crate) fn header_crc(head: &[u8]) -> u32 {
    let mut h = crate::crc32::Crc32::new();
    h.update(&head[..28]);
    h.update(&[0; 4]);
    h.update(&head[32..]);
    h.finalize()
}

fn section_name(k: u32, role: u32) -> String {
    match (k, role) {
        (kind::METADATA, _) => "metadata".into(),
        (kind::MATRIX, r) => {
            Role::from_code(r).map_or_else(|| format!("matrix role {r}"), |r| format!("matrix {r}"))
        }
        (kind::VECTOR, 0) => "bias b".into(),
        (kind::VECTOR, 1) => "bias c".into(),
        (kind::ORDER, _) => "order".into(),
        (k, r) => format!("kind {k} role {r}"),
    }
}

fn vector<'a>(
    sec: Option<&'a [u8]>,
    what: &'static str,
    len: usize,
) -> Result<Option<&'a [f32]>, FormatError> {
    let Some(sec) = sec else { return Ok(None) };
    if sec.len() != 4 * len {
        return Err(FormatError::Vector {
            what,
            problem: format!(
                "{} bytes, expected {} ({len} f32 values)",
                sec.len(),
                4 * len
            ),
        });
    }
    let v: &[f32] = bytemuck::try_cast_slice(sec).map_err(|_| FormatError::Misaligned)?;
    // The matrices' check (one vectorised pass while nothing is special), not a scalar search.
    if let Some((index, value)) = Values::F32(v).first_non_finite() {
        return Err(FormatError::NotFinite {
            what: what.to_string(),
            index,
            value,
        });
    }
    Ok(Some(v))
}

fn permutation(sec: &[u8], n: usize) -> Result<&[u32], FormatError> {
    let bad = |problem: String| FormatError::Vector {
        what: "order",
        problem,
    };
    if sec.len() != 4 * n {
        return Err(bad(format!(
            "{} bytes, expected {} ({n} u32 values)",
            sec.len(),
            4 * n
        )));
    }
    let order: &[u32] = bytemuck::try_cast_slice(sec).map_err(|_| FormatError::Misaligned)?;
    let mut seen = vec![false; n];
    for (k, &unit) in order.iter().enumerate() {
        match seen.get_mut(unit as usize) {
            None => return Err(bad(format!("entry {k} = {unit} is out of range (n = {n})"))),
            Some(true) => return Err(bad(format!("unit {unit} appears twice"))),
            Some(s) => *s = true,
        }
    }
    Ok(order)
}

/// Recomputes every section checksum and the header checksum of a file in place, as far as its table can be read.
///
/// For fuzzing and tests only: it lets deliberately damaged files reach the structural checks behind the
/// checksums. It never panics, whatever `bytes` holds.
#[doc(hidden)]
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() < HEADER_LEN as usize {
        return;
    }
    let count = (u32_at(bytes, 24) as usize).min(MAX_SECTIONS as usize);
    for i in 0..count {
        let e = (HEADER_LEN + ENTRY_LEN * i as u64) as usize;
        if e + ENTRY_LEN as usize > bytes.len() {
            return;
        }
        let (off, len) = (u64_at(bytes, e + 8), u64_at(bytes, e + 16));
        let end = off
            .checked_add(len)
            .filter(|&end| end <= bytes.len() as u64);
        if let Some(end) = end {
            let crc = crate::crc32::hash(&bytes[off as usize..end as usize]);
            bytes[e + 24..e + 28].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let table_end = (HEADER_LEN as usize + ENTRY_LEN as usize * count).min(bytes.len());
    let crc = header_crc(&bytes[..table_end]);
    bytes[28..32].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bias vector is refused at its first infinity or NaN, at any position of the vectorised pass, with that
    /// position and value; a finite one is returned as it is stored.
    #[test]
    fn bias_vectors_are_checked_finite_at_every_position() {
        for len in [1usize, 7, 16, 33, 70] {
            let ok: Vec<f32> = (0..len).map(|k| k as f32 - 3.5).collect();
            let v = vector(Some(bytemuck::cast_slice(&ok)), "bias b", len).unwrap();
            assert_eq!(v, Some(&ok[..]));
            for at in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut v = ok.clone();
                    v[at] = bad;
                    if at + 1 < len {
                        v[len - 1] = f32::NAN;
                    }
                    match vector(Some(bytemuck::cast_slice(&v)), "bias b", len) {
                        Err(FormatError::NotFinite { what, index, value }) => {
                            assert_eq!((what.as_str(), index), ("bias b", at));
                            assert_eq!(value.to_bits(), bad.to_bits());
                        }
                        other => panic!("{len} {at}: {other:?}"),
                    }
                }
            }
        }
        assert!(vector(Some(&[0u8; 8]), "bias c", 3).is_err());
    }
}
