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
        // SAFETY: j < n <= w.len(), idx.len(), and idx[j] < x.len() by the caller's contract (these short tails are
        // most of the work on the rows of A, where bounds checks showed up in profiles).
        let (wj, xj) = unsafe { (*wp.add(j), *xp.add((*ip.add(j)).to_usize())) };
        // On a Gauss-Seidel chain, widen in integer registers: the single-lane F16C form inserts into a free vector
        // register, which can be the sweep's running residual and then chains every row to the previous one.
        // Off the chain the F16C form has the better throughput.
        // SAFETY: features checked by the caller.
        let wj = if CHAIN {
            wj.to_f32()
        } else {
            unsafe { wj.to_f32_avx() }
        };
        sum += wj * xj;
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

/// `y[i..i + 8] += s[i..i + 8] * sum(acc[r])`: the epilogue of the eight-row products (one transposing horizontal
/// sum, the rows' scales, one load and store of `y`).
///
/// # Safety
/// AVX2 available; `i + 8 <= y.len()`, and `i + 8 <= scales.len()` when present.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn add_row_sums8(acc: [__m256; 8], scales: Option<&[f32]>, y: &mut [f32], i: usize) {
    let mut sums = hsum8(acc);
    // SAFETY: i + 8 <= scales.len() and y.len() (the contract above).
    unsafe {
        if let Some(sc) = scales {
            sums = _mm256_mul_ps(sums, _mm256_loadu_ps(sc.as_ptr().add(i)));
        }
        let yp = y.as_mut_ptr().add(i);
        _mm256_storeu_ps(yp, _mm256_add_ps(_mm256_loadu_ps(yp), sums));
    }
}

/// `y += s * W x` for a dense row-major `W` (`y.len()` rows of `cols`), eight rows at a time: each 8-lane load of
/// `x` serves the eight rows, whose eight accumulators are eight independent multiply-add chains, reduced together
/// by the transposing [`hsum8`]. Row by row ([`dot`], two accumulators) the single-input product of the
/// Fashion-MNIST model's dense `C` (10 x 256) was two latency-bound chains at a time. Rows past the last group of
/// eight (and matrices whose rows are not a multiple of eight long) take [`dot`].
///
/// # Safety
/// AVX2/FMA/F16C available; `w.len() >= y.len() * cols`, `x.len() >= cols`, `scales.len() == y.len()` when
/// present.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn dense_matvec_add8<W: Weight>(
    cols: usize,
    w: &[W],
    scales: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
) {
    let rows = y.len();
    let mut i = 0;
    if cols.is_multiple_of(8) {
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        // SAFETY (whole block): (i + r) * cols + k + 8 <= (i + 8) * cols <= rows * cols <= w.len() and
        // k + 8 <= cols <= x.len() keep every 8-lane load in bounds; i + 8 <= rows those of `y` and `scales`.
        unsafe {
            while i + 8 <= rows {
                let mut acc = [_mm256_setzero_ps(); 8];
                let mut k = 0;
                while k + 8 <= cols {
                    let xv = _mm256_loadu_ps(xp.add(k));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(W::load8_avx(wp.add((i + r) * cols + k)), xv, *a);
                    }
                    k += 8;
                }
                add_row_sums8(acc, scales, y, i);
                i += 8;
            }
        }
    }
    for (r, yr) in y.iter_mut().enumerate().skip(i) {
        // SAFETY: the contract above bounds row r's weights.
        *yr += super::row_scale(scales, r) * unsafe { dot(&w[r * cols..(r + 1) * cols], x) };
    }
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

