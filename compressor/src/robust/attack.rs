//! White-box adversarial attacks on implicit models, posed as constrained optimisation and solved by
//! `wolfpack-optim`.
//!
//! For a batch of clean inputs `u_i` with labels `t_i`, the attack solves
//!
//! ```text
//! max_{u'_i in S(u_i)}  (1/m) sum_i CE(y(u'_i), t_i),     S(u) = {u' : ||u' - u|| <= eps, 0 <= u' <= 1}
//! ```
//!
//! as the minimisation of [`AttackProblem`] (the negated loss, a `wolfpack_optim::Objective`) over the product of
//! the per-input threat sets (`wolfpack_optim::sets::Product`); the sum is separable, so the batch problem is `m` independent attacks
//! that share batched forward and adjoint solves. The gradient `dL/du'` goes through the fixed point
//! `x = relu(A x + B u' + b)` by implicit differentiation: `dL/du' = B^T w + D^T dL/dy` with the adjoint `w`
//! solving `w = M (C^T dL/dy + A^T w)` ([`Params::backward`], the same code as training).
//!
//! Solvers ([`Method`]):
//! * PGD (Madry et al. 2018): fixed steps along the steepest-ascent direction of the norm (the gradient's sign for
//!   L-infinity, the normalised gradient for L2) followed by the projection onto the threat set, from a uniformly
//!   random start in the ball. `wolfpack-optim`'s projected gradient takes `grad / L` steps with backtracking,
//!   which is not the attack of the literature: `wolfpack_optim::fullbatch::SteepestDescent` is this variant.
//! * Frank-Wolfe (Chen, Zhou, Yi, Gu, AAAI 2020): `wolfpack_optim::fullbatch::FrankWolfe` with the step
//!   `2 / (t + 2)` over the same set; the first step goes to the LMO vertex, i.e. FGSM's point for L-infinity.
//! * FGSM (Goodfellow, Shlens, Szegedy 2015): one `SteepestDescent` step of size `eps` from the clean input.
//!
//! Every iterate at which some input is misclassified is remembered for that input, so an attack never "forgets" a
//! success; the caller re-checks each found example through the runtime ([`verify`]).

use std::sync::Mutex;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use wolfpack_optim::fullbatch::{FrankWolfe, SteepestDescent, StepRule};
use wolfpack_optim::sets::Product;
use wolfpack_optim::{Objective, OptimizeResult};
use wolfpack_runtime::{Model, Session};

use super::threat::{BallBox, Norm, Threat, BOX};
use super::RobustError;
use crate::data::{Dataset, Preprocess};
use crate::model::{loss, InputGrad, Params, SolveOptions};

/// The attack objective of a batch: `f(u') = -(1/m) sum_i CE(y(u'_i), t_i)`, with its gradient through the fixed
/// point. It also remembers, per input, the first iterate it was evaluated at that is misclassified and inside the
/// threat set.
pub struct AttackProblem<'a> {
    params: &'a Params,
    centers: &'a [f32],
    labels: &'a [u32],
    threat: Threat,
    solve: SolveOptions,
    found: Mutex<Vec<Option<Vec<f32>>>>,
    evals: Mutex<usize>,
}

impl<'a> AttackProblem<'a> {
    /// The attack on the inputs `centers` (`m x p`) with `labels` (`m`) under `threat`.
    pub fn new(
        params: &'a Params,
        centers: &'a [f32],
        labels: &'a [u32],
        threat: Threat,
        solve: SolveOptions,
    ) -> Result<AttackProblem<'a>, RobustError> {
        if centers.len() != labels.len() * params.p {
            return Err(RobustError::Data(format!(
                "{} input values for {} labels of a {}-input model",
                centers.len(),
                labels.len(),
                params.p
            )));
        }
        if let Some(t) = labels.iter().find(|&&t| t as usize >= params.q) {
            return Err(RobustError::Data(format!(
                "label {t} out of range for a model with {} outputs",
                params.q
            )));
        }
        Ok(AttackProblem {
            params,
            centers,
            labels,
            threat,
            solve,
            found: Mutex::new(vec![None; labels.len()]),
            evals: Mutex::new(0),
        })
    }

    /// Number of inputs `m`.
    pub fn m(&self) -> usize {
        self.labels.len()
    }

    /// The misclassified points found so far, per input.
    pub fn into_found(self) -> Vec<Option<Vec<f32>>> {
        self.found.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// Forward and adjoint solves done so far.
    pub fn evaluations(&self) -> usize {
        *self.evals.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, x: &[f32], y: &[f32]) {
        let (p, q) = (self.params.p, self.params.q);
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        for (i, slot) in found.iter_mut().enumerate() {
            if slot.is_some() || loss::argmax(&y[i * q..(i + 1) * q]) == self.labels[i] {
                continue;
            }
            let xi = &x[i * p..(i + 1) * p];
            if self
                .threat
                .contains(&self.centers[i * p..(i + 1) * p], xi, 1e-6)
            {
                *slot = Some(xi.to_vec());
            }
        }
        *self.evals.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }
}

