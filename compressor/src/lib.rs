//! # wolfpack: the compressor and command-line tool
//!
//! Trains sparse implicit models (x = relu(A x + B u + b), y = C x + D u + c) with stochastic Frank-Wolfe and
//! writes them as `.wpk` files for the runtime. The `wolfpack` binary is a thin layer over this library.

pub mod cli;
