//! # wolfpack-format: the `.wpk` model file
//!
//! A `.wpk` file stores an *implicit model*
//!
//! ```text
//! x = relu(A x + B u + b)      hidden state, the fixed point of a contraction
//! y = C x + D u + c            output
//! ```
//!
//! with each matrix dense, CSR (u16/u32 column indices) or low-rank, its values f32, f16, bf16 or i8 with a
//! per-row scale, every array 64-byte aligned so that a memory-mapped file is read in place. The full byte-level
//! specification is `docs/FORMAT.md`.
//!
//! * [`ModelFile`] (owned) is what the compressor builds and [`ModelFile::to_bytes`] / [`ModelFile::write`] encode.
//! * [`ModelView::parse`] validates a byte buffer completely (bounds, checksums, structure, finiteness,
//!   well-posedness of A) and returns typed slices into it. It trusts nothing and never panics.
//!
//! ```
//! use wolfpack_format::{Matrix, Metadata, ModelFile, ModelView, StoredMatrix, ValueType};
//!
//! let mut file = ModelFile::new(Metadata::new(2, 3, 1));
//! // A = [[0, 0.5], [0, 0]]: row L1 norms 0.5 and 0, a contraction.
//! file.a = Some(StoredMatrix::new(Matrix::csr_from_dense(2, 2, &[0.0, 0.5, 0.0, 0.0]), ValueType::F16));
//! file.b = Some(StoredMatrix::new(Matrix::Dense { rows: 2, cols: 3, values: vec![1.0; 6] }, ValueType::F32));
//! let bytes = file.to_bytes().unwrap();
//! let view = ModelView::parse(&bytes).unwrap();
//! assert_eq!(view.structure.kappa, 0.5);
//! assert_eq!(view.nnz(), 1 + 6);
//! ```

// The reader views little-endian arrays in place and the writer casts host arrays to bytes: both assume a
// little-endian host (every Android ABI, x86-64, aarch64 Linux). A big-endian port must convert explicitly.
#[cfg(target_endian = "big")]
compile_error!("wolfpack-format reads and writes little-endian arrays in place; big-endian hosts are not supported");

mod aligned;
mod atomic;
mod crc32;
mod error;
mod json;
pub mod layout;
mod lazy_json;
mod matrix;
mod metadata;
mod metadata_read;
mod reader;
pub mod sample;
mod values;
mod wellposed;
mod writer;

pub use aligned::AlignedBytes;
pub use atomic::write_atomic;
pub use error::FormatError;
pub use lazy_json::LazyJson;
pub use matrix::{CsrView, DenseView, LowRankView, MatrixView, Storage};
pub use metadata::{Activation, Dims, Metadata, Preprocessing, Provenance, SolverDefaults};
pub use reader::{reseal, ModelView};
pub use values::{Indices, ValueType, Values};
pub use wellposed::Structure;
pub use writer::{Matrix, ModelFile, StoredMatrix};

/// Which of the four matrices of the model a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A: n x n, hidden to hidden.
    A,
    /// B: n x p, input to hidden.
    B,
    /// C: q x n, hidden to output.
    C,
    /// D: q x p, input to output.
    D,
}

impl Role {
    /// All four roles, in file order.
    pub const ALL: [Role; 4] = [Role::A, Role::B, Role::C, Role::D];

    /// The section role code.
    pub const fn code(self) -> u32 {
        match self {
            Role::A => 0,
            Role::B => 1,
            Role::C => 2,
            Role::D => 3,
        }
    }

    /// Inverse of [`Role::code`].
    pub const fn from_code(c: u32) -> Option<Role> {
        match c {
            0 => Some(Role::A),
            1 => Some(Role::B),
            2 => Some(Role::C),
            3 => Some(Role::D),
            _ => None,
        }
    }

    /// (rows, cols) of this matrix for hidden size n, input size p and output size q.
    pub const fn shape(self, n: usize, p: usize, q: usize) -> (usize, usize) {
        match self {
            Role::A => (n, n),
            Role::B => (n, p),
            Role::C => (q, n),
            Role::D => (q, p),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::A => "A",
            Role::B => "B",
            Role::C => "C",
            Role::D => "D",
        })
    }
}
