//! Threat models of adversarial attacks: a norm ball around a clean input intersected with the
//! valid input box (e.g. pixels in `[0, 1]`).

use super::ConstraintSet;
use crate::error::{check_len, check_param, OptimError, Result};
use crate::sets::BoxSet;
use crate::{linalg, Float, Vertex};

/// `{x : ||x - c||_inf <= eps, lo <= x <= hi}`: itself a box,
/// `[max(lo, c - eps), min(hi, c + eps)]`, so the LMO (`s_i` at the lower end where `g_i > 0`,
/// else the upper end) and the projection (clipping) are coordinate-wise closed forms.
/// The set of L-infinity attacks (Madry et al. 2018, "Towards deep learning models resistant
/// to adversarial attacks", ICLR).
#[derive(Debug, Clone, PartialEq)]
pub struct LinfBallBox<T> {
    center: Vec<T>,
    eps: T,
    bounds: BoxSet<T>,
}

impl<T: Float> LinfBallBox<T> {
    /// Ball of radius `eps` around `center` intersected with `[lo, hi]^n`; `center` must lie in
    /// the box (so the set is nonempty).
    pub fn new(center: Vec<T>, eps: T, lo: T, hi: T) -> Result<Self> {
        check_center(&center, eps, lo, hi)?;
        let l = center.iter().map(|&c| (c - eps).max(lo)).collect();
        let h = center.iter().map(|&c| (c + eps).min(hi)).collect();
        Ok(Self {
            bounds: BoxSet::new(l, h)?,
            center,
            eps,
        })
    }
    /// The clean input `c`.
    pub fn center(&self) -> &[T] {
        &self.center
    }
    /// The radius `eps`.
    pub fn eps(&self) -> T {
        self.eps
    }
}

fn check_center<T: Float>(center: &[T], eps: T, lo: T, hi: T) -> Result<()> {
    super::check_radius("eps", eps)?;
    check_param(
        lo.is_finite() && hi.is_finite() && lo <= hi,
        "lo/hi",
        "need finite lo <= hi",
    )?;
    if let Some(c) = center.iter().find(|&&c| !(c >= lo && c <= hi)) {
        return Err(OptimError::InvalidParameter {
            name: "center",
            reason: format!("entry {c} outside the box [{lo}, {hi}]"),
        });
    }
    Ok(())
}

impl<T: Float> ConstraintSet<T> for LinfBallBox<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        self.bounds.lmo(grad, out)
    }
    fn project(&self, x: &mut [T]) -> Result<()> {
        self.bounds.project(x)
    }
    fn contains(&self, x: &[T], tol: T) -> bool {
        self.bounds.contains(x, tol)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.center.len())
    }
}

/// `{x : ||x - c||_2 <= eps, lo <= x <= hi}`: the L2 threat model.
///
/// Both oracles reduce to a one-dimensional monotone search because the box is separable:
/// * projection of `x`: by Lagrangian duality on the ball constraint only,
///   `p(lambda) = clip((x + lambda c) / (1 + lambda), lo, hi)` and `||p(lambda) - c||` is
///   nonincreasing in `lambda >= 0`; `lambda = 0` if `clip(x)` is already in the ball, else
///   bisection on `lambda` for `||p - c|| = eps`. Exact up to the bisection tolerance (unlike
///   alternating projections, which only converge to *a* point of the intersection, and
///   unlike Dykstra's algorithm, which is slower).
/// * LMO at `g`: `s(t) = clip(c - t g, lo, hi)` minimises `<g, s> + ||s - c||^2 / (2t)` over
///   the box; `||s(t) - c||` is nondecreasing in `t`, so bisection on `t` for `||s - c|| = eps`
///   (or the box vertex if it is inside the ball).
///
/// 100 bisection halvings on a bracket found by doubling.
#[derive(Debug, Clone, PartialEq)]
pub struct L2BallBox<T> {
    center: Vec<T>,
    eps: T,
    lo: T,
    hi: T,
}

impl<T: Float> L2BallBox<T> {
    /// Ball of radius `eps` around `center` intersected with `[lo, hi]^n`; `center` must lie in
    /// the box.
    pub fn new(center: Vec<T>, eps: T, lo: T, hi: T) -> Result<Self> {
        check_center(&center, eps, lo, hi)?;
        Ok(Self {
            center,
            eps,
            lo,
            hi,
        })
    }
    /// The clean input `c`.
    pub fn center(&self) -> &[T] {
        &self.center
    }
    /// The radius `eps`.
    pub fn eps(&self) -> T {
        self.eps
    }

    #[inline]
    fn clip(&self, v: T) -> T {
        v.max(self.lo).min(self.hi)
    }

    /// Distance to the centre of `clip(c - t g)`.
    fn lmo_dist(&self, g: &[T], t: T) -> T {
        self.center
            .iter()
            .zip(g)
            .map(|(&c, &gi)| {
                let d = self.clip(c - t * gi) - c;
                d * d
            })
            .sum::<T>()
            .sqrt()
    }

