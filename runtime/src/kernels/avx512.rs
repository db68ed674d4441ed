//! x86-64 kernels on AVX-512 (F, BW, VL): 16 `f32` lanes and mask registers.
//!
//! Only the CSR matrix-vector product has a 16-lane version: it is most of a single prediction (`B u` and `C x`
//! of the compressed Fashion-MNIST model are 9,800 of its 10,000 weights), and a 16-lane gather fetches twice
//! the inputs per instruction of the 8-lane one, with masked loads for the tail of a row instead of AVX2's
//! masked gather plus weight mask. Every other primitive is the AVX2 one (re-exported below): an AVX-512 CPU
//! runs it, and their rows are too short (the rows of `A`) or their lanes already contiguous (batches) for
//! wider registers to pay.
//!
//! Every function here must only be called after [`super::Kernels`] detected AVX-512 F/BW/VL and AVX2/FMA/F16C.

use core::arch::x86_64::*;

pub(crate) use super::avx2::*;
use super::element::{Index, Weight};

/// The mask of the first `t` of 16 lanes (`t <= 16`).
#[inline(always)]
fn first_lanes(t: usize) -> __mmask16 {
    ((1u32 << t) - 1) as __mmask16
}

/// `sum_k w[k] * x[idx[k]]` over `k in s..e`, as 16 lanes still to be added: full 16-lane gathers, then one
/// masked gather for the last `(e - s) mod 16` weights, whose weights and indices are masked loads (no scalar
/// tail, no read past the row: the masked-off lanes are neither loaded nor gathered).
///
/// # Safety
/// AVX-512 F/BW/VL and AVX2/FMA/F16C available; `s <= e <= w.len()`, `e <= idx.len()`; every `idx[k] < x.len()
/// <= i32::MAX` for `k < e`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn row_lanes<W: Weight, I: Index>(
    w: &[W],
    idx: &[I],
    x: &[f32],
    s: usize,
    e: usize,
) -> __m512 {
    let (wp, ip, xp) = (w.as_ptr(), idx.as_ptr(), x.as_ptr());
    let mut acc = _mm512_setzero_ps();
    let mut k = s;
    // SAFETY (whole block): k + 16 <= e keeps the full loads inside `w` and `idx`; the tail pointers are at
    // k < e, inside both slices, and the masked loads read only the lanes j < e - k; every gathered lane is an
    // x[idx[k]], in bounds by the contract.
    unsafe {
        while k + 16 <= e {
            let xv = _mm512_i32gather_ps::<4>(I::load16_avx512(ip.add(k)), xp);
            acc = _mm512_fmadd_ps(W::load16_avx512(wp.add(k)), xv, acc);
            k += 16;
        }
        if k < e {
            let m = first_lanes(e - k);
            let xv = _mm512_mask_i32gather_ps::<4>(
                _mm512_setzero_ps(),
                m,
                I::load16_masked_avx512(ip.add(k), m),
                xp,
            );
            acc = _mm512_fmadd_ps(W::load16_masked_avx512(wp.add(k), m), xv, acc);
        }
    }
    acc
}

/// Lane `r` of the result is the sum of the 16 lanes of `v[r]`: each register folded to 8 lanes, then AVX2's
/// transposing horizontal sum on each half of the rows.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn hsum16(v: [__m512; 16]) -> __m512 {
    let fold = |a: __m512| {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
        _mm256_add_ps(_mm512_castps512_ps256(a), hi)
    };
    let lo = hsum8([0, 1, 2, 3, 4, 5, 6, 7].map(|r| fold(v[r])));
    let hi = hsum8([8, 9, 10, 11, 12, 13, 14, 15].map(|r| fold(v[r])));
    _mm512_castpd_ps(_mm512_insertf64x4::<1>(
        _mm512_castpd256_pd512(_mm256_castps_pd(lo)),
        _mm256_castps_pd(hi),
    ))
}

/// `y[i] += s_i * sum_{k in row i} w[k] * x[idx[k]]`, sixteen rows at a time: each row's gathers accumulate in
/// its own register (independent chains the core overlaps), the sixteen rows are reduced together and added to
/// `y` with one masked vector store (the last group may hold fewer than sixteen rows).
///
/// # Safety
/// The contract of [`super::row_loops`]: monotone `row_ptr` ending at `w.len() == idx.len()`, column indices
/// `< x.len()`, `y.len() == row_ptr.len() - 1`, `scales.len() == y.len()` when present; and the CPU features of
/// this module.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(crate) unsafe fn csr_matvec_add<W: Weight, I: Index>(
    row_ptr: &[u32],
    idx: &[I],
    w: &[W],
    scales: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
) {
    let rows = y.len();
    let mut i = 0;
    while i < rows {
        let live = (rows - i).min(16);
        let mut acc = [_mm512_setzero_ps(); 16];
        for (r, a) in acc.iter_mut().enumerate() {
            if r < live {
                let (s, e) = (row_ptr[i + r] as usize, row_ptr[i + r + 1] as usize);
                // SAFETY: the contract bounds every row range by w.len() == idx.len() and its indices by x.len().
                *a = unsafe { row_lanes(w, idx, x, s, e) };
            }
        }
        let m = first_lanes(live);
        let mut sums = hsum16(acc);
        // SAFETY: the masked loads and the store touch only the lanes r < live, i + r < rows == y.len() (==
        // scales.len() when present).
        unsafe {
            if let Some(sc) = scales {
                sums = _mm512_mul_ps(sums, _mm512_maskz_loadu_ps(m, sc.as_ptr().add(i)));
            }
            let yp = y.as_mut_ptr().add(i);
            _mm512_mask_storeu_ps(yp, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, yp), sums));
        }
        i += 16;
    }
}
