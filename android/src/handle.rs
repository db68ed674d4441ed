//! [`NativeModel`]: the Rust object behind a Kotlin `WolfpackModel`, and its life as a `jlong` handle.
//!
//! The Java side holds the handle in a field, zeroes it under a write lock when the model is closed and takes
//! the read lock around every native call, so a handle reaching Rust is either zero (closed: an exception) or
//! points at a live model. The tag checked here is a second line of defence that turns a stale or forged
//! handle into [`Error::Closed`] instead of a wild read in the common cases (freed memory that still holds
//! the zeroed tag), not a proof: only the Java lock is.

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use wolfpack_runtime::Model;

use crate::error::{Error, Result};

/// Tag of a live [`NativeModel`] ("wolfpack" in ASCII); zeroed when the model is dropped.
const LIVE: u64 = u64::from_be_bytes(*b"wolfpack");

/// Source of [`NativeModel::id`]: unique for the life of the process, unlike addresses, which are reused.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Something that keeps borrowed model bytes alive (a JNI global reference to a direct `ByteBuffer`).
pub type KeepAlive = Box<dyn Any + Send + Sync>;

/// A loaded model as the JNI natives see it.
pub struct NativeModel {
    tag: u64,
    id: u64,
    zero_copy: bool,
    // Field order matters: `model` may borrow the memory `_keep_alive` keeps alive, so it is dropped first.
    model: Model<'static>,
    _keep_alive: Option<KeepAlive>,
}

impl NativeModel {
    fn new(model: Model<'static>, zero_copy: bool, keep_alive: Option<KeepAlive>) -> NativeModel {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        NativeModel { tag: LIVE, id, zero_copy, model, _keep_alive: keep_alive }
    }

    /// Memory-maps and validates the `.wpk` file at `path` (weights read in place from the mapping).
    pub fn open(path: impl AsRef<Path>) -> Result<NativeModel> {
        Ok(NativeModel::new(Model::open(path)?, true, None))
    }

    /// Validates a copy of `bytes` (one aligned copy owned by the model): for heap arrays the caller may
    /// reuse, such as a Java `byte[]` or a non-direct `ByteBuffer`.
    pub fn from_bytes_copied(bytes: &[u8]) -> Result<NativeModel> {
        Ok(NativeModel::new(Model::from_bytes_copied(bytes)?, false, None))
    }

    /// Validates `len` bytes at `ptr` and reads the weights there in place when `ptr` is 4-byte aligned
    /// (the runtime views `f32`/`u32` arrays directly); otherwise copies them once and drops `keep_alive`
    /// right away.
    ///
    /// # Safety
    /// `ptr..ptr + len` must be readable, and must stay readable and unmodified for as long as `keep_alive`
    /// lives (for a direct `ByteBuffer`: while a global reference to it is held and nobody writes to it).
    pub unsafe fn from_borrowed(ptr: *const u8, len: usize, keep_alive: KeepAlive) -> Result<NativeModel> {
        if ptr.is_null() {
            return Err(Error::InvalidArgument("the buffer has no address (not a direct ByteBuffer)".into()));
        }
        // SAFETY: the caller guarantees the range is readable for as long as `keep_alive` lives, and the
        // model (the only holder of views into it) is dropped before `keep_alive` (field order above).
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(ptr, len) };
        if ptr.align_offset(4) == 0 {
            Ok(NativeModel::new(Model::from_bytes(bytes)?, true, Some(keep_alive)))
        } else {
            let model = NativeModel::from_bytes_copied(bytes);
            drop(keep_alive);
            model
        }
    }

    /// The validated model.
    pub fn model(&self) -> &Model<'static> {
        &self.model
    }

    /// Identity of this model for per-thread bookkeeping (never reused, unlike its address).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True when the weights are read in place (a memory map or an aligned direct buffer), false when the
    /// model owns a copy.
    pub fn is_zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Moves the model to the heap and returns its address as a `jlong` handle (never zero).
    pub fn into_handle(self) -> i64 {
        Box::into_raw(Box::new(self)) as usize as i64
    }

    /// The model behind `handle`.
    ///
    /// # Safety
    /// `handle` must be zero or a value returned by [`NativeModel::into_handle`] not yet passed to
    /// [`NativeModel::release`], and no `release` may run while the returned reference is in use (the Java
    /// side's read/write lock ensures both).
    pub unsafe fn from_handle<'h>(handle: i64) -> Result<&'h NativeModel> {
        let ptr = handle as usize as *const NativeModel;
        if ptr.is_null() || !ptr.is_aligned() {
            return Err(Error::Closed);
        }
        // SAFETY: by the contract above `ptr` points at a live, boxed `NativeModel`.
        let model = unsafe { &*ptr };
        if model.tag != LIVE {
            return Err(Error::Closed);
        }
        Ok(model)
    }

    /// Frees the model behind `handle`; zero is accepted and does nothing, so closing twice is harmless.
    ///
    /// # Safety
    /// As for [`NativeModel::from_handle`], and the handle must not be used again.
    pub unsafe fn release(handle: i64) -> Result<()> {
        if handle == 0 {
            return Ok(());
        }
        // SAFETY: forwarded contract; a live tag was checked.
        let model = unsafe { NativeModel::from_handle(handle) }?;
        // SAFETY: `handle` came from `Box::into_raw` in `into_handle` and is released exactly once.
        drop(unsafe { Box::from_raw(model as *const NativeModel as *mut NativeModel) });
        Ok(())
    }
}

