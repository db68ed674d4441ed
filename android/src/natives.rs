//! The JNI natives of `dev.wolfpack.WolfpackNative` (`android/kotlin/src/dev/wolfpack/WolfpackNative.kt`).
//!
//! Every function runs its body through [`call`], which catches panics: an error or a panic becomes a
//! pending `dev.wolfpack.WolfpackException` carrying the message (unless a Java exception is already pending,
//! which then wins), and the function returns a default value that the Java side never sees (the exception
//! is raised as the native method returns). Nothing unwinds into the JVM. The JNI calls themselves are those
//! of [`crate::raw`].
//!
//! Handles are addresses of [`NativeModel`]s ([`NativeModel::into_handle`]); the Kotlin class guards them
//! with a read/write lock so that `close` never frees a model another thread is using.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::jni_str;
use jni::sys::{
    jboolean, jbyteArray, jclass, jfloat, jfloatArray, jint, jlong, jobject, jstring, JNIEnv,
};

use crate::error::{Error, Result};
use crate::handle::NativeModel;
use crate::raw::Env;

/// The exception every failure becomes.
const EXCEPTION_CLASS: &jni::strings::JNIStr = jni_str!("dev/wolfpack/WolfpackException");

/// The message of a panic payload (`panic!` with a literal or with formatting).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    format!("internal error in the wolfpack native library (Rust panic: {detail})")
}

/// Runs `body` with the call's JNI environment, turning its error or panic into a pending
/// `WolfpackException` (unless a Java exception is pending already: it is more precise and wins) and the
/// return value into `T::default()`.
fn call<T: Default>(raw: *mut JNIEnv, body: impl FnOnce(Env) -> Result<T>) -> T {
    // SAFETY: `raw` is the JNIEnv the JVM passed to the running native method, and `env` does not outlive it.
    let env = unsafe { Env::from_raw(raw) };
    let message = match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => return value,
        Ok(Err(e)) => catch_unwind(AssertUnwindSafe(|| e.to_string())),
        Err(payload) => catch_unwind(AssertUnwindSafe(move || panic_message(&*payload))),
    };
    // Formatting the message (or dropping the payload) panicking too is caught above; throw a fixed text then.
    let message = message.unwrap_or_else(|p| {
        std::mem::forget(p);
        "internal error in the wolfpack native library".into()
    });
    if !env.exception_check() {
        env.throw_new(EXCEPTION_CLASS, &message);
    }
    T::default()
}

/// The model behind a handle the Kotlin side passed under its read lock.
fn model<'h>(handle: jlong) -> Result<&'h NativeModel> {
    // SAFETY: the Kotlin class passes zero or a handle from `into_handle`, and holds its read lock (which
    // `close` needs in write mode) for the whole native call, so the model cannot be released meanwhile.
    unsafe { NativeModel::from_handle(handle) }
}

fn to_usize(what: &str, v: jint) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::InvalidArgument(format!("{what} = {v} is negative")))
}

fn to_jint(v: usize) -> Result<jint> {
    jint::try_from(v).map_err(|_| Error::InvalidArgument(format!("{v} does not fit a Java int")))
}

/// Checks that `offset..offset + length` lies within `0..capacity`.
fn range(offset: jint, length: jint, capacity: usize) -> Result<(usize, usize)> {
    let (o, l) = (to_usize("offset", offset)?, to_usize("length", length)?);
    match o.checked_add(l) {
        Some(end) if end <= capacity => Ok((o, l)),
        _ => Err(Error::InvalidArgument(format!(
            "bytes {o}..{o}+{l} are outside a buffer of {capacity} bytes"
        ))),
    }
}

/// `WolfpackNative.openPath(path: String): Long`: memory-maps and validates a `.wpk` file.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openPath(
    env: *mut JNIEnv,
    _class: jclass,
    path: jstring,
) -> jlong {
    call(env, |env| {
        if path.is_null() {
            return Err(Error::InvalidArgument("path is null".into()));
        }
        let path = env.string(path)?;
        Ok(NativeModel::open(path)?.into_handle())
    })
}

