//! Robust training hooks of `wolfpack compress`: `--adversarial NORM:EPS` and `--certified linf:EPS`.
//!
//! * **Adversarial training** (Madry et al. 2018): each mini-batch's inputs are replaced by PGD examples against
//!   the current model ([`super::attack`], `steps` steps of `2.5 eps / steps` from a random start) before the loss is
//!   computed; `eps` is ramped linearly from 0 over the first `ramp` fraction of training, which keeps the sparse
//!   Frank-Wolfe start from collapsing onto a constant classifier.
//! * **Interval-bound training** (Gowal et al. 2018): the loss is `mix * CE(y(u)) + (1 - mix) * CE(z(u))` with the
//!   worst-case logits `z_j = upper bound of y_j` (`j != t`), `z_t = lower bound of y_t` over the L-infinity box
//!   around `u`, bounded through the fixed point by the lifted model of [`super::lift`] and differentiated by the
//!   ordinary implicit backward pass. `eps` ramps from 0 to its target and `mix` from 1 to `final_mix` over the
//!   window `[ramp_from, ramp_to]` of training (as fractions of all steps).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::attack::{random_start, AttackProblem};
use super::lift::{box_input, fold_grad, lift};
use super::threat::{Norm, Threat};
use super::RobustError;
use crate::model::{loss, InputGrad, Params, SolveOptions};
use wolfpack_optim::fullbatch::SteepestDescent;

/// A robust training objective, stored in the run's settings (and so in checkpoints and reports).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RobustTraining {
    /// Train on PGD examples.
    Adversarial {
        /// Threat model at the end of the ramp.
        threat: Threat,
        /// PGD steps per mini-batch.
        steps: usize,
        /// Fraction of training over which `eps` ramps up from 0.
        ramp: f32,
    },
    /// Interval-bound training through the fixed point.
    Certified {
        /// L-infinity radius at the end of the ramp.
        eps: f32,
        /// Start of the ramp (fraction of training).
        ramp_from: f32,
        /// End of the ramp.
        ramp_to: f32,
        /// Weight of the clean loss after the ramp.
        final_mix: f32,
    },
}

impl RobustTraining {
    /// Adversarial training with the defaults: 7 PGD steps, `eps` ramped over the first 30% of training.
    pub fn adversarial(threat: Threat) -> RobustTraining {
        RobustTraining::Adversarial {
            threat,
            steps: 7,
            ramp: 0.3,
        }
    }

