//! The K-sparse polytope `conv{ x : ||x||_0 <= K, x_i in {-r, 0, r} }`.

use super::{check_radius, sign0, ConstraintSet};
use crate::error::{check_param, Result};
use crate::{linalg, Float, Vertex};

/// K-sparse polytope of radius `r`: the convex hull of the vectors with at most `K` nonzero
/// entries, each `+-r`; equivalently `{x : ||x||_inf <= r, ||x||_1 <= K r}`.
///
/// Used for Frank-Wolfe training of neural networks by Pokutta, Spiegel & Zimmer (2020),
/// "Deep neural network training with Frank-Wolfe", where vertices with `K` nonzeros keep
/// iterates sparse.
///
/// LMO: `-r sign(g_i)` on the `K` entries of largest `|g_i|` (selection in `O(n)` expected
/// with `select_nth_unstable`, no allocation once warm). Projection: soft-threshold and clip,
/// `p_i = sign(x_i) min(max(|x_i| - theta, 0), r)`, with `theta >= 0` the smallest level making
/// `||p||_1 <= K r` (bisection, then an exact solve on the linear piece).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KSparsePolytope<T> {
    k: usize,
    radius: T,
}

impl<T: Float> KSparsePolytope<T> {
    /// K-sparse polytope with `k >= 1` and radius `radius >= 0`.
    pub fn new(k: usize, radius: T) -> Result<Self> {
        check_param(k >= 1, "k", "must be >= 1")?;
        check_radius("radius", radius)?;
        Ok(Self { k, radius })
    }
    /// The sparsity `K`.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The radius `r`.
    pub fn radius(&self) -> T {
        self.radius
    }
}

fn clipped_l1<T: Float>(x: &[T], theta: T, r: T) -> T {
    x.iter()
        .map(|v| (v.abs() - theta).max(T::zero()).min(r))
        .sum()
}

impl<T: Float> ConstraintSet<T> for KSparsePolytope<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        let n = grad.len();
        let k = self.k.min(n);
        let mut idx = core::mem::take(&mut out.scratch_idx);
        idx.clear();
        idx.extend(0..n);
        if k < n && k > 0 {
            idx.select_nth_unstable_by(k - 1, |&a, &b| {
                grad[b]
                    .abs()
                    .partial_cmp(&grad[a].abs())
                    .unwrap_or(core::cmp::Ordering::Equal)
            });
        }
        idx.truncate(k);
        idx.sort_unstable();
        out.clear_sparse(n);
        for &i in &idx {
            let s = if grad[i] > T::zero() {
                -self.radius
            } else {
                self.radius
            };
            out.push(i, s);
        }
        out.scratch_idx = idx;
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        let r = self.radius;
        let cap = r * T::from_usize(self.k);
        if clipped_l1(x, T::zero(), r) <= cap {
            x.iter_mut().for_each(|v| *v = v.max(-r).min(r));
            return Ok(());
        }
        // h(theta) = sum_i clip(|x_i| - theta, 0, r) is continuous, nonincreasing, piecewise
        // linear; find h(theta) = K r.
        let (mut lo, mut hi) = (T::zero(), linalg::norm_inf(x));
        for _ in 0..100 {
            let mid = (lo + hi) / T::c(2.0);
            if clipped_l1(x, mid, r) > cap {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // Exact solve on the piece: coordinates strictly inside (0, r) after thresholding.
        let theta0 = (lo + hi) / T::c(2.0);
        let (mut lin_sum, mut lin_cnt, mut capped) = (T::zero(), 0usize, 0usize);
        for v in x.iter() {
            let a = v.abs();
            if a - theta0 >= r {
                capped += 1;
            } else if a > theta0 {
                lin_sum += a;
                lin_cnt += 1;
            }
        }
        let theta = if lin_cnt > 0 {
            let t = (lin_sum + r * T::from_usize(capped) - cap) / T::from_usize(lin_cnt);
            if t >= lo - T::epsilon() * hi && t <= hi + T::epsilon() * hi {
                t
            } else {
                hi
            }
        } else {
            hi
        };
        for v in x.iter_mut() {
            *v = sign0(*v) * (v.abs() - theta).max(T::zero()).min(r);
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        linalg::norm_inf(x) <= self.radius + tol
            && linalg::norm1(x) <= self.radius * T::from_usize(self.k) + tol
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    proptest! {
        /// The projection is feasible, keeps signs, and is the nearest point among the
        /// projection and random perturbations of it projected back (a necessary condition),
        /// on larger inputs than the brute-force test covers.
        #[test]
        fn projection_properties(x in proptest::collection::vec(-5.0f64..5.0, 1..40), k in 1usize..10, r in 0.1f64..2.0) {
            let set = KSparsePolytope::new(k, r).unwrap();
            let mut p = x.clone();
            set.project(&mut p).unwrap();
            prop_assert!(set.contains(&p, 1e-9));
            for (a, b) in x.iter().zip(&p) {
                prop_assert!(a * b >= 0.0);
            }
            let d0 = linalg::dist2_sq(&p, &x);
            let mut rng = SplitMix64::new(k as u64);
            for _ in 0..20 {
                let mut q: Vec<f64> = p.iter().map(|v| v + 0.3 * rng.normal()).collect();
                set.project(&mut q).unwrap();
                prop_assert!(linalg::dist2_sq(&q, &x) >= d0 - 1e-9);
            }
        }
    }

    /// All vertices: every support of size exactly min(K, n) with every sign pattern (vertices
    /// with fewer nonzeros are convex combinations of those).
    fn vertices(n: usize, k: usize, r: f64) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        for supp in 0..(1usize << n) {
            if supp.count_ones() as usize != k.min(n) {
                continue;
            }
            for signs in 0..(1usize << n) {
                if signs & !supp != 0 {
                    continue;
                }
                out.push(
                    (0..n)
                        .map(|i| {
                            if supp >> i & 1 == 0 {
                                0.0
                            } else if signs >> i & 1 == 1 {
                                r
                            } else {
                                -r
                            }
                        })
                        .collect(),
                );
            }
        }
        out
    }

    #[test]
    fn lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(13);
        for n in 1..7 {
            for k in 1..=n + 1 {
                let set = KSparsePolytope::new(k, 0.8).unwrap();
                let verts = vertices(n, k, 0.8);
                for _ in 0..8 {
                    let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                    check_lmo_beats(&set, &g, &verts);
                    let mut v = Vertex::new();
                    set.lmo(&g, &mut v).unwrap();
                    assert_eq!(v.nnz(), k.min(n));
                    let x: Vec<f64> = (0..n).map(|_| rng.normal() * 1.5).collect();
                    check_projection(&set, &x, &verts);
                }
            }
        }
    }
}
