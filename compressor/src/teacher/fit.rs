//! The row-wise fit of a sparse implicit student to a teacher's states: every row of `[A B]` and of `C` is its own
//! least-squares problem, solved in parallel (rayon over rows).

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use wolfpack_optim::stochastic::NegiarSfw;

use super::balance::balance;
use super::negiar::negiar_row;
use super::normal::Design;
use super::rowfit::{frank_wolfe_row, RowFit, RowOptions};
use super::states::States;
use super::TeacherError;
use crate::model::{Params, Which};

/// How each row is solved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum RowSolver {
    /// Full-batch Frank-Wolfe with exact line search on the shared Gram matrix ([`super::rowfit`]).
    FrankWolfe,
    /// Négiar et al.'s stochastic Frank-Wolfe over the examples ([`super::negiar`]), then the largest entries.
    Negiar {
        /// Passes over the examples per row.
        epochs: usize,
        /// Mini-batch size.
        batch: usize,
    },
}

/// Settings of the fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitOptions {
    /// Row-wise L1 bound of the student's `A`: its contraction factor, below 1.
    pub kappa: f32,
    /// Most nonzeros of a hidden row (`A` and `B` together).
    pub hidden_atoms: usize,
    /// Most nonzeros of an output row of `C`.
    pub output_atoms: usize,
    /// A row's radius (standardised L1) is one of these multiples of the teacher row's own standardised L1 norm;
    /// each is solved and the best fit kept.
    pub radius_scales: Vec<f32>,
    /// Frank-Wolfe steps per row and radius, in multiples of the row's atoms.
    pub steps_per_atom: usize,
    /// Stop a row once its Frank-Wolfe gap is at most this share of its target's variance.
    pub tol: f64,
    /// Row solver.
    pub solver: RowSolver,
    /// Keep only this many of the teacher's hidden units, those whose states weigh most downstream (`None`: all).
    pub hidden: Option<usize>,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            kappa: 0.5,
            hidden_atoms: 32,
            output_atoms: 128,
            radius_scales: vec![0.5, 1.0, 2.0, 4.0],
            steps_per_atom: 8,
            tol: 1e-6,
            solver: RowSolver::FrankWolfe,
            hidden: None,
        }
    }
}

/// What the fit did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitReport {
    /// Training examples the rows were fitted on.
    pub examples: usize,
    /// Mean over hidden rows of the share of the pre-activation's variance explained.
    pub hidden_r2: f64,
    /// Mean over output rows of the share of the logit's variance explained.
    pub output_r2: f64,
    /// Nonzeros of `A`, `B`, `C`, `D` of the fitted student.
    pub nnz: [usize; 4],
    /// Wall-clock seconds of the teacher states, the Gram matrix and the row solves.
    pub seconds: f64,
}

impl FitOptions {
    fn check(&self) -> Result<(), TeacherError> {
        let bad = |m: String| Err(TeacherError::Config(m));
        if !(0.0..1.0).contains(&self.kappa) {
            return bad(format!("kappa = {} must lie in [0, 1)", self.kappa));
        }
        if self.radius_scales.is_empty()
            || self
                .radius_scales
                .iter()
                .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return bad(format!(
                "radius scales {:?} must be positive",
                self.radius_scales
            ));
        }
        if self.hidden == Some(0) {
            return bad("the student needs at least one hidden unit".into());
        }
        if self.steps_per_atom == 0 {
            return bad("steps_per_atom must be positive".into());
        }
        if let RowSolver::Negiar { epochs, batch } = self.solver {
            if epochs == 0 || batch == 0 {
                return bad("the stochastic solver needs positive epochs and batch".into());
            }
        }
        Ok(())
    }
}

