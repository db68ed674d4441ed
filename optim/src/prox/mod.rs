//! Penalties `h` with a proximal operator `prox_{t h}(v) = argmin_x h(x) + ||x - v||^2 / (2t)`.

mod group_l1;
mod l1;

pub use group_l1::GroupL1Penalty;
pub use l1::L1Penalty;

use crate::error::Result;
use crate::Float;

/// A convex, possibly nonsmooth penalty with a cheap proximal operator.
pub trait Penalty<T: Float> {
    /// `h(x)`.
    fn value(&self, x: &[T]) -> T;
    /// In place: `v <- prox_{step h}(v)`.
    fn prox(&self, v: &mut [T], step: T) -> Result<()>;
}
