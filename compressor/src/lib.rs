//! The wolfpack compressor library.
