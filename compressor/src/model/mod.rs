//! The trainable implicit model (El Ghaoui, Gu, Travacca, Askari, Tsai: "Implicit Deep Learning", SIAM J. Math. Data
//! Sci. 2021): hidden state `x = relu(A x + B u + b)`, output `y = C x + D u + c`.
//!
//! [`Params`] holds the weights densely (training math is dense; sparsity is the training recipe's business).
//! [`forward`](Params::forward) solves the fixed point over a mini-batch by Picard iteration,
//! [`backward`](Params::backward) differentiates through it implicitly. Well-posedness: if every row of `A` has L1 norm
//! at most `kappa < 1`, `x -> relu(A x + v)` is a `kappa`-contraction in the max norm (relu is 1-Lipschitz per entry),
//! so the fixed point is unique and Picard converges geometrically.

mod backward;
mod forward;
pub mod gemm;
pub mod loss;
pub mod sparse;

pub use backward::{Backward, InputGrad};
pub use forward::{Forward, SolveOptions};

use serde::{Deserialize, Serialize};

/// Which weight matrix: the recipe budgets them together but constrains each its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Which {
    /// `A`, hidden to hidden (`h x h`).
    A,
    /// `B`, input to hidden (`h x p`).
    B,
    /// `C`, hidden to output (`q x h`).
    C,
    /// `D`, input to output (`q x p`).
    D,
}

impl Which {
    /// The four matrices in storage order.
    pub const ALL: [Which; 4] = [Which::A, Which::B, Which::C, Which::D];
}

/// Weights of an implicit model with `p` inputs, `h` hidden states and `q` outputs, all row-major and dense.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Number of inputs.
    pub p: usize,
    /// Number of hidden states.
    pub h: usize,
    /// Number of outputs.
    pub q: usize,
    /// `A`, `h x h`.
    pub a: Vec<f32>,
    /// `B`, `h x p`.
    pub b: Vec<f32>,
    /// `C`, `q x h`.
    pub c: Vec<f32>,
    /// `D`, `q x p`.
    pub d: Vec<f32>,
    /// Hidden bias `b`, length `h`.
    pub bias_x: Vec<f32>,
    /// Output bias `c`, length `q`.
    pub bias_y: Vec<f32>,
}

impl Params {
    /// The all-zero model, where Frank-Wolfe training starts.
    pub fn zeros(p: usize, h: usize, q: usize) -> Params {
        Params {
            p,
            h,
            q,
            a: vec![0.0; h * h],
            b: vec![0.0; h * p],
            c: vec![0.0; q * h],
            d: vec![0.0; q * p],
            bias_x: vec![0.0; h],
            bias_y: vec![0.0; q],
        }
    }

    /// `(rows, cols)` of a weight matrix.
    pub fn shape(&self, w: Which) -> (usize, usize) {
        match w {
            Which::A => (self.h, self.h),
            Which::B => (self.h, self.p),
            Which::C => (self.q, self.h),
            Which::D => (self.q, self.p),
        }
    }

    /// The values of a weight matrix, row-major.
    pub fn mat(&self, w: Which) -> &[f32] {
        match w {
            Which::A => &self.a,
            Which::B => &self.b,
            Which::C => &self.c,
            Which::D => &self.d,
        }
    }

    /// The values of a weight matrix, mutably.
    pub fn mat_mut(&mut self, w: Which) -> &mut Vec<f32> {
        match w {
            Which::A => &mut self.a,
            Which::B => &mut self.b,
            Which::C => &mut self.c,
            Which::D => &mut self.d,
        }
    }

    /// Nonzero entries of one weight matrix.
    pub fn nnz(&self, w: Which) -> usize {
        self.mat(w).iter().filter(|v| **v != 0.0).count()
    }

    /// Nonzero entries of `A`, `B`, `C` and `D` together: the stored weights a budget counts (biases are free).
    pub fn total_nnz(&self) -> usize {
        Which::ALL.iter().map(|&w| self.nnz(w)).sum()
    }

    /// The largest row L1 norm of `A`: the contraction factor `kappa` of the forward map in the max norm.
    pub fn kappa(&self) -> f32 {
        self.a
            .chunks(self.h.max(1))
            .map(|r| r.iter().map(|v| v.abs()).sum::<f32>())
            .fold(0.0, f32::max)
    }

