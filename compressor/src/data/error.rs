//! The error every data loader returns.

use std::path::{Path, PathBuf};

/// Why a data set could not be loaded. Its `Display` is one line that names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder that should exist does not.
    #[error("{}: missing {what}", path.display())]
    Missing {
        /// The path looked for.
        path: PathBuf,
        /// What was expected there.
        what: &'static str,
    },
    /// Reading failed at the operating-system level.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists but its content is not what the format requires.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The offending file.
        path: PathBuf,
        /// The problem, in words.
        reason: String,
    },
}

impl DataError {
    pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> DataError {
        DataError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> DataError {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