    /// Interval-bound training with the defaults of Gowal et al. (ramp over the first half, final mix 0.5), the ramp
    /// starting after the first 5% of training so that the model first learns a clean classifier.
    pub fn certified(threat: Threat) -> Result<RobustTraining, RobustError> {
        if threat.norm != Norm::Linf {
            return Err(RobustError::Config(
                "certified training supports linf only (interval bounds are boxes)".into(),
            ));
        }
        Ok(RobustTraining::Certified {
            eps: threat.eps,
            ramp_from: 0.05,
            ramp_to: 0.5,
            final_mix: 0.5,
        })
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<(), RobustError> {
        match *self {
            RobustTraining::Adversarial {
                threat,
                steps,
                ramp,
            } => {
                Threat::new(threat.norm, threat.eps)?;
                if steps == 0 || !(0.0..=1.0).contains(&ramp) {
                    return Err(RobustError::Config(format!(
                        "adversarial training needs steps >= 1 (got {steps}) and a ramp in [0, 1] (got {ramp})"
                    )));
                }
            }
            RobustTraining::Certified {
                eps,
                ramp_from,
                ramp_to,
                final_mix,
            } => {
                Threat::new(Norm::Linf, eps)?;
                if !(0.0 <= ramp_from
                    && ramp_from <= ramp_to
                    && ramp_to <= 1.0
                    && (0.0..=1.0).contains(&final_mix))
                {
                    return Err(RobustError::Config(format!(
                        "certified training needs 0 <= ramp_from ({ramp_from}) <= ramp_to ({ramp_to}) <= 1 and final_mix ({final_mix}) in [0, 1]"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Replaces the batch `u` (`m x p`) by PGD examples against `params` at the ramped radius (adversarial
    /// training; a no-op otherwise). `progress` is the fraction of training done.
    pub fn perturb_batch(
        &self,
        params: &Params,
        u: &mut [f32],
        labels: &[u32],
        progress: f64,
        solve: SolveOptions,
        rng: &mut impl Rng,
    ) -> Result<(), RobustError> {
        let RobustTraining::Adversarial {
            threat,
            steps,
            ramp,
        } = *self
        else {
            return Ok(());
        };
        let eps = threat.eps * ramp_frac(progress, 0.0, f64::from(ramp)) as f32;
        if eps <= 0.0 {
            return Ok(());
        }
        let threat = Threat { eps, ..threat };
        let c: Vec<f32> = u.iter().map(|v| v.clamp(0.0, 1.0)).collect();
        let problem = AttackProblem::new(params, &c, labels, threat, solve)?;
        let set = threat.batch_set(&c, params.p)?;
        // Train on the last PGD iterate (not the first misclassified one): the strongest point the budget found.
        let x0 = random_start(&c, params.p, threat, rng);
        let res = SteepestDescent {
            norm: threat.norm.steepest(),
            step: 2.5 * eps / steps as f32,
            steps,
            block: params.p,
        }
        .minimize(&problem, &set, x0)?;
        u.copy_from_slice(&res.x);
        Ok(())
    }

    /// Interval-bound training: turns the clean gradient `grads` (of the mean clean cross-entropy on `u`) into the
    /// gradient of `mix * clean + (1 - mix) * worst-case` and returns the worst-case loss (`None` when the hook is
    /// inactive). `masks` restricts the weight gradients to the training support.
    #[allow(clippy::too_many_arguments)]
    pub fn certified_grad(
        &self,
        params: &Params,
        u: &[f32],
        labels: &[u32],
        progress: f64,
        solve: &SolveOptions,
        masks: Option<&[Vec<bool>; 4]>,
        grads: &mut Params,
    ) -> Option<f32> {
        let RobustTraining::Certified {
            eps,
            ramp_from,
            ramp_to,
            final_mix,
        } = *self
        else {
            return None;
        };
        let r = ramp_frac(progress, f64::from(ramp_from), f64::from(ramp_to)) as f32;
        if r <= 0.0 {
            return None;
        }
        let (eps, mix) = (eps * r, 1.0 - r * (1.0 - final_mix));
        let (p, q, m) = (params.p, params.q, labels.len());
        let lifted = lift(params);
        let v = box_input(u, p, eps);
        let fwd = lifted.forward(&v, m, solve);
        // Worst-case logits: lower bound for the label, upper bounds for the others.
        let mut z = vec![0.0f32; m * q];
        for i in 0..m {
            for j in 0..q {
                let (lo, hi) = (fwd.y[i * 2 * q + j], fwd.y[i * 2 * q + q + j]);
                z[i * q + j] = if j == labels[i] as usize { lo } else { hi };
            }
        }
        let mut gz = vec![0.0f32; m * q];
        let worst = loss::cross_entropy(&z, q, labels, None, &mut gz);
        let mut gy = vec![0.0f32; m * 2 * q];
        for i in 0..m {
            for j in 0..q {
                let k = if j == labels[i] as usize { j } else { q + j };
                gy[i * 2 * q + k] = gz[i * q + j];
            }
        }
        let lifted_masks = masks.map(|ms| lift_masks(params, ms));
        let bw = lifted.backward_on(&fwd, &v, &gy, solve, InputGrad::No, lifted_masks.as_ref());
        let g = fold_grad(params, &bw.grads);
        for (dst, src) in grads.tensors_mut().into_iter().zip(g.tensors()) {
            dst.iter_mut()
                .zip(src)
                .for_each(|(a, b)| *a = mix * *a + (1.0 - mix) * b);
        }
        Some(worst)
    }
}

/// Linear ramp from 0 at `from` to 1 at `to` (a step at `from` when `from == to`).
fn ramp_frac(progress: f64, from: f64, to: f64) -> f64 {
    if progress < from {
        0.0
    } else if progress >= to {
        1.0
    } else {
        (progress - from) / (to - from)
    }
}

/// A support mask tiled into the four blocks of the lifted matrix.
fn lift_masks(params: &Params, masks: &[Vec<bool>; 4]) -> [Vec<bool>; 4] {
    let mut out: [Vec<bool>; 4] = Default::default();
    for (k, w) in crate::model::Which::ALL.into_iter().enumerate() {
        let (rows, cols) = params.shape(w);
        let mk = &masks[k];
        let mut l = vec![false; 4 * rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                let b = mk[i * cols + j];
                for (bi, bj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    l[(bi * rows + i) * 2 * cols + bj * cols + j] = b;
                }
            }
        }
        out[k] = l;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ramps_and_checks() {
        assert_eq!(ramp_frac(0.0, 0.1, 0.5), 0.0);
        assert!((ramp_frac(0.3, 0.1, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(ramp_frac(0.7, 0.1, 0.5), 1.0);
        assert_eq!(ramp_frac(0.2, 0.2, 0.2), 1.0);
        let t: Threat = "l2:0.5".parse().unwrap();
        assert!(RobustTraining::certified(t).is_err());
        assert!(RobustTraining::adversarial(t).check().is_ok());
        let bad = RobustTraining::Certified {
            eps: 0.1,
            ramp_from: 0.6,
            ramp_to: 0.5,
            final_mix: 0.5,
        };
        assert!(bad.check().is_err());
    }

    /// The certified gradient is the gradient of the mixed loss: check against finite differences of
    /// `mix * CE(clean) + (1 - mix) * CE(worst-case)` after the ramp.
    #[test]
    fn certified_gradient_matches_finite_differences() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut m = Params::zeros(4, 5, 3);
        for t in m.tensors_mut() {
            t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
        }
        crate::train::project::rows_onto_l1_ball(&mut m.a, 5, 0.5);
        let u = [0.2f32, 0.7, 0.5, 0.9, 0.1, 0.3, 0.6, 0.4];
        let labels = [1u32, 2];
        let solve = SolveOptions {
            tol: 1e-9,
            max_iter: 1000,
        };
        let rt = RobustTraining::Certified {
            eps: 0.05,
            ramp_from: 0.0,
            ramp_to: 0.5,
            final_mix: 0.3,
        };
        let total = |m: &Params| -> f64 {
            let mut g = vec![0.0; 6];
            let clean = loss::cross_entropy(&m.forward(&u, 2, &solve).y, 3, &labels, None, &mut g);
            let y = lift(m).forward(&box_input(&u, 4, 0.05), 2, &solve).y;
            let z: Vec<f32> = (0..2)
                .flat_map(|i| {
                    let y = &y;
                    (0..3).map(move |j| {
                        if j == labels[i] as usize {
                            y[i * 6 + j]
                        } else {
                            y[i * 6 + 3 + j]
                        }
                    })
                })
                .collect();
            let worst = loss::cross_entropy(&z, 3, &labels, None, &mut g);
            0.3 * f64::from(clean) + 0.7 * f64::from(worst)
        };
        let fwd = m.forward(&u, 2, &solve);
        let mut gy = vec![0.0; 6];
        loss::cross_entropy(&fwd.y, 3, &labels, None, &mut gy);
        let mut g = m.backward(&fwd, &u, &gy, &solve, InputGrad::No).grads;
        assert!(rt
            .certified_grad(&m, &u, &labels, 0.9, &solve, None, &mut g)
            .is_some());
        for t in 0..6 {
            for k in [0usize, m.tensors()[t].len() - 1] {
                let (mut a, mut b) = (m.clone(), m.clone());
                a.tensors_mut()[t][k] += 1e-3;
                b.tensors_mut()[t][k] -= 1e-3;
                let fd = (total(&a) - total(&b)) / 2e-3;
                let an = f64::from(g.tensors()[t][k]);
                assert!(
                    (fd - an).abs() < 2e-2 * (1.0 + fd.abs()),
                    "tensor {t}[{k}]: fd {fd} vs {an}"
                );
            }
        }
        // Before the ramp the hook leaves the clean gradient alone.
        let rt2 = RobustTraining::Certified {
            eps: 0.05,
            ramp_from: 0.5,
            ramp_to: 0.5,
            final_mix: 0.3,
        };
        assert!(rt2
            .certified_grad(&m, &u, &labels, 0.1, &solve, None, &mut g)
            .is_none());
    }

    #[test]
    fn adversarial_batch_stays_in_the_ball_and_raises_the_loss() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut m = Params::zeros(6, 4, 3);
        for t in m.tensors_mut() {
            t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
        }
        crate::train::project::rows_onto_l1_ball(&mut m.a, 4, 0.5);
        let u0: Vec<f32> = (0..12).map(|_| rng.random_range(0.0..1.0)).collect();
        let labels = [0u32, 2];
        let threat: Threat = "linf:0.1".parse().unwrap();
        let rt = RobustTraining::adversarial(threat);
        let mut u = u0.clone();
        let solve = SolveOptions::default();
        rt.perturb_batch(&m, &mut u, &labels, 1.0, solve, &mut rng)
            .unwrap();
        let ce = |x: &[f32]| {
            let mut g = vec![0.0; 6];
            loss::cross_entropy(&m.forward(x, 2, &solve).y, 3, &labels, None, &mut g)
        };
        assert!(
            threat.contains(&u0[..6], &u[..6], 1e-6) && threat.contains(&u0[6..], &u[6..], 1e-6)
        );
        assert!(ce(&u) > ce(&u0));
        // At the start of the ramp, eps is 0 and the batch is untouched.
        let mut v = u0.clone();
        rt.perturb_batch(&m, &mut v, &labels, 0.0, solve, &mut rng)
            .unwrap();
        assert_eq!(v, u0);
    }
}
