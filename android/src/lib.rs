//! # wolfpack-android: the wolfpack runtime inside Android apps
//!
//! A `cdylib` (`libwolfpack_android.so`, one per ABI) exporting the JNI natives behind the Kotlin class
//! `dev.wolfpack.WolfpackModel` (`android/kotlin/`). It is built on `wolfpack-runtime` alone: no training,
//! CLI or ONNX code reaches a phone.
//!
//! An implicit model maps an input `u` to `y = C x + D u + c` where `x = relu(A x + B u + b)` is the fixed
//! point of a contraction (El Ghaoui et al., "Implicit Deep Learning", SIAM J. Math. Data Sci. 2021); the
//! runtime solves it, this crate carries arrays and errors across JNI:
//!
//! * [`handle`]: the model behind a `jlong` handle (memory-mapped file, a direct `ByteBuffer` read in place
//!   while a global reference keeps it alive, or one copy), closed idempotently.
//! * [`scratch`]: per-thread solver scratch, so one model serves many threads and steady-state predictions
//!   allocate nothing; the last solve's iterations and residual per thread and model.
//! * [`predict`]: predictions, batches and argmax classification, JVM-free (tested on the host and under
//!   qemu on aarch64).
//! * `raw`: the JNI calls of the natives, made through the JNI function table directly (`jni::sys`): the
//!   `jni` crate's `Env`, attach guards and exception mapping weighed about 60 KB of the 400 KB budget.
//! * [`natives`]: the `extern "system"` functions; every error or panic becomes a
//!   `dev.wolfpack.WolfpackException` with the runtime's message, never a crash of the JVM.

#![warn(missing_docs)]

pub mod error;
pub mod handle;
pub mod natives;
pub mod predict;
mod raw;
pub mod scratch;

pub use error::{Error, Result};
pub use handle::NativeModel;
pub use scratch::LastSolve;
