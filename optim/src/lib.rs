//! wolfpack-optim.
