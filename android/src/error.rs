//! The binding's error: everything a native call can fail with, each turned into a `WolfpackException`
//! carrying [`Error`]'s `Display` text.

use core::fmt;

/// Why a native call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The runtime refused the model or the prediction (its message is passed on unchanged).
    Runtime(wolfpack_runtime::Error),
    /// The handle is zero or does not point at a live model: the model was closed.
    Closed,
    /// An argument from the Java side is unusable (negative batch, non-direct buffer, bad range, ...).
    InvalidArgument(String),
    /// The named JNI function failed (a Java exception is then usually pending, and wins over ours).
    Jni(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Runtime(e) => write!(f, "{e}"),
            Error::Closed => f.write_str("the model is closed"),
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::Jni(function) => write!(f, "JNI call {function} failed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<wolfpack_runtime::Error> for Error {
    fn from(e: wolfpack_runtime::Error) -> Error {
        Error::Runtime(e)
    }
}

/// The binding's result type.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let shape = wolfpack_runtime::Error::Shape {
            what: "inputs",
            expected: 6,
            found: 5,
        };
        assert_eq!(
            Error::from(shape).to_string(),
            "inputs has 5 values, expected 6"
        );
        assert_eq!(Error::Closed.to_string(), "the model is closed");
        assert!(Error::InvalidArgument("batch = -1".into())
            .to_string()
            .contains("batch = -1"));
    }
}
