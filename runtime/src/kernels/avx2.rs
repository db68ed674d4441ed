//! x86-64 kernels on AVX2 + FMA + F16C: 8 `f32` lanes per register.
//!
//! Single vectors use a gather dot per row (`vgatherdps` on 8 column indices, weights widened in registers);
//! batches are stored columns x batch so that every stored weight does an FMA over contiguous batch lanes.
//! Every function here must only be called after [`super::Kernels`] detected the three features.

use core::arch::x86_64::*;

use super::element::{Index, Weight};

/// Horizontal sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// `sum_k w[k] * x[idx[k]]`; `CHAIN` when the result feeds the next row's gathers (Gauss-Seidel).
///
/// # Safety
/// AVX2/FMA/F16C available; `idx.len() == w.len()`; every `idx[k] < x.len() <= i32::MAX`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn gather_dot<W: Weight, I: Index, const CHAIN: bool>(
    w: &[W],
    idx: &[I],
    x: &[f32],
) -> f32 {
    let n = w.len().min(idx.len());
    let (wp, ip, xp) = (w.as_ptr(), idx.as_ptr(), x.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut k = 0;
    // SAFETY (whole block): k + 16 <= n (resp. k + 8 <= n) keeps every 8-lane load inside `w` and `idx`; the
    // gathered lanes are x[idx[k]], in bounds by the caller's contract on the indices.
    unsafe {
        while k + 16 <= n {
            let x0 = _mm256_i32gather_ps::<4>(xp, I::load8_avx(ip.add(k)));
            let x1 = _mm256_i32gather_ps::<4>(xp, I::load8_avx(ip.add(k + 8)));
            acc0 = _mm256_fmadd_ps(W::load8_avx(wp.add(k)), x0, acc0);
            acc1 = _mm256_fmadd_ps(W::load8_avx(wp.add(k + 8)), x1, acc1);
            k += 16;
        }
        if k + 8 <= n {
            let x0 = _mm256_i32gather_ps::<4>(xp, I::load8_avx(ip.add(k)));
            acc0 = _mm256_fmadd_ps(W::load8_avx(wp.add(k)), x0, acc0);
            k += 8;
        }
    }
    // Rows shorter than 8 (common in A) skip the horizontal sum of zero registers, which would otherwise sit on
    // the latency chain of a Gauss-Seidel sweep.
    let mut sum = if k > 0 {
        hsum(_mm256_add_ps(acc0, acc1))
    } else {
        0.0
    };
    for j in k..n {
        // On a Gauss-Seidel chain, widen in integer registers: the single-lane F16C form inserts into a free vector
        // register, which can be the sweep's running residual and then chains every row to the previous one.
        // Off the chain the F16C form has the better throughput.
        // SAFETY: features checked by the caller.
        let wj = if CHAIN {
            w[j].to_f32()
        } else {
            unsafe { w[j].to_f32_avx() }
        };
        sum += wj * x[idx[j].to_usize()];
    }
    sum
}

/// `sum_k w[k] * x[k]`.
///
/// # Safety
/// AVX2/FMA/F16C available.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn dot<W: Weight>(w: &[W], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let (wp, xp) = (w.as_ptr(), x.as_ptr());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut k = 0;
    // SAFETY (whole block): k + 16 <= n (resp. k + 8 <= n) keeps every 8-lane load inside `w` and `x`.
    unsafe {
        while k + 16 <= n {
            acc0 = _mm256_fmadd_ps(W::load8_avx(wp.add(k)), _mm256_loadu_ps(xp.add(k)), acc0);
            acc1 = _mm256_fmadd_ps(
                W::load8_avx(wp.add(k + 8)),
                _mm256_loadu_ps(xp.add(k + 8)),
                acc1,
            );
            k += 16;
        }
        if k + 8 <= n {
            acc0 = _mm256_fmadd_ps(W::load8_avx(wp.add(k)), _mm256_loadu_ps(xp.add(k)), acc0);
            k += 8;
        }
    }
    let mut sum = hsum(_mm256_add_ps(acc0, acc1));
    for j in k..n {
        // SAFETY: features checked by the caller.
        sum += unsafe { w[j].to_f32_avx() } * x[j];
    }
    sum
}

