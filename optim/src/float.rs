//! The scalar type the optimisers are generic over (`f32` or `f64`).

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A real floating-point scalar: `f32` or `f64`.
///
/// Everything in this crate is written once for both precisions. The trait adds to
/// [`num_traits::Float`] the compound-assignment operators, summation, and two lossless-enough
/// conversions through `f64` used for constants and for reporting.
pub trait Float:
    num_traits::Float
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` constant into `Self` (rounding for `f32`).
    fn c(x: f64) -> Self;
    /// Widens `self` to `f64`.
    fn f64(self) -> f64;
    /// Converts a count (iteration number, dimension) into `Self`.
    fn from_usize(n: usize) -> Self {
        Self::c(n as f64)
    }
}

impl Float for f32 {
    #[inline(always)]
    fn c(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    #[inline(always)]
    fn c(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
}
