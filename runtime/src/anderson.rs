//! Anderson acceleration of the Picard iteration `x <- g(x) = relu(A x + z)` (type II, "AA(m)").
//!
//! With residuals `f_k = g(x_k) - x_k` and the last `m` differences `dF_i = f_{i+1} - f_i`,
//! `dG_i = g(x_{i+1}) - g(x_i)`, the next iterate is `x_{k+1} = g(x_k) - dG gamma` where `gamma` minimises
//! `||f_k - dF gamma||_2` (Walker & Ni, "Anderson acceleration for fixed-point iterations", SIAM J. Numer. Anal.
//! 49(4), 2011). For a contraction of rate `kappa` close to 1, where Picard needs about `log(tol) / log(kappa)`
//! steps, the extrapolation typically needs far fewer. `gamma` comes from the `m x m` normal equations, solved in
//! f64 by Gaussian elimination with partial pivoting; a singular system falls back to the plain Picard step.

/// Largest supported history depth.
pub const MAX_DEPTH: usize = 8;

/// History of one Anderson solve, in caller-provided scratch of [`Anderson::scratch_len`] floats.
pub(crate) struct Anderson<'s> {
    depth: usize,
    n: usize,
    /// `depth x n` ring of residual differences, then `depth x n` of `g` differences, then `f`, `f_prev`, `g_prev`.
    buf: &'s mut [f32],
    len: usize,
    head: usize,
    have_prev: bool,
}

impl<'s> Anderson<'s> {
    /// Floats of scratch a depth-`depth` history of `n`-vectors needs.
    pub(crate) fn scratch_len(depth: usize, n: usize) -> usize {
        (2 * depth + 3) * n
    }