/// `sum_k w[k] * x[idx[k]]` over `k in s..e`, as 8 lanes still to be added: full gathers of 8, then one masked
/// gather for the last `e - s mod 8` weights (no scalar tail, no horizontal sum: the caller reduces eight rows
/// at once). The masked-off lanes gather nothing (0), and the next rows' weights loaded there are masked to 0
/// as well.
///
/// # Safety
/// AVX2/FMA/F16C available; `s <= e <= w.len() == idx.len()`; every `idx[k] < x.len() <= i32::MAX` for
/// `k < e`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn row_lanes<W: Weight, I: Index>(
    w: &[W],
    idx: &[I],
    x: &[f32],
    s: usize,
    e: usize,
) -> __m256 {
    // Lane j of TAIL[8 - t..16 - t] is all ones for j < t.
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let (wp, ip, xp) = (w.as_ptr(), idx.as_ptr(), x.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let mut k = s;
    // SAFETY (whole block): k + 8 <= e <= len keeps the full loads inside `w` and `idx`; the masked tail loads
    // 8 weights and indices from k only when k + 8 <= len, and gathers only the lanes j < e - k, whose indices are
    // in bounds by the caller's contract; the scalar tail at the very end of the arrays indexes with checks.
    unsafe {
        while k + 8 <= e {
            let xv = _mm256_i32gather_ps::<4>(xp, I::load8_avx(ip.add(k)));
            acc = _mm256_fmadd_ps(W::load8_avx(wp.add(k)), xv, acc);
            k += 8;
        }
        let t = e - k;
        if t > 0 {
            if k + 8 <= w.len().min(idx.len()) {
                let mask = _mm256_castsi256_ps(_mm256_loadu_si256(
                    TAIL.as_ptr().add(8 - t).cast::<__m256i>(),
                ));
                let iv = I::load8_avx(ip.add(k));
                // Gathers cost about per lane, masked-off lanes included: a tail of at most 4 takes the
                // 4-lane gather (2-3% of the compressed Fashion-MNIST B u, whose rows are mostly 10-20 long).
                let xv = if t <= 4 {
                    _mm256_zextps128_ps256(_mm_mask_i32gather_ps::<4>(
                        _mm_setzero_ps(),
                        xp,
                        _mm256_castsi256_si128(iv),
                        _mm256_castps256_ps128(mask),
                    ))
                } else {
                    _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), xp, iv, mask)
                };
                // The lanes past the row hold the next rows' weights: masked to zero too, so that no weight of
                // another row (which `MatRef` does not require to be finite) can turn this row's sum into NaN.
                let wv = _mm256_and_ps(W::load8_avx(wp.add(k)), mask);
                acc = _mm256_fmadd_ps(wv, xv, acc);
            } else {
                let mut lanes = [0.0f32; 8];
                for (j, lane) in lanes.iter_mut().enumerate().take(t) {
                    *lane = w[k + j].to_f32_avx() * x[idx[k + j].to_usize()];
                }
                acc = _mm256_add_ps(acc, _mm256_loadu_ps(lanes.as_ptr()));
            }
        }
    }
    acc
}

/// Lane `r` of the result is the sum of the 8 lanes of `v[r]` (a transposing horizontal sum: 7 `hadd`, 2 lane
/// permutes and 1 add for eight rows, instead of eight separate reductions).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum8(v: [__m256; 8]) -> __m256 {
    let t0 = _mm256_hadd_ps(v[0], v[1]);
    let t1 = _mm256_hadd_ps(v[2], v[3]);
    let t2 = _mm256_hadd_ps(v[4], v[5]);
    let t3 = _mm256_hadd_ps(v[6], v[7]);
    // u0 = [s0 s1 s2 s3 | s0' s1' s2' s3'] (low- and high-half partial sums of rows 0-3), u1 likewise for 4-7.
    let u0 = _mm256_hadd_ps(t0, t1);
    let u1 = _mm256_hadd_ps(t2, t3);
    _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(u0, u1),
        _mm256_permute2f128_ps::<0x31>(u0, u1),
    )
}

/// `y[i] += s_i * sum_{k in row i} w[k] * x[idx[k]]`, eight rows at a time: each row's gathers accumulate in its
/// own register (independent chains the core overlaps), short tails take one masked gather instead of a scalar
/// loop, and the eight rows are reduced together and added to `y` with one vector store. On the compressed
/// Fashion-MNIST `B` (256 rows of about 32 weights) the per-row reduction and tail were a third of the product.
///
/// # Safety
/// The contract of [`super::row_loops`]: monotone `row_ptr` ending at `w.len() == idx.len()`, column indices
/// `< x.len()`, `y.len() == row_ptr.len() - 1`, `scales.len() == y.len()` when present.
#[target_feature(enable = "avx2,fma,f16c")]
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
    // SAFETY (whole block): the contract above bounds every row range by w.len() == idx.len() (row_lanes), and
    // i + 8 <= rows keeps the 8-lane loads and stores of `y` and `scales` in bounds.
    unsafe {
        while i + 8 <= rows {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (r, a) in acc.iter_mut().enumerate() {
                let (s, e) = (row_ptr[i + r] as usize, row_ptr[i + r + 1] as usize);
                *a = row_lanes(w, idx, x, s, e);
            }
            add_row_sums8(acc, scales, y, i);
            i += 8;
        }
        for r in i..rows {
            let (s, e) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
            y[r] += super::row_scale(scales, r) * hsum(row_lanes(w, idx, x, s, e));
        }
    }
}

