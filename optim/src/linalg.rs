//! Small dense linear-algebra helpers on slices (plain loops the compiler vectorises).

use crate::Float;

/// Inner product `<a, b>`. Four independent accumulators let the compiler use SIMD lanes and
/// break the floating-point dependency chain.
#[inline]
pub fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::zero(); 8];
    let chunks = n / 8;
    for k in 0..chunks {
        let (ca, cb) = (&a[8 * k..8 * k + 8], &b[8 * k..8 * k + 8]);
        for l in 0..8 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut s = T::zero();
    for i in 8 * chunks..n {
        s += a[i] * b[i];
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + s
}

/// `y += alpha * x`.
#[inline]
pub fn axpy<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `x *= alpha`.
#[inline]
pub fn scale<T: Float>(alpha: T, x: &mut [T]) {
    for xi in x {
        *xi *= alpha;
    }
}

/// Squared Euclidean norm.
#[inline]
pub fn norm2_sq<T: Float>(x: &[T]) -> T {
    dot(x, x)
}

/// Euclidean norm.
#[inline]
pub fn norm2<T: Float>(x: &[T]) -> T {
    norm2_sq(x).sqrt()
}

/// L1 norm.
#[inline]
pub fn norm1<T: Float>(x: &[T]) -> T {
    x.iter().map(|v| v.abs()).sum()
}

/// L-infinity norm.
#[inline]
pub fn norm_inf<T: Float>(x: &[T]) -> T {
    x.iter().fold(T::zero(), |m, v| m.max(v.abs()))
}

/// Squared Euclidean distance `||a - b||^2`.
#[inline]
pub fn dist2_sq<T: Float>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).map(|(&x, &y)| (x - y) * (x - y)).sum()
}

/// Index of the entry of largest absolute value (first one on ties); `None` for an empty slice.
///
/// Two passes: a lane-parallel maximum of `|x_i|` (vectorises to `max` instructions), then
/// the first position attaining it — faster than one branchy pass on the hot LMO path.
/// NaN entries are ignored unless all entries are NaN (then index 0).
#[inline]
pub fn argmax_abs<T: Float>(x: &[T]) -> Option<usize> {
    if x.is_empty() {
        return None;
    }
    let mut acc = [T::zero(); 16];
    let chunks = x.len() / 16;
    for k in 0..chunks {
        let c = &x[16 * k..16 * k + 16];
        for l in 0..16 {
            let a = c[l].abs();
            if a > acc[l] {
                acc[l] = a;
            }
        }
    }
    let mut m = acc
        .iter()
        .fold(T::zero(), |m, &a| if a > m { a } else { m });
    for &v in &x[16 * chunks..] {
        if v.abs() > m {
            m = v.abs();
        }
    }
    // First position attaining m: test 8 entries at a time (branch-free compare, vectorised),
    // then locate the hit inside the chunk.
    for (k, c) in x.chunks_exact(8).enumerate() {
        let mut hit = false;
        for &v in c {
            hit |= v.abs() == m;
        }
        if hit {
            let j = c.iter().position(|v| v.abs() == m).unwrap_or(0);
            return Some(8 * k + j);
        }
    }
    let full = x.len() / 8;
    let tail = x.iter().skip(8 * full).position(|v| v.abs() == m);
    Some(tail.map_or(0, |j| 8 * full + j))
}

