//! The stochastic alternative: each row by the variance-reduced stochastic Frank-Wolfe of Négiar et al. (ICML 2020)
//! from `wolfpack-optim`, one example at a time, over the same weighted L1 ball as [`super::rowfit`].
//!
//! The row's problem is the finite sum `(1/m) sum_k (zc_k . w - (t_k - mean t))^2 / 2` of generalised linear models
//! on the centred design: exactly the setting of the method (one stored scalar per example, no step size). Its
//! iterates take an atom per step, so many more than a row's budget; the row keeps its `max_atoms` largest
//! entries afterwards. [`super::rowfit`] solves the same problem in `O(d)` per step from the Gram matrix and is the
//! default; this one is kept to compare against (see docs/BENCHMARKS.md, `compress --teacher`).

use wolfpack_optim::stochastic::NegiarSfw;
use wolfpack_optim::{ConstraintSet, FiniteSumGlm, OptimError, Vertex};

use super::normal::Design;
use super::rowfit::RowFit;

/// `conv{ +-r_j e_j }`: the weighted L1 ball `sum_j |w_j| / r_j <= 1` (`r_j = 0` pins `w_j` to zero).
#[derive(Clone, Debug)]
pub struct WeightedL1<'a> {
    /// The radius of each coordinate.
    pub radius: &'a [f32],
}

impl ConstraintSet<f32> for WeightedL1<'_> {
    fn lmo(&self, grad: &[f32], out: &mut Vertex<f32>) -> wolfpack_optim::Result<()> {
        if grad.len() != self.radius.len() {
            return Err(OptimError::DimensionMismatch {
                what: "gradient",
                expected: self.radius.len(),
                got: grad.len(),
            });
        }
        out.clear_sparse(grad.len());
        let best = grad
            .iter()
            .zip(self.radius)
            .enumerate()
            .filter(|(_, (_, r))| **r > 0.0)
            .max_by(|a, b| (a.1 .1 * a.1 .0.abs()).total_cmp(&(b.1 .1 * b.1 .0.abs())));
        if let Some((j, (g, r))) = best {
            out.push(j, if *g > 0.0 { -r } else { *r });
        }
        Ok(())
    }

    fn project(&self, _x: &mut [f32]) -> wolfpack_optim::Result<()> {
        Err(OptimError::Unsupported {
            what: "projection onto a weighted L1 ball",
        })
    }

    fn contains(&self, x: &[f32], tol: f32) -> bool {
        let mut s = 0.0f32;
        for (v, r) in x.iter().zip(self.radius) {
            if *r > 0.0 {
                s += v.abs() / r;
            } else if v.abs() > tol {
                return false;
            }
        }
        s <= 1.0 + tol
    }

    fn dim(&self) -> Option<usize> {
        Some(self.radius.len())
    }
}

/// One row's least-squares finite sum on the centred design.
struct RowSum<'a> {
    design: &'a Design,
    /// Centred targets, one per example.
    target: Vec<f32>,
}

impl FiniteSumGlm<f32> for RowSum<'_> {
    fn n_samples(&self) -> usize {
        self.design.m
    }
    fn dim(&self) -> usize {
        self.design.d
    }
    fn row(&self, i: usize) -> &[f32] {
        &self.design.zc[i * self.design.d..(i + 1) * self.design.d]
    }
    fn loss(&self, i: usize, z: f32) -> f32 {
        0.5 * (z - self.target[i]).powi(2)
    }
    fn deriv(&self, i: usize, z: f32) -> f32 {
        z - self.target[i]
    }
}

