//! Byte-level constants of the `.wpk` layout (see `docs/FORMAT.md`).

/// `\x89WPK\r\n\x1a\n`: a non-ASCII first byte and CR/LF/EOF bytes catch text-mode and 7-bit mangling (as PNG does).
pub const MAGIC: [u8; 8] = *b"\x89WPK\r\n\x1a\n";
/// Major version this crate reads and writes; other majors are rejected.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version this crate writes; any 1.x minor is read.
pub const VERSION_MINOR: u16 = 0;
/// Stored little-endian as `0D 0C 0B 0A`; any other bytes mean a big-endian writer or corruption.
pub const BYTE_ORDER_MARK: u32 = 0x0A0B_0C0D;
/// Every section and every array inside a matrix section starts at a multiple of this.
pub const ALIGN: u64 = 64;
/// Size of the fixed header.
pub const HEADER_LEN: u64 = 64;
/// Size of one section-table entry.
pub const ENTRY_LEN: u64 = 32;
/// Size of the record header at the start of a matrix section.
pub const MATRIX_HEADER_LEN: u64 = 64;
/// Upper bound on the section count, so the table is small and bounded.
pub const MAX_SECTIONS: u32 = 64;
/// Upper bound on the metadata section: JSON parsing allocates in proportion to it.
pub const MAX_METADATA_LEN: u64 = 1 << 20;
/// Upper bound on every dimension (n, p, q); keeps all size arithmetic far from overflow.
pub const MAX_DIM: u32 = 1 << 24;
/// Upper bound on the solver's iteration cap.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// Section kinds.
pub mod kind {
    /// UTF-8 JSON metadata.
    pub const METADATA: u32 = 1;
    /// One of the matrices A, B, C, D.
    pub const MATRIX: u32 = 2;
    /// A bias vector b or c.
    pub const VECTOR: u32 = 3;
    /// Evaluation order of the hidden units.
    pub const ORDER: u32 = 4;
    /// Kinds at or above this are optional: readers that do not know them skip them.
    pub const OPTIONAL_FLAG: u32 = 0x8000_0000;
}

/// Rounds `x` up to the next multiple of [`ALIGN`].
pub const fn align_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// Whether every byte is zero (padding and reserved fields): an OR over all of them without an early exit, so that
/// it vectorises; a byte-by-byte `any` was a loop of one compare and branch per byte over every gap of a file.
pub(crate) fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |any, &b| any | b) == 0
}
