//! Portable scalar kernels: the reference every SIMD path is tested against, and the fallback on CPUs
//! without AVX2/FMA/F16C (x86-64) and on targets without NEON (armv7, wasm, ...).

use super::element::{Index, Weight};

/// `sum_k w[k] * x[idx[k]]`: the "gather dot" of one sparse row with a vector.
///
/// # Safety
/// Always safe to call (indexing is checked); `unsafe` only to share the signature of the SIMD backends.
#[inline]
pub(crate) unsafe fn gather_dot<W: Weight, I: Index, const CHAIN: bool>(
    w: &[W],
    idx: &[I],
    x: &[f32],
) -> f32 {
    w.iter()
        .zip(idx)
        .map(|(w, j)| w.to_f32() * x[j.to_usize()])
        .sum()
}

/// `sum_k w[k] * x[k]`: one dense row times a vector.
///
/// # Safety
/// Always safe to call; see [`gather_dot`].
#[inline]
pub(crate) unsafe fn dot<W: Weight>(w: &[W], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(w, x)| w.to_f32() * x).sum()
}

/// `out[b] += s * sum_k w[k] * x[col(k) * batch + b]` for a row whose `k`-th stored weight sits in column `col(k)`;
/// `x` is laid out columns x batch, so every weight does one AXPY over the batch lanes.
#[inline]
fn batch_add_with(
    w_len: usize,
    weight: impl Fn(usize) -> f32,
    col: impl Fn(usize) -> usize,
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    // Accumulate in a fixed stack chunk so the scale is applied once per lane, as the SIMD paths do.
    const CHUNK: usize = 64;
    let mut acc = [0.0f32; CHUNK];
    let mut b0 = 0;
    while b0 < batch {
        let lanes = CHUNK.min(batch - b0);
        let acc = &mut acc[..lanes];
        acc.fill(0.0);
        for k in 0..w_len {
            let wk = weight(k);
            let xs = &x[col(k) * batch + b0..][..lanes];
            for (a, xv) in acc.iter_mut().zip(xs) {
                *a += wk * xv;
            }
        }
        for (o, a) in out[b0..b0 + lanes].iter_mut().zip(acc.iter()) {
            *o += s * a;
        }
        b0 += lanes;
    }
}

/// `out[b] += s * sum_k w[k] * x[idx[k] * batch + b]`.
///
/// # Safety
/// Always safe to call; see [`gather_dot`].
#[inline]
pub(crate) unsafe fn gather_batch_add<W: Weight, I: Index>(
    w: &[W],
    idx: &[I],
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    batch_add_with(
        w.len(),
        |k| w[k].to_f32(),
        |k| idx[k].to_usize(),
        s,
        x,
        batch,
        out,
    );
}

/// `out[b] += s * sum_j w[j] * x[j * batch + b]`.
///
/// # Safety
/// Always safe to call; see [`gather_dot`].
#[inline]
pub(crate) unsafe fn dense_batch_add<W: Weight>(
    w: &[W],
    s: f32,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
) {
    batch_add_with(w.len(), |k| w[k].to_f32(), |k| k, s, x, batch, out);
}

super::row_loops!();
super::csr_matvec_by_rows!();
super::csr_rows_solve_portable!();
super::csr_groups_portable!();