/// Hints the processor to start loading `x` into cache (x86-64: one `prefetcht0` per 64-byte
/// line; a no-op elsewhere). Used to hide the memory latency of the next random data row in
/// stochastic methods, whose rows otherwise arrive one cache miss at a time.
#[inline]
pub fn prefetch<T>(x: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = core::mem::size_of_val(x);
        let p = x.as_ptr() as *const i8;
        let mut off = 0;
        while off < bytes {
            // SAFETY: `_mm_prefetch` needs SSE, part of the x86-64 baseline; it is only a cache
            // hint and never faults or reads memory architecturally, and the address stays
            // within `x` (`off < bytes`), computed with `wrapping_add` (no UB on overflow).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// `true` if every entry is finite.
#[inline]
pub fn all_finite<T: Float>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// Row-major matrix-vector product `out = M v`, `M` being `rows x cols`.
pub fn gemv<T: Float>(m: &[T], rows: usize, cols: usize, v: &[T], out: &mut [T]) {
    for (r, o) in out.iter_mut().enumerate().take(rows) {
        *o = dot(&m[r * cols..(r + 1) * cols], v);
    }
}

/// Row-major transposed product `out = M^T v`, `M` being `rows x cols`.
pub fn gemv_t<T: Float>(m: &[T], rows: usize, cols: usize, v: &[T], out: &mut [T]) {
    out.iter_mut().for_each(|o| *o = T::zero());
    for r in 0..rows {
        axpy(v[r], &m[r * cols..(r + 1) * cols], out);
    }
}

/// Thin singular value decomposition of a row-major `m x n` matrix by one-sided Jacobi
/// rotations (Hestenes 1958; Demmel & Veselić 1992), accurate to working precision.
///
/// Returns `(u, s, vt)` with `u` `m x k` (row-major), `s` of length `k = min(m, n)` in
/// decreasing order and `vt` `k x n` (row-major), so that `M = U diag(s) V^T`. Cost
/// `O(sweeps * m * n * k)`; meant for the modest matrices of the nuclear-norm projection.
pub fn svd_jacobi<T: Float>(a: &[T], m: usize, n: usize) -> (Vec<T>, Vec<T>, Vec<T>) {
    // Work on the tall orientation: W (p x q, p >= q) column-major, rotate columns pairwise.
    let transpose = m < n;
    let (p, q) = if transpose { (n, m) } else { (m, n) };
    // cols[j] = column j of W, length p.
    let mut cols: Vec<Vec<T>> = (0..q)
        .map(|j| {
            (0..p)
                .map(|i| {
                    if transpose {
                        a[j * n + i]
                    } else {
                        a[i * n + j]
                    }
                })
                .collect()
        })
        .collect();
    let mut v: Vec<Vec<T>> = (0..q)
        .map(|j| {
            let mut e = vec![T::zero(); q];
            e[j] = T::one();
            e
        })
        .collect();
    let eps = T::epsilon();
    for _sweep in 0..60 {
        let mut rotated = false;
        for j in 0..q {
            for k in (j + 1)..q {
                let alpha = norm2_sq(&cols[j]);
                let beta = norm2_sq(&cols[k]);
                let gamma = dot(&cols[j], &cols[k]);
                if gamma.abs() <= eps * (alpha * beta).sqrt() || gamma == T::zero() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (T::c(2.0) * gamma);
                let t = zeta.signum() / (zeta.abs() + (T::one() + zeta * zeta).sqrt());
                let c = T::one() / (T::one() + t * t).sqrt();
                let s = c * t;
                let (lo, hi) = cols.split_at_mut(k);
                for (x, y) in lo[j].iter_mut().zip(hi[0].iter_mut()) {
                    let (xj, xk) = (*x, *y);
                    *x = c * xj - s * xk;
                    *y = s * xj + c * xk;
                }
                let (lo, hi) = v.split_at_mut(k);
                for (x, y) in lo[j].iter_mut().zip(hi[0].iter_mut()) {
                    let (xj, xk) = (*x, *y);
                    *x = c * xj - s * xk;
                    *y = s * xj + c * xk;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut sv: Vec<(T, usize)> = cols
        .iter()
        .enumerate()
        .map(|(j, c)| (norm2(c), j))
        .collect();
    sv.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(core::cmp::Ordering::Equal));
    let k = q;
    let s: Vec<T> = sv.iter().map(|x| x.0).collect();
    // Left vectors of W: cols[j]/s_j (p-dim); right vectors: v[j] (q-dim).
    let mut left = vec![T::zero(); p * k]; // p x k row-major
    let mut right = vec![T::zero(); k * q]; // k x q row-major
    for (r, &(sj, j)) in sv.iter().enumerate() {
        for i in 0..p {
            left[i * k + r] = if sj > T::zero() {
                cols[j][i] / sj
            } else {
                T::zero()
            };
        }
        right[r * q..(r + 1) * q].copy_from_slice(&v[j]);
    }
    if transpose {
        // M^T = W = L S R^T  =>  M = R S L^T: U = R^T (m x k), V^T = L^T (k x n).
        let mut u = vec![T::zero(); m * k];
        for r in 0..k {
            for i in 0..m {
                u[i * k + r] = right[r * q + i];
            }
        }
        let mut vt = vec![T::zero(); k * n];
        for r in 0..k {
            for i in 0..n {
                vt[r * n + i] = left[i * k + r];
            }
        }
        (u, s, vt)
    } else {
        (left, s, right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    proptest! {
        /// Kernels against naive references on arbitrary lengths and values (ties included:
        /// values are drawn from a small integer grid).
        #[test]
        fn kernels_match_naive(x in proptest::collection::vec(-4i32..5, 0..70), y in proptest::collection::vec(-3.0f64..3.0, 70)) {
            let x: Vec<f64> = x.into_iter().map(f64::from).collect();
            let y = &y[..x.len()];
            let naive: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
            prop_assert!((dot(&x, y) - naive).abs() <= 1e-12 * (1.0 + naive.abs()));
            let m = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let first = x.iter().position(|v| v.abs() == m);
            prop_assert_eq!(argmax_abs(&x), first);
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            prop_assert_eq!(argmax_abs(&xf), first);
            let mut z = y.to_vec();
            axpy(0.5, &x, &mut z);
            for i in 0..x.len() {
                prop_assert_eq!(z[i], y[i] + 0.5 * x[i]);
            }
        }
    }

    #[test]
    fn dot_matches_naive_on_odd_lengths() {
        let mut rng = SplitMix64::new(3);
        for n in [0usize, 1, 7, 8, 9, 31, 100] {
            let a: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-12 * (1.0 + naive.abs()));
        }
    }

    #[test]
    fn argmax_abs_matches_naive_first_maximum() {
        let mut rng = SplitMix64::new(4);
        assert_eq!(argmax_abs::<f64>(&[]), None);
        assert_eq!(argmax_abs(&[0.0f64, 0.0]), Some(0));
        assert_eq!(argmax_abs(&[1.0f64, -3.0, 3.0]), Some(1));
        for n in 1..40 {
            let x: Vec<f64> = (0..n).map(|_| (rng.normal() * 3.0).round()).collect();
            let m = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let first = x.iter().position(|v| v.abs() == m).unwrap();
            assert_eq!(argmax_abs(&x), Some(first));
        }
    }

    #[test]
    fn prefetch_accepts_any_slice() {
        // Edges: empty, shorter than a line, unaligned, many lines; must not fault or change data.
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        prefetch::<f64>(&[]);
        prefetch(&v[..1]);
        prefetch(&v[3..11]);
        prefetch(&v);
        let b = [7u8; 3];
        prefetch(&b[1..]);
        assert_eq!(v[999], 999.0);
        assert_eq!(b, [7, 7, 7]);
    }

    #[test]
    fn svd_reconstructs_and_orders() {
        let mut rng = SplitMix64::new(11);
        for (m, n) in [(5usize, 3usize), (3, 5), (4, 4), (1, 6), (6, 1)] {
            let a: Vec<f64> = (0..m * n).map(|_| rng.normal()).collect();
            let (u, s, vt) = svd_jacobi(&a, m, n);
            let k = m.min(n);
            for w in s.windows(2) {
                assert!(w[0] >= w[1]);
            }
            for i in 0..m {
                for j in 0..n {
                    let r: f64 = (0..k).map(|l| u[i * k + l] * s[l] * vt[l * n + j]).sum();
                    assert!((r - a[i * n + j]).abs() < 1e-10, "({m},{n}) entry {i},{j}");
                }
            }
            // Orthonormal right vectors.
            for a1 in 0..k {
                for a2 in 0..k {
                    let d: f64 = (0..n).map(|j| vt[a1 * n + j] * vt[a2 * n + j]).sum();
                    let e = if a1 == a2 { 1.0 } else { 0.0 };
                    assert!((d - e).abs() < 1e-10);
                }
            }
        }
    }
}
