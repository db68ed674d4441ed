//! The backward pass by implicit differentiation.
//!
//! With `z = A x + B u + b`, `x = relu(z)` and `M = diag(z > 0)`, the adjoint `w = dL/dz` of the pre-activation solves
//! `w = M (g + A^T w)`, where `g = C^T dL/dy` is the explicit gradient w.r.t. `x` (implicit function theorem: `w` is
//! `M (I - A^T M)^{-1} g`). Then `dL/dA = w x^T`, `dL/dB = w u^T`, `dL/db = w`, `dL/dC = dL/dy x^T`,
//! `dL/dD = dL/dy u^T`, `dL/dc = dL/dy` and `dL/du = B^T w + D^T dL/dy`.
//!
//! Convergence: the adjoint map applies `A^T`, whose induced L1 norm is `max_j sum_i |A_ji|`, the largest *row* L1
//! norm of `A`, i.e. `kappa`. So the row-wise L1 ball that makes the forward map a max-norm contraction makes the
//! adjoint map an L1-norm contraction with the same factor: `||M A^T w - M A^T w'||_1 <= kappa ||w - w'||_1`. We
//! iterate from `w = M g` until the L1 change of every example's adjoint is at most `tol` times its L1 size.

use super::gemm::{gemm, View};
use super::sparse::{csr_transpose, gauss_seidel, masked_at_b, transpose, Csr, SPARSE_BELOW};
use super::{Forward, Params, SolveOptions};

/// Gradients of a batch loss w.r.t. the model, and optionally w.r.t. its inputs.
#[derive(Clone, Debug)]
pub struct Backward {
    /// `dL/dθ` in the same layout as the parameters.
    pub grads: Params,
    /// Adjoint iterations done (1 when `A = 0`).
    pub iterations: usize,
    /// `dL/du`, `m x p`, when asked for.
    pub input: Option<Vec<f32>>,
}

/// Whether to compute `dL/du` (needed by adversarial attacks and training, not by plain training).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputGrad {
    /// Skip it.
    No,
    /// Compute it.
    Yes,
}

impl Params {
    /// Backpropagates `g_y = dL/dy` (`m x q`) through a solved batch `fwd` of inputs `u`.
    pub fn backward(
        &self,
        fwd: &Forward,
        u: &[f32],
        g_y: &[f32],
        opts: &SolveOptions,
        want: InputGrad,
    ) -> Backward {
        self.backward_on(fwd, u, g_y, opts, want, None)
    }

