//! Frank-Wolfe on one row's least-squares problem, in `O(d)` per step through the shared Gram matrix.
//!
//! Problem ([`super::normal`]): `min f(w) = w' G w / 2 - c' w + var / 2` over the weighted L1 ball
//! `W = { w : sum_j |w_j| / r_j <= 1 } = conv{ +-r_j e_j }` (`r_j = 0` pins `w_j` to zero). Its linear minimisation
//! oracle at the gradient `g = G w - c` is the single signed atom `s = -sign(g_j) r_j e_j` at
//! `j = argmax_j r_j |g_j|` (Jaggi 2013, section 4.1, for the unweighted ball). For a quadratic the step along
//! `s - w` has the closed-form minimiser `gamma = <g, w - s> / (s - w)' G (s - w)`, clipped to `[0, 1]`, and
//! everything it needs, `G w`, `w' G w`, updates from one row of `G` (Frank & Wolfe 1956 used this exact line
//! search; "fully corrective" variants are not needed at these sizes).
//!
//! Starting from `w = 0`, after `t` steps `w` holds at most `t` atoms. Once it holds `max_atoms` the oracle is
//! restricted to them: the remaining steps are Frank-Wolfe on that face, so the row never exceeds its budget.
//! The Frank-Wolfe gap `<g, w - s>` bounds `f(w) - min f` (over the face once restricted) and stops the solve.

/// Stopping rules of a row solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowOptions {
    /// Most atoms (nonzero coordinates) the row may hold.
    pub max_atoms: usize,
    /// Most Frank-Wolfe steps.
    pub max_iter: usize,
    /// Stop once the Frank-Wolfe gap is at most `tol` times the target's variance.
    pub tol: f64,
}

/// A solved row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowFit {
    /// The weights.
    pub w: Vec<f32>,
    /// `f(w)`: half the mean squared error of the fitted row.
    pub loss: f64,
    /// The last Frank-Wolfe gap.
    pub gap: f64,
    /// Frank-Wolfe steps taken.
    pub iterations: usize,
}

impl RowFit {
    /// Share of the target's variance the row explains, `1 - mse / var` (1 for a constant target fitted exactly).
    pub fn r2(&self, var: f32) -> f64 {
        if var <= 0.0 {
            return if self.loss <= 0.0 { 1.0 } else { 0.0 };
        }
        1.0 - 2.0 * self.loss / f64::from(var)
    }
}

/// Frank-Wolfe from `w = 0` for `min w' G w / 2 - c' w + var / 2` over `conv{ +-radius_j e_j }`; `gram` is the
/// `d x d` symmetric positive semi-definite matrix `G`, row-major.
pub fn frank_wolfe_row(
    gram: &[f32],
    c: &[f32],
    var: f32,
    radius: &[f32],
    opts: &RowOptions,
) -> RowFit {
    let d = c.len();
    assert_eq!(gram.len(), d * d, "Gram matrix has the wrong size");
    assert_eq!(radius.len(), d, "one radius per coordinate");
    let mut w = vec![0.0f64; d];
    let mut gw = vec![0.0f64; d];
    let mut wgw = 0.0f64;
    let mut in_support = vec![false; d];
    let mut atoms = 0usize;
    let stop = opts.tol * f64::from(var).max(f64::MIN_POSITIVE);
    let (mut gap, mut iterations) = (f64::INFINITY, 0);
    while iterations < opts.max_iter {
        let full = atoms >= opts.max_atoms;
        let (mut best, mut best_j, mut gdotw) = (0.0f64, usize::MAX, 0.0f64);
        for j in 0..d {
            let g = gw[j] - f64::from(c[j]);
            gdotw += g * w[j];
            let r = f64::from(radius[j]);
            if r > 0.0 && (!full || in_support[j]) && r * g.abs() > best {
                best = r * g.abs();
                best_j = j;
            }
        }
        gap = gdotw + best;
        if best_j == usize::MAX || gap <= stop {
            break;
        }
        let j = best_j;
        let g = gw[j] - f64::from(c[j]);
        let s = -g.signum() * f64::from(radius[j]);
        let gjj = f64::from(gram[j * d + j]);
        let curvature = s * s * gjj - 2.0 * s * gw[j] + wgw;
        let gamma = if curvature > 0.0 {
            (gap / curvature).clamp(0.0, 1.0)
        } else {
            1.0
        };
        iterations += 1;
        if gamma == 0.0 {
            break;
        }
        let keep = 1.0 - gamma;
        wgw = keep * keep * wgw + 2.0 * gamma * keep * s * gw[j] + gamma * gamma * s * s * gjj;
        let row = &gram[j * d..(j + 1) * d];
        for ((gv, wv), &gr) in gw.iter_mut().zip(w.iter_mut()).zip(row) {
            *gv = keep * *gv + gamma * s * f64::from(gr);
            *wv *= keep;
        }
        w[j] += gamma * s;
        if !in_support[j] {
            in_support[j] = true;
            atoms += 1;
        }
    }
    let cw: f64 = w.iter().zip(c).map(|(a, b)| a * f64::from(*b)).sum();
    RowFit {
        w: w.iter().map(|&v| v as f32).collect(),
        loss: (0.5 * wgw - cw + 0.5 * f64::from(var)).max(0.0),
        gap,
        iterations,
    }
}

