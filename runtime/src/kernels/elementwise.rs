//! Element-wise and layout operations of the solver (the ReLU update with its residual, `relu`, the finiteness
//! checks, and batch transposition), multiversioned: the same portable code compiled once for the baseline CPU
//! and once with AVX2 enabled, plus an 8 x 8 AVX2 register transpose.

use super::Kernels;

/// `a` if it is larger, else `b`: one `maxps` lane when vectorised, and an infinite `b` is never dropped.
#[inline(always)]
pub(crate) fn larger(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

/// `x <- relu(t)`, returning `max |relu(t) - x_old|`, with 8 running maxima so that it vectorises.
#[inline(always)]
fn relu_step_portable(t: &[f32], x: &mut [f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let mut xs = x.chunks_exact_mut(LANES);
    let mut ts = t.chunks_exact(LANES);
    for (xc, tc) in (&mut xs).zip(&mut ts) {
        for l in 0..LANES {
            let new = larger(0.0, tc[l]);
            acc[l] = larger(acc[l], (new - xc[l]).abs());
            xc[l] = new;
        }
    }
    for (xi, &ti) in xs.into_remainder().iter_mut().zip(ts.remainder()) {
        let new = larger(0.0, ti);
        acc[0] = larger(acc[0], (new - *xi).abs());
        *xi = new;
    }
    acc.into_iter().fold(0.0, larger)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn relu_step_avx2(t: &[f32], x: &mut [f32]) -> f32 {
    relu_step_portable(t, x)
}

/// Whether every value is finite: the largest magnitude bit pattern (sign cleared) below that of infinity, an
/// integer max reduction without early exit, so that it vectorises (NaN patterns are above infinity's).
#[inline(always)]
fn all_finite_portable(v: &[f32]) -> bool {
    v.iter().fold(0u32, |m, x| m.max(x.to_bits() & 0x7fff_ffff)) < 0x7f80_0000
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn all_finite_avx2(v: &[f32]) -> bool {
    all_finite_portable(v)
}

/// `x = relu(z)` (NaN becomes 0).
#[inline(always)]
fn relu_into_portable(z: &[f32], x: &mut [f32]) {
    for (xi, &zi) in x.iter_mut().zip(z) {
        *xi = larger(0.0, zi);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn relu_into_avx2(z: &[f32], x: &mut [f32]) {
    relu_into_portable(z, x)
}

/// `dst = src^T` for a row-major `rows x cols` `src`, in 8 x 8 tiles.
#[inline(always)]
fn transpose_portable(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const TILE: usize = 8;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// 8 x 8 tiles through registers (unpack / shuffle / 128-bit permute), the edges portably.
///
/// # Safety
/// AVX2 available; `src.len() >= rows * cols` and `dst.len() >= rows * cols` (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose_avx2(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    use core::arch::x86_64::*;
    let (full_r, full_c) = (rows / 8 * 8, cols / 8 * 8);
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    for r0 in (0..full_r).step_by(8) {
        for c0 in (0..full_c).step_by(8) {
            // SAFETY: r0 + 8 <= rows and c0 + 8 <= cols, so every row load reads src[(r0 + i) * cols + c0..+8] and
            // every store writes dst[(c0 + i) * rows + r0..+8], inside both slices (length >= rows * cols).
            unsafe {
                let l = |i: usize| _mm256_loadu_ps(sp.add((r0 + i) * cols + c0));
                let (a0, a1, a2, a3, a4, a5, a6, a7) =
                    (l(0), l(1), l(2), l(3), l(4), l(5), l(6), l(7));
                let (t0, t1) = (_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
                let (t2, t3) = (_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
                let (t4, t5) = (_mm256_unpacklo_ps(a4, a5), _mm256_unpackhi_ps(a4, a5));
                let (t6, t7) = (_mm256_unpacklo_ps(a6, a7), _mm256_unpackhi_ps(a6, a7));
                let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let out = [
                    _mm256_permute2f128_ps::<0x20>(s0, s4),
                    _mm256_permute2f128_ps::<0x20>(s1, s5),
                    _mm256_permute2f128_ps::<0x20>(s2, s6),
                    _mm256_permute2f128_ps::<0x20>(s3, s7),
                    _mm256_permute2f128_ps::<0x31>(s0, s4),
                    _mm256_permute2f128_ps::<0x31>(s1, s5),
                    _mm256_permute2f128_ps::<0x31>(s2, s6),
                    _mm256_permute2f128_ps::<0x31>(s3, s7),
                ];
                for (i, v) in out.into_iter().enumerate() {
                    _mm256_storeu_ps(dp.add((c0 + i) * rows + r0), v);
                }
            }
        }
    }
    // Right edge (all rows, the last cols % 8 columns) and bottom edge (the last rows % 8 rows).
    for r in 0..rows {
        for c in full_c..cols {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
    for r in full_r..rows {
        for c in 0..full_c {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
}

impl Kernels {
    /// `x <- relu(t)` element-wise, returning the largest change `max_i |relu(t_i) - x_i|` (0 for empty
    /// slices; NaN entries of `t` become 0). Lengths must match.
    pub fn relu_step(self, t: &[f32], x: &mut [f32]) -> f32 {
        let n = t.len().min(x.len());
        let (t, x) = (&t[..n], &mut x[..n]);
        match self.isa() {
            // SAFETY: the token proves AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            super::Isa::Avx2 => unsafe { relu_step_avx2(t, x) },
            _ => relu_step_portable(t, x),
        }
    }

    /// Whether every value of `v` is finite (the checks of inputs, pre-activations, states and outputs).
    pub fn all_finite(self, v: &[f32]) -> bool {
        match self.isa() {
            // SAFETY: the token proves AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            super::Isa::Avx2 => unsafe { all_finite_avx2(v) },
            _ => all_finite_portable(v),
        }
    }

    /// `x = relu(z)` element-wise over the common length (NaN entries of `z` become 0).
    pub fn relu_into(self, z: &[f32], x: &mut [f32]) {
        match self.isa() {
            // SAFETY: the token proves AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            super::Isa::Avx2 => unsafe { relu_into_avx2(z, x) },
            _ => relu_into_portable(z, x),
        }
    }

    /// `dst = src^T`: `src` is row-major `rows x cols`, `dst` becomes row-major `cols x rows`. Used to turn
    /// sample-major batches into the kernels' columns x batch layout and back.
    pub fn transpose(
        self,
        src: &[f32],
        rows: usize,
        cols: usize,
        dst: &mut [f32],
    ) -> Result<(), super::MatrixError> {
        let len = rows.checked_mul(cols).ok_or(super::MatrixError::TooLarge {
            what: "rows x cols",
        })?;
        for (what, found) in [
            ("transpose source", src.len()),
            ("transpose destination", dst.len()),
        ] {
            if found != len {
                return Err(super::MatrixError::Length {
                    what,
                    expected: len,
                    found,
                });
            }
        }
        match self.isa() {
            // SAFETY: the token proves AVX2; both lengths were checked to be rows * cols.
            #[cfg(target_arch = "x86_64")]
            super::Isa::Avx2 => unsafe { transpose_avx2(src, rows, cols, dst) },
            _ => transpose_portable(src, rows, cols, dst),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn transpose_matches_definition(rows in 0usize..30, cols in 0usize..30) {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            for k in Kernels::all_available() {
                let mut dst = vec![-1.0; rows * cols];
                k.transpose(&src, rows, cols, &mut dst).unwrap();
                for r in 0..rows {
                    for c in 0..cols {
                        prop_assert_eq!(dst[c * rows + r], src[r * cols + c]);
                    }
                }
            }
        }

        #[test]
        fn all_finite_and_relu_match_definition(v in proptest::collection::vec(prop_oneof![-5.0f32..5.0, Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(f32::NAN)], 0..40)) {
            for k in Kernels::all_available() {
                prop_assert_eq!(k.all_finite(&v), v.iter().all(|x| x.is_finite()));
                let mut x = vec![-1.0f32; v.len()];
                k.relu_into(&v, &mut x);
                let want: Vec<f32> = v.iter().map(|&vi| if vi > 0.0 { vi } else { 0.0 }).collect();
                prop_assert_eq!(x, want);
            }
        }

        #[test]
        fn relu_step_matches_definition(t in proptest::collection::vec(-5.0f32..5.0, 0..40), seed in any::<u32>()) {
            let x0: Vec<f32> = t.iter().enumerate().map(|(i, _)| ((i as u32 ^ seed) % 7) as f32 * 0.5).collect();
            let want_r = t.iter().zip(&x0).map(|(&ti, &xi)| (ti.max(0.0) - xi).abs()).fold(0.0f32, f32::max);
            for k in Kernels::all_available() {
                let mut x = x0.clone();
                let r = k.relu_step(&t, &mut x);
                prop_assert_eq!(r, want_r);
                prop_assert!(x.iter().zip(&t).all(|(&xi, &ti)| xi == ti.max(0.0)));
            }
        }
    }

    #[test]
    fn relu_step_reports_infinite_changes_and_zeroes_nan() {
        let mut x = [0.0f32, 1.0];
        assert_eq!(
            Kernels::detect().relu_step(&[f32::INFINITY, f32::NAN], &mut x),
            f32::INFINITY
        );
        assert_eq!(x, [f32::INFINITY, 0.0]);
    }

    #[test]
    fn transpose_checks_lengths() {
        assert!(Kernels::detect()
            .transpose(&[1.0; 6], 2, 3, &mut [0.0; 5])
            .is_err());
        assert!(Kernels::detect()
            .transpose(&[1.0; 5], 2, 3, &mut [0.0; 6])
            .is_err());
    }
}