    fn proj_dist(&self, x: &[T], lam: T) -> T {
        self.center
            .iter()
            .zip(x)
            .map(|(&c, &xi)| {
                let d = self.clip((xi + lam * c) / (T::one() + lam)) - c;
                d * d
            })
            .sum::<T>()
            .sqrt()
    }
}

/// Bisection on a monotone function `h` over `t >= 0`: returns a `t` with `h(t) <= target`
/// within one part in `2^100` of the crossing. `h` is increasing when `increasing`, else
/// decreasing; the bracket `[0, hi]` is found by doubling `hi`.
fn bisect<T: Float>(mut h: impl FnMut(T) -> T, target: T, increasing: bool) -> T {
    let past = |v: T| if increasing { v > target } else { v <= target };
    let mut hi = T::one();
    let mut k = 0;
    while !past(h(hi)) && k < 2000 {
        hi *= T::c(2.0);
        k += 1;
    }
    let mut lo = T::zero();
    for _ in 0..100 {
        let mid = (lo + hi) / T::c(2.0);
        if past(h(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    if increasing {
        lo
    } else {
        hi
    }
}

impl<T: Float> ConstraintSet<T> for L2BallBox<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        check_len("gradient", self.center.len(), grad.len())?;
        // Largest useful t: each coordinate saturates at the box once t |g_i| >= hi - lo.
        let vertex_dist = self.lmo_dist(grad, T::max_value().sqrt());
        let t = if vertex_dist <= self.eps || linalg::norm_inf(grad) == T::zero() {
            T::max_value().sqrt()
        } else {
            // Nondecreasing in t: the largest t with dist <= eps.
            bisect(|t| self.lmo_dist(grad, t), self.eps, true)
        };
        let buf = out.dense_mut(grad.len());
        for ((b, &c), &g) in buf.iter_mut().zip(&self.center).zip(grad) {
            *b = self.clip(c - t * g);
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.center.len(), x.len())?;
        let lam = if self.proj_dist(x, T::zero()) <= self.eps {
            T::zero()
        } else {
            bisect(|l| self.proj_dist(x, l), self.eps, false)
        };
        for (xi, &c) in x.iter_mut().zip(&self.center) {
            *xi = self.clip((*xi + lam * c) / (T::one() + lam));
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.len() == self.center.len()
            && x.iter().all(|&v| v >= self.lo - tol && v <= self.hi + tol)
            && linalg::dist2_sq(x, &self.center).sqrt() <= self.eps + tol
    }

    fn dim(&self) -> Option<usize> {
        Some(self.center.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn linf_box_lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(17);
        for n in 1..6 {
            let c: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
            let set = LinfBallBox::new(c.clone(), 0.2, 0.0, 1.0).unwrap();
            let lo: Vec<f64> = c.iter().map(|v| (v - 0.2f64).max(0.0)).collect();
            let hi: Vec<f64> = c.iter().map(|v| (v + 0.2f64).min(1.0)).collect();
            let verts: Vec<Vec<f64>> = (0..(1usize << n))
                .map(|m| {
                    (0..n)
                        .map(|i| if m >> i & 1 == 1 { hi[i] } else { lo[i] })
                        .collect()
                })
                .collect();
            for _ in 0..10 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &verts);
                let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_projection(&set, &x, &verts);
            }
        }
    }

    /// Dense random feasible points of the intersection (rejection sampling in the box).
    fn sample_feasible(set: &L2BallBox<f64>, rng: &mut SplitMix64, k: usize) -> Vec<Vec<f64>> {
        let n = set.center.len();
        let mut out = Vec::new();
        while out.len() < k {
            let dir: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let nd = linalg::norm2(&dir);
            let rad = set.eps * rng.uniform().powf(1.0 / n as f64);
            let p: Vec<f64> = (0..n).map(|i| set.center[i] + rad * dir[i] / nd).collect();
            if set.contains(&p, 0.0) {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn l2_box_lmo_and_projection_against_sampled_points() {
        let mut rng = SplitMix64::new(18);
        for n in [1usize, 2, 3, 5, 8] {
            // Centres near the faces so that both constraints are active.
            let c: Vec<f64> = (0..n)
                .map(|i| if i % 2 == 0 { 0.05 } else { rng.uniform() })
                .collect();
            let set = L2BallBox::new(c, 0.3, 0.0, 1.0).unwrap();
            let feas = sample_feasible(&set, &mut rng, 300);
            for _ in 0..20 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &feas);
                let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_projection(&set, &x, &feas);
            }
        }
    }

    #[test]
    fn center_outside_box_is_rejected() {
        assert!(L2BallBox::new(vec![1.5f64], 0.1, 0.0, 1.0).is_err());
        assert!(LinfBallBox::new(vec![-0.5f64], 0.1, 0.0, 1.0).is_err());
    }
}
