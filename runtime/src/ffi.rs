//! The C ABI declared in `include/wolfpack.h` (built into `libwolfpack_runtime.{so,a}`).
//!
//! Every function returns a status code (or a size) and never unwinds: each body runs under
//! [`std::panic::catch_unwind`], and a panic becomes [`WOLFPACK_ERR_PANIC`]. Handles are checked against a
//! registry of live models, so a null, unknown, or already closed handle is [`WOLFPACK_ERR_HANDLE`], not
//! undefined behaviour; a model being closed while another thread predicts with it stays alive until that
//! prediction returns. The message of the last failure on the calling thread is [`wolfpack_last_error`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::{Error, Method, Model, Session, SolveOptions};

/// Success.
pub const WOLFPACK_OK: i32 = 0;
/// A null, unknown or closed model handle.
pub const WOLFPACK_ERR_HANDLE: i32 = 1;
/// A null pointer, a length that does not match the model, or an invalid argument.
pub const WOLFPACK_ERR_ARGUMENT: i32 = 2;
/// The file could not be read.
pub const WOLFPACK_ERR_IO: i32 = 3;
/// The bytes are not a valid `.wpk` model.
pub const WOLFPACK_ERR_FORMAT: i32 = 4;
/// The fixed point did not converge within the iteration cap.
pub const WOLFPACK_ERR_NOT_CONVERGED: i32 = 5;
/// An input, the hidden state or an output is NaN or infinite.
pub const WOLFPACK_ERR_NOT_FINITE: i32 = 6;
/// A bug: a panic was caught at the boundary.
pub const WOLFPACK_ERR_PANIC: i32 = 7;

/// `wolfpack_options.method`: the runtime's choice (`Method::Auto`).
pub const WOLFPACK_METHOD_AUTO: i32 = 0;
/// Picard (Jacobi) iteration.
pub const WOLFPACK_METHOD_PICARD: i32 = 1;
/// Gauss-Seidel sweeps in the stored order.
pub const WOLFPACK_METHOD_GAUSS_SEIDEL: i32 = 2;
/// Anderson-accelerated Picard iteration (a batch: one history per input), depth `anderson_depth`.
pub const WOLFPACK_METHOD_ANDERSON: i32 = 3;
/// The block-triangular solve (dense or CSR `A`).
pub const WOLFPACK_METHOD_BLOCK_TRIANGULAR: i32 = 4;
/// Grouped Gauss-Seidel sweeps (eight rows at a time, Jacobi inside a group; single inputs with a CSR `A`).
pub const WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL: i32 = 5;

/// Solver overrides (`wolfpack_options` in C); a null pointer means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct WolfpackOptions {
    /// Stop when the update is at most this; negative or NaN: the model's default.
    pub tolerance: f32,
    /// Iteration cap; 0: the model's default.
    pub max_iterations: u32,
    /// One of the `WOLFPACK_METHOD_*` values.
    pub method: i32,
    /// History depth of `WOLFPACK_METHOD_ANDERSON` (1 to 8; 0: 5).
    pub anderson_depth: u32,
}

impl WolfpackOptions {
    fn to_rust(self) -> Result<SolveOptions, (i32, String)> {
        let method = match self.method {
            WOLFPACK_METHOD_AUTO => Method::Auto,
            WOLFPACK_METHOD_PICARD => Method::Picard,
            WOLFPACK_METHOD_GAUSS_SEIDEL => Method::GaussSeidel,
            WOLFPACK_METHOD_ANDERSON => Method::Anderson {
                depth: if self.anderson_depth == 0 {
                    5
                } else {
                    self.anderson_depth as usize
                },
            },
            WOLFPACK_METHOD_BLOCK_TRIANGULAR => Method::BlockTriangular,
            WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL => Method::GroupedGaussSeidel,
            m => {
                return Err((
                    WOLFPACK_ERR_ARGUMENT,
                    format!("wolfpack_predict_batch_with: unknown method {m}"),
                ))
            }
        };
        Ok(SolveOptions {
            tolerance: (self.tolerance >= 0.0).then_some(self.tolerance),
            max_iterations: (self.max_iterations > 0).then_some(self.max_iterations),
            method,
        })
    }
}

/// Opaque model handle (`wolfpack_model` in C): a loaded model and the scratch of its predictions.
pub struct WolfpackModel {
    model: Model<'static>,
    session: Mutex<Session>,
}

