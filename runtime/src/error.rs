//! The runtime's error type.

use core::fmt;

use wolfpack_format::FormatError;

use crate::kernels::MatrixError;

/// Everything that can go wrong when loading a model or predicting with it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read or mapped.
    Io(String),
    /// The bytes are not a valid `.wpk` model (the format crate names the problem).
    Format(FormatError),
    /// A matrix of the model does not satisfy the kernels' structural checks.
    Matrix(MatrixError),
    /// An input or output buffer has the wrong length.
    Shape {
        /// Which buffer.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        found: usize,
    },
    /// The fixed-point iteration hit its iteration cap before the update fell below the tolerance.
    NotConverged {
        /// Iterations run.
        iterations: u32,
        /// Last infinity-norm update `||x_{k+1} - x_k||_inf`.
        residual: f32,
        /// The tolerance it had to reach.
        tolerance: f32,
    },
    /// An input, the hidden state or an output became NaN or infinite.
    NotFinite {
        /// Where.
        what: &'static str,
    },
    /// A solver option is out of range.
    InvalidOption(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Format(e) => write!(f, "invalid model: {e}"),
            Error::Matrix(e) => write!(f, "invalid matrix: {e}"),
            Error::Shape { what, expected, found } => write!(f, "{what} has {found} values, expected {expected}"),
            Error::NotConverged { iterations, residual, tolerance } => write!(
                f,
                "the fixed point did not converge: update {residual:e} after {iterations} iterations (tolerance {tolerance:e})"
            ),
            Error::NotFinite { what } => write!(f, "{what} is not finite (NaN or infinity)"),
            Error::InvalidOption(e) => write!(f, "invalid solver option: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Error {
        Error::Format(e)
    }
}

impl From<MatrixError> for Error {
    fn from(e: MatrixError) -> Error {
        Error::Matrix(e)
    }
}

/// Checks a buffer length.
pub(crate) fn check_len(what: &'static str, found: usize, expected: usize) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::Shape {
            what,
            expected,
            found,
        })
    }
}