#[cfg(test)]
// Index loops over parallel arrays read like the sums they check.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wolfpack_optim::fullbatch::ProjectedGradient;
    use wolfpack_optim::sets::L1Ball;
    use wolfpack_optim::Objective;

    /// `f(v) = v' H v / 2 - e' v` with `H = R G R`, `e = R c`: the row problem in `v = w / r`, over the unit L1 ball.
    struct Scaled {
        h: Vec<f64>,
        e: Vec<f64>,
    }

    impl Objective<f64> for Scaled {
        fn dim(&self) -> usize {
            self.e.len()
        }
        fn value(&self, v: &[f64]) -> f64 {
            let d = self.e.len();
            (0..d)
                .map(|i| {
                    0.5 * v[i] * (0..d).map(|j| self.h[i * d + j] * v[j]).sum::<f64>()
                        - self.e[i] * v[i]
                })
                .sum()
        }
        fn value_grad(&self, v: &[f64], grad: &mut [f64]) -> f64 {
            let d = self.e.len();
            for i in 0..d {
                grad[i] = (0..d).map(|j| self.h[i * d + j] * v[j]).sum::<f64>() - self.e[i];
            }
            self.value(v)
        }
    }

    fn problem(z: &[f32], y: &[f32], d: usize) -> (Vec<f32>, Vec<f32>, f32) {
        let m = y.len();
        let mut g = vec![0.0f32; d * d];
        let mut c = vec![0.0f32; d];
        for k in 0..m {
            let zk = &z[k * d..(k + 1) * d];
            for i in 0..d {
                c[i] += zk[i] * y[k] / m as f32;
                for j in 0..d {
                    g[i * d + j] += zk[i] * zk[j] / m as f32;
                }
            }
        }
        let var = y.iter().map(|v| v * v).sum::<f32>() / m as f32;
        (g, c, var)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Against accelerated projected gradient on the rescaled problem: same optimum, feasible iterate, at most
        /// `max_atoms` atoms, and the loss is the mean squared error of the returned weights.
        #[test]
        fn matches_projected_gradient(
            data in proptest::collection::vec(-1.0f32..1.0, 6 * 40),
            truth in proptest::collection::vec(-2.0f32..2.0, 6),
            radius in proptest::collection::vec(0.0f32..3.0, 6),
        ) {
            let d = 6;
            let z = &data[..];
            let y: Vec<f32> = z.chunks(d).map(|zk| zk.iter().zip(&truth).map(|(a, b)| a * b).sum::<f32>() + 0.1 * zk[0] * zk[1]).collect();
            let (g, c, var) = problem(z, &y, d);
            let opts = RowOptions { max_atoms: d, max_iter: 20_000, tol: 1e-9 };
            let fit = frank_wolfe_row(&g, &c, var, &radius, &opts);
            let weighted: f32 = fit.w.iter().zip(&radius).map(|(w, r)| if *r > 0.0 { w.abs() / r } else { f32::INFINITY * w.abs() }).sum();
            prop_assert!(weighted <= 1.0 + 1e-5, "infeasible: {weighted}");
            let mse: f64 = z.chunks(d).zip(&y).map(|(zk, yk)| {
                let p: f64 = zk.iter().zip(&fit.w).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                (p - f64::from(*yk)).powi(2)
            }).sum::<f64>() / y.len() as f64;
            prop_assert!((fit.loss - mse / 2.0).abs() < 1e-4 * (1.0 + mse), "loss {} vs mse/2 {}", fit.loss, mse / 2.0);
            let r: Vec<f64> = radius.iter().map(|&v| f64::from(v)).collect();
            let h = (0..d * d).map(|k| r[k / d] * f64::from(g[k]) * r[k % d]).collect();
            let e = (0..d).map(|i| r[i] * f64::from(c[i])).collect();
            let obj = Scaled { h, e };
            let mut pg = ProjectedGradient::apgd();
            pg.max_iter = 20_000;
            pg.tol = 1e-12;
            let best = pg.minimize(&obj, &L1Ball::new(1.0).unwrap(), vec![0.0; d]).unwrap();
            let reference = best.f + 0.5 * f64::from(var);
            prop_assert!(fit.loss <= reference + 1e-4 * (1.0 + f64::from(var)), "FW {} vs PGD {}", fit.loss, reference);
        }

        /// The atom cap holds whatever the iteration budget.
        #[test]
        fn never_exceeds_its_atoms(
            data in proptest::collection::vec(-1.0f32..1.0, 8 * 30),
            y in proptest::collection::vec(-1.0f32..1.0, 30),
            k in 1usize..5,
        ) {
            let d = 8;
            let (g, c, var) = problem(&data, &y, d);
            let fit = frank_wolfe_row(&g, &c, var, &[1.0; 8], &RowOptions { max_atoms: k, max_iter: 500, tol: 0.0 });
            prop_assert!(fit.w.iter().filter(|v| **v != 0.0).count() <= k);
            prop_assert!(fit.loss <= 0.5 * f64::from(var) + 1e-6, "never worse than w = 0");
        }
    }

    #[test]
    fn recovers_a_sparse_row_inside_the_ball() {
        // Orthogonal design: the optimum is the truth, with two nonzeros, and Frank-Wolfe finds both atoms exactly.
        let d = 5;
        let mut g = vec![0.0f32; d * d];
        (0..d).for_each(|i| g[i * d + i] = 1.0);
        let truth = [0.0f32, 0.7, 0.0, -0.2, 0.0];
        let c = truth;
        let var = truth.iter().map(|v| v * v).sum::<f32>();
        let fit = frank_wolfe_row(
            &g,
            &c,
            var,
            &[2.0; 5],
            &RowOptions {
                max_atoms: 2,
                max_iter: 1000,
                tol: 1e-12,
            },
        );
        for (a, b) in fit.w.iter().zip(truth) {
            assert!((a - b).abs() < 1e-5, "{:?}", fit.w);
        }
        assert!(fit.r2(var) > 0.9999);
    }
}