/// How a prediction went (`wolfpack_stats` in C).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct WolfpackStats {
    /// Iterations (sweeps) run.
    pub iterations: u32,
    /// Final infinity-norm update.
    pub residual: f32,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Live handles, by address: lookups hand out an `Arc`, so closing never frees a model in use.
fn registry() -> MutexGuard<'static, HashMap<usize, Arc<WolfpackModel>>> {
    static LIVE: OnceLock<Mutex<HashMap<usize, Arc<WolfpackModel>>>> = OnceLock::new();
    // A panic while the lock was held cannot leave the map half-updated (single inserts/removes): recover it.
    LIVE.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn set_error(message: String) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

fn status_of(e: &Error) -> i32 {
    match e {
        Error::Io(_) => WOLFPACK_ERR_IO,
        Error::Format(_) | Error::Matrix(_) => WOLFPACK_ERR_FORMAT,
        Error::NotConverged { .. } => WOLFPACK_ERR_NOT_CONVERGED,
        Error::NotFinite { .. } => WOLFPACK_ERR_NOT_FINITE,
        _ => WOLFPACK_ERR_ARGUMENT,
    }
}

/// Runs `f` with panics caught; failures set the thread's last error.
fn guard(f: impl FnOnce() -> Result<(), (i32, String)>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => WOLFPACK_OK,
        Ok(Err((code, message))) => {
            set_error(message);
            code
        }
        Err(_) => {
            set_error("internal error: a panic was caught at the C boundary".into());
            WOLFPACK_ERR_PANIC
        }
    }
}

fn fail(e: Error) -> (i32, String) {
    (status_of(&e), e.to_string())
}

fn lookup(handle: *const WolfpackModel) -> Result<Arc<WolfpackModel>, (i32, String)> {
    registry().get(&(handle as usize)).cloned().ok_or((
        WOLFPACK_ERR_HANDLE,
        format!("invalid model handle {handle:p} (null, unknown or closed)"),
    ))
}

fn register(model: Model<'static>, out: *mut *mut WolfpackModel) -> Result<(), (i32, String)> {
    let session = Mutex::new(Session::new(&model));
    let handle = Arc::new(WolfpackModel { model, session });
    let ptr = Arc::as_ptr(&handle) as *mut WolfpackModel;
    registry().insert(ptr as usize, handle);
    // SAFETY: `out` was checked non-null by the caller of `register`; the C contract makes it writable.
    unsafe { *out = ptr };
    Ok(())
}

/// Opens the model file at `path` (NUL-terminated, UTF-8 or raw bytes) by memory-mapping it, and stores a
/// handle in `*out`. Returns a status code.
///
/// # Safety
/// `path` is null or a NUL-terminated string; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn wolfpack_open(path: *const c_char, out: *mut *mut WolfpackModel) -> i32 {
    guard(|| {
        if path.is_null() || out.is_null() {
            return Err((
                WOLFPACK_ERR_ARGUMENT,
                "wolfpack_open: path and out must not be null".into(),
            ));
        }
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        let path = unsafe { CStr::from_ptr(path) };
        #[cfg(unix)]
        let path = std::path::PathBuf::from(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(path.to_bytes()),
        );
        #[cfg(not(unix))]
        let path: std::path::PathBuf = path.to_string_lossy().into_owned().into();
        register(Model::open(&path).map_err(fail)?, out)
    })
}

/// Loads a model from `len` bytes at `data` (copied once into an aligned buffer the handle owns, so the
/// caller may free `data` on return), and stores a handle in `*out`. Returns a status code.
///
/// # Safety
/// `data` is null or points to `len` readable bytes; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn wolfpack_open_memory(
    data: *const u8,
    len: usize,
    out: *mut *mut WolfpackModel,
) -> i32 {
    guard(|| {
        if data.is_null() || out.is_null() {
            return Err((
                WOLFPACK_ERR_ARGUMENT,
                "wolfpack_open_memory: data and out must not be null".into(),
            ));
        }
        // SAFETY: non-null and `len` readable bytes by the caller's contract.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) };
        register(Model::from_bytes_copied(bytes).map_err(fail)?, out)
    })
}

/// Length of one input (0 for an invalid handle, which also sets the last error).
#[no_mangle]
pub extern "C" fn wolfpack_input_size(model: *const WolfpackModel) -> usize {
    let mut size = 0;
    guard(|| lookup(model).map(|m| size = m.model.n_inputs()));
    size
}

/// Length of one output (0 for an invalid handle, which also sets the last error).
#[no_mangle]
pub extern "C" fn wolfpack_output_size(model: *const WolfpackModel) -> usize {
    let mut size = 0;
    guard(|| lookup(model).map(|m| size = m.model.n_outputs()));
    size
}

