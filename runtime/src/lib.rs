//! The wolfpack runtime: loads `.wpk` implicit models and evaluates them on CPU SIMD.
//!
//! An implicit model maps an input `u` to `y = C x + D u + c`, where the hidden state `x` solves the fixed-point
//! equation `x = relu(A x + B u + b)` (El Ghaoui, Gu, Travacca, Askari, Tsai, "Implicit Deep Learning", SIAM
//! J. Math. Data Sci. 2021). When every row of `A` has L1 norm at most `kappa < 1`, the map is a contraction in
//! the infinity norm, so the fixed point is unique and Picard / Gauss-Seidel iteration converges geometrically;
//! feed-forward networks are the special case of a strictly (block-)triangular `A`, solved exactly in one sweep.
//!
//! * [`Model`]: a validated model, memory-mapped or borrowed in place; immutable, `Send + Sync`.
//! * [`Session`]: per-thread scratch; steady-state predictions allocate nothing.
//! * [`kernels`]: the SIMD products (AVX2/FMA/F16C, NEON, scalar) on `f32`/`f16`/`bf16`/`i8` weights.
//! * [`ffi`]: the C ABI declared in `include/wolfpack.h` (cargo feature `c-abi`, on by default).

//!
//! ```
//! use wolfpack_runtime::{Model, Session, SolveOptions, Method};
//! let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
//! let model = Model::from_bytes(&bytes).unwrap();
//! let mut session = Session::with_batch(&model, 4);
//! let inputs = vec![0.5; 4 * model.n_inputs()];
//! let mut outputs = vec![0.0; 4 * model.n_outputs()];
//! let options = SolveOptions { tolerance: Some(1e-6), method: Method::Picard, ..SolveOptions::default() };
//! let stats = session.predict_batch_with(&model, &inputs, 4, &mut outputs, &options).unwrap();
//! assert!(stats.residual <= 1e-6);
//! ```

#![warn(missing_docs)]

mod anderson;
mod blocks;
mod error;
mod fold;
pub mod kernels;
mod model;
mod session;
mod solve;
mod stop;

// Off for bindings that bring their own ABI (wolfpack-android), whose cdylib would otherwise export it too.
#[cfg(feature = "c-abi")]
pub mod ffi;
pub use blocks::BlockStructure;
pub use error::Error;
pub use model::Model;
pub use session::Session;
pub use solve::{Method, SolveOptions, SolveStats, Solver};
pub use wolfpack_format as format;
