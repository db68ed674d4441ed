//! The JNI calls of the natives, made straight through the JNI function table (`jni::sys`), and the global
//! reference that keeps a direct `ByteBuffer` alive.
//!
//! Why not the `jni` crate's `Env`: every `Env` of jni 0.22 lives in an `AttachGuard` whose (never taken, for
//! a native method) detach path, its `Global` references and its exception mapping (`jni_call_with_catch!`)
//! look Java exception classes up through class-loader fallbacks and classify pending exceptions against a
//! dozen of them; in this library that was about 60 KB of the 400 KB budget (docs/BENCHMARKS.md, "android")
//! for calls that here cannot raise anything the caller has not ruled out. So the natives use the few JNI
//! 1.1-1.6 functions below directly, and jni 0.22 for its types (`jni::sys`) and its modified-UTF-8
//! conversions ([`JNIString`], [`JNIStr`]).
//!
//! Exceptions: the callers check nulls, lengths and ranges first, so a JNI call can only fail by raising an
//! exception the VM chose (`OutOfMemoryError`, ...). It is left pending and reported as [`Error::Jni`]; the
//! natives then return without throwing their own (a pending exception wins), so it reaches Java unchanged.

use std::ffi::c_void;
use std::ptr;

use jni::strings::{JNIStr, JNIString};
use jni::sys::{jarray, jbyteArray, jfloatArray, jobject, jsize, jstring, JNIEnv, JavaVM};
use jni::sys::{JNI_EDETACHED, JNI_OK, JNI_VERSION_1_6};

use crate::error::{Error, Result};

/// The `JNIEnv` of the running native call: valid on this thread until the native method returns.
#[derive(Clone, Copy)]
pub(crate) struct Env(*mut JNIEnv);

/// A slice length as a JNI size; callers only pass slices no longer than a Java array, so this does not fail
/// in practice.
fn jsize_of(len: usize) -> Result<jsize> {
    jsize::try_from(len)
        .map_err(|_| Error::InvalidArgument(format!("{len} elements do not fit a Java array")))
}

impl Env {
    /// Wraps the `JNIEnv` pointer a native method received.
    ///
    /// # Safety
    /// `raw` must be the `JNIEnv` the JVM passed to the running native method, and the `Env` must not
    /// outlive that call nor leave its thread.
    pub(crate) unsafe fn from_raw(raw: *mut JNIEnv) -> Env {
        Env(raw)
    }

    /// Whether a Java exception is pending.
    pub(crate) fn exception_check(self) -> bool {
        // SAFETY (this and every call below): `self.0` is the live JNIEnv of this thread's native call
        // (`from_raw`), and the function pointers of its table are valid for JNI 1.6 (Android's level).
        unsafe { ((**self.0).v1_2.ExceptionCheck)(self.0) }
    }

    /// `Err(Error::Jni(what))` if the last call left an exception pending.
    fn check(self, what: &'static str) -> Result<()> {
        if self.exception_check() {
            return Err(Error::Jni(what));
        }
        Ok(())
    }

    /// Length of a non-null Java array.
    pub(crate) fn array_len(self, array: jarray) -> Result<usize> {
        // SAFETY: as in `exception_check`; `array` is a non-null array reference (callers check null).
        let len = unsafe { ((**self.0).v1_1.GetArrayLength)(self.0, array) };
        self.check("GetArrayLength")?;
        usize::try_from(len).map_err(|_| Error::Jni("GetArrayLength"))
    }

    /// Copies `array[0..dst.len()]` into `dst`; the caller has checked that the non-null `array` holds at
    /// least `dst.len()` elements.
    pub(crate) fn read_floats(self, array: jfloatArray, dst: &mut [f32]) -> Result<()> {
        let len = jsize_of(dst.len())?;
        // SAFETY: as in `exception_check`; `dst` is valid for `len` writes. An out-of-bounds region would
        // raise ArrayIndexOutOfBoundsException and write nothing, never write past `dst`.
        unsafe { ((**self.0).v1_1.GetFloatArrayRegion)(self.0, array, 0, len, dst.as_mut_ptr()) };
        self.check("GetFloatArrayRegion")
    }

    /// Copies `src` into `array[0..src.len()]`; the caller has checked that the non-null `array` holds at
    /// least `src.len()` elements.
    pub(crate) fn write_floats(self, array: jfloatArray, src: &[f32]) -> Result<()> {
        let len = jsize_of(src.len())?;
        // SAFETY: as in `read_floats`; `src` is valid for `len` reads.
        unsafe { ((**self.0).v1_1.SetFloatArrayRegion)(self.0, array, 0, len, src.as_ptr()) };
        self.check("SetFloatArrayRegion")
    }

    /// Copies `array[offset..offset + dst.len()]` into `dst` (Java's signed bytes, same bits); the caller has
    /// checked that the range lies inside the non-null `array`.
    pub(crate) fn read_bytes(self, array: jbyteArray, offset: usize, dst: &mut [u8]) -> Result<()> {
        let (start, len) = (jsize_of(offset)?, jsize_of(dst.len())?);
        // SAFETY: as in `read_floats`; `dst` is valid for `len` one-byte writes (`jbyte` is `i8`).
        unsafe {
            ((**self.0).v1_1.GetByteArrayRegion)(self.0, array, start, len, dst.as_mut_ptr().cast())
        };
        self.check("GetByteArrayRegion")
    }

