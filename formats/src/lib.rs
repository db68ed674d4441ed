//! The `.wpk` model file format.
