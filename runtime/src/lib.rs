//! The wolfpack runtime.