/// The exact solve of rows whose inputs are final, and the residual of the rows that read their own unit (see
/// the portable `csr_rows_solve` in `kernels/mod.rs`): `x[i] <- g * max(0, z[i] + s_i * sum_{k, idx[k] != i}
/// w[k] * x[idx[k]])` for `i` in `rows`, `g` from `gains`.
///
/// Rows of one or two weights (all 178 non-empty rows of `A` in the compressed Fashion-MNIST model) take a
/// branch-free path: both weight slots are read (a single weight is slot 0, with slot 1 selected to 0), so rows
/// of varying length cost no mispredicted loop exit, and every such row is evaluated again with its new value
/// for the residual, unconditionally (bit for bit the first evaluation for a row without a self-loop, so 0).
/// Longer rows take the gathers of [`row_lanes`] (8 or more weights) or a scalar loop without bounds checks, and
/// are evaluated again only when they read their own unit.
///
/// # Safety
/// The contract of [`super::row_loops`] for a square CSR matrix, and: `z.len() == x.len() == row_ptr.len() - 1`,
/// every entry of `rows` below that, `gains.len() >= rows.len()`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn csr_rows_solve<W: Weight, I: Index>(
    row_ptr: &[u32],
    idx: &[I],
    w: &[W],
    scales: Option<&[f32]>,
    z: &[f32],
    x: &mut [f32],
    rows: &[u32],
    gains: &[f32],
) -> f32 {
    let (rp, ip, wp, zp) = (row_ptr.as_ptr(), idx.as_ptr(), w.as_ptr(), z.as_ptr());
    // `sum_{k in s..e} w[k] x[idx[k]]`.
    // SAFETY (of the calls below): row_ptr[i] <= s <= e <= w.len() == idx.len(), and idx[k] < x.len().
    let dot = |x: &[f32], s: usize, e: usize| unsafe {
        if e - s >= 8 {
            hsum(row_lanes(w, idx, x, s, e))
        } else {
            let mut d = 0.0f32;
            for k in s..e {
                d += (*wp.add(k)).to_f32_avx() * *x.get_unchecked((*ip.add(k)).to_usize());
            }
            d
        }
    };
    let mut r = 0.0f32;
    for (&i, &g) in rows.iter().zip(gains) {
        let i = i as usize;
        // SAFETY: i < x.len() == z.len() == row_ptr.len() - 1 (contract), so row_ptr[i], row_ptr[i + 1], z[i] and
        // x[i] are in bounds; row_ptr[i] <= k < row_ptr[i + 1] <= w.len() == idx.len(); idx[k] < x.len().
        unsafe {
            let (s, e) = (*rp.add(i) as usize, *rp.add(i + 1) as usize);
            let (zi, si) = (*zp.add(i), super::row_scale(scales, i));
            *x.get_unchecked_mut(i) = 0.0;
            if e.wrapping_sub(s).wrapping_sub(1) < 2 {
                // One or two weights, in slots s and l = e - 1 (the same slot for one weight, then selected out).
                let l = e - 1;
                let two = l > s;
                let (j0, j1) = ((*ip.add(s)).to_usize(), (*ip.add(l)).to_usize());
                let w0 = (*wp.add(s)).to_f32_avx();
                let w1 = if two { (*wp.add(l)).to_f32_avx() } else { 0.0 };
                let eval = |x: &[f32]| {
                    let x1 = if two { *x.get_unchecked(j1) } else { 0.0 };
                    zi + si * (w0 * *x.get_unchecked(j0) + w1 * x1)
                };
                let new = g * super::larger(0.0, eval(x));
                *x.get_unchecked_mut(i) = new;
                r = super::larger(r, (super::larger(0.0, eval(x)) - new).abs());
            } else {
                let new = g * super::larger(0.0, zi + si * dot(x, s, e));
                *x.get_unchecked_mut(i) = new;
                // A row that neither reads its own unit nor has a gain other than 1 would repeat the same
                // operations: its residual is 0 without them.
                let reads_itself = (s..e).fold(false, |a, k| a | ((*ip.add(k)).to_usize() == i));
                if reads_itself || g != 1.0 {
                    let t = zi + si * dot(x, s, e);
                    r = super::larger(r, (super::larger(0.0, t) - new).abs());
                }
            }
        }
    }
    r
}