impl Objective<f32> for AttackProblem<'_> {
    fn dim(&self) -> usize {
        self.centers.len()
    }

    fn value(&self, x: &[f32]) -> f32 {
        let m = self.m();
        let fwd = self.params.forward(x, m, &self.solve);
        self.record(x, &fwd.y);
        let mut g = vec![0.0f32; m * self.params.q];
        -loss::cross_entropy(&fwd.y, self.params.q, self.labels, None, &mut g)
    }

    fn value_grad(&self, x: &[f32], grad: &mut [f32]) -> f32 {
        let m = self.m();
        let fwd = self.params.forward(x, m, &self.solve);
        self.record(x, &fwd.y);
        let mut gy = vec![0.0f32; m * self.params.q];
        let l = loss::cross_entropy(&fwd.y, self.params.q, self.labels, None, &mut gy);
        let bw = self
            .params
            .backward(&fwd, x, &gy, &self.solve, InputGrad::Yes);
        let du = bw.input.expect("asked for the input gradient");
        grad.iter_mut().zip(&du).for_each(|(g, d)| *g = -d);
        -l
    }
}

/// The attack algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Projected steepest ascent from a random start (Madry et al. 2018).
    Pgd,
    /// Frank-Wolfe with step `2 / (t + 2)` (Chen et al. 2020).
    Fw,
    /// One step of size `eps` from the clean input (Goodfellow et al. 2015).
    Fgsm,
}

/// Settings of an attack.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackConfig {
    /// The algorithm.
    pub method: Method,
    /// The threat model.
    pub threat: Threat,
    /// Iterations per run (ignored by FGSM).
    pub steps: usize,
    /// PGD's step length; `None`: `2.5 eps / steps` (Madry et al.).
    pub step_size: Option<f32>,
    /// Runs per input; the first FW and FGSM runs start at the clean input, every other run at a uniformly random
    /// point of the L-infinity (or L2) ball ∩ the box.
    pub restarts: usize,
    /// Seed of the random starts.
    pub seed: u64,
    /// Inputs attacked together (one batched solve per step).
    pub batch: usize,
    /// Fixed-point solves of the forward and adjoint passes.
    pub solve: SolveOptions,
}

impl AttackConfig {
    /// PGD-`steps` with one random start, step `2.5 eps / steps`.
    pub fn pgd(threat: Threat, steps: usize) -> AttackConfig {
        AttackConfig {
            method: Method::Pgd,
            threat,
            steps,
            step_size: None,
            restarts: 1,
            seed: 0,
            batch: 64,
            solve: SolveOptions::default(),
        }
    }

    fn check(&self) -> Result<(), RobustError> {
        if self.steps == 0 && self.method != Method::Fgsm {
            return Err(RobustError::Config("steps must be at least 1".into()));
        }
        if self.restarts == 0 || self.batch == 0 {
            return Err(RobustError::Config(
                "restarts and batch must be at least 1".into(),
            ));
        }
        if let Some(s) = self.step_size {
            if !(s.is_finite() && s > 0.0) {
                return Err(RobustError::Config(format!(
                    "step size {s} must be positive"
                )));
            }
        }
        Threat::new(self.threat.norm, self.threat.eps).map(|_| ())
    }
}