    /// The contents of a non-null Java string.
    pub(crate) fn string(self, string: jstring) -> Result<String> {
        // SAFETY: as in `exception_check`; `string` is a non-null `java.lang.String` reference. The
        // characters (NUL-terminated modified UTF-8) stay valid until released, after the copy.
        unsafe {
            let chars = ((**self.0).v1_1.GetStringUTFChars)(self.0, string, ptr::null_mut());
            if chars.is_null() {
                self.check("GetStringUTFChars")?;
                return Err(Error::Jni("GetStringUTFChars"));
            }
            let text = JNIStr::from_ptr(chars).to_str().into_owned();
            ((**self.0).v1_1.ReleaseStringUTFChars)(self.0, string, chars);
            Ok(text)
        }
    }

    /// A new Java string holding `s` (converted to modified UTF-8 by [`JNIString`]).
    pub(crate) fn new_string(self, s: &str) -> Result<jstring> {
        let text = JNIString::new(s);
        // SAFETY: as in `exception_check`; `text` is NUL-terminated modified UTF-8 and outlives the call.
        let string = unsafe { ((**self.0).v1_1.NewStringUTF)(self.0, text.as_ptr()) };
        self.check("NewStringUTF")?;
        if string.is_null() {
            return Err(Error::Jni("NewStringUTF"));
        }
        Ok(string)
    }

    /// Address and capacity of a direct `ByteBuffer`; `None` if `buffer` is not a direct buffer.
    pub(crate) fn direct_buffer(self, buffer: jobject) -> Result<Option<(*mut u8, usize)>> {
        // SAFETY: as in `exception_check`; `buffer` is a non-null `java.nio.ByteBuffer` reference. Both
        // functions return null / -1 (without an exception) for a buffer that is not direct.
        let (base, capacity) = unsafe {
            (
                ((**self.0).v1_4.GetDirectBufferAddress)(self.0, buffer),
                ((**self.0).v1_4.GetDirectBufferCapacity)(self.0, buffer),
            )
        };
        self.check("GetDirectBufferAddress")?;
        match usize::try_from(capacity) {
            Ok(capacity) if !base.is_null() => Ok(Some((base.cast(), capacity))),
            _ => Ok(None),
        }
    }

    /// A global reference to `object`, released when the [`GlobalRef`] is dropped (on any thread).
    pub(crate) fn new_global_ref(self, object: jobject) -> Result<GlobalRef> {
        // The VM first: no JNI call may follow one that left an exception pending, and nothing needs releasing
        // if this fails.
        let mut vm: *mut JavaVM = ptr::null_mut();
        // SAFETY: as in `exception_check`; `vm` is a valid out pointer.
        let status = unsafe { ((**self.0).v1_1.GetJavaVM)(self.0, &mut vm) };
        self.check("GetJavaVM")?;
        if status != JNI_OK || vm.is_null() {
            return Err(Error::Jni("GetJavaVM"));
        }
        // SAFETY: as in `exception_check`; `object` is a live non-null reference.
        let global = unsafe { ((**self.0).v1_1.NewGlobalRef)(self.0, object) };
        self.check("NewGlobalRef")?;
        if global.is_null() {
            return Err(Error::Jni("NewGlobalRef"));
        }
        Ok(GlobalRef { vm, object: global })
    }

    /// Throws a new exception of `class` (a binary name such as `dev/wolfpack/WolfpackException`, resolved by
    /// the class loader of the calling native method) carrying `message`. Should the class be missing, the
    /// `NoClassDefFoundError` left pending reports the problem instead.
    pub(crate) fn throw_new(self, class: &JNIStr, message: &str) {
        let text = JNIString::new(message);
        // SAFETY: as in `exception_check`; `class` and `text` are NUL-terminated modified UTF-8 that outlive
        // the calls; the class is a local reference, deleted once used.
        unsafe {
            let f = &(**self.0).v1_1;
            let cls = (f.FindClass)(self.0, class.as_ptr());
            if !cls.is_null() {
                (f.ThrowNew)(self.0, cls, text.as_ptr());
                (f.DeleteLocalRef)(self.0, cls);
            }
        }
    }
}

/// A JNI global reference, deleted on drop from whichever thread drops it (attaching that thread to the VM
/// for the call if it is not attached).
pub(crate) struct GlobalRef {
    vm: *mut JavaVM,
    object: jobject,
}

// SAFETY: a global reference and the JavaVM pointer are valid on every thread (JNI specification, "Global
// References"; "The Invocation API"), and `GlobalRef` only deletes the reference, once, in `drop`.
unsafe impl Send for GlobalRef {}
// SAFETY: as above; `&GlobalRef` allows nothing.
unsafe impl Sync for GlobalRef {}

impl Drop for GlobalRef {
    fn drop(&mut self) {
        let mut env: *mut c_void = ptr::null_mut();
        // SAFETY: `vm` is the process's JavaVM (it outlives every model); GetEnv, AttachCurrentThread and
        // DetachCurrentThread are callable from any thread, and `env` is a valid out pointer. A thread that
        // was not attached is attached only for the DeleteGlobalRef and detached again.
        unsafe {
            let invoke = &**self.vm;
            let mut status = (invoke.v1_2.GetEnv)(self.vm, &mut env, JNI_VERSION_1_6);
            let attached_here = status == JNI_EDETACHED;
            if attached_here {
                status = (invoke.v1_1.AttachCurrentThread)(self.vm, &mut env, ptr::null_mut());
            }
            if status == JNI_OK && !env.is_null() {
                let env = env.cast::<JNIEnv>();
                ((**env).v1_1.DeleteGlobalRef)(env, self.object);
            }
            if attached_here && status == JNI_OK {
                (invoke.v1_1.DetachCurrentThread)(self.vm);
            }
        }
    }
}