/// The `k` hidden units of `t` whose states weigh most downstream, in their original order: unit `j` scores
/// `sd(h_j) (sum_k |C_kj| + sum_i |A_ij|)`, the size of what it adds to the logits and to other units.
fn important_units(t: &Params, states: &States, k: usize) -> Vec<usize> {
    let (n, m) = (t.h, states.m.max(1));
    if k >= n {
        return (0..n).collect();
    }
    let mut mean = vec![0.0f64; n];
    let mut sq = vec![0.0f64; n];
    for row in states.hidden.chunks(n) {
        for j in 0..n {
            mean[j] += f64::from(row[j]);
            sq[j] += f64::from(row[j]).powi(2);
        }
    }
    let score: Vec<f64> = (0..n)
        .map(|j| {
            let var = (sq[j] / m as f64 - (mean[j] / m as f64).powi(2)).max(0.0);
            let out: f32 = (0..t.q).map(|r| t.c[r * n + j].abs()).sum::<f32>()
                + (0..n).map(|i| t.a[i * n + j].abs()).sum::<f32>();
            var.sqrt() * f64::from(out)
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

/// The teacher's weights among the hidden units `keep` only (rows and columns of `A`, rows of `B`, columns of `C`).
fn restrict(t: &Params, keep: &[usize]) -> Params {
    let (n, k) = (t.h, keep.len());
    if k == n {
        return t.clone();
    }
    let mut r = Params::zeros(t.p, k, t.q);
    for (i, &ti) in keep.iter().enumerate() {
        for (j, &tj) in keep.iter().enumerate() {
            r.a[i * k + j] = t.a[ti * n + tj];
        }
        r.b[i * t.p..(i + 1) * t.p].copy_from_slice(&t.b[ti * t.p..(ti + 1) * t.p]);
        r.bias_x[i] = t.bias_x[ti];
    }
    for o in 0..t.q {
        for (j, &tj) in keep.iter().enumerate() {
            r.c[o * k + j] = t.c[o * n + tj];
        }
    }
    r.d.copy_from_slice(&t.d);
    r.bias_y.copy_from_slice(&t.bias_y);
    r
}

/// Fits a student with the teacher's hidden width (or its `opts.hidden` most important units) to the teacher `t`
/// (hidden layers of widths `layers`, in order) on `m` inputs `u` (`m x p`). The kept units' rows fit their
/// pre-activations from the kept units' states and the inputs; `C` fits the whole teacher's logits. A teacher of
/// several layers is first rescaled ([`balance`]) so that its `A` has row L1 norms at most `kappa / 2`.
///
/// Hidden row `i`: `[a_i, b_i]` fits the pre-activation `s_i` from `[h, u]` over
/// `sum_j |w_j| / r_j <= 1` with `r_j = R_i / sd_j` (features' standard deviations: an L1 ball on standardised
/// weights, as the lasso is usually posed) except that hidden coordinates are capped at `kappa`, so
/// `||a_i||_1 <= kappa`, and `a_ii = 0` (a self-loop only rescales the positive part, which `b_i` already can).
/// `R_i` is a scale times the teacher row's standardised L1 norm `sum_j |W_ij| sd_j`. Output row `k`: `C_k` fits
/// the logit `z_k` from `h` the same way, and `D = 0`. Intercepts are the exact least-squares intercepts.
pub fn fit_student(
    t: &Params,
    layers: &[usize],
    u: &[f32],
    m: usize,
    opts: &FitOptions,
) -> Result<(Params, FitReport), TeacherError> {
    opts.check()?;
    let start = Instant::now();
    let (p, n, q) = (t.p, t.h, t.q);
    if m == 0 || n == 0 {
        return Err(TeacherError::Config(format!(
            "the fit needs examples and a teacher with hidden units ({m} examples, {n} hidden units)"
        )));
    }
    // A layered teacher is first rescaled into the student's set, so later layers can read earlier ones through A.
    let (balanced, _) = balance(t, layers, 0.5 * opts.kappa);
    let all = States::of(&balanced, u, m);
    let keep = important_units(&balanced, &all, opts.hidden.unwrap_or(n));
    let (t, states) = (restrict(&balanced, &keep), all.restrict(&keep));
    let (t, n) = (&t, keep.len());
    let design = Design::new(&states.hidden, n, u, p, m);
    let d = design.d;
    let pre = design.targets(&states.pre, n);
    let logits = design.targets(&states.logits, q);
    let solve = |target: usize,
                 stats: &super::normal::Targets,
                 column: &dyn Fn(usize) -> Vec<f32>,
                 base: &dyn Fn(f32) -> Vec<f32>,
                 atoms: usize|
     -> Result<RowFit, TeacherError> {
        let c = &stats.cross[target * d..(target + 1) * d];
        let var = stats.var[target];
        let mut best: Option<RowFit> = None;
        for &scale in &opts.radius_scales {
            let radius = base(scale);
            let fit = match opts.solver {
                RowSolver::FrankWolfe => frank_wolfe_row(
                    &design.gram,
                    c,
                    var,
                    &radius,
                    &RowOptions {
                        max_atoms: atoms,
                        max_iter: opts.steps_per_atom * atoms.max(1),
                        tol: opts.tol,
                    },
                ),
                RowSolver::Negiar { epochs, batch } => {
                    let solver = NegiarSfw {
                        epochs,
                        batch_size: batch,
                        seed: target as u64,
                        ..NegiarSfw::default()
                    };
                    negiar_row(&design, &column(target), var, &radius, atoms, &solver)
                        .map_err(|e| TeacherError::Config(format!("row {target}: {e}")))?
                }
            };
            if best.as_ref().is_none_or(|b| fit.loss < b.loss) {
                best = Some(fit);
            }
        }
        Ok(best.expect("at least one radius scale"))
    };
    // Standard deviations of the features: radii are set in standardised units, so that the oracle's choice
    // `argmax r_j |g_j|` ranks features by correlation with the residual, whatever their scale.
    let sd: Vec<f32> = (0..d)
        .map(|j| design.gram[j * d + j].max(0.0).sqrt())
        .collect();
    let standard = |r: f32, j: usize| if sd[j] > 1e-6 { r / sd[j] } else { 0.0 };
    // The teacher row's L1 norm in standardised units, `sum_j |w_j| sd_j`: the scale of the radii.
    let base = |a: &[f32], b: &[f32]| -> f32 {
        let on_h: f32 = a.iter().zip(&sd).map(|(w, s)| w.abs() * s).sum();
        let on_u: f32 = b.iter().zip(&sd[n..]).map(|(w, s)| w.abs() * s).sum();
        (on_h + on_u).max(f32::MIN_POSITIVE)
    };
    let hidden_rows: Vec<RowFit> = (0..n)
        .into_par_iter()
        .map(|i| {
            let r0 = base(&t.a[i * n..(i + 1) * n], &t.b[i * p..(i + 1) * p]);
            // Hidden coordinates are capped at kappa: sum |a_j| <= kappa sum |a_j| / r_j <= kappa.
            let radius = |scale: f32| -> Vec<f32> {
                (0..d)
                    .map(|j| match j {
                        _ if j == i => 0.0,
                        _ if j < n => standard(scale * r0, j).min(opts.kappa),
                        _ => standard(scale * r0, j),
                    })
                    .collect()
            };
            let column = |i: usize| (0..m).map(|k| states.pre[k * n + i]).collect();
            solve(i, &pre, &column, &radius, opts.hidden_atoms)
        })
        .collect::<Result<_, _>>()?;
    let output_rows: Vec<RowFit> = (0..q)
        .into_par_iter()
        .map(|k| {
            let r0 = base(&t.c[k * n..(k + 1) * n], &t.d[k * p..(k + 1) * p]);
            let radius = |scale: f32| -> Vec<f32> {
                (0..d)
                    .map(|j| if j < n { standard(scale * r0, j) } else { 0.0 })
                    .collect()
            };
            let column = |k: usize| (0..m).map(|e| states.logits[e * q + k]).collect();
            solve(k, &logits, &column, &radius, opts.output_atoms)
        })
        .collect::<Result<_, _>>()?;
    let mut s = Params::zeros(p, n, q);
    for (i, row) in hidden_rows.iter().enumerate() {
        s.a[i * n..(i + 1) * n].copy_from_slice(&row.w[..n]);
        s.b[i * p..(i + 1) * p].copy_from_slice(&row.w[n..]);
        s.bias_x[i] = design.intercept(&row.w, pre.mean[i]);
    }
    for (k, row) in output_rows.iter().enumerate() {
        s.c[k * n..(k + 1) * n].copy_from_slice(&row.w[..n]);
        s.bias_y[k] = design.intercept(&row.w, logits.mean[k]);
    }
    let mean_r2 = |rows: &[RowFit], var: &[f32]| {
        rows.iter().zip(var).map(|(r, v)| r.r2(*v)).sum::<f64>() / rows.len().max(1) as f64
    };
    let report = FitReport {
        examples: m,
        hidden_r2: mean_r2(&hidden_rows, &pre.var),
        output_r2: mean_r2(&output_rows, &logits.var),
        nnz: Which::ALL.map(|w| s.nnz(w)),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((s, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A one-hidden-layer teacher whose rows are exactly sparse is reproduced: same support, same weights, and the
    /// student (whose `A` stays within `kappa`) predicts as the teacher does.
    #[test]
    fn reproduces_an_exactly_sparse_teacher() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (p, n, q, m) = (20, 6, 3, 600);
        let mut t = Params::zeros(p, n, q);
        for i in 0..n {
            for _ in 0..3 {
                t.b[i * p + rng.random_range(0..p)] =
                    rng.random_range(0.5f32..1.5) * if rng.random() { 1.0 } else { -1.0 };
            }
            t.bias_x[i] = rng.random_range(-0.2f32..0.2);
        }
        for k in 0..q {
            for _ in 0..2 {
                t.c[k * n + rng.random_range(0..n)] = rng.random_range(-1.0f32..1.0);
            }
            t.bias_y[k] = rng.random_range(-0.1f32..0.1);
        }
        let u: Vec<f32> = (0..m * p).map(|_| rng.random::<f32>()).collect();
        let opts = FitOptions {
            hidden_atoms: 3,
            output_atoms: 2,
            steps_per_atom: 400,
            tol: 1e-12,
            ..FitOptions::default()
        };
        let (s, report) = fit_student(&t, &[n], &u, m, &opts).unwrap();
        assert!(report.hidden_r2 > 0.999, "{report:?}");
        assert!(report.output_r2 > 0.99, "{report:?}");
        assert!(s.kappa() <= opts.kappa + 1e-6);
        for (j, (a, b)) in s.b.iter().zip(&t.b).enumerate() {
            assert!((a - b).abs() < 0.03, "B[{j}]: fitted {a}, teacher {b}");
        }
        // A unit that never fires leaves its column of C undetermined: compare live units only.
        let states = States::of(&t, &u, m);
        let live: Vec<bool> = (0..n)
            .map(|j| states.hidden.chunks(n).any(|h| h[j] > 0.0))
            .collect();
        for (j, (a, b)) in s.c.iter().zip(&t.c).enumerate() {
            if live[j % n] {
                assert!((a - b).abs() < 0.03, "C[{j}]: fitted {a}, teacher {b}");
            }
        }
        let opts_eval = crate::model::SolveOptions::default();
        let (ys, yt) = (
            s.forward(&u, m, &opts_eval).y,
            t.forward(&u, m, &opts_eval).y,
        );
        let worst = ys
            .iter()
            .zip(&yt)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.05, "outputs differ by up to {worst}");
    }

    #[test]
    fn keeps_the_units_that_reach_the_output() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let (p, n, q, m) = (6, 5, 2, 200);
        let mut t = Params::zeros(p, n, q);
        t.b.iter_mut()
            .for_each(|v| *v = rng.random_range(-1.0..1.0));
        t.bias_x.iter_mut().for_each(|v| *v = 1.0);
        // Units 1 and 3 reach the output strongly, unit 4 weakly, units 0 and 2 not at all.
        for o in 0..q {
            t.c[o * n + 1] = 2.0;
            t.c[o * n + 3] = -1.5;
            t.c[o * n + 4] = 0.01;
        }
        let u: Vec<f32> = (0..m * p).map(|_| rng.random::<f32>()).collect();
        let states = States::of(&t, &u, m);
        assert_eq!(important_units(&t, &states, 2), vec![1, 3]);
        assert_eq!(important_units(&t, &states, 9), (0..n).collect::<Vec<_>>());
        let opts = FitOptions {
            hidden: Some(2),
            ..FitOptions::default()
        };
        let (s, report) = fit_student(&t, &[n], &u, m, &opts).unwrap();
        assert_eq!((s.p, s.h, s.q), (p, 2, q));
        // The dropped units never reached the output, so the logits are still fitted well.
        assert!(report.output_r2 > 0.99, "{report:?}");
        let r = restrict(&t, &[1, 3]);
        assert_eq!(r.c, vec![2.0, -1.5, 2.0, -1.5]);
        assert_eq!(&r.b[..p], &t.b[p..2 * p]);
    }

    #[test]
    fn rejects_bad_settings() {
        let t = Params::zeros(2, 2, 2);
        for opts in [
            FitOptions {
                kappa: 1.0,
                ..FitOptions::default()
            },
            FitOptions {
                radius_scales: vec![],
                ..FitOptions::default()
            },
            FitOptions {
                solver: RowSolver::Negiar {
                    epochs: 0,
                    batch: 1,
                },
                ..FitOptions::default()
            },
        ] {
            assert!(matches!(
                fit_student(&t, &[2], &[0.0; 4], 2, &opts),
                Err(TeacherError::Config(_))
            ));
        }
    }
}
