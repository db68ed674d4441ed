//! Away-step and pairwise Frank-Wolfe.

use super::active_set::ActiveSet;
use super::fw::StepRule;
use super::line_search::Backtracking;
use super::{check_finite, check_x0};
use crate::error::{check_param, Result};
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::sets::{fw_gap, ConstraintSet};
use crate::{linalg, Float, Objective, Vertex};

/// Which correction of the Frank-Wolfe direction to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwVariant {
    /// Away-step FW: move towards the FW vertex `s` or away from the worst active atom `v`,
    /// whichever has the larger gap (Wolfe 1970; Guélat & Marcotte 1986).
    Away,
    /// Pairwise FW: move weight from `v` to `s` along `s - v` (Mitchell, Dem'yanov & Malozemov
    /// 1974).
    Pairwise,
}

/// Away-step and pairwise Frank-Wolfe with an explicit active set: linear convergence for
/// strongly convex `f` over polytopes (Lacoste-Julien & Jaggi 2015, "On the global linear
/// convergence of Frank-Wolfe optimization variants", NeurIPS, Algorithms 1 and 2), and with
/// the backtracking step of Pedregosa et al. (2020) no Lipschitz constant is needed.
///
/// The method starts at the vertex `s0 = LMO(grad f(x0))` (so `x0` only selects the starting
/// vertex) and keeps `x` as a convex combination of at most one new vertex per iteration,
/// dropping atoms whose weight reaches zero. The final active set is returned by
/// [`minimize_active`](Self::minimize_active).
///
/// Only `StepRule::ShortStep` and `StepRule::Backtracking` apply; `StepRule::Harmonic` is not
/// meaningful for away steps and is rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct AwayPairwiseFw<T> {
    /// Away or pairwise steps.
    pub variant: FwVariant,
    /// Step-size rule (short step or backtracking).
    pub step: StepRule<T>,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when the Frank-Wolfe gap is `<= tol`.
    pub tol: T,
    /// Record a trace.
    pub trace: bool,
}

impl<T: Float> AwayPairwiseFw<T> {
    /// The given variant with backtracking steps, 1000 iterations and gap tolerance `1e-6`.
    pub fn new(variant: FwVariant) -> Self {
        Self {
            variant,
            step: StepRule::Backtracking {
                initial_lipschitz: None,
            },
            max_iter: 1000,
            tol: T::c(1e-6),
            trace: false,
        }
    }

