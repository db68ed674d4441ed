//! Stochastic methods over mini-batches.
//!
//! The per-step optimisers ([`SgdMomentum`], [`Adam`], [`SfwMomentum`], [`Spgd`]) implement
//! [`StochasticStep`]: they take a mini-batch gradient computed by the caller and update the
//! parameters in place, so a training loop (e.g. the compressor's, back-propagating through a
//! network) can drive them one step at a time. [`minimize`] is a ready-made epoch loop for a
//! [`StochasticObjective`](crate::StochasticObjective). [`NegiarSfw`] is the variance-reduced stochastic Frank-Wolfe for
//! finite sums of generalised linear models, which needs the model's structure.

mod adam;
mod driver;
mod negiar;
mod sfw_momentum;
mod sgd;
mod spgd;

pub use adam::Adam;
pub use driver::{minimize, EpochOptions};
pub use negiar::NegiarSfw;
pub use sfw_momentum::{MomentumRule, SfwMomentum, SfwStepSize};
pub use sgd::SgdMomentum;
pub use spgd::Spgd;

use crate::error::Result;
use crate::Float;

/// One update of the parameters `x` from a (mini-batch) gradient `g`.
pub trait StochasticStep<T: Float> {
    /// Updates `x` in place from the gradient estimate `g` (same length).
    fn step(&mut self, x: &mut [T], g: &[T]) -> Result<()>;
}
