//! The JNI natives of `dev.wolfpack.WolfpackNative` (`android/kotlin/src/dev/wolfpack/WolfpackNative.kt`).
//!
//! Every function runs its body through [`EnvUnowned::with_env`], which catches panics, and resolves the
//! outcome with [`ThrowWolfpackException`]: an error or a panic becomes a pending
//! `dev.wolfpack.WolfpackException` carrying the message, and the function returns a default value that the
//! Java side never sees (the exception is raised as the native method returns). Nothing unwinds into the JVM.
//!
//! Handles are addresses of [`NativeModel`]s ([`NativeModel::into_handle`]); the Kotlin class guards them
//! with a read/write lock so that `close` never frees a model another thread is using.

use jni::errors::ErrorPolicy;
use jni::objects::{JByteArray, JByteBuffer, JClass, JFloatArray, JString};
use jni::sys::{jboolean, jfloat, jint, jlong};
use jni::{jni_str, Env, EnvUnowned};

use crate::error::{Error, Result};
use crate::handle::NativeModel;

/// The exception every failure becomes.
const EXCEPTION_CLASS: &jni::strings::JNIStr = jni_str!("dev/wolfpack/WolfpackException");

/// Error policy of the natives: throw `dev.wolfpack.WolfpackException(message)` unless a Java exception is
/// already pending (a failed JNI call has thrown one: it is more precise and wins), and return the default.
#[derive(Debug, Default)]
pub struct ThrowWolfpackException;

fn throw<T: Default>(env: &mut Env<'_>, message: &str) -> jni::errors::Result<T> {
    if !env.exception_check() {
        // If even this fails (out of memory, class missing), `on_internal_jni_error` returns the default.
        env.throw_new(EXCEPTION_CLASS, jni::strings::JNIString::new(message))?;
    }
    Ok(T::default())
}

impl<T: Default> ErrorPolicy<T, Error> for ThrowWolfpackException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        err: Error,
    ) -> jni::errors::Result<T> {
        throw(env, &err.to_string())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _cap: &mut (),
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        // The payload is a plain string or dropped by the caller's catch_unwind guard; keep it simple here.
        throw(env, &format!("internal error in the wolfpack native library (Rust panic: {detail})"))
    }
}

/// Runs `body` with a JNI environment, turning errors and panics into a pending `WolfpackException`.
fn call<'local, T: Default>(env: &mut EnvUnowned<'local>, body: impl FnOnce(&mut Env<'local>) -> Result<T>) -> T {
    env.with_env(body).resolve::<ThrowWolfpackException>()
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
        _ => Err(Error::InvalidArgument(format!("bytes {o}..{o}+{l} are outside a buffer of {capacity} bytes"))),
    }
}

/// `WolfpackNative.openPath(path: String): Long`: memory-maps and validates a `.wpk` file.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openPath<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    path: JString<'local>,
) -> jlong {
    call(&mut env, |env| {
        if path.is_null() {
            return Err(Error::InvalidArgument("path is null".into()));
        }
        let path = path.try_to_string(env)?;
        Ok(NativeModel::open(path)?.into_handle())
    })
}

/// `WolfpackNative.openDirect(buffer: ByteBuffer, offset: Int, length: Int): Long`: validates the model in a
/// direct buffer and reads it in place (keeping a global reference to the buffer until close) when its
/// address is 4-byte aligned, else from one aligned copy.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openDirect<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    buffer: JByteBuffer<'local>,
    offset: jint,
    length: jint,
) -> jlong {
    call(&mut env, |env| {
        if buffer.is_null() {
            return Err(Error::InvalidArgument("buffer is null".into()));
        }
        let base = env
            .get_direct_buffer_address(&buffer)
            .map_err(|_| Error::InvalidArgument("the buffer is not a direct ByteBuffer".into()))?;
        let capacity = env.get_direct_buffer_capacity(&buffer)?;
        let (offset, length) = range(offset, length, capacity)?;
        let keep_alive = env.new_global_ref(&buffer)?;
        // SAFETY: `base..base + capacity` is the buffer's memory and `offset + length <= capacity`; the
        // global reference keeps the buffer object, hence its memory, alive until the model is dropped, and
        // the Kotlin API documents that the buffer must not be written while the model is open.
        let start = unsafe { base.add(offset) };
        // SAFETY: as above.
        Ok(unsafe { NativeModel::from_borrowed(start, length, Box::new(keep_alive)) }?.into_handle())
    })
}

/// `WolfpackNative.openBytes(bytes: ByteArray, offset: Int, length: Int): Long`: validates a copy.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_openBytes<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    bytes: JByteArray<'local>,
    offset: jint,
    length: jint,
) -> jlong {
    call(&mut env, |env| {
        if bytes.is_null() {
            return Err(Error::InvalidArgument("bytes is null".into()));
        }
        let (offset, length) = range(offset, length, bytes.len(env)?)?;
        let mut signed = vec![0i8; length];
        bytes.get_region(env, to_jint(offset)?, &mut signed)?;
        let unsigned: Vec<u8> = signed.into_iter().map(|b| b as u8).collect();
        Ok(NativeModel::from_bytes_copied(&unsigned)?.into_handle())
    })
}

