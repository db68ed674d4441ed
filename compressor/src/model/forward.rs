//! The forward pass: the fixed point `x = relu(A x + B u + b)` by Picard iteration, then `y = C x + D u + c`.

use super::gemm::{gemm, View};
use super::sparse::{gauss_seidel, Csr};
use super::Params;

/// Stopping rule of a fixed-point solve (forward state or adjoint).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SolveOptions {
    /// Stop once an iteration moves no entry by more than `tol` (forward, absolute) or, for the adjoint, once the
    /// change is at most `tol` times the adjoint's size.
    pub tol: f32,
    /// Iteration cap; with `kappa < 1` the error after `k` steps is at most `kappa^k / (1 - kappa)` times the first
    /// step, so a cap of 100 is generous for `kappa <= 0.9`.
    pub max_iter: usize,
}

impl Default for SolveOptions {
    fn default() -> SolveOptions {
        SolveOptions {
            tol: 1e-5,
            max_iter: 100,
        }
    }
}

/// The solved state of a batch: enough to backpropagate.
#[derive(Clone, Debug)]
pub struct Forward {
    /// Batch size.
    pub m: usize,
    /// Hidden states, `m x h` row-major (row `i` is example `i`'s `x`).
    pub x: Vec<f32>,
    /// Outputs, `m x q`.
    pub y: Vec<f32>,
    /// Picard iterations done (1 when `A = 0`: one sweep is exact).
    pub iterations: usize,
    /// Largest entry change in the last iteration (0 when `A = 0`).
    pub residual: f32,
}

impl Params {
    /// Solves the model on a batch of `m` inputs `u` (`m x p`, row-major).
    ///
    /// Batch-major form: with `V = U B^T + 1 b^T`, iterate `X <- relu(X A^T + V)` from `X = relu(V)` until the step
    /// is below `opts.tol` or `opts.max_iter` iterations are done. It converges for any start when the row-wise L1
    /// norm of `A` is below one (the map is then a contraction in the max norm).
    pub fn forward(&self, u: &[f32], m: usize, opts: &SolveOptions) -> Forward {
        let (p, h) = (self.p, self.h);
        assert_eq!(u.len(), m * p, "input batch has the wrong size");
        let mut v = vec![0.0f32; m * h];
        match Csr::if_sparse(&self.b, h, p) {
            Some(bs) => bs.mul_t(u, &mut v, false),
            None => gemm(
                m,
                p,
                h,
                1.0,
                View::rows(u, p),
                View::t(&self.b, p),
                0.0,
                &mut v,
            ),
        }
        for row in v.chunks_mut(h.max(1)) {
            row.iter_mut().zip(&self.bias_x).for_each(|(z, b)| *z += b);
        }
        let mut x: Vec<f32> = v.iter().map(|z| z.max(0.0)).collect();
        let (mut iterations, mut residual) = (1, 0.0);
        if self.a.iter().any(|&a| a != 0.0) {
            let mut z = vec![0.0f32; m * h];
            let a_sparse = Csr::if_sparse(&self.a, h, h);
            if let Some(a) = &a_sparse {
                let tol = opts.tol;
                let (sweeps, res) = gauss_seidel(
                    a,
                    &v,
                    &mut x,
                    |_, _, z| z.max(0.0),
                    |d, _, _| d <= tol,
                    opts.max_iter.max(2) - 1,
                );
                iterations += sweeps;
                residual = res;
            }
            while a_sparse.is_none() && iterations < opts.max_iter.max(1) {
                z.copy_from_slice(&v);
                match &a_sparse {
                    Some(a) => a.mul_t(&x, &mut z, true),
                    None => gemm(
                        m,
                        h,
                        h,
                        1.0,
                        View::rows(&x, h),
                        View::t(&self.a, h),
                        1.0,
                        &mut z,
                    ),
                }
                residual = 0.0;
                for (xi, zi) in x.iter_mut().zip(&z) {
                    let nx = zi.max(0.0);
                    residual = f32::max(residual, (nx - *xi).abs());
                    *xi = nx;
                }
                iterations += 1;
                if residual <= opts.tol || !residual.is_finite() {
                    break;
                }
            }
        }
        let y = self.output(&x, u, m);
        Forward {
            m,
            x,
            y,
            iterations,
            residual,
        }
    }

    /// `Y = X C^T + U D^T + 1 c^T` for solved states `x`.
    pub fn output(&self, x: &[f32], u: &[f32], m: usize) -> Vec<f32> {
        let (p, h, q) = (self.p, self.h, self.q);
        let mut y = vec![0.0f32; m * q];
        match Csr::if_sparse(&self.c, q, h) {
            Some(c) => c.mul_t(x, &mut y, false),
            None => gemm(
                m,
                h,
                q,
                1.0,
                View::rows(x, h),
                View::t(&self.c, h),
                0.0,
                &mut y,
            ),
        }
        match Csr::if_sparse(&self.d, q, p) {
            Some(d) => d.mul_t(u, &mut y, true),
            None => gemm(
                m,
                p,
                q,
                1.0,
                View::rows(u, p),
                View::t(&self.d, p),
                1.0,
                &mut y,
            ),
        }
        for row in y.chunks_mut(q.max(1)) {
            row.iter_mut().zip(&self.bias_y).for_each(|(o, c)| *o += c);
        }
        y
    }
}
