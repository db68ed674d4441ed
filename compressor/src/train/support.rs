//! Supports (which entries of `A`, `B`, `C`, `D` may be nonzero) and their selection to an exact budget.
//!
//! Selection keeps the `k` entries of largest magnitude over all four matrices at once (global magnitude ranking,
//! which beat per-layer quotas at small budgets in the anchors). Frank-Wolfe iterates hold many entries of exactly
//! equal magnitude (multiples of a radius), so "keep everything above the k-th magnitude" can keep far more than `k`:
//! ties are broken by position, and exactly `k` entries are kept.

use crate::model::{Params, Which};
use serde::{Deserialize, Serialize};

/// One boolean per entry of each weight matrix, in [`Which::ALL`] order; `true` = may be nonzero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// Masks of `A`, `B`, `C`, `D`.
    pub masks: [Vec<bool>; 4],
}

impl Support {
    /// Every entry allowed, except `A` when `use_a` is false (a feed-forward model).
    pub fn full(p: &Params, use_a: bool) -> Support {
        let masks = Which::ALL.map(|w| {
            let (r, c) = p.shape(w);
            vec![w != Which::A || use_a; r * c]
        });
        Support { masks }
    }

    /// [`full`](Support::full) with `A` restricted to its strictly lower triangle when `triangular_a` holds: hidden
    /// unit `i` may read unit `j` only for `j < i`, so the hidden units form a directed acyclic graph in index
    /// order. The model is then a (deep, sparse) feed-forward network: one Gauss-Seidel sweep in index order solves
    /// its fixed point exactly, for any `A`.
    pub fn full_with(p: &Params, use_a: bool, triangular_a: bool) -> Support {
        let mut s = Support::full(p, use_a);
        if triangular_a {
            let h = p.h;
            for (k, m) in s.masks[Which::A as usize].iter_mut().enumerate() {
                *m &= k % h.max(1) < k / h.max(1);
            }
        }
        s
    }

    /// The mask of one matrix.
    pub fn mask(&self, w: Which) -> &[bool] {
        &self.masks[w as usize]
    }

    /// Number of allowed entries.
    pub fn size(&self) -> usize {
        self.masks
            .iter()
            .map(|m| m.iter().filter(|b| **b).count())
            .sum()
    }

    /// Zeroes every disallowed entry of `p`.
    pub fn apply(&self, p: &mut Params) {
        for w in Which::ALL {
            for (v, &ok) in p.mat_mut(w).iter_mut().zip(self.mask(w)) {
                if !ok {
                    *v = 0.0;
                }
            }
        }
    }

    /// Shrinks the support to exactly `min(k, size)` entries: the largest `|value|` of `p` among allowed entries, ties
    /// broken by (matrix, position).
    pub fn keep_top(&mut self, p: &Params, k: usize) {
        let mut cand: Vec<(f32, u8, u32)> = Vec::new();
        for w in Which::ALL {
            for (i, (&v, &ok)) in p.mat(w).iter().zip(self.mask(w)).enumerate() {
                if ok {
                    cand.push((v.abs(), w as u8, i as u32));
                }
            }
        }
        if k >= cand.len() {
            return;
        }
        let order = |a: &(f32, u8, u32), b: &(f32, u8, u32)| {
            b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2)))
        };
        if k > 0 {
            cand.select_nth_unstable_by(k - 1, order);
        }
        for m in self.masks.iter_mut() {
            m.iter_mut().for_each(|b| *b = false);
        }
        for &(_, w, i) in &cand[..k] {
            self.masks[w as usize][i as usize] = true;
        }
    }
}

impl Support {
    /// Allowed entries per matrix.
    pub fn sizes(&self) -> [usize; 4] {
        Which::ALL.map(|w| self.mask(w).iter().filter(|b| **b).count())
    }

    /// Shrinks one matrix's support to exactly `min(k, size)` entries of largest `|value|` (ties by position).
    pub fn keep_top_in(&mut self, p: &Params, w: Which, k: usize) {
        let scores: Vec<f32> = p.mat(w).iter().map(|v| v.abs()).collect();
        self.keep_top_scored(w, &scores, k);
    }