    /// [`backward`](Params::backward), computing the gradient of `A`, `B`, `C`, `D` only on the entries their
    /// `masks` allow (others are left zero): training on a small support then costs `m * nnz` instead of
    /// `m * rows * cols` per matrix.
    pub fn backward_on(
        &self,
        fwd: &Forward,
        u: &[f32],
        g_y: &[f32],
        opts: &SolveOptions,
        want: InputGrad,
        masks: Option<&[Vec<bool>; 4]>,
    ) -> Backward {
        let (p, h, q, m) = (self.p, self.h, self.q, fwd.m);
        assert_eq!(g_y.len(), m * q, "output gradient has the wrong size");
        assert_eq!(u.len(), m * p, "input batch has the wrong size");
        let x = &fwd.x;
        let mut gr = Params::zeros(p, h, q);
        // `out = left^T right` (left `m x nl`, right `m x nr`), sampled on the mask when it is sparse.
        let wgrad = |left: &[f32],
                     nl: usize,
                     right: &[f32],
                     nr: usize,
                     mask: Option<&Vec<bool>>,
                     out: &mut [f32]| {
            match mask.filter(|mk| {
                (mk.iter().filter(|b| **b).count() as f64) < SPARSE_BELOW * mk.len() as f64
            }) {
                Some(mk) => masked_at_b(
                    &transpose(left, m, nl),
                    &transpose(right, m, nr),
                    m,
                    nr,
                    mk,
                    out,
                ),
                None => gemm(
                    nl,
                    m,
                    nr,
                    1.0,
                    View::t(left, nl),
                    View::rows(right, nr),
                    0.0,
                    out,
                ),
            }
        };
        let mask = |i: usize| masks.map(|ms| &ms[i]);
        wgrad(g_y, q, x, h, mask(2), &mut gr.c);
        wgrad(g_y, q, u, p, mask(3), &mut gr.d);
        for row in g_y.chunks(q.max(1)) {
            gr.bias_y.iter_mut().zip(row).for_each(|(s, g)| *s += g);
        }
        let mut g = vec![0.0f32; m * h];
        gemm(
            m,
            q,
            h,
            1.0,
            View::rows(g_y, q),
            View::rows(&self.c, h),
            0.0,
            &mut g,
        );
        // Active set: x > 0 exactly where z > 0.
        let mut w: Vec<f32> = g
            .iter()
            .zip(x)
            .map(|(g, x)| if *x > 0.0 { *g } else { 0.0 })
            .collect();
        let mut iterations = 1;
        if self.a.iter().any(|&a| a != 0.0) {
            let mut t = vec![0.0f32; m * h];
            let a_sparse = Csr::if_sparse(&self.a, h, h);
            if let Some(a) = &a_sparse {
                let (at, tol) = (csr_transpose(a), opts.tol);
                let act = |i: usize, k: usize, z: f32| if x[i * h + k] > 0.0 { z } else { 0.0 };
                let (sweeps, _) = gauss_seidel(
                    &at,
                    &g,
                    &mut w,
                    act,
                    |_, dl1, size| dl1 <= tol * size,
                    opts.max_iter.max(2) - 1,
                );
                iterations += sweeps;
            }
            while a_sparse.is_none() && iterations < opts.max_iter.max(1) {
                t.copy_from_slice(&g);
                match &a_sparse {
                    Some(a) => a.scatter(&w, &mut t),
                    None => gemm(
                        m,
                        h,
                        h,
                        1.0,
                        View::rows(&w, h),
                        View::rows(&self.a, h),
                        1.0,
                        &mut t,
                    ),
                }
                let mut converged = true;
                for ((wr, tr), xr) in w.chunks_mut(h).zip(t.chunks(h)).zip(x.chunks(h)) {
                    let (mut diff, mut size) = (0.0f32, 0.0f32);
                    for ((wi, ti), xi) in wr.iter_mut().zip(tr).zip(xr) {
                        let nw = if *xi > 0.0 { *ti } else { 0.0 };
                        diff += (nw - *wi).abs();
                        size += nw.abs();
                        *wi = nw;
                    }
                    converged &= diff <= opts.tol * size || !diff.is_finite();
                }
                iterations += 1;
                if converged {
                    break;
                }
            }
        }
        wgrad(&w, h, x, h, mask(0), &mut gr.a);
        wgrad(&w, h, u, p, mask(1), &mut gr.b);
        for row in w.chunks(h.max(1)) {
            gr.bias_x.iter_mut().zip(row).for_each(|(s, g)| *s += g);
        }
        let input = (want == InputGrad::Yes).then(|| {
            let mut du = vec![0.0f32; m * p];
            gemm(
                m,
                h,
                p,
                1.0,
                View::rows(&w, h),
                View::rows(&self.b, p),
                0.0,
                &mut du,
            );
            gemm(
                m,
                q,
                p,
                1.0,
                View::rows(g_y, q),
                View::rows(&self.d, p),
                1.0,
                &mut du,
            );
            du
        });
        Backward {
            grads: gr,
            iterations,
            input,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::loss::cross_entropy;
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A small random model with `A != 0`, every row of `A` scaled to L1 norm `kappa`.
    fn model(seed: u64, kappa: f32) -> (Params, Vec<f32>, Vec<u32>) {
        sized_model(seed, kappa, (5, 7, 3, 4), 1.0)
    }

    /// A random model with about `keep` of each weight matrix nonzero (small `keep` takes the sparse kernels).
    fn sized_model(
        seed: u64,
        kappa: f32,
        (p, h, q, m): (usize, usize, usize, usize),
        keep: f64,
    ) -> (Params, Vec<f32>, Vec<u32>) {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut pm = Params::zeros(p, h, q);
        for (i, t) in pm.tensors_mut().into_iter().enumerate() {
            t.iter_mut().for_each(|v| {
                *v = if i >= 4 || r.random_bool(keep) {
                    r.random_range(-1.0..1.0)
                } else {
                    0.0
                }
            });
        }
        for row in pm.a.chunks_mut(h) {
            let s: f32 = row.iter().map(|v| v.abs()).sum();
            row.iter_mut().for_each(|v| *v *= kappa / s.max(1e-12));
        }
        let u = (0..m * p).map(|_| r.random_range(0.0..1.0)).collect();
        let y = (0..m).map(|_| r.random_range(0..q as u32)).collect();
        (pm, u, y)
    }

    const TIGHT: SolveOptions = SolveOptions {
        tol: 0.0,
        max_iter: 400,
    };

    fn loss(pm: &Params, u: &[f32], y: &[u32]) -> (f32, Vec<f32>) {
        let f = pm.forward(u, y.len(), &TIGHT);
        let mut g = vec![0.0; f.y.len()];
        (cross_entropy(&f.y, pm.q, y, None, &mut g), f.x)
    }

    /// Central differences on every parameter and input entry, skipping entries whose perturbation flips a relu (the
    /// loss is not differentiable across a kink, so no gradient can match there).
    #[test]
    fn gradients_match_finite_differences() {
        for seed in 0..8 {
            let kappa = [0.3, 0.6, 0.9][seed as usize % 3];
            // Odd seeds: sparse weights (about 8% nonzero), which run the CSR kernels.
            let (pm, u, y) = if seed % 2 == 0 {
                model(seed, kappa)
            } else {
                sized_model(seed, kappa, (12, 20, 3, 4), 0.08)
            };
            if seed % 2 == 1 {
                assert!(super::super::sparse::Csr::if_sparse(&pm.a, pm.h, pm.h).is_some());
            }
            let f = pm.forward(&u, y.len(), &TIGHT);
            assert!(
                f.residual < 1e-6,
                "forward did not converge: {}",
                f.residual
            );
            let mut gy = vec![0.0; f.y.len()];
            cross_entropy(&f.y, pm.q, &y, None, &mut gy);
            let bw = pm.backward(&f, &u, &gy, &TIGHT, InputGrad::Yes);
            assert!(bw.iterations >= 2, "the adjoint must iterate when A != 0");
            let eps = 2e-3;
            let mut checked = 0;
            let mut check = |fd: f32, an: f32, what: &str| {
                assert!(
                    (fd - an).abs() <= 2e-3 + 2e-2 * an.abs(),
                    "seed {seed} {what}: fd {fd} vs analytic {an}"
                );
                checked += 1;
            };
            for (ti, an) in bw.grads.tensors().iter().enumerate() {
                for k in 0..an.len() {
                    let (mut lo, mut hi) = (pm.clone(), pm.clone());
                    hi.tensors_mut()[ti][k] += eps;
                    lo.tensors_mut()[ti][k] -= eps;
                    let ((l1, x1), (l0, x0)) = (loss(&hi, &u, &y), loss(&lo, &u, &y));
                    if x1.iter().zip(&x0).any(|(a, b)| (*a > 0.0) != (*b > 0.0)) {
                        continue;
                    }
                    check(
                        (l1 - l0) / (2.0 * eps),
                        an[k],
                        &format!("tensor {ti} entry {k}"),
                    );
                }
            }
            let du = bw.input.unwrap();
            for k in 0..u.len() {
                let (mut hi, mut lo) = (u.clone(), u.clone());
                hi[k] += eps;
                lo[k] -= eps;
                let ((l1, x1), (l0, x0)) = (loss(&pm, &hi, &y), loss(&pm, &lo, &y));
                if x1.iter().zip(&x0).any(|(a, b)| (*a > 0.0) != (*b > 0.0)) {
                    continue;
                }
                check((l1 - l0) / (2.0 * eps), du[k], &format!("input {k}"));
            }
            assert!(checked > 120, "too few entries checked: {checked}");
        }
    }

    /// Gradients sampled on masks equal the dense ones there and are zero elsewhere.
    #[test]
    fn masked_gradients_match_dense_ones() {
        let (pm, u, y) = sized_model(11, 0.7, (30, 24, 4, 9), 0.06);
        let f = pm.forward(&u, y.len(), &TIGHT);
        let mut gy = vec![0.0; f.y.len()];
        cross_entropy(&f.y, pm.q, &y, None, &mut gy);
        let full = pm.backward(&f, &u, &gy, &TIGHT, InputGrad::No);
        let masks = crate::model::Which::ALL
            .map(|w| pm.mat(w).iter().map(|v| *v != 0.0).collect::<Vec<bool>>());
        let part = pm.backward_on(&f, &u, &gy, &TIGHT, InputGrad::No, Some(&masks));
        for (i, mk) in masks.iter().enumerate() {
            for ((a, b), keep) in full.grads.tensors()[i]
                .iter()
                .zip(part.grads.tensors()[i])
                .zip(mk)
            {
                if *keep {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                        "tensor {i}: {a} vs {b}"
                    );
                } else {
                    assert_eq!(*b, 0.0);
                }
            }
        }
        assert!(
            masks[1].iter().any(|b| *b)
                && full.grads.b.iter().filter(|v| **v != 0.0).count()
                    > masks[1].iter().filter(|b| **b).count()
        );
    }

    #[test]
    fn forward_is_a_fixed_point_and_one_step_when_a_is_zero() {
        let (mut pm, u, y) = model(7, 0.8);
        let f = pm.forward(&u, y.len(), &TIGHT);
        assert!(f.iterations > 5);
        // x = relu(A x + B u + b) holds row by row.
        for (i, xr) in f.x.chunks(pm.h).enumerate() {
            for j in 0..pm.h {
                let mut z = pm.bias_x[j];
                z += (0..pm.h).map(|k| pm.a[j * pm.h + k] * xr[k]).sum::<f32>();
                z += (0..pm.p)
                    .map(|k| pm.b[j * pm.p + k] * u[i * pm.p + k])
                    .sum::<f32>();
                assert!((z.max(0.0) - xr[j]).abs() < 1e-5);
            }
        }
        pm.a.iter_mut().for_each(|v| *v = 0.0);
        let f = pm.forward(&u, y.len(), &TIGHT);
        assert_eq!(f.iterations, 1);
        let gy = vec![0.1; f.y.len()];
        assert_eq!(
            pm.backward(&f, &u, &gy, &TIGHT, InputGrad::No).iterations,
            1
        );
    }

    #[test]
    fn iteration_cap_is_respected_and_kappa_is_the_row_l1_norm() {
        let (pm, u, y) = model(3, 0.9);
        assert!((pm.kappa() - 0.9).abs() < 1e-5);
        let f = pm.forward(
            &u,
            y.len(),
            &SolveOptions {
                tol: 0.0,
                max_iter: 3,
            },
        );
        assert_eq!(f.iterations, 3);
    }
}
