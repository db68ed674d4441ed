//! Stored weight and index element types, and how each is widened to what the kernels compute with.
//!
//! Weights are stored as `f32`, IEEE `f16`, `bf16` or `i8` (the `i8` matrices carry one `f32` scale per row,
//! applied by the kernels after the row's sum); every product is accumulated in `f32`. Column indices are
//! `u16` (any matrix with at most 65,536 columns) or `u32`.

#[cfg(target_arch = "aarch64")]
use core::arch::aarch64::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;
use half::{bf16, f16};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
    impl Sealed for i8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
}

/// A stored weight: `f32`, `f16`, `bf16` or `i8`, widened to `f32` before it is multiplied.
///
/// The SIMD loaders read lanes starting at `p`; callers guarantee that all lanes lie inside one slice.
pub trait Weight: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The weight as `f32` (exact for every storage kind: `f16`, `bf16` and `i8` embed into `f32`).
    fn to_f32(self) -> f32;

    /// Loads 8 consecutive weights widened to `f32` lanes.
    ///
    /// # Safety
    /// `p..p+8` must be readable, and the CPU must support AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8_avx(p: *const Self) -> __m256;

    /// The weight widened and broadcast to 8 `f32` lanes (in registers: no per-element runtime dispatch).
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat_avx(self) -> __m256;

    /// The weight as `f32` through the AVX/F16C instructions (no runtime dispatch, unlike `half`'s conversion).
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn to_f32_avx(self) -> f32 {
        // SAFETY: the caller guarantees the features.
        _mm256_cvtss_f32(unsafe { self.splat_avx() })
    }

    /// Loads 4 consecutive weights widened to `f32` lanes.
    ///
    /// # Safety
    /// `p..p+4` must be readable (NEON is part of the aarch64 baseline).
    #[cfg(target_arch = "aarch64")]
    unsafe fn load4_neon(p: *const Self) -> float32x4_t;
}

/// A stored column index: `u16` or `u32`.
pub trait Index: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The index as `usize`.
    fn to_usize(self) -> usize;

    /// Loads 8 consecutive indices as `i32` lanes (indices are validated to be `< cols <= i32::MAX`).
    ///
    /// # Safety
    /// `p..p+8` must be readable, and the CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8_avx(p: *const Self) -> __m256i;
}

impl Weight for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256 {
        // SAFETY: the caller guarantees 8 readable f32 at p; loadu has no alignment requirement.
        unsafe { _mm256_loadu_ps(p) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn splat_avx(self) -> __m256 {
        _mm256_set1_ps(self)
    }

    #[cfg(target_arch = "aarch64")]
    #[inline]
    unsafe fn load4_neon(p: *const Self) -> float32x4_t {
        // SAFETY: the caller guarantees 4 readable f32 at p; vld1q has no alignment requirement.
        unsafe { vld1q_f32(p) }
    }
}

impl Weight for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        // Integer arithmetic rather than `half`'s conversion, which checks for F16C at run time on every call.
        f16_bits_to_f32(self.to_bits())
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256 {
        // SAFETY: 8 readable f16 = 16 bytes at p (caller); F16C converts them exactly.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast::<__m128i>())) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn splat_avx(self) -> __m256 {
        _mm256_cvtph_ps(_mm_set1_epi16(self.to_bits() as i16))
    }

    #[cfg(target_arch = "aarch64")]
    #[inline]
    unsafe fn load4_neon(p: *const Self) -> float32x4_t {
        // The f16 NEON conversion intrinsics are not stable Rust yet: widen each lane with the exact integer
        // conversion of `to_f32` into a small array.
        // SAFETY: the caller guarantees 4 readable f16 at p.
        let w = unsafe {
            [
                (*p).to_f32(),
                (*p.add(1)).to_f32(),
                (*p.add(2)).to_f32(),
                (*p.add(3)).to_f32(),
            ]
        };
        // SAFETY: `w` holds 4 f32.
        unsafe { vld1q_f32(w.as_ptr()) }
    }
}

impl Weight for bf16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256 {
        // bf16 is the top half of an f32: widen the 16-bit patterns to 32 bits and shift them up.
        // SAFETY: 8 readable bf16 = 16 bytes at p (caller).
        unsafe {
            let h = _mm_loadu_si128(p.cast::<__m128i>());
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)))
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn splat_avx(self) -> __m256 {
        _mm256_set1_ps(f32::from_bits(u32::from(self.to_bits()) << 16))
    }

    #[cfg(target_arch = "aarch64")]
    #[inline]
    unsafe fn load4_neon(p: *const Self) -> float32x4_t {
        // SAFETY: 4 readable bf16 = 8 bytes at p (caller); shift-left-long puts them in the f32 top halves.
        unsafe { vreinterpretq_f32_u32(vshll_n_u16::<16>(vld1_u16(p.cast::<u16>()))) }
    }
}

impl Weight for i8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256 {
        // SAFETY: 8 readable i8 at p (caller); `_mm_loadl_epi64` reads exactly those 8 bytes.
        unsafe { _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast::<__m128i>()))) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn splat_avx(self) -> __m256 {
        _mm256_set1_ps(f32::from(self))
    }

    #[cfg(target_arch = "aarch64")]
    #[inline]
    unsafe fn load4_neon(p: *const Self) -> float32x4_t {
        // A 4-byte NEON load of i8 would need an 8-byte read past the lanes: widen through an array.
        // SAFETY: the caller guarantees 4 readable i8 at p.
        let w = unsafe {
            [
                f32::from(*p),
                f32::from(*p.add(1)),
                f32::from(*p.add(2)),
                f32::from(*p.add(3)),
            ]
        };
        // SAFETY: `w` holds 4 f32.
        unsafe { vld1q_f32(w.as_ptr()) }
    }
}

impl Index for u16 {
    #[inline(always)]
    fn to_usize(self) -> usize {
        usize::from(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256i {
        // SAFETY: 8 readable u16 = 16 bytes at p (caller).
        unsafe { _mm256_cvtepu16_epi32(_mm_loadu_si128(p.cast::<__m128i>())) }
    }
}

impl Index for u32 {
    #[inline(always)]
    fn to_usize(self) -> usize {
        self as usize
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load8_avx(p: *const Self) -> __m256i {
        // SAFETY: 8 readable u32 = 32 bytes at p (caller).
        unsafe { _mm256_loadu_si256(p.cast::<__m256i>()) }
    }
}

/// Exact IEEE binary16 -> binary32 conversion of a bit pattern, in integer arithmetic.
#[inline(always)]
pub(crate) fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from(h >> 10) & 0x1f;
    let man = u32::from(h & 0x3ff);
    match exp {
        // Zero and subnormals: man * 2^-24, exact in f32.
        0 => f32::from_bits(sign) + f32::from_bits(sign | 0x3380_0000) * man as f32,
        // Infinities and NaNs keep their payload.
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_bit_conversion_is_exact_for_every_pattern() {
        for h in 0..=u16::MAX {
            let (got, want) = (f16_bits_to_f32(h), f16::from_bits(h).to_f32());
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{h:#06x}: {got} vs {want}"
            );
        }
    }
}