    /// Minimises `f` over the polytope `set`.
    pub fn minimize<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, set, x0, None).map(|r| r.0)
    }

    /// As [`minimize`](Self::minimize), with a callback.
    pub fn minimize_with<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
        callback: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, set, x0, Some(callback)).map(|r| r.0)
    }

    /// As [`minimize`](Self::minimize), also returning the final active set (the solution as
    /// an explicit sparse convex combination of vertices).
    pub fn minimize_active<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
    ) -> Result<(OptimizeResult<T>, ActiveSet<T>)> {
        self.run(f, set, x0, None)
    }

    fn run<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
        callback: Option<Callback<'_, T>>,
    ) -> Result<(OptimizeResult<T>, ActiveSet<T>)> {
        check_x0(f, &x0)?;
        check_param(
            !matches!(self.step, StepRule::Harmonic),
            "step",
            "away/pairwise FW needs ShortStep or Backtracking",
        )?;
        if let StepRule::ShortStep { lipschitz } = self.step {
            check_param(
                lipschitz.is_finite() && lipschitz > T::zero(),
                "lipschitz",
                "must be > 0",
            )?;
        }
        let n = x0.len();
        let mut g = vec![T::zero(); n];
        let mut evals = 1;
        let f0 = f.value_grad(&x0, &mut g);
        check_finite(f0, &g)?;
        let mut s = Vertex::new();
        set.lmo(&g, &mut s)?;
        let mut active = ActiveSet::singleton(&s);
        let mut x = vec![T::zero(); n];
        s.to_dense(&mut x);
        let mut fx = f.value_grad(&x, &mut g);
        evals += 1;
        check_finite(fx, &g)?;

        let mut d = vec![T::zero(); n];
        let mut mon = Monitor::new(self.trace, callback);
        let mut bt: Option<Backtracking<T>> = None;
        let mut f_prev = None;
        let (mut gap, mut it, mut success, mut message) =
            (T::infinity(), 0, false, "maximum iterations reached");
        while it < self.max_iter {
            set.lmo(&g, &mut s)?;
            gap = fw_gap(&g, &x, &s);
            if gap <= self.tol {
                success = true;
                message = "Frank-Wolfe gap below tolerance";
                break;
            }
            let gx = linalg::dot(&g, &x);
            let (vpos, gv) = active.away(&g).expect("active set is never empty");
            let away_gap = gv - gx;
            // Direction, its certificate c = -<g, d> and the maximal step.
            let (cert, gamma_max, is_fw) = match self.variant {
                FwVariant::Away if gap >= away_gap => {
                    s.to_dense(&mut d);
                    linalg::axpy(-T::one(), &x, &mut d);
                    (gap, T::one(), true)
                }
                FwVariant::Away => {
                    let wv = active.weights()[vpos];
                    d.copy_from_slice(&x);
                    active.atoms()[vpos].add_scaled_to(-T::one(), &mut d);
                    (away_gap, wv / (T::one() - wv).max(T::epsilon()), false)
                }
                FwVariant::Pairwise => {
                    s.to_dense(&mut d);
                    active.atoms()[vpos].add_scaled_to(-T::one(), &mut d);
                    (gap + away_gap, active.weights()[vpos], false)
                }
            };
            let dnorm2 = linalg::norm2_sq(&d);
            if dnorm2 == T::zero() || cert <= T::zero() {
                message = "no descent direction (numerical precision reached)";
                break;
            }
            let gamma = match self.step {
                StepRule::ShortStep { lipschitz } => {
                    let gmm = (cert / (lipschitz * dnorm2)).min(gamma_max);
                    linalg::axpy(gmm, &d, &mut x);
                    fx = f.value_grad(&x, &mut g);
                    evals += 1;
                    gmm
                }
                StepRule::Backtracking { initial_lipschitz } => {
                    let b = bt.get_or_insert_with(|| {
                        let l = initial_lipschitz
                            .unwrap_or_else(|| Backtracking::estimate(f, &x, &g, &d, &mut evals));
                        Backtracking::new(l, n)
                    });
                    let (gmm, ft) =
                        b.step(f, &x, fx, f_prev, &d, cert, dnorm2, gamma_max, &mut evals);
                    core::mem::swap(&mut x, &mut b.xt);
                    core::mem::swap(&mut g, &mut b.gt);
                    f_prev = Some(fx);
                    fx = ft;
                    gmm
                }
                StepRule::Harmonic => unreachable!("rejected above"),
            };
            check_finite(fx, &g)?;
            // Update the convex combination.
            match (self.variant, is_fw) {
                (FwVariant::Away, true) => {
                    if gamma >= T::one() {
                        active.reset_to(&s);
                    } else {
                        active.scale(T::one() - gamma);
                        active.add(&s, gamma);
                    }
                }
                (FwVariant::Away, false) => {
                    active.scale(T::one() + gamma);
                    if gamma >= gamma_max {
                        active.remove(vpos);
                    } else {
                        active.shift(vpos, -gamma);
                    }
                }
                (FwVariant::Pairwise, _) => {
                    // Add s first: a position shift from `add` cannot affect vpos (push at end).
                    active.add(&s, gamma);
                    if gamma >= gamma_max {
                        active.remove(vpos);
                    } else {
                        active.shift(vpos, -gamma);
                    }
                }
            }
            it += 1;
            if mon.observe(it, &x, fx, gap) {
                message = "stopped by callback";
                break;
            }
        }
        if !success {
            set.lmo(&g, &mut s)?;
            gap = fw_gap(&g, &x, &s);
            success = gap <= self.tol;
        }
        let res = OptimizeResult {
            x,
            f: fx,
            iterations: it,
            certificate: Certificate::FrankWolfeGap(gap),
            success,
            message: message.into(),
            trace: mon.into_trace(),
            grad_evals: evals,
            func_evals: 0,
        };
        Ok((res, active))
    }
}
