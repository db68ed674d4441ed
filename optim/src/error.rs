//! Typed errors: bad input is reported, never panicked on.

use core::fmt;

/// Everything that can go wrong when calling into `wolfpack-optim`.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimError {
    /// A slice had the wrong length.
    DimensionMismatch {
        /// What was being checked (e.g. `"gradient"`, `"x0"`).
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// A parameter is outside its admissible range (e.g. a negative radius).
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A value that must be finite is NaN or infinite (objective, gradient, input).
    NotFinite {
        /// Which value.
        what: &'static str,
    },
    /// The operation is not available for this set or problem (e.g. no cheap projection).
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
    /// Malformed input data (e.g. a CSV line that does not parse).
    Data(String),
}

impl fmt::Display for OptimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimError::DimensionMismatch {
                what,
                expected,
                got,
            } => {
                write!(f, "{what} has length {got}, expected {expected}")
            }
            OptimError::InvalidParameter { name, reason } => {
                write!(f, "invalid parameter `{name}`: {reason}")
            }
            OptimError::NotFinite { what } => write!(f, "{what} is not finite"),
            OptimError::Unsupported { what } => write!(f, "unsupported: {what}"),
            OptimError::Data(msg) => write!(f, "bad data: {msg}"),
        }
    }
}

impl std::error::Error for OptimError {}

/// Shorthand result type.
pub type Result<T> = core::result::Result<T, OptimError>;

/// Returns a [`OptimError::DimensionMismatch`] unless `got == expected`.
#[inline]
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(OptimError::DimensionMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Returns an [`OptimError::InvalidParameter`] unless `ok`.
#[inline]
pub(crate) fn check_param(ok: bool, name: &'static str, reason: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(OptimError::InvalidParameter {
            name,
            reason: reason.to_string(),
        })
    }
}