    /// Shrinks one matrix's support to exactly `min(k, size)` entries of largest `score` (one per entry of the
    /// matrix; ties by position).
    pub fn keep_top_scored(&mut self, w: Which, scores: &[f32], k: usize) {
        let mask = &mut self.masks[w as usize];
        assert_eq!(scores.len(), mask.len(), "one score per entry");
        let mut kept: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
        if k >= kept.len() {
            return;
        }
        if k > 0 {
            kept.select_nth_unstable_by(k - 1, |&a, &b| {
                scores[b].total_cmp(&scores[a]).then(a.cmp(&b))
            });
        }
        mask.iter_mut().for_each(|b| *b = false);
        for &i in &kept[..k] {
            mask[i] = true;
        }
    }

    /// A pairwise exchange at a fixed budget (the drop/add step of Evci et al. 2020, "Rigging the lottery", read
    /// as a Frank-Wolfe pair): in each matrix, the `frac` share of its kept entries with the smallest `|value|` leave
    /// the support (the away atoms) and as many entries outside it, allowed by `bound`, with the largest `|gradient|`
    /// enter at value zero (the Frank-Wolfe atoms of a K-sparse polytope over the complement). Entries enter only if
    /// their gradient is nonzero, and exactly as many leave as enter. Returns the entries that entered, as
    /// `(matrix index, position)`, so that optimiser state can be reset there.
    pub fn swap(
        &mut self,
        p: &mut Params,
        g: &Params,
        frac: f32,
        bound: &Support,
    ) -> Vec<(usize, usize)> {
        let mut entered = Vec::new();
        for w in Which::ALL {
            let wi = w as usize;
            let mask = &self.masks[wi];
            let kept: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
            let n = (frac * kept.len() as f32).round() as usize;
            if n == 0 {
                continue;
            }
            let (vals, grads, outer) = (p.mat(w), g.mat(w), bound.mask(w));
            let mut grow: Vec<usize> = (0..mask.len())
                .filter(|&i| !mask[i] && outer[i] && grads[i] != 0.0)
                .collect();
            let n = n.min(grow.len()).min(kept.len());
            if n == 0 {
                continue;
            }
            grow.select_nth_unstable_by(n - 1, |&a, &b| {
                grads[b].abs().total_cmp(&grads[a].abs()).then(a.cmp(&b))
            });
            let mut drop = kept;
            drop.select_nth_unstable_by(n - 1, |&a, &b| {
                vals[a].abs().total_cmp(&vals[b].abs()).then(a.cmp(&b))
            });
            let m = &mut self.masks[wi];
            let x = p.mat_mut(w);
            for &i in &drop[..n] {
                m[i] = false;
                x[i] = 0.0;
            }
            for &i in &grow[..n] {
                m[i] = true;
                x[i] = 0.0;
                entered.push((wi, i));
            }
        }
        entered
    }
}

/// Final per-matrix budgets from `shares` of `budget`: each matrix gets its rounded share, capped by `caps` (the
/// entries it can hold); what the caps and rounding leave over goes to the matrices in decreasing share order, so
/// the targets sum to `min(budget, sum of caps)`.
pub fn share_targets(shares: [f32; 4], budget: usize, caps: [usize; 4]) -> [usize; 4] {
    let total: f32 = shares.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut k = [0usize; 4];
    for i in 0..4 {
        k[i] = ((shares[i] / total * budget as f32).round() as usize).min(caps[i]);
    }
    let mut order = [0usize, 1, 2, 3];
    order.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]).then(a.cmp(&b)));
    let mut sum: usize = k.iter().sum();
    for &i in &order {
        if sum > budget {
            let cut = (sum - budget).min(k[i]);
            k[i] -= cut;
            sum -= cut;
        } else if shares[i] > 0.0 {
            let add = (budget - sum).min(caps[i] - k[i]);
            k[i] += add;
            sum += add;
        }
    }
    k
}

