//! The group-L1 ball `{x : sum_G ||x_G||_2 <= r}`.

use super::{check_radius, ConstraintSet};
use crate::error::{check_len, OptimError, Result};
use crate::{Float, Vertex};

/// Group-L1 (L1/L2 mixed-norm) ball over a partition of the coordinates into groups.
///
/// LMO: the whole group `G*` of largest `||g_G||_2` set to `-r g_G / ||g_G||_2`, zero elsewhere
/// (sparse at the group level; Jaggi 2013, Sec. 4.1). Projection: project the vector of group
/// norms onto the L1 ball of radius `r` (sort-based, Duchi et al. 2008) and rescale each group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupL1Ball<T> {
    groups: Vec<Vec<usize>>,
    dim: usize,
    radius: T,
}

impl<T: Float> GroupL1Ball<T> {
    /// Group-L1 ball; `groups` must partition `0..dim` (each index in exactly one group),
    /// each group's indices in increasing order.
    pub fn new(groups: Vec<Vec<usize>>, dim: usize, radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        let mut seen = vec![false; dim];
        for g in &groups {
            for (k, &i) in g.iter().enumerate() {
                if i >= dim || seen[i] || (k > 0 && g[k - 1] >= i) {
                    return Err(OptimError::InvalidParameter {
                        name: "groups",
                        reason: format!("index {i} out of range, repeated or unsorted"),
                    });
                }
                seen[i] = true;
            }
        }
        if seen.iter().any(|s| !s) {
            return Err(OptimError::InvalidParameter {
                name: "groups",
                reason: "groups must cover every coordinate".into(),
            });
        }
        Ok(Self {
            groups,
            dim,
            radius,
        })
    }

    /// Contiguous groups of equal size `size` (the last one possibly smaller).
    pub fn contiguous(dim: usize, size: usize, radius: T) -> Result<Self> {
        if size == 0 {
            return Err(OptimError::InvalidParameter {
                name: "size",
                reason: "must be >= 1".into(),
            });
        }
        let groups = (0..dim)
            .step_by(size)
            .map(|s| (s..(s + size).min(dim)).collect())
            .collect();
        Self::new(groups, dim, radius)
    }

    /// The groups.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    fn group_norm(&self, g: &[usize], x: &[T]) -> T {
        g.iter().map(|&i| x[i] * x[i]).sum::<T>().sqrt()
    }
}

impl<T: Float> ConstraintSet<T> for GroupL1Ball<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        check_len("gradient", self.dim, grad.len())?;
        out.clear_sparse(self.dim);
        let mut best = None;
        let mut m = T::neg_infinity();
        for (k, g) in self.groups.iter().enumerate() {
            let n = self.group_norm(g, grad);
            if n > m {
                m = n;
                best = Some(k);
            }
        }
        if let Some(k) = best {
            let g = &self.groups[k];
            if m > T::zero() {
                for &i in g {
                    out.push(i, -self.radius * grad[i] / m);
                }
            } else {
                out.push(g[0], self.radius);
            }
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.dim, x.len())?;
        let norms: Vec<T> = self.groups.iter().map(|g| self.group_norm(g, x)).collect();
        let mut proj = norms.clone();
        super::l1::project_l1(&mut proj, self.radius);
        for ((g, &n), &p) in self.groups.iter().zip(&norms).zip(&proj) {
            let c = if n > T::zero() { p / n } else { T::zero() };
            for &i in g {
                x[i] *= c;
            }
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.len() == self.dim
            && self.groups.iter().map(|g| self.group_norm(g, x)).sum::<T>() <= self.radius + tol
    }

    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn lmo_closed_form_and_projection_variational_inequality() {
        let mut rng = SplitMix64::new(14);
        let set = GroupL1Ball::new(vec![vec![0, 3], vec![1], vec![2, 4, 5]], 6, 2.0).unwrap();
        let feas = feasible_points(&set, 6, &mut rng, 400);
        for _ in 0..30 {
            let g: Vec<f64> = (0..6).map(|_| rng.normal()).collect();
            check_lmo_beats(&set, &g, &feas);
            // Closed form: min <g, s> = -r max_G ||g_G||.
            let mut v = Vertex::new();
            set.lmo(&g, &mut v).unwrap();
            let dual = set
                .groups()
                .iter()
                .map(|gr| set.group_norm(gr, &g))
                .fold(0.0, f64::max);
            assert!((v.dot(&g) + 2.0 * dual).abs() < 1e-12);
            let x: Vec<f64> = (0..6).map(|_| rng.normal() * 2.0).collect();
            check_projection(&set, &x, &feas);
        }
    }

    #[test]
    fn groups_must_partition() {
        assert!(GroupL1Ball::new(vec![vec![0], vec![0, 1]], 2, 1.0f64).is_err());
        assert!(GroupL1Ball::new(vec![vec![0]], 2, 1.0f64).is_err());
        assert!(GroupL1Ball::new(vec![vec![2]], 2, 1.0f64).is_err());
        assert!(
            GroupL1Ball::<f64>::contiguous(5, 2, 1.0)
                .unwrap()
                .groups()
                .len()
                == 3
        );
    }
}
