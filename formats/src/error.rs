//! The one error type of the format crate: every way a file can be wrong, each naming what is wrong.

use crate::Role;

/// Everything that can be wrong with a `.wpk` file (or with a model handed to the writer).
///
/// Each variant's message is one line that names the offending part of the file, so a CLI can print
/// `error: FILE: {err}` and stop.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum FormatError {
    /// The buffer ends before a structure it must hold.
    #[error("truncated: {what} needs {needed} bytes, the file has {available}")]
    Truncated {
        what: &'static str,
        needed: u64,
        available: u64,
    },
    /// The first eight bytes are not the `.wpk` magic.
    #[error("not a wolfpack model file (bad magic bytes)")]
    BadMagic,
    /// A major version this reader does not know.
    #[error("unsupported format version {major}.{minor} (this reader handles 1.x)")]
    UnsupportedVersion { major: u16, minor: u16 },
    /// The byte-order mark is not little-endian `0x0A0B0C0D`.
    #[error("byte-order mark is {found:#010x}, expected 0x0a0b0c0d (big-endian writer or corrupt header)")]
    ByteOrder { found: u32 },
    /// The header's declared length differs from the buffer's.
    #[error("header declares {declared} bytes but the file has {actual}")]
    FileLength { declared: u64, actual: u64 },
    /// A header or table field has a value the format forbids.
    #[error("invalid header: {0}")]
    Header(String),
    /// A checksum does not match the bytes it covers.
    #[error("checksum mismatch in {what}: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        what: String,
        stored: u32,
        computed: u32,
    },
    /// A section's placement is invalid.
    #[error("section {index} ({what}): {problem}")]
    Section {
        index: usize,
        what: String,
        problem: String,
    },
    /// The metadata JSON is missing, malformed, or breaks a rule.
    #[error("metadata: {0}")]
    Metadata(String),
    /// A matrix record is malformed.
    #[error("matrix {role}: {problem}")]
    Matrix { role: Role, problem: String },
    /// A bias vector or the order table is malformed.
    #[error("{what}: {problem}")]
    Vector { what: &'static str, problem: String },
    /// A stored value is NaN or infinite.
    #[error("{what}: value at index {index} is not finite ({value})")]
    NotFinite {
        what: String,
        index: usize,
        value: f32,
    },
    /// A is neither a contraction nor strictly triangular under the evaluation order.
    #[error("A is not well-posed: max row L1 norm (certified bound) is {kappa} >= 1 and A is not strictly triangular under the stored order ({reason})")]
    NotWellPosed { kappa: f32, reason: String },
    /// The buffer is not 4-byte aligned, so arrays cannot be viewed in place.
    #[error("buffer is not 4-byte aligned; copy it into an aligned buffer (AlignedBytes) first")]
    Misaligned,
    /// An I/O error while writing or reading a file (the message includes the OS error).
    #[error("{0}")]
    Io(String),
}

impl From<std::io::Error> for FormatError {
    fn from(e: std::io::Error) -> Self {
        FormatError::Io(e.to_string())
    }
}