/// Predicts `batch` outputs (`batch x output_size`, sample after sample) for `batch` inputs
/// (`batch x input_size`); `inputs_len` and `outputs_len` are the array lengths in floats and must match.
/// `stats` may be null. Returns a status code; predictions on one handle are serialised (one scratch per
/// handle): open one handle per thread for parallel inference.
///
/// # Safety
/// `inputs` points to `inputs_len` readable floats and `outputs` to `outputs_len` writable floats (or they are
/// null); `stats` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn wolfpack_predict_batch(
    model: *mut WolfpackModel,
    inputs: *const f32,
    inputs_len: usize,
    batch: usize,
    outputs: *mut f32,
    outputs_len: usize,
    stats: *mut WolfpackStats,
) -> i32 {
    // SAFETY: same contract; null options are the defaults.
    unsafe {
        wolfpack_predict_batch_with(
            model,
            inputs,
            inputs_len,
            batch,
            outputs,
            outputs_len,
            std::ptr::null(),
            stats,
        )
    }
}

/// [`wolfpack_predict_batch`] with solver overrides: `options` may be null (the model's defaults). An unknown
/// method, or a method the model cannot use (the block-triangular solve for a low-rank
/// `A`), is [`WOLFPACK_ERR_ARGUMENT`].
///
/// # Safety
/// As [`wolfpack_predict_batch`]; `options` is null or readable.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "C" fn wolfpack_predict_batch_with(
    model: *mut WolfpackModel,
    inputs: *const f32,
    inputs_len: usize,
    batch: usize,
    outputs: *mut f32,
    outputs_len: usize,
    options: *const WolfpackOptions,
    stats: *mut WolfpackStats,
) -> i32 {
    guard(|| {
        let handle = lookup(model)?;
        let solve = if options.is_null() {
            SolveOptions::default()
        } else {
            // SAFETY: non-null and readable by the caller's contract.
            unsafe { *options }.to_rust()?
        };
        if (inputs.is_null() && inputs_len > 0) || (outputs.is_null() && outputs_len > 0) {
            return Err((
                WOLFPACK_ERR_ARGUMENT,
                "wolfpack_predict: null input or output array".into(),
            ));
        }
        // SAFETY: non-null (or empty) with the stated lengths by the caller's contract; empty slices use a
        // dangling, aligned pointer as Rust requires.
        let (inputs, outputs) = unsafe {
            (
                if inputs_len == 0 {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(inputs, inputs_len)
                },
                if outputs_len == 0 {
                    &mut [][..]
                } else {
                    std::slice::from_raw_parts_mut(outputs, outputs_len)
                },
            )
        };
        let mut session = handle.session.lock().unwrap_or_else(|e| e.into_inner());
        let s = session
            .predict_batch_with(&handle.model, inputs, batch, outputs, &solve)
            .map_err(fail)?;
        if !stats.is_null() {
            // SAFETY: non-null and writable by the caller's contract.
            unsafe {
                *stats = WolfpackStats {
                    iterations: s.iterations,
                    residual: s.residual,
                }
            };
        }
        Ok(())
    })
}

/// Predicts one output (`output_len == output_size`) for one input (`input_len == input_size`).
/// `stats` may be null. Returns a status code.
///
/// # Safety
/// As [`wolfpack_predict_batch`] with `batch = 1`.
#[no_mangle]
pub unsafe extern "C" fn wolfpack_predict(
    model: *mut WolfpackModel,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
    stats: *mut WolfpackStats,
) -> i32 {
    // SAFETY: same contract.
    unsafe { wolfpack_predict_batch(model, input, input_len, 1, output, output_len, stats) }
}

/// The message of the last failure on this thread (NUL-terminated, UTF-8), or null if none; valid until the
/// next failing call on this thread.
#[no_mangle]
pub extern "C" fn wolfpack_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// Closes a handle (null is ignored; an unknown or already closed handle returns [`WOLFPACK_ERR_HANDLE`]).
#[no_mangle]
pub extern "C" fn wolfpack_close(model: *mut WolfpackModel) -> i32 {
    if model.is_null() {
        return WOLFPACK_OK;
    }
    guard(|| {
        registry().remove(&(model as usize)).map(drop).ok_or((
            WOLFPACK_ERR_HANDLE,
            format!("wolfpack_close: invalid model handle {model:p} (unknown or already closed)"),
        ))
    })
}