super::row_loops!(#[target_feature(enable = "avx2,fma,f16c")]);

/// One grouped Gauss-Seidel sweep of `x = relu(s A x + z)` over a square CSR matrix, for one vector: the rows
/// `rows` (or `0..x.len()`) in consecutive groups of [`super::GROUP`] = 8, each group's eight dot products from
/// the values before the group (Jacobi inside a group), then its eight updates `x_i <- max(0, z_i + s_i A_i x)`
/// stored together (Gauss-Seidel between groups). Returns the largest change `max_i |x_i,new - x_i,old|`.
///
/// Why: a plain sweep is one serial chain through the rows (row `i` may read the `x` row `i - 1` just stored),
/// so each row pays the latency of its gathers, horizontal sum and store; here the eight rows of a group are
/// independent, take the eight-row product of [`csr_matvec_add`] (one register per row, masked tails, one
/// transposing horizontal sum) and the chain is one step per group.
///
/// # Safety
/// The contract of [`super::row_loops`] for a square CSR matrix, and: `z.len() == x.len() == row_ptr.len() - 1`,
/// every entry of `rows` below that (so below `i32::MAX`, the bound of `cols`).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn csr_groups_relu<W: Weight, I: Index>(
    row_ptr: &[u32],
    idx: &[I],
    w: &[W],
    scales: Option<&[f32]>,
    z: &[f32],
    x: &mut [f32],
    rows: Option<&[u32]>,
) -> f32 {
    // Lane j of TAIL[8 - m..16 - m] is all ones for j < m.
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let len = rows.map_or(x.len(), <[u32]>::len);
    let (rp, zp) = (row_ptr.as_ptr(), z.as_ptr());
    let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
    let mut change = _mm256_setzero_ps();
    let mut g = 0;
    // SAFETY (whole block): every unit is below x.len() == z.len() == row_ptr.len() - 1 (contract; `g + r < len`
    // for the listed ones, and the unused lanes of a short last group hold unit 0, valid since len > 0 there),
    // so row_ptr[i], row_ptr[i + 1], z[i], x[i] and the scales are in bounds; the row ranges are bounded by
    // w.len() == idx.len() and their indices by x.len() (row_lanes' contract); contiguous groups (no list) read
    // and write x[g..g + 8] and z[g..g + 8] with g + 8 <= len == x.len().
    unsafe {
        while g < len {
            let m = (len - g).min(super::GROUP);
            let mut acc = [_mm256_setzero_ps(); 8];
            let mut units = [0u32; 8];
            for (r, (a, u)) in acc.iter_mut().zip(units.iter_mut()).enumerate().take(m) {
                let i = rows.map_or(g + r, |o| *o.get_unchecked(g + r) as usize);
                *u = i as u32;
                *a = row_lanes(w, idx, x, *rp.add(i) as usize, *rp.add(i + 1) as usize);
            }
            let sums = hsum8(acc);
            let contiguous = rows.is_none() && m == 8;
            let lanes = _mm256_loadu_si256(units.as_ptr().cast::<__m256i>());
            let load = |p: *const f32| {
                if contiguous {
                    _mm256_loadu_ps(p.add(g))
                } else {
                    _mm256_i32gather_ps::<4>(p, lanes)
                }
            };
            let sums = match scales {
                Some(s) => _mm256_mul_ps(sums, load(s.as_ptr())),
                None => sums,
            };
            // max(t, 0) is 0 for a NaN t, as `larger(0, t)` in the other backends.
            let new = _mm256_max_ps(_mm256_add_ps(load(zp), sums), _mm256_setzero_ps());
            let old = load(x.as_ptr());
            let mask = _mm256_loadu_ps(TAIL.as_ptr().add(8 - m).cast::<f32>());
            let d = _mm256_and_ps(_mm256_and_ps(_mm256_sub_ps(new, old), magnitude), mask);
            // A NaN change (inf - inf) keeps the running maximum, as `larger` does.
            change = _mm256_max_ps(d, change);
            if contiguous {
                _mm256_storeu_ps(x.as_mut_ptr().add(g), new);
            } else {
                let mut v = [0.0f32; 8];
                _mm256_storeu_ps(v.as_mut_ptr(), new);
                for (&u, &vi) in units.iter().zip(&v).take(m) {
                    *x.get_unchecked_mut(u as usize) = vi;
                }
            }
            g += m;
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), change);
        lanes.into_iter().fold(0.0, super::larger)
    }
}

