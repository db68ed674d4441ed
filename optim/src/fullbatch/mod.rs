//! Full-batch methods: every iteration uses the exact gradient.
//!
//! | method | problem | certificate |
//! |---|---|---|
//! | [`FrankWolfe`] | smooth `f` over a set with an LMO | Frank-Wolfe gap |
//! | [`AwayPairwiseFw`] | smooth `f` over a polytope | Frank-Wolfe gap |
//! | [`ProjectedGradient`] (PGD, FISTA) | smooth `f` over a set with a projection | Frank-Wolfe gap |
//! | [`ProximalGradient`] (ISTA, FISTA) | smooth `f` + penalty with a prox | gradient mapping |
//! | [`GradientDescent`] | smooth unconstrained `f` | gradient norm |
//! | [`Lbfgs`] | smooth unconstrained `f` | gradient norm |
//! | [`SteepestDescent`] (PGD attack) | `f` over a set with a projection, fixed steps | none |

mod active_set;
mod away_pairwise;
mod fista;
mod fw;
mod gd;
mod lbfgs;
mod line_search;
mod pgd;
mod prox_grad;
mod steepest;

pub use active_set::ActiveSet;
pub use away_pairwise::{AwayPairwiseFw, FwVariant};
pub use fw::{FrankWolfe, StepRule};
pub use gd::GradientDescent;
pub use lbfgs::Lbfgs;
pub use pgd::ProjectedGradient;
pub use prox_grad::ProximalGradient;
pub use steepest::{SteepestDescent, SteepestNorm};

use crate::error::{check_len, OptimError, Result};
use crate::{linalg, Float, Objective};

/// Checks `x0` against the problem's dimension and finiteness.
pub(crate) fn check_x0<T: Float, O: Objective<T>>(f: &O, x0: &[T]) -> Result<()> {
    check_len("x0", f.dim(), x0.len())?;
    if !linalg::all_finite(x0) {
        return Err(OptimError::NotFinite { what: "x0" });
    }
    Ok(())
}

/// Errors unless the objective value and gradient are finite.
pub(crate) fn check_finite<T: Float>(f: T, g: &[T]) -> Result<()> {
    if !f.is_finite() {
        return Err(OptimError::NotFinite {
            what: "objective value",
        });
    }
    if !linalg::all_finite(g) {
        return Err(OptimError::NotFinite { what: "gradient" });
    }
    Ok(())
}

/// Feasibility check of a starting point, shared with the stochastic methods.
pub(crate) fn check_feasible_pub<T: Float, S: crate::sets::ConstraintSet<T>>(
    set: &S,
    x: &[T],
) -> Result<()> {
    fw::check_feasible(set, x)
}
