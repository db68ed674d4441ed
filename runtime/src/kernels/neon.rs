//! aarch64 kernels on NEON (part of the aarch64 baseline): 4 `f32` lanes per register.
//!
//! NEON has no gather: the single-vector path loads 4 weights widened in registers and 4 gathered `x` values
//! through a small array. Batches (stored columns x batch) do one FMA over contiguous batch lanes per weight.

use core::arch::aarch64::*;

use super::element::{Index, Weight};

/// `sum_k w[k] * x[idx[k]]`.
///
/// # Safety
/// `idx.len() == w.len()`; every `idx[k] < x.len()`.
#[inline]
pub(crate) unsafe fn gather_dot<W: Weight, I: Index, const CHAIN: bool>(
    w: &[W],
    idx: &[I],
    x: &[f32],
) -> f32 {
    let n = w.len().min(idx.len());
    let mut acc0 = vdupq_n_f32(0.0);
    let mut acc1 = vdupq_n_f32(0.0);
    let mut k = 0;
    while k + 8 <= n {
        let g0 = [
            x[idx[k].to_usize()],
            x[idx[k + 1].to_usize()],
            x[idx[k + 2].to_usize()],
            x[idx[k + 3].to_usize()],
        ];
        let g1 = [
            x[idx[k + 4].to_usize()],
            x[idx[k + 5].to_usize()],
            x[idx[k + 6].to_usize()],
            x[idx[k + 7].to_usize()],
        ];
        // SAFETY: k + 8 <= n keeps both 4-lane weight loads inside `w`; g0, g1 hold 4 f32 each.
        unsafe {
            acc0 = vfmaq_f32(
                acc0,
                W::load4_neon(w.as_ptr().add(k)),
                vld1q_f32(g0.as_ptr()),
            );
            acc1 = vfmaq_f32(
                acc1,
                W::load4_neon(w.as_ptr().add(k + 4)),
                vld1q_f32(g1.as_ptr()),
            );
        }
        k += 8;
    }
    let mut sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for j in k..n {
        sum += w[j].to_f32() * x[idx[j].to_usize()];
    }
    sum
}

/// `sum_k w[k] * x[k]`.
///
/// # Safety
/// None beyond the slices being valid (indexing of the tail is checked).
#[inline]
pub(crate) unsafe fn dot<W: Weight>(w: &[W], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let (wp, xp) = (w.as_ptr(), x.as_ptr());
    let mut acc0 = vdupq_n_f32(0.0);
    let mut acc1 = vdupq_n_f32(0.0);
    let mut k = 0;
    // SAFETY (whole block): k + 8 <= n (resp. k + 4 <= n) keeps every 4-lane load inside `w` and `x`.
    unsafe {
        while k + 8 <= n {
            acc0 = vfmaq_f32(acc0, W::load4_neon(wp.add(k)), vld1q_f32(xp.add(k)));
            acc1 = vfmaq_f32(acc1, W::load4_neon(wp.add(k + 4)), vld1q_f32(xp.add(k + 4)));
            k += 8;
        }
        if k + 4 <= n {
            acc0 = vfmaq_f32(acc0, W::load4_neon(wp.add(k)), vld1q_f32(xp.add(k)));
            k += 4;
        }
    }
    let mut sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for j in k..n {
        sum += w[j].to_f32() * x[j];
    }
    sum
}

/// Lanes `b..b + 4R` of `out += s * sum_k w[k] * x[col(k), :]`, in `R` register accumulators.
///
/// # Safety
/// `b + 4R <= batch <= out.len()`; for every `k < w.len()`, `(col(k) + 1) * batch <= x.len()`.
#[inline]
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
    let mut a = [vdupq_n_f32(0.0); R];
    // SAFETY: loads read x[col(k) * batch + b..+4R] and out[b..b + 4R], inside both slices by the contract.
    unsafe {
        for (k, wk) in w.iter().enumerate() {
            let wk = vdupq_n_f32(wk.to_f32());
            let c = xp.add(col(k) * batch + b);
            for (r, acc) in a.iter_mut().enumerate() {
                *acc = vfmaq_f32(*acc, wk, vld1q_f32(c.add(4 * r)));
            }
        }
        let o = op.add(b);
        for (r, acc) in a.iter().enumerate() {
            vst1q_f32(o.add(4 * r), vfmaq_n_f32(vld1q_f32(o.add(4 * r)), *acc, s));
        }
    }
}

/// `out[b] += s * sum_k w[k] * x[col(k) * batch + b]`, 32 then 4 lanes at a time, scalar tail.
///
/// # Safety
/// `out.len() >= batch`; for every `k < w.len()`, `(col(k) + 1) * batch <= x.len()`.
#[inline]
unsafe fn batch_add_with<W: Weight>(
    w: &[W],
    col: impl Fn(usize) -> usize,
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    let mut b = 0;
    // SAFETY (both loops): each block covers lanes b..b + 4R with b + 4R <= batch, which is `block`'s contract.
    unsafe {
        // 8 accumulators (32 lanes) cover the FMA latency x throughput of current cores.
        while b + 32 <= batch {
            block::<8, W>(w, &col, s, x, batch, b, out);
            b += 32;
        }
        while b + 4 <= batch {
            block::<1, W>(w, &col, s, x, batch, b, out);
            b += 4;
        }
    }
    for lane in b..batch {
        let sum: f32 = w
            .iter()
            .enumerate()
            .map(|(k, wk)| wk.to_f32() * x[col(k) * batch + lane])
            .sum();
        out[lane] += s * sum;
    }
}

/// `out[b] += s * sum_k w[k] * x[idx[k] * batch + b]`.
///
/// # Safety
/// `idx.len() == w.len()`; `out.len() >= batch`; every `(idx[k] + 1) * batch <= x.len()`.
#[inline]
pub(crate) unsafe fn gather_batch_add<W: Weight, I: Index>(
    w: &[W],
    idx: &[I],
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    let w = &w[..idx.len().min(w.len())];
    // SAFETY: k < w.len() <= idx.len() inside the closure; the rest is the caller's contract.
    unsafe { batch_add_with(w, |k| idx[k].to_usize(), s, x, batch, out) }
}

/// `out[b] += s * sum_j w[j] * x[j * batch + b]`.
///
/// # Safety
/// `out.len() >= batch`; `w.len() * batch <= x.len()`.
#[inline]
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

super::row_loops!();
super::csr_matvec_by_rows!();
super::csr_rows_solve_portable!();
super::csr_groups_portable!();