/// Fits one row by Négiar et al.'s stochastic Frank-Wolfe (`solver`), then keeps its `max_atoms` largest entries.
/// `target` holds the row's target for each of the design's examples, `var` its variance.
pub fn negiar_row(
    design: &Design,
    target: &[f32],
    var: f32,
    radius: &[f32],
    max_atoms: usize,
    solver: &NegiarSfw,
) -> Result<RowFit, OptimError> {
    let mean = target.iter().map(|v| f64::from(*v)).sum::<f64>() / target.len().max(1) as f64;
    let sum = RowSum {
        design,
        target: target
            .iter()
            .map(|v| (f64::from(*v) - mean) as f32)
            .collect(),
    };
    let mut solver = solver.clone();
    solver.final_certificate = false;
    let res = solver.minimize(&sum, &WeightedL1 { radius }, vec![0.0; design.d])?;
    let mut w = res.x;
    let mut order: Vec<usize> = (0..w.len()).filter(|&j| w[j] != 0.0).collect();
    order.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()).then(a.cmp(&b)));
    for &j in order.iter().skip(max_atoms) {
        w[j] = 0.0;
    }
    // The loss of the truncated row from the Gram matrix: w' G w / 2 - c' w + var / 2, c = Zc' t / m.
    let d = design.d;
    let nz: Vec<usize> = (0..d).filter(|&j| w[j] != 0.0).collect();
    let mut quad = 0.0f64;
    for &i in &nz {
        for &j in &nz {
            quad += f64::from(w[i]) * f64::from(design.gram[i * d + j]) * f64::from(w[j]);
        }
    }
    let mut cw = 0.0f64;
    for &j in &nz {
        let col: f64 = (0..design.m)
            .map(|k| f64::from(design.zc[k * d + j]) * f64::from(sum.target[k]))
            .sum();
        cw += f64::from(w[j]) * col / design.m.max(1) as f64;
    }
    Ok(RowFit {
        w,
        loss: (0.5 * quad - cw + 0.5 * f64::from(var)).max(0.0),
        gap: f64::NAN,
        iterations: res.grad_evals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teacher::rowfit::{frank_wolfe_row, RowOptions};
    use rand::{Rng, SeedableRng};

    #[test]
    fn weighted_lmo_picks_the_largest_scaled_gradient() {
        let set = WeightedL1 {
            radius: &[1.0, 0.0, 3.0, 0.5],
        };
        let mut v = Vertex::new();
        set.lmo(&[2.0, -100.0, -1.0, 5.0], &mut v).unwrap();
        // Scaled magnitudes 2, (pinned), 3, 2.5: coordinate 2, sign opposite to the gradient.
        assert_eq!(v.sparse().unwrap(), (&[2usize][..], &[3.0f32][..]));
        assert!(set.contains(&[0.5, 0.0, 1.5, 0.0], 1e-6));
        assert!(!set.contains(&[0.0, 0.1, 0.0, 0.0], 1e-6));
        assert!(!set.contains(&[0.6, 0.0, 1.5, 0.0], 1e-6));
    }

    #[test]
    fn stochastic_and_gram_solvers_agree_on_a_sparse_row() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (m, n, p) = (400, 2, 6);
        let h: Vec<f32> = (0..m * n).map(|_| rng.random::<f32>()).collect();
        let u: Vec<f32> = (0..m * p).map(|_| rng.random::<f32>()).collect();
        // t = 0.8 u_1 - 0.5 u_4 + 0.3 h_0 + 1.
        let t: Vec<f32> = (0..m)
            .map(|k| 0.8 * u[k * p + 1] - 0.5 * u[k * p + 4] + 0.3 * h[k * n] + 1.0)
            .collect();
        let design = Design::new(&h, n, &u, p, m);
        let tg = design.targets(&t, 1);
        // The truth lies inside: 0.3 / 0.5 + 1.3 / 5 = 0.86.
        let radius = [0.5, 0.5, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0];
        let gram = frank_wolfe_row(
            &design.gram,
            &tg.cross,
            tg.var[0],
            &radius,
            &RowOptions {
                max_atoms: 3,
                max_iter: 3000,
                tol: 1e-10,
            },
        );
        let solver = NegiarSfw {
            epochs: 40,
            ..NegiarSfw::default()
        };
        let sto = negiar_row(&design, &t, tg.var[0], &radius, 3, &solver).unwrap();
        assert!(
            gram.r2(tg.var[0]) > 0.999,
            "Gram FW r2 {}",
            gram.r2(tg.var[0])
        );
        assert!(
            sto.r2(tg.var[0]) > 0.98,
            "stochastic FW r2 {}",
            sto.r2(tg.var[0])
        );
        for (j, want) in [(0, 0.3f32), (n + 1, 0.8), (n + 4, -0.5)] {
            assert!((gram.w[j] - want).abs() < 0.01, "gram {:?}", gram.w);
            assert!((sto.w[j] - want).abs() < 0.08, "negiar {:?}", sto.w);
        }
    }
}