/// A uniformly random point of the ball of radius `eps` around each `p`-block of `c`, clipped to the box.
pub fn random_start(c: &[f32], p: usize, threat: Threat, rng: &mut impl Rng) -> Vec<f32> {
    let e = threat.eps;
    let mut x = c.to_vec();
    for xb in x.chunks_mut(p) {
        match threat.norm {
            Norm::Linf => xb
                .iter_mut()
                .for_each(|v| *v += rng.random_range(-1.0f32..=1.0) * e),
            Norm::L2 => {
                // Gaussian direction, radius eps * U^(1/p): uniform in the ball.
                let dir: Vec<f32> = (0..p)
                    .map(|_| {
                        let (a, b): (f32, f32) = (rng.random_range(1e-7..1.0), rng.random());
                        (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
                    })
                    .collect();
                let n = dir.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                let r = e * rng.random::<f32>().powf(1.0 / p as f32);
                xb.iter_mut().zip(&dir).for_each(|(v, d)| *v += r * d / n);
            }
        }
        xb.iter_mut().for_each(|v| *v = v.clamp(BOX.0, BOX.1));
    }
    x
}

/// What one run of the attack on a batch found: per input, a misclassified point of the threat set, if any.
#[derive(Clone, Debug)]
pub struct BatchOutcome {
    /// Per input.
    pub adversarial: Vec<Option<Vec<f32>>>,
    /// Forward+adjoint solves (batched) done.
    pub evaluations: usize,
}

/// Attacks the inputs `centers` (`m x p`, inside the box) with `labels`, `cfg.restarts` runs, in one batch.
///
/// Inputs already misclassified at the clean point are reported with the clean point itself (zero perturbation).
pub fn attack_batch(
    params: &Params,
    centers: &[f32],
    labels: &[u32],
    cfg: &AttackConfig,
    rng: &mut impl Rng,
) -> Result<BatchOutcome, RobustError> {
    cfg.check()?;
    let p = params.p;
    let m = labels.len();
    if centers.len() != m * p {
        return Err(RobustError::Data(format!(
            "{} input values for {m} labels of a {p}-input model",
            centers.len()
        )));
    }
    let mut adversarial: Vec<Option<Vec<f32>>> = vec![None; m];
    let mut evaluations = 0;
    for run in 0..cfg.restarts {
        // Attack only the inputs not yet broken.
        let todo: Vec<usize> = (0..m).filter(|&i| adversarial[i].is_none()).collect();
        if todo.is_empty() {
            break;
        }
        let c: Vec<f32> = todo
            .iter()
            .flat_map(|&i| {
                centers[i * p..(i + 1) * p]
                    .iter()
                    .map(|v| v.clamp(BOX.0, BOX.1))
            })
            .collect();
        let t: Vec<u32> = todo.iter().map(|&i| labels[i]).collect();
        let problem = AttackProblem::new(params, &c, &t, cfg.threat, cfg.solve)?;
        let set = cfg.threat.batch_set(&c, p)?;
        let eps = cfg.threat.eps;
        let random = run > 0 || cfg.method == Method::Pgd;
        let x0 = if random && eps > 0.0 {
            random_start(&c, p, cfg.threat, rng)
        } else {
            c.clone()
        };
        // The clean point first: misclassified inputs need no attack.
        problem.value(&c);
        if eps > 0.0 {
            run_solver(&problem, &set, x0, cfg, p)?;
        }
        evaluations += problem.evaluations();
        for (k, found) in problem.into_found().into_iter().enumerate() {
            if found.is_some() {
                adversarial[todo[k]] = found;
            }
        }
    }
    Ok(BatchOutcome {
        adversarial,
        evaluations,
    })
}

fn run_solver(
    problem: &AttackProblem<'_>,
    set: &Product<BallBox>,
    x0: Vec<f32>,
    cfg: &AttackConfig,
    p: usize,
) -> Result<OptimizeResult<f32>, RobustError> {
    let eps = cfg.threat.eps;
    Ok(match cfg.method {
        Method::Pgd => SteepestDescent {
            norm: cfg.threat.norm.steepest(),
            step: cfg.step_size.unwrap_or(2.5 * eps / cfg.steps as f32),
            steps: cfg.steps,
            block: p,
        }
        .minimize(problem, set, x0)?,
        Method::Fgsm => SteepestDescent {
            norm: cfg.threat.norm.steepest(),
            step: cfg.step_size.unwrap_or(eps),
            steps: 1,
            block: p,
        }
        .minimize(problem, set, x0)?,
        Method::Fw => FrankWolfe {
            step: StepRule::Harmonic,
            max_iter: cfg.steps,
            tol: 0.0,
            trace: false,
        }
        .minimize(problem, set, x0)?,
    })
}

/// What [`attack_dataset`] found.
#[derive(Clone, Debug)]
pub struct DatasetOutcome {
    /// Per example, a misclassified point of its threat set if one was found (the clean input itself when it is
    /// misclassified already).
    pub adversarial: Vec<Option<Vec<f32>>>,
    /// Batched forward+adjoint solves done in all.
    pub evaluations: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The attack on the first `limit` examples of `data`, batches in parallel.
pub fn attack_dataset(
    params: &Params,
    data: &Dataset,
    limit: Option<usize>,
    cfg: &AttackConfig,
) -> Result<DatasetOutcome, RobustError> {
    if data.p != params.p {
        return Err(RobustError::Data(format!(
            "the model takes {} inputs but the data has {} features",
            params.p, data.p
        )));
    }
    cfg.check()?;
    let n = limit.unwrap_or(data.n).min(data.n);
    let (p, bs) = (data.p, cfg.batch);
    let start = Instant::now();
    let parts: Vec<BatchOutcome> = (0..n.div_ceil(bs))
        .into_par_iter()
        .map(|k| {
            let (a, b) = (k * bs, ((k + 1) * bs).min(n));
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
                cfg.seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            attack_batch(params, &data.x[a * p..b * p], &data.y[a..b], cfg, &mut rng)
        })
        .collect::<Result<_, _>>()?;
    Ok(DatasetOutcome {
        evaluations: parts.iter().map(|o| o.evaluations).sum(),
        adversarial: parts.into_iter().flat_map(|o| o.adversarial).collect(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Classes the runtime predicts for inputs `u` (`m x p`, preprocessed as the data set `pre` says).
pub fn runtime_classes(
    model: &Model,
    pre: Preprocess,
    u: &[f32],
) -> Result<Vec<usize>, RobustError> {
    let (p, q) = (model.n_inputs(), model.n_outputs());
    if p == 0 || !u.len().is_multiple_of(p) {
        return Err(RobustError::Data(format!(
            "{} values are not whole {p}-feature inputs",
            u.len()
        )));
    }
    let chunk = 64;
    u.par_chunks(chunk * p)
        .map(|part| {
            let m = part.len() / p;
            let raw = super::load::to_raw(part, pre);
            let mut out = vec![0.0f32; m * q];
            Session::with_batch(model, m)
                .predict_batch(model, &raw, m, &mut out)
                .map_err(|e| RobustError::Model(e.to_string()))?;
            Ok(out
                .chunks(q)
                .map(crate::evaluate::argmax)
                .collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.concat())
}

/// Re-checks found adversarial examples on a separate code path: each must lie in the threat set around its clean
/// input (tolerance `1e-5`) and be misclassified by the runtime. Returns, per example, the perturbation norm of a
/// confirmed adversarial example.
pub fn verify(
    model: &Model,
    pre: Preprocess,
    data: &Dataset,
    adversarial: &[Option<Vec<f32>>],
    threat: Threat,
) -> Result<Vec<Option<f32>>, RobustError> {
    let p = data.p;
    let idx: Vec<usize> = (0..adversarial.len())
        .filter(|&i| adversarial[i].is_some())
        .collect();
    let flat: Vec<f32> = idx
        .iter()
        .flat_map(|&i| {
            adversarial[i]
                .as_deref()
                .unwrap_or_default()
                .iter()
                .copied()
        })
        .collect();
    let classes = runtime_classes(model, pre, &flat)?;
    let mut out = vec![None; adversarial.len()];
    for (k, &i) in idx.iter().enumerate() {
        let x = &flat[k * p..(k + 1) * p];
        let c: Vec<f32> = data.row(i).iter().map(|v| v.clamp(BOX.0, BOX.1)).collect();
        if threat.contains(&c, x, 1e-5) && classes[k] != data.y[i] as usize {
            out[i] = Some(threat.norm.dist(x, &c));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Params {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut m = Params::zeros(5, 6, 3);
        for t in m.tensors_mut() {
            t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
        }
        crate::train::project::rows_onto_l1_ball(&mut m.a, 6, 0.7);
        m
    }

    /// The objective's gradient, through the fixed point, matches central finite differences.
    #[test]
    fn input_gradient_matches_finite_differences() {
        let m = small();
        let c = [0.1f32, 0.5, 0.9, 0.3, 0.6, 0.2, 0.8, 0.4, 0.7, 0.5];
        let t = [0u32, 2];
        let solve = SolveOptions {
            tol: 1e-8,
            max_iter: 1000,
        };
        let pr =
            AttackProblem::new(&m, &c, &t, Threat::new(Norm::Linf, 0.1).unwrap(), solve).unwrap();
        let mut g = vec![0.0; 10];
        pr.value_grad(&c, &mut g);
        for k in 0..10 {
            let (mut a, mut b) = (c, c);
            a[k] += 1e-3;
            b[k] -= 1e-3;
            let fd = (pr.value(&a) - pr.value(&b)) / 2e-3;
            assert!(
                (fd - g[k]).abs() < 1e-2 * (1.0 + fd.abs()),
                "{k}: {fd} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn iterates_stay_in_the_threat_set_and_bad_settings_are_refused() {
        let m = small();
        let c = [0.0f32, 0.5, 1.0, 0.3, 0.6];
        for threat in ["linf:0.2", "l2:0.3"] {
            let threat: Threat = threat.parse().unwrap();
            for method in [Method::Pgd, Method::Fw, Method::Fgsm] {
                let cfg = AttackConfig {
                    method,
                    restarts: 3,
                    ..AttackConfig::pgd(threat, 10)
                };
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
                for label in 0..3 {
                    let out = attack_batch(&m, &c, &[label], &cfg, &mut rng).unwrap();
                    if let Some(x) = &out.adversarial[0] {
                        assert!(threat.contains(&c, x, 1e-5));
                        let y = m.forward(x, 1, &SolveOptions::default()).y;
                        assert_ne!(loss::argmax(&y), label);
                    }
                }
            }
        }
        let bad = AttackConfig {
            restarts: 0,
            ..AttackConfig::pgd("linf:0.1".parse().unwrap(), 10)
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert!(attack_batch(&m, &c, &[0], &bad, &mut rng).is_err());
        let cfg = AttackConfig::pgd("linf:0.1".parse().unwrap(), 10);
        assert!(attack_batch(&m, &c, &[7], &cfg, &mut rng).is_err());
        assert!(attack_batch(&m, &c[..4], &[0], &cfg, &mut rng).is_err());
    }

    /// A linear model (`A = B = 0`, `y = D u`) has a closed-form worst case under L-infinity: the attack must find a
    /// misclassified point exactly when the best vertex of the box is misclassified.
    #[test]
    fn pgd_finds_the_vertex_of_a_linear_model() {
        let mut m = Params::zeros(3, 1, 2);
        m.d = vec![1.0, 0.5, -0.2, 0.0, 0.0, 0.0];
        m.bias_y = vec![0.0, 0.0];
        let c = [0.5f32, 0.5, 0.5];
        for eps in [0.1f32, 0.3, 0.4] {
            // Worst case for label 0: y0 = sum d_k u_k, minimised at u_k = c_k - eps sign(d_k).
            let worst: f32 = (0..3)
                .map(|k| m.d[k] * (c[k] - eps * m.d[k].signum()))
                .sum();
            let cfg = AttackConfig::pgd(Threat::new(Norm::Linf, eps).unwrap(), 20);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
            let out = attack_batch(&m, &c, &[0], &cfg, &mut rng).unwrap();
            assert_eq!(out.adversarial[0].is_some(), worst < 0.0, "eps {eps}");
        }
    }
}