/// One grouped sweep over the slot-major copy of short rows (`groups.rs`): per group, one gather of `x` per slot
/// serves the group's eight rows (lane `r` accumulates row `r`: no horizontal sum, no masks), two accumulators
/// for even and odd slots; then `x_i <- max(0, z_i + sum)` for the group, stored together. Returns the largest
/// change.
///
/// # Safety
/// AVX2/FMA/F16C available; the invariants of [`super::groups::Sell`] with matrix size `z.len() == x.len()`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn sell_sweep(s: super::groups::Sell, z: &[f32], x: &mut [f32]) -> f32 {
    // Lane j of TAIL[8 - m..16 - m] is all ones for j < m.
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    // One raw pointer for the reads and writes of x (no reference to x is made while it is in use).
    let (ip, wp, zp) = (s.idx.as_ptr(), s.w.as_ptr(), z.as_ptr());
    let xm = x.as_mut_ptr();
    let xp = xm.cast_const();
    let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
    let mut change = _mm256_setzero_ps();
    for (g, units) in s.units.chunks_exact(8).enumerate() {
        let m = (s.len - g * 8).min(8);
        let (a, b) = (s.slot_ptr[g] as usize, s.slot_ptr[g + 1] as usize);
        // SAFETY (whole block): slots a..b are inside idx and w (8 lanes each, the Sell invariants), their
        // indices and the units are below x.len() == z.len(); a contiguous full group reads and writes
        // x[8g..8g + 8] and z[8g..8g + 8], inside since then units are 0..len and 8g + 8 <= len.
        unsafe {
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut k = a;
            while k + 2 <= b {
                let x0 = _mm256_i32gather_ps::<4>(xp, _mm256_loadu_si256(ip.add(8 * k).cast()));
                let x1 = _mm256_i32gather_ps::<4>(xp, _mm256_loadu_si256(ip.add(8 * k + 8).cast()));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k)), x0, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k + 8)), x1, acc1);
                k += 2;
            }
            if k < b {
                let x0 = _mm256_i32gather_ps::<4>(xp, _mm256_loadu_si256(ip.add(8 * k).cast()));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k)), x0, acc0);
            }
            let sums = _mm256_add_ps(acc0, acc1);
            let full = s.contiguous && m == 8;
            let lanes = _mm256_loadu_si256(units.as_ptr().cast());
            let (zv, old) = if full {
                (
                    _mm256_loadu_ps(zp.add(8 * g)),
                    _mm256_loadu_ps(xp.add(8 * g)),
                )
            } else {
                (
                    _mm256_i32gather_ps::<4>(zp, lanes),
                    _mm256_i32gather_ps::<4>(xp, lanes),
                )
            };
            // max(t, 0) is 0 for a NaN t, as `larger(0, t)` in the other backends.
            let new = _mm256_max_ps(_mm256_add_ps(zv, sums), _mm256_setzero_ps());
            let mut d = _mm256_and_ps(_mm256_sub_ps(new, old), magnitude);
            if m < 8 {
                d = _mm256_and_ps(d, _mm256_loadu_ps(TAIL.as_ptr().add(8 - m).cast::<f32>()));
            }
            // A NaN change (inf - inf) keeps the running maximum, as `larger` does.
            change = _mm256_max_ps(d, change);
            if full {
                _mm256_storeu_ps(xm.add(8 * g), new);
            } else {
                let mut v = [0.0f32; 8];
                _mm256_storeu_ps(v.as_mut_ptr(), new);
                for (&u, &vi) in units.iter().zip(&v).take(m) {
                    *xm.add(u as usize) = vi;
                }
            }
        }
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), change) };
    lanes.into_iter().fold(0.0, super::larger)
}
