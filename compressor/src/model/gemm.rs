//! Dense f32 matrix products for training, on `matrixmultiply`'s packed kernels, split across cores with rayon.

use rayon::prelude::*;

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The backing storage.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows x cols` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> View<'a> {
        View {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn t(data: &'a [f32], cols: usize) -> View<'a> {
        View {
            data,
            rs: 1,
            cs: cols,
        }
    }
}

/// Work (in multiply-adds) under which one thread is faster than two.
const PAR_WORK: usize = 1 << 18;

/// `c = alpha * a b + beta * c` with `a` m x k, `b` k x n and `c` row-major m x n. Rows of `c` are split between
/// rayon threads when the product is large; within a block `matrixmultiply::sgemm` does the packed kernel.
#[allow(clippy::too_many_arguments)] // the BLAS sgemm signature, kept for familiarity
pub fn gemm(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32]) {
    assert_eq!(c.len(), m * n, "output has the wrong size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.iter_mut().for_each(|v| *v *= beta);
        return;
    }
    assert!(
        a.data.len() > (m - 1) * a.rs + (k - 1) * a.cs,
        "left operand too short"
    );
    assert!(
        b.data.len() > (k - 1) * b.rs + (n - 1) * b.cs,
        "right operand too short"
    );
    let threads = rayon::current_num_threads().max(1);
    let block = if m * k * n < PAR_WORK || threads == 1 {
        m
    } else {
        m.div_ceil(threads * 2).max(16)
    };
    c.par_chunks_mut(block * n)
        .enumerate()
        .for_each(|(bi, cb)| {
            let r0 = bi * block;
            let rows = cb.len() / n;
            // SAFETY: the asserts above bound every index sgemm reads in `a` (rows r0..r0+rows < m, columns < k) and
            // `b` (k x n); `cb` is an exclusive row-major `rows x n` block. matrixmultiply reads and writes exactly these.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    n,
                    alpha,
                    a.data.as_ptr().add(r0 * a.rs),
                    a.rs as isize,
                    a.cs as isize,
                    b.data.as_ptr(),
                    b.rs as isize,
                    b.cs as isize,
                    beta,
                    cb.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[allow(clippy::too_many_arguments)]
    fn naive(m: usize, k: usize, n: usize, alpha: f32, a: View, b: View, beta: f32, c: &mut [f32]) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for l in 0..k {
                    s += f64::from(a.data[i * a.rs + l * a.cs])
                        * f64::from(b.data[l * b.rs + j * b.cs]);
                }
                c[i * n + j] =
                    (f64::from(alpha) * s + f64::from(beta) * f64::from(c[i * n + j])) as f32;
            }
        }
    }

    proptest! {
        #[test]
        fn matches_naive_product(m in 1usize..200, k in 0usize..40, n in 1usize..70, ta: bool, tb: bool,
                                 beta in prop_oneof![Just(0.0f32), Just(1.0f32), -2.0f32..2.0], seed: u64) {
            let mut s = seed;
            let mut rnd = move || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                                    ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5 };
            let a: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rnd()).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| rnd()).collect();
            let av = if ta { View::t(&a, m) } else { View::rows(&a, k) };
            let bv = if tb { View::t(&b, k) } else { View::rows(&b, n) };
            let (mut c1, mut c2) = (c0.clone(), c0);
            gemm(m, k, n, 0.7, av, bv, beta, &mut c1);
            naive(m, k, n, 0.7, av, bv, beta, &mut c2);
            for (x, y) in c1.iter().zip(&c2) {
                prop_assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    }
}
