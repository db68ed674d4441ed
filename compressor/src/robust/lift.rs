//! The interval map of an implicit model, written as an implicit model of twice the size.
//!
//! For inputs in a box `[l, r]` the interval bound propagation step on the hidden state bounds `[lo, hi]` is
//! (with `M+ = max(M, 0)`, `M- = min(M, 0)` entrywise)
//!
//! ```text
//! lo' = relu(A+ lo + A- hi + B+ l + B- r + b)
//! hi' = relu(A- lo + A+ hi + B- l + B+ r + b)
//! ```
//!
//! and the outputs are bounded by `y_lo = C+ lo + C- hi + D+ l + D- r + c`, `y_hi = C- lo + C+ hi + D- l + D+ r + c`.
//! Stacking `s = [lo; hi]` and `v = [l; r]`, this is the implicit model `s = relu(Â s + B̂ v + [b; b])`,
//! `[y_lo; y_hi] = Ĉ s + D̂ v + [c; c]` with every matrix lifted the same way, `M̂ = [[M+, M-], [M-, M+]]`. The rows of
//! `Â` have the L1 norms of `A`'s, so the lifted model is well-posed with the same `kappa`, and its fixed point is the
//! limit of the interval iteration: the enclosure of every fixed point the box can produce (see [`super::ibp`]).
//! The ordinary forward and backward passes ([`Params::forward`], [`Params::backward`]) therefore compute the
//! enclosure and differentiate through it: interval-bound training through the fixed point (Gowal, Dvijotham,
//! Stanforth, Bunel, Qin, Uesato, Arandjelovic, Mann, Kohli 2018, "On the effectiveness of interval bound
//! propagation for training verifiably robust models").

use crate::model::{Params, Which};

/// `M̂ = [[M+, M-], [M-, M+]]` for a `rows x cols` matrix `m`.
fn lift_mat(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; 4 * rows * cols];
    let w = 2 * cols;
    for i in 0..rows {
        for j in 0..cols {
            let v = m[i * cols + j];
            let (pos, neg) = (v.max(0.0), v.min(0.0));
            out[i * w + j] = pos;
            out[i * w + cols + j] = neg;
            out[(rows + i) * w + j] = neg;
            out[(rows + i) * w + cols + j] = pos;
        }
    }
    out
}

/// The interval model of `params`: inputs `[l; r]` (`2p`), states `[lo; hi]` (`2h`), outputs `[y_lo; y_hi]` (`2q`).
pub fn lift(params: &Params) -> Params {
    let (p, h, q) = (params.p, params.h, params.q);
    let mut out = Params::zeros(2 * p, 2 * h, 2 * q);
    for w in Which::ALL {
        let (r, c) = params.shape(w);
        *out.mat_mut(w) = lift_mat(params.mat(w), r, c);
    }
    out.bias_x = [params.bias_x.as_slice(), params.bias_x.as_slice()].concat();
    out.bias_y = [params.bias_y.as_slice(), params.bias_y.as_slice()].concat();
    out
}

/// The gradient w.r.t. `params` of a loss of the lifted model, from its gradient `g` w.r.t. [`lift`]`(params)`.
///
/// Each entry `m` of a matrix appears in the `+` blocks when `m > 0` and in the `-` blocks when `m < 0`, so
/// `dL/dm` is the sum over the two blocks it feeds. At `m = 0` the map is not differentiable; we take the mean of
/// the one-sided derivatives so that zero entries inside a training support can still move either way.
pub fn fold_grad(params: &Params, g: &Params) -> Params {
    let mut out = Params::zeros(params.p, params.h, params.q);
    for w in Which::ALL {
        let (rows, cols) = params.shape(w);
        let (m, gm, wide) = (params.mat(w), g.mat(w), 2 * cols);
        let dst = out.mat_mut(w);
        for i in 0..rows {
            for j in 0..cols {
                let plus = gm[i * wide + j] + gm[(rows + i) * wide + cols + j];
                let minus = gm[i * wide + cols + j] + gm[(rows + i) * wide + j];
                let v = m[i * cols + j];
                dst[i * cols + j] = if v > 0.0 {
                    plus
                } else if v < 0.0 {
                    minus
                } else {
                    0.5 * (plus + minus)
                };
            }
        }
    }
    let (h, q) = (params.h, params.q);
    for i in 0..h {
        out.bias_x[i] = g.bias_x[i] + g.bias_x[h + i];
    }
    for i in 0..q {
        out.bias_y[i] = g.bias_y[i] + g.bias_y[q + i];
    }
    out
}

/// The lifted model's input for the box `[u - eps, u + eps] ∩ [0, 1]` around each of `m` inputs: rows `[l; r]`.
pub fn box_input(u: &[f32], p: usize, eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * u.len());
    for row in u.chunks(p.max(1)) {
        out.extend(row.iter().map(|v| (v - eps).clamp(0.0, 1.0)));
        out.extend(row.iter().map(|v| (v + eps).clamp(0.0, 1.0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InputGrad, SolveOptions};
    use rand::{Rng, SeedableRng};

    fn random(p: usize, h: usize, q: usize, seed: u64) -> Params {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut m = Params::zeros(p, h, q);
        for t in m.tensors_mut() {
            t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
        }
        crate::train::project::rows_onto_l1_ball(&mut m.a, h, 0.6);
        m
    }

    #[test]
    fn lifted_model_keeps_kappa_and_degenerate_box_gives_the_model() {
        let m = random(4, 5, 3, 1);
        let l = lift(&m);
        assert!((l.kappa() - m.kappa()).abs() < 1e-6);
        let u = [0.1f32, 0.5, 0.9, 0.3];
        let opts = SolveOptions {
            tol: 1e-7,
            max_iter: 500,
        };
        let y = m.forward(&u, 1, &opts).y;
        let yl = l.forward(&box_input(&u, 4, 0.0), 1, &opts).y;
        for j in 0..3 {
            assert!((yl[j] - y[j]).abs() < 1e-4 && (yl[3 + j] - y[j]).abs() < 1e-4);
        }
    }

    /// The folded gradient of `sum(w . y_lifted)` matches central finite differences in the original weights.
    #[test]
    fn folded_gradient_matches_finite_differences() {
        let m = random(3, 4, 2, 2);
        let u = [0.2f32, 0.6, 0.4];
        let v = box_input(&u, 3, 0.1);
        let wts = [0.3f32, -1.0, 0.7, 0.2];
        let opts = SolveOptions {
            tol: 1e-9,
            max_iter: 1000,
        };
        let loss = |m: &Params| -> f64 {
            let y = lift(m).forward(&v, 1, &opts).y;
            y.iter().zip(&wts).map(|(a, b)| f64::from(a * b)).sum()
        };
        let l = lift(&m);
        let fwd = l.forward(&v, 1, &opts);
        let g = fold_grad(&m, &l.backward(&fwd, &v, &wts, &opts, InputGrad::No).grads);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let (t, k) = (rng.random_range(0..6usize), rng.random_range(0..2usize));
            let len = m.tensors()[t].len();
            let k = k * (len - 1);
            let (mut a, mut b) = (m.clone(), m.clone());
            a.tensors_mut()[t][k] += 1e-3;
            b.tensors_mut()[t][k] -= 1e-3;
            let fd = (loss(&a) - loss(&b)) / 2e-3;
            let an = f64::from(g.tensors()[t][k]);
            assert!(
                (fd - an).abs() < 2e-2 * (1.0 + fd.abs()),
                "tensor {t}[{k}]: fd {fd} vs {an}"
            );
        }
    }
}
