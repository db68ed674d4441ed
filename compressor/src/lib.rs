//! # wolfpack: the compressor and command-line tool
//!
//! Trains sparse implicit models (x = relu(A x + B u + b), y = C x + D u + c) with stochastic Frank-Wolfe and
//! writes them as `.wpk` files for the runtime: data sets ([`data`]), the trainable implicit model ([`model`]),
//! the training recipe that meets a budget of stored weights ([`train`]). The `wolfpack` binary ([`cli`]) is a
//! thin layer over this library.

pub mod cli;
pub mod data;
pub mod evaluate;
pub mod model;
pub mod npz;
pub mod onnx;
pub mod pack;
pub mod plot;
pub mod robust;
pub mod teacher;
pub mod train;
