//! Robustness of implicit models: white-box adversarial attacks, certified bounds, and robust training.
//!
//! * [`threat`]: the threat models (L-infinity or L2 ball of radius `eps` intersected with the `[0, 1]` input box).
//! * [`attack`]: attacks posed as constrained maximisation of the loss over the threat set and solved by
//!   `wolfpack-optim`: projected gradient (PGD, Madry, Makelov, Schmidt, Tsipras, Vladu, ICLR 2018), Frank-Wolfe
//!   (Chen, Zhou, Yi, Gu, "A Frank-Wolfe framework for efficient and effective adversarial attacks", AAAI 2020) and
//!   FGSM (Goodfellow, Shlens, Szegedy, ICLR 2015). The input gradient goes through the fixed point by implicit
//!   differentiation ([`crate::model`]'s adjoint solve).
//! * [`ibp`]: interval bound propagation through the fixed point. For inputs in a box the interval map on
//!   `(lower, upper)` states is a `kappa`-contraction when every row of `A` has L1 norm at most `kappa < 1`, so its
//!   fixed point encloses every fixed point the box can produce; plus the simpler Lipschitz bound.
//! * [`lift`]: the interval map written as an implicit model of twice the size, which lets the ordinary forward and
//!   backward passes train through the enclosure (interval-bound training, Gowal et al. 2018).
//! * [`train`]: the adversarial and certified training hooks of `wolfpack compress`.
//! * [`load`]: a stored `.wpk` model as dense [`Params`](crate::model::Params) acting on the data set's inputs.

// Index loops over parallel slices (bounds, weights, states) read like the maths they implement.
#![allow(clippy::needless_range_loop)]

pub mod attack;
pub mod ibp;
pub mod lift;
pub mod load;
pub mod plot;
pub mod summary;
pub mod threat;
pub mod train;

pub use threat::{Norm, Threat};

/// Why a robustness computation could not run: bad input named, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum RobustError {
    /// A threat model or setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The model cannot be used (shape mismatch, not well-posed, ...).
    #[error("model: {0}")]
    Model(String),
    /// The data does not fit the model.
    #[error("data: {0}")]
    Data(String),
    /// The optimiser rejected the problem.
    #[error("optimiser: {0}")]
    Optim(#[from] wolfpack_optim::OptimError),
}