    /// The same model with its hidden units renumbered, `x' = P x`: new unit `k` is old unit `order[k]`, so
    /// `A' = P A P^T`, `B' = P B`, `b' = P b`, `C' = C P^T` (`D`, `c` unchanged). The fixed point is renumbered
    /// with it and the outputs are the same function of the inputs (up to the rounding of sums taken in another
    /// order). `order` must be a permutation of `0..h`.
    pub fn renumbered(&self, order: &[u32]) -> Params {
        let (h, p) = (self.h, self.p);
        assert_eq!(order.len(), h, "a permutation of the hidden units");
        let old = |k: usize| order[k] as usize;
        let mut out = self.clone();
        for i in 0..h {
            for j in 0..h {
                out.a[i * h + j] = self.a[old(i) * h + old(j)];
            }
            out.b[i * p..(i + 1) * p].copy_from_slice(&self.b[old(i) * p..(old(i) + 1) * p]);
            out.bias_x[i] = self.bias_x[old(i)];
        }
        for r in 0..self.q {
            for j in 0..h {
                out.c[r * h + j] = self.c[r * h + old(j)];
            }
        }
        out
    }

    /// All parameters as one flat slice per tensor, in a fixed order (for optimisers and finite differences).
    pub fn tensors_mut(&mut self) -> [&mut Vec<f32>; 6] {
        [
            &mut self.a,
            &mut self.b,
            &mut self.c,
            &mut self.d,
            &mut self.bias_x,
            &mut self.bias_y,
        ]
    }

    /// All parameters, read-only, in the order of [`tensors_mut`](Params::tensors_mut).
    pub fn tensors(&self) -> [&Vec<f32>; 6] {
        [
            &self.a,
            &self.b,
            &self.c,
            &self.d,
            &self.bias_x,
            &self.bias_y,
        ]
    }

    /// Class predictions (argmax of `y`) for a batch of `m` inputs.
    pub fn predict(&self, u: &[f32], m: usize, opts: &SolveOptions) -> Vec<u32> {
        let f = self.forward(u, m, opts);
        f.y.chunks(self.q).map(loss::argmax).collect()
    }

    /// Fraction of correctly classified examples of `data`, evaluated in batches of 1,000, and the mean number of
    /// fixed-point iterations per batch.
    pub fn accuracy(&self, data: &crate::data::Dataset, opts: &SolveOptions) -> (f64, f64) {
        let bs = 1000;
        let (mut right, mut iters, mut batches) = (0usize, 0usize, 0usize);
        for start in (0..data.n).step_by(bs) {
            let m = bs.min(data.n - start);
            let f = self.forward(&data.x[start * data.p..(start + m) * data.p], m, opts);
            iters += f.iterations;
            batches += 1;
            right +=
                f.y.chunks(self.q)
                    .zip(&data.y[start..start + m])
                    .filter(|(y, &t)| loss::argmax(y) == t)
                    .count();
        }
        (
            right as f64 / data.n.max(1) as f64,
            iters as f64 / batches.max(1) as f64,
        )
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn renumbering_the_hidden_units_keeps_the_outputs_and_renumbers_the_state() {
        let (p, h, q, m) = (4, 7, 3, 5);
        let mut params = Params::zeros(p, h, q);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.random_range(-1.0f32..1.0);
        for t in params.tensors_mut() {
            t.iter_mut().for_each(|v| *v = next());
        }
        // Rows of L1 norm at most 0.7: a contraction.
        params.a.iter_mut().for_each(|v| *v *= 0.1);
        let order = [3u32, 0, 6, 1, 5, 2, 4];
        let moved = params.renumbered(&order);
        let u: Vec<f32> = (0..m * p).map(|_| next()).collect();
        let opts = SolveOptions::default();
        let (before, after) = (params.forward(&u, m, &opts), moved.forward(&u, m, &opts));
        for (a, b) in after.y.iter().zip(&before.y) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
        for (k, &o) in order.iter().enumerate() {
            assert_eq!(moved.bias_x[k], params.bias_x[o as usize]);
            for e in 0..m {
                let (a, b) = (after.x[e * h + k], before.x[e * h + o as usize]);
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }
}