/// `WolfpackNative.openDirect(buffer: ByteBuffer, offset: Int, length: Int): Long`: validates the model in a
/// direct buffer and reads it in place (keeping a global reference to the buffer until close) when its
/// address is 4-byte aligned, else from one aligned copy.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openDirect(
    env: *mut JNIEnv,
    _class: jclass,
    buffer: jobject,
    offset: jint,
    length: jint,
) -> jlong {
    call(env, |env| {
        if buffer.is_null() {
            return Err(Error::InvalidArgument("buffer is null".into()));
        }
        let (base, capacity) = env.direct_buffer(buffer)?.ok_or_else(|| {
            Error::InvalidArgument("the buffer is not a direct ByteBuffer".into())
        })?;
        let (offset, length) = range(offset, length, capacity)?;
        let keep_alive = env.new_global_ref(buffer)?;
        // SAFETY: `base..base + capacity` is the buffer's memory and `offset + length <= capacity`; the
        // global reference keeps the buffer object, hence its memory, alive until the model is dropped, and
        // the Kotlin API documents that the buffer must not be written while the model is open.
        let start = unsafe { base.add(offset) };
        // SAFETY: as above.
        Ok(
            unsafe { NativeModel::from_borrowed(start, length, Box::new(keep_alive)) }?
                .into_handle(),
        )
    })
}

/// `WolfpackNative.openBytes(bytes: ByteArray, offset: Int, length: Int): Long`: validates a copy.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openBytes(
    env: *mut JNIEnv,
    _class: jclass,
    bytes: jbyteArray,
    offset: jint,
    length: jint,
) -> jlong {
    call(env, |env| {
        if bytes.is_null() {
            return Err(Error::InvalidArgument("bytes is null".into()));
        }
        let (offset, length) = range(offset, length, env.array_len(bytes)?)?;
        let mut copy = vec![0u8; length];
        env.read_bytes(bytes, offset, &mut copy)?;
        Ok(NativeModel::from_bytes_copied(&copy)?.into_handle())
    })
}

/// `WolfpackNative.close(handle: Long)`: frees the model; zero is accepted (closing twice is harmless).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_close(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) {
    // SAFETY: the Kotlin class calls this once per handle, under its write lock, then forgets the handle.
    call(env, |_| unsafe { NativeModel::release(handle) })
}

/// `WolfpackNative.inputSize(handle: Long): Int`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_inputSize(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jint {
    call(env, |_| to_jint(model(handle)?.model().n_inputs()))
}

/// `WolfpackNative.outputSize(handle: Long): Int`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_outputSize(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jint {
    call(env, |_| to_jint(model(handle)?.model().n_outputs()))
}

/// `WolfpackNative.isZeroCopy(handle: Long): Boolean`: whether the weights are read in place.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_isZeroCopy(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jboolean {
    call(env, |_| Ok(model(handle)?.is_zero_copy()))
}

/// `WolfpackNative.predict(handle: Long, input: FloatArray, output: FloatArray)`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_predict(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
    input: jfloatArray,
    output: jfloatArray,
) {
    predict_batch(env, handle, input, 1, output)
}

/// `WolfpackNative.predictBatch(handle: Long, inputs: FloatArray, batch: Int, outputs: FloatArray)`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_predictBatch(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
    inputs: jfloatArray,
    batch: jint,
    outputs: jfloatArray,
) {
    predict_batch(env, handle, inputs, batch, outputs)
}

fn predict_batch(
    env: *mut JNIEnv,
    handle: jlong,
    inputs: jfloatArray,
    batch: jint,
    outputs: jfloatArray,
) {
    call(env, |env| {
        let m = model(handle)?;
        if inputs.is_null() || outputs.is_null() {
            return Err(Error::InvalidArgument(
                "inputs and outputs must not be null".into(),
            ));
        }
        let batch = to_usize("batch", batch)?;
        let (ni, no) = (env.array_len(inputs)?, env.array_len(outputs)?);
        m.predict_batch(
            batch,
            ni,
            no,
            |dst| env.read_floats(inputs, dst),
            |src| env.write_floats(outputs, src),
        )?;
        Ok(())
    })
}