/// `WolfpackNative.close(handle: Long)`: frees the model; zero is accepted (closing twice is harmless).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_close<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    // SAFETY: the Kotlin class calls this once per handle, under its write lock, then forgets the handle.
    call(&mut env, |_| unsafe { NativeModel::release(handle) })
}

/// `WolfpackNative.inputSize(handle: Long): Int`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_inputSize<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, |_| to_jint(model(handle)?.model().n_inputs()))
}

/// `WolfpackNative.outputSize(handle: Long): Int`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_outputSize<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, |_| to_jint(model(handle)?.model().n_outputs()))
}

/// `WolfpackNative.isZeroCopy(handle: Long): Boolean`: whether the weights are read in place.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_isZeroCopy<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jboolean {
    call(&mut env, |_| Ok(model(handle)?.is_zero_copy()))
}

/// `WolfpackNative.predict(handle: Long, input: FloatArray, output: FloatArray)`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_predict<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    input: JFloatArray<'local>,
    output: JFloatArray<'local>,
) {
    predict_batch(&mut env, handle, input, 1, output)
}

/// `WolfpackNative.predictBatch(handle: Long, inputs: FloatArray, batch: Int, outputs: FloatArray)`.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_predictBatch<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    inputs: JFloatArray<'local>,
    batch: jint,
    outputs: JFloatArray<'local>,
) {
    predict_batch(&mut env, handle, inputs, batch, outputs)
}

fn predict_batch<'local>(
    env: &mut EnvUnowned<'local>,
    handle: jlong,
    inputs: JFloatArray<'local>,
    batch: jint,
    outputs: JFloatArray<'local>,
) {
    call(env, |env| {
        let m = model(handle)?;
        if inputs.is_null() || outputs.is_null() {
            return Err(Error::InvalidArgument("inputs and outputs must not be null".into()));
        }
        let batch = to_usize("batch", batch)?;
        let (ni, no) = (inputs.len(env)?, outputs.len(env)?);
        let env = &*env;
        m.predict_batch(
            batch,
            ni,
            no,
            |dst| Ok(inputs.get_region(env, 0, dst)?),
            |src| Ok(outputs.set_region(env, 0, src)?),
        )?;
        Ok(())
    })
}

/// `WolfpackNative.classify(handle: Long, input: FloatArray): Int`: index of the largest output.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_classify<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    input: JFloatArray<'local>,
) -> jint {
    call(&mut env, |env| {
        let m = model(handle)?;
        if input.is_null() {
            return Err(Error::InvalidArgument("input must not be null".into()));
        }
        let n = input.len(env)?;
        let env = &*env;
        to_jint(m.classify(n, |dst| Ok(input.get_region(env, 0, dst)?))?)
    })
}

/// `WolfpackNative.lastIterations(handle: Long): Int`: iterations of this thread's last solve with the model
/// (0 before the first).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_lastIterations<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, |_| {
        let iterations = model(handle)?.last_solve()?.map_or(0, |s| s.iterations);
        Ok(jint::try_from(iterations).unwrap_or(jint::MAX))
    })
}

/// `WolfpackNative.lastResidual(handle: Long): Float`: final update of this thread's last solve with the
/// model (NaN before the first).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_lastResidual<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jfloat {
    call(&mut env, |_| Ok(model(handle)?.last_solve()?.map_or(f32::NAN, |s| s.residual)))
}

/// `WolfpackNative.labelCount(handle: Long): Int`: number of class names in the metadata (0 or outputs).
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_labelCount<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    call(&mut env, |_| to_jint(model(handle)?.model().labels().len()))
}

/// `WolfpackNative.label(handle: Long, index: Int): String`: one class name.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_label<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    index: jint,
) -> JString<'local> {
    call(&mut env, |env| {
        let label = model(handle)?.label(to_usize("index", index)?)?;
        Ok(JString::from_str(env, label)?)
    })
}

/// `WolfpackNative.selfTestPanic()`: panics on purpose, so that the host-JVM tests can check that a Rust
/// panic reaches Java as a `WolfpackException` and leaves the VM running.
#[no_mangle]
pub extern "system" fn Java_dev_wolfpack_WolfpackNative_selfTestPanic<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) {
    call(&mut env, |_| -> Result<()> { panic!("wolfpack self-test panic") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(range(0, 10, 10).unwrap(), (0, 10));
        assert_eq!(range(4, 2, 10).unwrap(), (4, 2));
        assert!(range(9, 2, 10).unwrap_err().to_string().contains("outside a buffer of 10 bytes"));
        assert!(range(-1, 2, 10).unwrap_err().to_string().contains("offset = -1 is negative"));
        assert!(range(0, -5, 10).unwrap_err().to_string().contains("length = -5"));
        assert!(range(jint::MAX, jint::MAX, usize::MAX).is_ok());
    }

    #[test]
    fn sizes_fit_java_ints_or_fail() {
        assert_eq!(to_jint(7).unwrap(), 7);
        assert!(to_jint(usize::MAX).is_err());
        assert!(to_usize("batch", -1).unwrap_err().to_string().contains("batch = -1 is negative"));
    }
}