/// Lanes `b..b + 8R` of `out += s * sum_k w[k] * x[col(k), :]`, in `R` register accumulators.
///
/// # Safety
/// AVX2/FMA/F16C available; `b + 8R <= batch <= out.len()`; for every `k < w.len()`,
/// `(col(k) + 1) * batch <= x.len()`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn block<const R: usize, W: Weight>(
    w: &[W],
    col: &impl Fn(usize) -> usize,
    s: f32,
    x: &[f32],
    batch: usize,
    b: usize,
    out: &mut [f32],
) {
    let (xp, op) = (x.as_ptr(), out.as_mut_ptr());
    let mut a = [_mm256_setzero_ps(); R];
    // SAFETY: loads read x[col(k) * batch + b..+8R] and out[b..b + 8R], inside both slices by the contract.
    unsafe {
        for (k, wk) in w.iter().enumerate() {
            let wk = wk.splat_avx();
            let c = xp.add(col(k) * batch + b);
            for (r, acc) in a.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(wk, _mm256_loadu_ps(c.add(8 * r)), *acc);
            }
        }
        let (o, vs) = (op.add(b), _mm256_set1_ps(s));
        for (r, acc) in a.iter().enumerate() {
            _mm256_storeu_ps(
                o.add(8 * r),
                _mm256_fmadd_ps(vs, *acc, _mm256_loadu_ps(o.add(8 * r))),
            );
        }
    }
}

/// `out[b] += s * sum_k w[k] * x[col(k) * batch + b]`, 64, 32, then 8 lanes at a time, scalar tail.
///
/// # Safety
/// AVX2/FMA/F16C available; `out.len() >= batch`; for every `k < w.len()`, `(col(k) + 1) * batch <= x.len()`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn batch_add_with<W: Weight>(
    w: &[W],
    col: impl Fn(usize) -> usize,
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    let mut b = 0;
    // SAFETY (all three loops): each block reads lanes b..b + 8R of `x` rows and `out` with b + 8R <= batch,
    // which is `block`'s contract.
    unsafe {
        // 8 independent accumulators (64 lanes) cover the FMA latency (4 cycles) x throughput (2 per cycle).
        while b + 64 <= batch {
            block::<8, W>(w, &col, s, x, batch, b, out);
            b += 64;
        }
        while b + 32 <= batch {
            block::<4, W>(w, &col, s, x, batch, b, out);
            b += 32;
        }
        while b + 8 <= batch {
            block::<1, W>(w, &col, s, x, batch, b, out);
            b += 8;
        }
    }
    for lane in b..batch {
        // SAFETY: features checked by the caller.
        let sum: f32 = w
            .iter()
            .enumerate()
            .map(|(k, wk)| unsafe { wk.to_f32_avx() } * x[col(k) * batch + lane])
            .sum();
        out[lane] += s * sum;
    }
}

/// `out[b] += s * sum_k w[k] * x[idx[k] * batch + b]`.
///
/// # Safety
/// AVX2/FMA/F16C available; `idx.len() == w.len()`; `out.len() >= batch`; every `(idx[k] + 1) * batch <= x.len()`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn gather_batch_add<W: Weight, I: Index>(
    w: &[W],
    idx: &[I],
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    let w = &w[..idx.len().min(w.len())];
    let ip = idx.as_ptr();
    // SAFETY: k < w.len() <= idx.len() inside the closure; the rest is the caller's contract.
    unsafe { batch_add_with(w, |k| (*ip.add(k)).to_usize(), s, x, batch, out) }
}

/// `out[b] += s * sum_j w[j] * x[j * batch + b]`.
///
/// # Safety
/// AVX2/FMA/F16C available; `out.len() >= batch`; `w.len() * batch <= x.len()`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn dense_batch_add<W: Weight>(
    w: &[W],
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    // SAFETY: the caller's contract.
    unsafe { batch_add_with(w, |k| k, s, x, batch, out) }
}

super::row_loops!(#[target_feature(enable = "avx2,fma,f16c")]);