/// `WolfpackNative.classify(handle: Long, input: FloatArray): Int`: index of the largest output.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_classify(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
    input: jfloatArray,
) -> jint {
    call(env, |env| {
        let m = model(handle)?;
        if input.is_null() {
            return Err(Error::InvalidArgument("input must not be null".into()));
        }
        let n = env.array_len(input)?;
        to_jint(m.classify(n, |dst| env.read_floats(input, dst))?)
    })
}

/// `WolfpackNative.lastIterations(handle: Long): Int`: iterations of this thread's last solve with the model
/// (0 before the first).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_lastIterations(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jint {
    call(env, |_| {
        let iterations = model(handle)?.last_solve()?.map_or(0, |s| s.iterations);
        Ok(jint::try_from(iterations).unwrap_or(jint::MAX))
    })
}

/// `WolfpackNative.lastResidual(handle: Long): Float`: final update of this thread's last solve with the
/// model (NaN before the first).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_lastResidual(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jfloat {
    call(env, |_| {
        Ok(model(handle)?
            .last_solve()?
            .map_or(f32::NAN, |s| s.residual))
    })
}

/// `WolfpackNative.labelCount(handle: Long): Int`: number of class names in the metadata (0 or outputs).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_labelCount(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
) -> jint {
    call(env, |_| to_jint(model(handle)?.model().labels().len()))
}

/// `WolfpackNative.label(handle: Long, index: Int): String`: one class name.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_label(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
    index: jint,
) -> jstring {
    call(env, |env| {
        let label = model(handle)?.label(to_usize("index", index)?)?;
        env.new_string(label)
    })
}

/// `WolfpackNative.timeRustLoop(handle: Long, input: FloatArray, calls: Int): Long`: nanoseconds that
/// `calls` predictions of `input` take inside Rust, without crossing JNI (the JNI overhead benchmark's
/// baseline, see [`NativeModel::time_predict_loop`]).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_timeRustLoop(
    env: *mut JNIEnv,
    _class: jclass,
    handle: jlong,
    input: jfloatArray,
    calls: jint,
) -> jlong {
    call(env, |env| {
        let m = model(handle)?;
        if input.is_null() {
            return Err(Error::InvalidArgument("input must not be null".into()));
        }
        let mut staged = vec![0.0; env.array_len(input)?];
        env.read_floats(input, &mut staged)?;
        let elapsed = m.time_predict_loop(&staged, to_usize("calls", calls)?)?;
        Ok(jlong::try_from(elapsed.as_nanos()).unwrap_or(jlong::MAX))
    })
}

/// `WolfpackNative.selfTestPanic()`: panics on purpose, so that the host-JVM tests can check that a Rust
/// panic reaches Java as a `WolfpackException` and leaves the VM running.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_selfTestPanic(
    env: *mut JNIEnv,
    _class: jclass,
) {
    call(env, |_| -> Result<()> {
        panic!("wolfpack self-test panic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(range(0, 10, 10).unwrap(), (0, 10));
        assert_eq!(range(4, 2, 10).unwrap(), (4, 2));
        assert!(range(9, 2, 10)
            .unwrap_err()
            .to_string()
            .contains("outside a buffer of 10 bytes"));
        assert!(range(-1, 2, 10)
            .unwrap_err()
            .to_string()
            .contains("offset = -1 is negative"));
        assert!(range(0, -5, 10)
            .unwrap_err()
            .to_string()
            .contains("length = -5"));
        assert!(range(jint::MAX, jint::MAX, usize::MAX).is_ok());
    }

    #[test]
    fn sizes_fit_java_ints_or_fail() {
        assert_eq!(to_jint(7).unwrap(), 7);
        assert!(to_jint(usize::MAX).is_err());
        assert!(to_usize("batch", -1)
            .unwrap_err()
            .to_string()
            .contains("batch = -1 is negative"));
    }
}