impl Drop for NativeModel {
    fn drop(&mut self) {
        // A volatile write, so that the compiler does not drop a store to memory about to be freed: a stale
        // handle then most likely meets a dead tag in `from_handle`.
        // SAFETY: `self.tag` is a valid, aligned, exclusively borrowed u64.
        unsafe { std::ptr::write_volatile(&mut self.tag, 0) };
    }
}

impl core::fmt::Debug for NativeModel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NativeModel").field("id", &self.id).field("zero_copy", &self.zero_copy).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use super::*;

    fn sample_bytes() -> Vec<u8> {
        wolfpack_runtime::format::sample::sample_model().to_bytes().unwrap().to_vec()
    }

    #[test]
    fn handles_round_trip_and_release_is_idempotent_for_zero() {
        let model = NativeModel::from_bytes_copied(&sample_bytes()).unwrap();
        let id = model.id();
        let handle = model.into_handle();
        assert_ne!(handle, 0);
        // SAFETY: a fresh handle, released once below.
        let back = unsafe { NativeModel::from_handle(handle) }.unwrap();
        assert_eq!(back.id(), id);
        assert_eq!(back.model().n_inputs(), 6);
        // SAFETY: released exactly once; zero is always accepted.
        unsafe {
            NativeModel::release(handle).unwrap();
            NativeModel::release(0).unwrap();
        }
        // SAFETY: zero and misaligned handles are rejected before any read.
        assert!(matches!(unsafe { NativeModel::from_handle(0) }, Err(Error::Closed)));
        assert!(matches!(unsafe { NativeModel::from_handle(3) }, Err(Error::Closed)));
    }

    #[test]
    fn a_dead_tag_is_reported_as_closed() {
        // A NativeModel whose tag has been cleared, as `Drop` leaves it, still in valid memory.
        let mut model = NativeModel::from_bytes_copied(&sample_bytes()).unwrap();
        model.tag = 0;
        let handle = &model as *const NativeModel as usize as i64;
        // SAFETY: `handle` points at a valid NativeModel that outlives the call.
        assert!(matches!(unsafe { NativeModel::from_handle(handle) }, Err(Error::Closed)));
        model.tag = LIVE;
    }

    #[test]
    fn ids_are_unique() {
        let bytes = sample_bytes();
        let a = NativeModel::from_bytes_copied(&bytes).unwrap();
        let b = NativeModel::from_bytes_copied(&bytes).unwrap();
        assert_ne!(a.id(), b.id());
    }

    /// Sets a flag when dropped: stands in for the JNI global reference.
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn aligned_bytes_are_borrowed_and_kept_alive_until_drop() {
        let bytes = wolfpack_runtime::format::sample::sample_model().to_bytes().unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        // SAFETY: `bytes` outlives the model (dropped at the end of the test, after `model`).
        let model = unsafe { NativeModel::from_borrowed(bytes.as_ptr(), bytes.len(), Box::new(Flag(dropped.clone()))) }
            .unwrap();
        assert!(model.is_zero_copy());
        assert!(!dropped.load(Ordering::SeqCst));
        drop(model);
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn misaligned_bytes_are_copied_once_and_released_at_once() {
        let bytes = sample_bytes();
        let mut shifted = vec![0u8; bytes.len() + 4];
        let offset = (1..4).find(|&k| shifted[k..].as_ptr().align_offset(4) != 0).unwrap();
        shifted[offset..offset + bytes.len()].copy_from_slice(&bytes);
        let dropped = Arc::new(AtomicBool::new(false));
        let start = shifted[offset..].as_ptr();
        // SAFETY: `shifted` outlives the call; the model does not keep borrowing it (it copies).
        let model = unsafe { NativeModel::from_borrowed(start, bytes.len(), Box::new(Flag(dropped.clone()))) }.unwrap();
        assert!(!model.is_zero_copy());
        assert!(dropped.load(Ordering::SeqCst), "the keep-alive is not needed after a copy");
        shifted.fill(0xAA);
        assert_eq!(model.model().n_outputs(), 3);
    }

    #[test]
    fn bad_bytes_and_null_buffers_are_errors() {
        let bytes = sample_bytes();
        let err = NativeModel::from_bytes_copied(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(err, Error::Runtime(_)), "{err}");
        // SAFETY: a null pointer is rejected before any read.
        let err = unsafe { NativeModel::from_borrowed(std::ptr::null(), 8, Box::new(())) }.unwrap_err();
        assert!(err.to_string().contains("direct ByteBuffer"), "{err}");
        let err = NativeModel::open("/nonexistent/model.wpk").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.wpk"), "{err}");
    }
}
