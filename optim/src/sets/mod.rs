//! Constraint sets: each with its linear minimisation oracle (LMO) and, where cheap, its
//! Euclidean projection.
//!
//! The LMO of a compact convex set `C` at a gradient `g` returns
//! `s in argmin_{s in C} <g, s>`; it is the only access to `C` that Frank-Wolfe methods need
//! (Frank & Wolfe 1956; Jaggi 2013, "Revisiting Frank-Wolfe", ICML). Projection
//! `P_C(x) = argmin_{p in C} ||p - x||_2` is what projected-gradient methods need.

mod attack;
mod boxes;
mod group_l1;
mod ksparse;
mod l1;
mod l2;
mod linf;
mod nuclear;
mod product;
mod rowwise;
mod simplex;

pub use attack::{L2BallBox, LinfBallBox};
pub use boxes::BoxSet;
pub use group_l1::GroupL1Ball;
pub use ksparse::KSparsePolytope;
pub use l1::L1Ball;
pub use l2::L2Ball;
pub use linf::LinfBall;
pub use nuclear::NuclearBall;
pub use product::Product;
pub use rowwise::RowWise;
pub use simplex::Simplex;

pub(crate) use simplex::project_simplex;

use crate::error::Result;
use crate::{Float, Vertex};

/// A compact convex set accessed through its linear minimisation oracle.
pub trait ConstraintSet<T: Float> {
    /// Linear minimisation oracle: writes into `out` a point
    /// `s in argmin_{s in C} <grad, s>`.
    ///
    /// Allocation-free once `out` has been used with this set (buffers are reused).
    /// Errors if `grad` has the wrong length for a set with a fixed dimension.
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()>;

    /// Euclidean projection `x <- argmin_{p in C} ||p - x||_2`, in place.
    ///
    /// Sets without a cheap projection return [`OptimError::Unsupported`](crate::OptimError).
    fn project(&self, x: &mut [T]) -> Result<()>;

    /// `true` if `x` lies in `C` up to an absolute tolerance `tol` on the defining inequalities.
    fn contains(&self, x: &[T], tol: T) -> bool;

    /// The fixed dimension of the set, if it has one.
    fn dim(&self) -> Option<usize> {
        None
    }
}

impl<T: Float, S: ConstraintSet<T> + ?Sized> ConstraintSet<T> for &S {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        (**self).lmo(grad, out)
    }
    fn project(&self, x: &mut [T]) -> Result<()> {
        (**self).project(x)
    }
    fn contains(&self, x: &[T], tol: T) -> bool {
        (**self).contains(x, tol)
    }
    fn dim(&self) -> Option<usize> {
        (**self).dim()
    }
}

/// The Frank-Wolfe gap `g(x) = max_{s in C} <grad f(x), x - s> = <grad, x - s*>` given the
/// oracle's answer `s*`.
///
/// For convex `f` and feasible `x`, `f(x) - min_C f <= g(x)` (Jaggi 2013, eq. (2)): the gap is
/// a computable certificate of suboptimality.
#[inline]
pub fn fw_gap<T: Float>(grad: &[T], x: &[T], s: &Vertex<T>) -> T {
    crate::linalg::dot(grad, x) - s.dot(grad)
}

/// Sign with `sign(0) = 0`.
#[inline]
pub(crate) fn sign0<T: Float>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else if v < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Validates a radius: finite and `>= 0`.
pub(crate) fn check_radius<T: Float>(name: &'static str, r: T) -> Result<()> {
    crate::error::check_param(
        r.is_finite() && r >= T::zero(),
        name,
        "must be finite and >= 0",
    )
}

/// Validates a nonnegative finite parameter (shared with the penalties).
pub(crate) fn check_radius_pub<T: Float>(name: &'static str, r: T) -> Result<()> {
    check_radius(name, r)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Brute-force checks shared by the set tests.
    use super::*;
    use crate::linalg;
    use crate::rng::SplitMix64;

    /// Checks the LMO against a list of candidate points of the set (e.g. all vertices, or
    /// random feasible points): no candidate may beat the oracle.
    pub fn check_lmo_beats<S: ConstraintSet<f64>>(set: &S, g: &[f64], candidates: &[Vec<f64>]) {
        let mut v = Vertex::new();
        set.lmo(g, &mut v).unwrap();
        let mut s = vec![0.0; g.len()];
        v.to_dense(&mut s);
        assert!(set.contains(&s, 1e-9), "LMO output infeasible: {s:?}");
        let val = linalg::dot(g, &s);
        for c in candidates {
            assert!(
                val <= linalg::dot(g, c) + 1e-9,
                "candidate {c:?} beats LMO {s:?}"
            );
        }
    }

    /// Checks the projection by the variational inequality
    /// `<x - p, q - p> <= 0` for feasible `q` (characterises `p = P_C(x)`), plus idempotence.
    pub fn check_projection<S: ConstraintSet<f64>>(set: &S, x: &[f64], feasible: &[Vec<f64>]) {
        let mut p = x.to_vec();
        set.project(&mut p).unwrap();
        assert!(set.contains(&p, 1e-8), "projection infeasible: {p:?}");
        for q in feasible {
            let ip: f64 = (0..x.len()).map(|i| (x[i] - p[i]) * (q[i] - p[i])).sum();
            assert!(
                ip <= 1e-8 * (1.0 + linalg::norm2_sq(x)),
                "VI violated: {ip}"
            );
        }
        let mut pp = p.clone();
        set.project(&mut pp).unwrap();
        assert!(linalg::dist2_sq(&p, &pp) < 1e-16 * (1.0 + linalg::norm2_sq(&p)));
    }

    /// Random feasible points obtained by projecting random vectors, plus LMO vertices of
    /// random directions.
    pub fn feasible_points<S: ConstraintSet<f64>>(
        set: &S,
        n: usize,
        rng: &mut SplitMix64,
        k: usize,
    ) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        let mut v = Vertex::new();
        for t in 0..k {
            let g: Vec<f64> = (0..n).map(|_| rng.normal() * 3.0).collect();
            if t % 2 == 0 {
                set.lmo(&g, &mut v).unwrap();
                let mut s = vec![0.0; n];
                v.to_dense(&mut s);
                out.push(s);
            } else {
                let mut p = g.clone();
                if set.project(&mut p).is_ok() {
                    out.push(p);
                }
            }
        }
        out
    }
}
