//! The normal equations shared by every row of the fit.
//!
//! Each row's problem is `min_w (1/m) sum_k (w . z_k + beta - t_k)^2 / 2` over the design `z_k = [h_k, u_k]`
//! (teacher hidden states, then inputs). The optimal intercept for any `w` is `beta = mean(t) - w . mean(z)`, so with
//! centred features `zc_k = z_k - mean(z)` the objective becomes the quadratic
//!
//! `f(w) = w' G w / 2 - c' w + var(t) / 2`,  `G = (1/m) Zc' Zc`,  `c = (1/m) Zc' t`,
//!
//! whose Gram matrix `G` (`d x d`, `d = n + p`) is the same for every row: one matrix product over the training set
//! serves all rows, and a Frank-Wolfe step of a row then costs `O(d)` ([`super::rowfit`]).

use crate::model::gemm::{gemm, View};

/// The centred design and its Gram matrix.
#[derive(Clone, Debug)]
pub struct Design {
    /// Examples `m`.
    pub m: usize,
    /// Columns `d`: the `n` hidden states first, then the `p` inputs.
    pub d: usize,
    /// Hidden-state columns `n`.
    pub n: usize,
    /// Centred design `Zc`, `m x d` row-major.
    pub zc: Vec<f32>,
    /// Column means of `Z`.
    pub mean: Vec<f32>,
    /// `G = Zc' Zc / m`, `d x d` row-major.
    pub gram: Vec<f32>,
}

/// Right-hand sides of several rows' problems: `c` and the target statistics.
#[derive(Clone, Debug)]
pub struct Targets {
    /// Rows (targets) `t`.
    pub t: usize,
    /// `c_i = Zc' t_i / m` for each target `i`, `t x d` row-major.
    pub cross: Vec<f32>,
    /// Mean of each target.
    pub mean: Vec<f32>,
    /// Variance of each target (the loss of `w = 0` is half of it).
    pub var: Vec<f32>,
}

impl Design {
    /// The design `[hidden, u]` of `m` examples (`hidden` `m x n`, `u` `m x p`), centred, with its Gram matrix.
    pub fn new(hidden: &[f32], n: usize, u: &[f32], p: usize, m: usize) -> Design {
        assert_eq!(hidden.len(), m * n, "hidden states have the wrong size");
        assert_eq!(u.len(), m * p, "inputs have the wrong size");
        let d = n + p;
        let mut zc = Vec::with_capacity(m * d);
        for k in 0..m {
            zc.extend_from_slice(&hidden[k * n..(k + 1) * n]);
            zc.extend_from_slice(&u[k * p..(k + 1) * p]);
        }
        let mean = column_means(&zc, m, d);
        for row in zc.chunks_mut(d.max(1)) {
            row.iter_mut().zip(&mean).for_each(|(v, mu)| *v -= mu);
        }
        let mut gram = vec![0.0f32; d * d];
        let inv = 1.0 / m.max(1) as f32;
        gemm(
            d,
            m,
            d,
            inv,
            View::t(&zc, d),
            View::rows(&zc, d),
            0.0,
            &mut gram,
        );
        Design {
            m,
            d,
            n,
            zc,
            mean,
            gram,
        }
    }

    /// The right-hand sides for targets `targets` (`m x t`, one column per row problem).
    pub fn targets(&self, targets: &[f32], t: usize) -> Targets {
        let m = self.m;
        assert_eq!(targets.len(), m * t, "targets have the wrong size");
        let mean = column_means(targets, m, t);
        let mut var = vec![0.0f64; t];
        for row in targets.chunks(t.max(1)) {
            for ((v, x), mu) in var.iter_mut().zip(row).zip(&mean) {
                *v += f64::from(x - mu).powi(2);
            }
        }
        let mut cross = vec![0.0f32; t * self.d];
        // Zc' 1 = 0, so the targets need no centring here.
        gemm(
            t,
            m,
            self.d,
            1.0 / m.max(1) as f32,
            View::t(targets, t),
            View::rows(&self.zc, self.d),
            0.0,
            &mut cross,
        );
        Targets {
            t,
            cross,
            mean,
            var: var.iter().map(|v| (v / m.max(1) as f64) as f32).collect(),
        }
    }

    /// The intercept `mean(t) - w . mean(z)` of a fitted row.
    pub fn intercept(&self, w: &[f32], target_mean: f32) -> f32 {
        target_mean
            - w.iter()
                .zip(&self.mean)
                .map(|(a, b)| f64::from(a * b))
                .sum::<f64>() as f32
    }
}

/// Column means of an `m x d` row-major matrix (accumulated in f64).
fn column_means(x: &[f32], m: usize, d: usize) -> Vec<f32> {
    let mut s = vec![0.0f64; d];
    for row in x.chunks(d.max(1)) {
        s.iter_mut().zip(row).for_each(|(a, v)| *a += f64::from(*v));
    }
    s.iter().map(|v| (v / m.max(1) as f64) as f32).collect()
}

#[cfg(test)]
// Index loops over parallel arrays read like the sums they check.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn gram_and_cross_match_naive_sums() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (m, n, p, t) = (37, 3, 4, 2);
        let h: Vec<f32> = (0..m * n).map(|_| rng.random::<f32>()).collect();
        let u: Vec<f32> = (0..m * p)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        let y: Vec<f32> = (0..m * t).map(|_| rng.random::<f32>() + 3.0).collect();
        let des = Design::new(&h, n, &u, p, m);
        let tg = des.targets(&y, t);
        let z = |k: usize, j: usize| {
            if j < n {
                h[k * n + j]
            } else {
                u[k * p + j - n]
            }
        };
        let d = n + p;
        let mu: Vec<f64> = (0..d)
            .map(|j| (0..m).map(|k| f64::from(z(k, j))).sum::<f64>() / m as f64)
            .collect();
        for i in 0..d {
            for j in 0..d {
                let g: f64 = (0..m)
                    .map(|k| (f64::from(z(k, i)) - mu[i]) * (f64::from(z(k, j)) - mu[j]))
                    .sum::<f64>()
                    / m as f64;
                assert!(
                    (f64::from(des.gram[i * d + j]) - g).abs() < 1e-5,
                    "G[{i},{j}]"
                );
            }
        }
        for r in 0..t {
            let ym: f64 = (0..m).map(|k| f64::from(y[k * t + r])).sum::<f64>() / m as f64;
            let var: f64 = (0..m)
                .map(|k| (f64::from(y[k * t + r]) - ym).powi(2))
                .sum::<f64>()
                / m as f64;
            assert!((f64::from(tg.var[r]) - var).abs() < 1e-5);
            for j in 0..d {
                let c: f64 = (0..m)
                    .map(|k| (f64::from(z(k, j)) - mu[j]) * f64::from(y[k * t + r]))
                    .sum::<f64>()
                    / m as f64;
                assert!(
                    (f64::from(tg.cross[r * d + j]) - c).abs() < 1e-4,
                    "c[{r},{j}]"
                );
            }
        }
    }
}