    /// An empty history over `buf` (at least [`Anderson::scratch_len`] long).
    pub(crate) fn new(depth: usize, n: usize, buf: &'s mut [f32]) -> Anderson<'s> {
        let depth = depth.clamp(1, MAX_DEPTH);
        let buf = &mut buf[..Self::scratch_len(depth, n)];
        Anderson {
            depth,
            n,
            buf,
            len: 0,
            head: 0,
            have_prev: false,
        }
    }

    /// Records `g = g(x)` for the current iterate `x` and overwrites `x` with the next iterate.
    pub(crate) fn step(&mut self, g: &[f32], x: &mut [f32]) {
        let (n, m) = (self.n, self.depth);
        record(m, n, self.buf, self.head, self.have_prev, g, x);
        if self.have_prev {
            self.head = (self.head + 1) % m;
            self.len = (self.len + 1).min(m);
        }
        self.have_prev = true;
        if self.len > 0 && !extrapolate(m, n, self.buf, self.len, x) {
            // Singular: restart the history and keep the plain Picard step.
            self.len = 0;
            self.head = 0;
        }
    }

    /// Forgets the history (after a step that made things worse).
    pub(crate) fn restart(&mut self) {
        self.len = 0;
        self.head = 0;
        self.have_prev = false;
    }
}

/// One column's history `buf` (`scratch_len(m, n)` floats: the `m x n` ring of residual differences `dF`, the
/// `m x n` ring of `g` differences `dG`, then `f`, `f_prev`, `g_prev`): records `f = g - x` and, after a first
/// step, the differences into ring slot `head`; sets `x = g` (the plain Picard step).
fn record(
    m: usize,
    n: usize,
    buf: &mut [f32],
    head: usize,
    have_prev: bool,
    g: &[f32],
    x: &mut [f32],
) {
    let (hist, cur) = buf.split_at_mut(2 * m * n);
    let (df, dg) = hist.split_at_mut(m * n);
    let (f, rest) = cur.split_at_mut(n);
    let (f_prev, g_prev) = rest.split_at_mut(n);
    for ((fi, &gi), &xi) in f.iter_mut().zip(g).zip(x.iter()) {
        *fi = gi - xi;
    }
    if have_prev {
        let h = head * n;
        for i in 0..n {
            df[h + i] = f[i] - f_prev[i];
            dg[h + i] = g[i] - g_prev[i];
        }
    }
    f_prev.copy_from_slice(f);
    g_prev.copy_from_slice(g);
    x.copy_from_slice(g);
}

/// `x <- x - dG gamma` over the first `l` ring slots of a column's history (`x` holding `g`), `gamma` minimising
/// `||f - dF gamma||_2` by the normal equations in f64; `false` (and `x` unchanged) when they are singular.
// The normal equations are indexed by (row, column) pairs, as in the maths.
#[allow(clippy::needless_range_loop)]
fn extrapolate(m: usize, n: usize, buf: &[f32], l: usize, x: &mut [f32]) -> bool {
    let (hist, cur) = buf.split_at(2 * m * n);
    let (df, dg) = hist.split_at(m * n);
    let f = &cur[..n];
    // Normal equations (dF^T dF) gamma = dF^T f, in f64; a tiny ridge keeps them solvable when columns align.
    let col = |c: usize| &df[c * n..(c + 1) * n];
    let mut h = [[0.0f64; MAX_DEPTH + 1]; MAX_DEPTH];
    for i in 0..l {
        for j in 0..=i {
            let v: f64 = col(i)
                .iter()
                .zip(col(j))
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            h[i][j] = v;
            h[j][i] = v;
        }
        h[i][l] = col(i)
            .iter()
            .zip(f.iter())
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
    }
    let trace: f64 = (0..l).map(|i| h[i][i]).sum();
    for (i, row) in h.iter_mut().enumerate().take(l) {
        row[i] += 1e-10 * trace.max(f64::MIN_POSITIVE);
    }
    let Some(gamma) = solve(&mut h, l) else {
        return false;
    };
    for (c, &gc) in gamma.iter().enumerate().take(l) {
        let gc = gc as f32;
        for (xi, &d) in x.iter_mut().zip(&dg[c * n..(c + 1) * n]) {
            *xi -= gc * d;
        }
    }
    true
}

/// Anderson acceleration of a batch: one history per input (column), all advanced in step with the batch's
/// Picard iterations, in caller-provided scratch of [`BatchAnderson::scratch_len`] floats. The inputs are
/// independent fixed-point problems, so each gets its own extrapolation `gamma`; the ring position and length are
/// shared (every column records every step). A column whose normal equations are singular takes the plain
/// Picard step for that iteration.
pub(crate) struct BatchAnderson<'s> {
    depth: usize,
    n: usize,
    /// `batch` column histories of `Anderson::scratch_len(depth, n)` floats each.
    buf: &'s mut [f32],
    len: usize,
    head: usize,
    have_prev: bool,
}

impl<'s> BatchAnderson<'s> {
    /// Floats of scratch for `batch` histories of depth `depth` over `n`-vectors.
    pub(crate) fn scratch_len(depth: usize, n: usize, batch: usize) -> usize {
        Anderson::scratch_len(depth, n) * batch
    }

    /// Empty histories over `buf` (at least [`BatchAnderson::scratch_len`] long).
    pub(crate) fn new(
        depth: usize,
        n: usize,
        batch: usize,
        buf: &'s mut [f32],
    ) -> BatchAnderson<'s> {
        let depth = depth.clamp(1, MAX_DEPTH);
        let buf = &mut buf[..Self::scratch_len(depth, n, batch)];
        BatchAnderson {
            depth,
            n,
            buf,
            len: 0,
            head: 0,
            have_prev: false,
        }
    }

    /// Records `g(x)` for each input and overwrites `x` with the next iterates; `g` and `x` are sample-major
    /// (`batch x n`, one input after another).
    pub(crate) fn step(&mut self, g: &[f32], x: &mut [f32]) {
        let (n, m) = (self.n, self.depth);
        let per = Anderson::scratch_len(m, n);
        let columns = self.buf.chunks_exact_mut(per);
        for ((buf, g), x) in columns.zip(g.chunks_exact(n)).zip(x.chunks_exact_mut(n)) {
            record(m, n, buf, self.head, self.have_prev, g, x);
        }
        if self.have_prev {
            self.head = (self.head + 1) % m;
            self.len = (self.len + 1).min(m);
        }
        self.have_prev = true;
        if self.len > 0 {
            let columns = self.buf.chunks_exact(per);
            for (buf, x) in columns.zip(x.chunks_exact_mut(n)) {
                extrapolate(m, n, buf, self.len, x);
            }
        }
    }

    /// Forgets every history (after a step that made things worse).
    pub(crate) fn restart(&mut self) {
        self.len = 0;
        self.head = 0;
        self.have_prev = false;
    }
}