/// The Zhu & Gupta (2017, "To prune, or not to prune") cubic schedule, in kept entries: from `start` entries to
/// `end` as `frac` goes from 0 to 1, `k = end + (start - end) (1 - frac)^3`.
pub fn cubic_keep(start: usize, end: usize, frac: f64) -> usize {
    let f = frac.clamp(0.0, 1.0);
    let extra = (start.saturating_sub(end)) as f64 * (1.0 - f).powi(3);
    end + extra.round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_k_even_with_ties() {
        let mut p = Params::zeros(4, 3, 2);
        p.b.iter_mut().for_each(|v| *v = 0.5); // 12 tied entries
        p.c[0] = -2.0;
        let mut s = Support::full(&p, true);
        s.keep_top(&p, 5);
        assert_eq!(s.size(), 5);
        assert!(s.mask(Which::C)[0]);
        assert_eq!(s.mask(Which::B).iter().filter(|b| **b).count(), 4);
        s.apply(&mut p);
        assert_eq!(p.total_nnz(), 5);
    }

    #[test]
    fn keep_top_only_shrinks_and_respects_disabled_a() {
        let mut p = Params::zeros(2, 2, 2);
        p.a = vec![9.0; 4];
        p.b = vec![1.0, 2.0, 3.0, 4.0];
        let mut s = Support::full(&p, false);
        s.keep_top(&p, 2);
        assert!(!s.mask(Which::A).iter().any(|b| *b));
        assert_eq!(s.mask(Which::B), &[false, false, true, true]);
        s.keep_top(&p, 10);
        assert_eq!(s.size(), 2);
    }

    #[test]
    fn swap_exchanges_small_weights_for_large_gradients() {
        let mut p = Params::zeros(4, 2, 1);
        p.b = vec![0.9, 0.1, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0];
        let mut g = Params::zeros(4, 2, 1);
        g.b = vec![0.0, 0.0, 0.3, -0.7, 0.0, 0.2, 0.0, 0.0];
        let mut s = Support::full(&p, false);
        s.masks[1] = p.b.iter().map(|v| *v != 0.0).collect();
        s.masks[2] = vec![false; 2];
        s.masks[3] = vec![false; 4];
        let bound = Support::full(&p, false);
        let entered = s.swap(&mut p, &g, 0.5, &bound);
        // 3 kept, half rounds to 2: drop 0.1 and 0.5, add the -0.7 and 0.3 gradients.
        assert_eq!(
            s.mask(Which::B),
            &[true, false, true, true, false, false, false, false]
        );
        assert_eq!(p.b, vec![0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(entered.len(), 2);
        assert_eq!(s.size(), 3);
    }

    #[test]
    fn triangular_a_allows_only_earlier_units() {
        let p = Params::zeros(2, 3, 1);
        let s = Support::full_with(&p, true, true);
        #[rustfmt::skip]
        let want = [false, false, false,
                    true, false, false,
                    true, true, false];
        assert_eq!(s.mask(Which::A), &want);
        assert_eq!(s.sizes()[1], 6);
        assert_eq!(Support::full_with(&p, true, false), Support::full(&p, true));
        assert!(!Support::full_with(&p, false, true)
            .mask(Which::A)
            .iter()
            .any(|b| *b));
    }

    #[test]
    fn per_matrix_selection_is_exact() {
        let mut p = Params::zeros(3, 2, 2);
        p.b = vec![0.5; 6];
        p.c = vec![9.0, 8.0, 7.0, 6.0];
        let mut s = Support::full(&p, true);
        s.keep_top_in(&p, Which::B, 4);
        s.keep_top_in(&p, Which::C, 1);
        assert_eq!(s.sizes(), [4, 4, 1, 6]);
        assert_eq!(s.mask(Which::B), &[true, true, true, true, false, false]);
        assert!(s.mask(Which::C)[0]);
    }

    #[test]
    fn share_targets_sum_to_the_budget_within_caps() {
        assert_eq!(
            share_targets(
                [0.02, 0.83, 0.15, 0.0],
                10_000,
                [65_536, 200_704, 2560, 7840]
            ),
            [200, 8300, 1500, 0]
        );
        // C can hold only 918: its shortfall goes to B, D (share 0) gets nothing.
        assert_eq!(
            share_targets([0.02, 0.83, 0.15, 0.0], 10_000, [5000, 50_000, 918, 4000]),
            [200, 8882, 918, 0]
        );
        // Everything fits: the caps.
        assert_eq!(
            share_targets([0.25; 4], 100, [10, 10, 10, 10]),
            [10, 10, 10, 10]
        );
        assert_eq!(
            share_targets([0.5, 0.5, 0.0, 0.0], 3, [9, 9, 9, 9])
                .iter()
                .sum::<usize>(),
            3
        );
    }

    #[test]
    fn cubic_schedule_endpoints_and_monotone() {
        assert_eq!(cubic_keep(1000, 10, 0.0), 1000);
        assert_eq!(cubic_keep(1000, 10, 1.0), 10);
        let ks: Vec<usize> = (0..=10)
            .map(|i| cubic_keep(1000, 10, i as f64 / 10.0))
            .collect();
        assert!(ks.windows(2).all(|w| w[0] >= w[1]));
    }
}