/// Solves the `l x l` system whose augmented matrix is `h[..l][..=l]` (right-hand side in column `l`) by Gaussian
/// elimination with partial pivoting; `None` if it is singular or not finite.
#[allow(clippy::needless_range_loop)] // elimination indexes rows and columns together
fn solve(h: &mut [[f64; MAX_DEPTH + 1]; MAX_DEPTH], l: usize) -> Option<[f64; MAX_DEPTH]> {
    for c in 0..l {
        let p = (c..l).max_by(|&a, &b| h[a][c].abs().total_cmp(&h[b][c].abs()))?;
        // Also catches a NaN pivot.
        if h[p][c].abs().is_nan() || h[p][c].abs() <= 1e-300 {
            return None;
        }
        h.swap(c, p);
        for r in c + 1..l {
            let f = h[r][c] / h[c][c];
            for k in c..=l {
                h[r][k] -= f * h[c][k];
            }
        }
    }
    let mut x = [0.0f64; MAX_DEPTH];
    for r in (0..l).rev() {
        let s: f64 = (r + 1..l).map(|k| h[r][k] * x[k]).sum();
        x[r] = (h[r][l] - s) / h[r][r];
    }
    x.iter().take(l).all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_small_systems_and_refuses_singular_ones() {
        let mut h = [[0.0; MAX_DEPTH + 1]; MAX_DEPTH];
        // [[0, 2], [1, 1]] x = [4, 3] -> x = [1, 2] (needs a pivot swap).
        h[0][..3].copy_from_slice(&[0.0, 2.0, 4.0]);
        h[1][..3].copy_from_slice(&[1.0, 1.0, 3.0]);
        let x = solve(&mut h, 2).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12);
        let mut s = [[0.0; MAX_DEPTH + 1]; MAX_DEPTH];
        s[0][..3].copy_from_slice(&[1.0, 2.0, 1.0]);
        s[1][..3].copy_from_slice(&[2.0, 4.0, 2.0]);
        assert!(solve(&mut s, 2).is_none());
    }

    #[test]
    fn one_dimensional_linear_maps_are_solved_in_two_steps() {
        // g(x) = 0.99 x + 1 has its fixed point at 100; Picard would need thousands of steps. Anderson with one
        // difference is the secant method, exact for an affine map after two evaluations.
        let mut buf = vec![0.0; Anderson::scratch_len(3, 1)];
        let mut aa = Anderson::new(3, 1, &mut buf);
        let mut x = [0.0f32];
        for _ in 0..3 {
            let g = [0.99 * x[0] + 1.0];
            aa.step(&g, &mut x);
        }
        assert!((x[0] - 100.0).abs() < 1e-2, "{}", x[0]);
    }

    #[test]
    fn batch_histories_are_independent_secants() {
        // Three inputs, g_b(x) = s_b x + 1 with different slopes: each column's own extrapolation is the secant
        // method, exact after two evaluations, so each reaches its own fixed point 1 / (1 - s_b).
        let slopes = [0.5f32, 0.9, 0.99];
        let mut buf = vec![0.0; BatchAnderson::scratch_len(3, 1, 3)];
        let mut aa = BatchAnderson::new(3, 1, 3, &mut buf);
        let mut x = [0.0f32; 3];
        for _ in 0..3 {
            let g: Vec<f32> = x.iter().zip(slopes).map(|(&x, s)| s * x + 1.0).collect();
            aa.step(&g, &mut x);
        }
        for (x, s) in x.iter().zip(slopes) {
            let want = 1.0 / (1.0 - s);
            assert!((x - want).abs() < 1e-3 * want, "{x} vs {want}");
        }
    }
}
