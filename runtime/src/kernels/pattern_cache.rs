//! [`PatternCache`]: the solution operators of a small cyclic component's activation patterns, kept in a session.
//!
//! A small strongly connected component of `A` (`m` units, `M` its `m x m` block) is solved for a single input by
//! the exact solution of its activation pattern (`blocks.rs`, `small_component`): with
//! `S = {i : (M x + r)_i > 0}`, `y_S = (I - M_SS)^{-1} r_S` and `y = 0` elsewhere, kept when its true residual is
//! within the tolerance. Eliminating `I - M_SS` on every call took about 100 ns per component (the default
//! Fashion-MNIST model has three, of 3, 5 and 3 units: 8% of a prediction), a chain of divisions and
//! pattern-dependent loops. There are only `2^m` patterns, and the matrix `Q_S` with `Q_S[S, S] = (I - M_SS)^{-1}`
//! and zeros elsewhere depends on nothing else: `y = Q_S r` is `m` multiply-adds of lane arrays.
//!
//! Tabulating all `2^m` inverses when the model loads cost 2-3 us for the default model (45 patterns), more than
//! the load budget allows, so each `Q_S` is computed the first time a session meets its pattern and kept in the
//! session's scratch (`Session`'s solver state): about 100 ns once per pattern and session, then a lookup. The
//! region of a component starts with a copy of its block, compared bit for bit on every use, so a session that
//! moves to another model (or a buffer that held anything else) recomputes instead of reusing a stale operator;
//! and since `Q_S` is a fixed function of the block and `S` (the same f64 Gauss-Jordan elimination, rounded to
//! f32), the answer never depends on what the session solved before. `blocks.rs` keeps `Q_S r` only when its true
//! residual is within the tolerance, so the rounding to f32 can only send a call to the elimination, never return
//! a worse answer.

use super::larger;

/// Lanes of a column: the largest small component of the block plan.
pub(crate) const LANES: usize = crate::blocks::SMALL_MAX;

/// The largest component cached: `2^5 = 32` patterns of 5 columns (5 KB of session scratch). One more unit
/// doubles the region; the default Fashion-MNIST model's largest small component has 5 units.
pub(crate) const CACHE_MAX: usize = 5;

/// A component's region of the cache, bound to its block (see the module documentation): `[block (m x m,
/// row-major) | M by columns of LANES lanes | one flag per pattern | Q_S by columns of LANES lanes, per pattern]`.
pub(crate) struct PatternCache<'c> {
    m: usize,
    cols: &'c [f32],
    flags: &'c mut [f32],
    operators: &'c mut [f32],
}

impl<'c> PatternCache<'c> {
    /// Floats of the region of a component of `m` units; 0 when `m` is not cached (`m > CACHE_MAX`).
    pub(crate) fn region_len(m: usize) -> usize {
        if (1..=CACHE_MAX).contains(&m) {
            m * m + m * LANES + (1 << m) * (1 + m * LANES)
        } else {
            0
        }
    }

    /// The region for `block` (`m x m`, row-major); `None` when `m` is not cached or `region` is not
    /// `region_len(m)` long. Forgets every stored operator unless the region's copy of the block is `block`, bit
    /// for bit.
    pub(crate) fn bind(block: &[f32], m: usize, region: &'c mut [f32]) -> Option<PatternCache<'c>> {
        let len = Self::region_len(m);
        if len == 0 || region.len() != len || block.len() != m * m {
            return None;
        }
        let (copy, rest) = region.split_at_mut(m * m);
        let (cols, rest) = rest.split_at_mut(m * LANES);
        let (flags, operators) = rest.split_at_mut(1 << m);
        if !copy
            .iter()
            .zip(block)
            .all(|(c, b)| c.to_bits() == b.to_bits())
        {
            copy.copy_from_slice(block);
            cols.fill(0.0);
            for (i, row) in block.chunks_exact(m).enumerate() {
                for (col, &w) in cols.chunks_exact_mut(LANES).zip(row) {
                    col[i] = w;
                }
            }
            flags.fill(0.0);
        }
        Some(PatternCache {
            m,
            cols,
            flags,
            operators,
        })
    }

    /// `r + M v`, all lanes (lanes past `m` stay `r`'s).
    #[inline]
    pub(crate) fn pre(&self, r: &[f32; LANES], v: &[f32; LANES]) -> [f32; LANES] {
        let mut t = *r;
        for (col, &vj) in self.cols.chunks_exact(LANES).zip(v) {
            for (ti, &w) in t.iter_mut().zip(col) {
                *ti += w * vj;
            }
        }
        t
    }

    /// The solution of the activation pattern of `t` (`S = {i < m : t_i > 0}`) for the input `r`: `Q_S r`,
    /// clamped at 0 (a negative entry is an inconsistent pattern, which the caller's residual test rejects).
    /// `None` only if `Q_S` cannot be computed (a vanishing pivot: not a contraction's block).
    pub(crate) fn solve(&mut self, r: &[f32; LANES], t: &[f32; LANES]) -> Option<[f32; LANES]> {
        let m = self.m;
        let set = (0..m).fold(0usize, |s, i| s | usize::from(t[i] > 0.0) << i);
        let q = &mut self.operators[set * m * LANES..(set + 1) * m * LANES];
        if self.flags[set] != 1.0 {
            operator(self.cols, m, set, q)?;
            self.flags[set] = 1.0;
        }
        let mut y = [0.0f32; LANES];
        for (col, &rj) in q.chunks_exact(LANES).zip(r) {
            for (yi, &w) in y.iter_mut().zip(col) {
                *yi += w * rj;
            }
        }
        Some(y.map(|v| larger(0.0, v)))
    }
}

/// Writes `Q_S` (`m` columns of `LANES` lanes) for the pattern `set` of the block `cols` (`m` columns of `LANES`
/// lanes): the inverse
/// of `I - M_SS` by Gauss-Jordan elimination in f64, without pivoting (`I - M_SS` is strictly diagonally dominant
/// by rows for a contraction's block, and elimination keeps it so), rounded to f32. `None` if a pivot vanishes
/// or the inverse is not finite.
fn operator(cols: &[f32], m: usize, set: usize, q: &mut [f32]) -> Option<()> {
    let mut units = [0usize; CACHE_MAX];
    let mut s = 0;
    for i in (0..m).filter(|&i| set >> i & 1 == 1) {
        units[s] = i;
        s += 1;
    }
    let units = &units[..s];
    // [I - M_SS | I], s x 2s in fixed arrays (no allocation in a prediction).
    let mut g = [[0.0f64; 2 * CACHE_MAX]; CACHE_MAX];
    for (a, &i) in units.iter().enumerate() {
        for (c, &j) in units.iter().enumerate() {
            g[a][c] = f64::from(u8::from(i == j)) - f64::from(cols[j * LANES + i]);
        }
        g[a][s + a] = 1.0;
    }
    for p in 0..s {
        let pivot = g[p][p];
        if pivot == 0.0 {
            return None;
        }
        for v in &mut g[p][..2 * s] {
            *v /= pivot;
        }
        let pivot_row = g[p];
        for (a, row) in g[..s].iter_mut().enumerate() {
            if a != p {
                let f = row[p];
                for (v, &w) in row[..2 * s].iter_mut().zip(&pivot_row) {
                    *v -= f * w;
                }
            }
        }
    }
    q.fill(0.0);
    for (c, &uc) in units.iter().enumerate() {
        for (l, &ul) in units.iter().enumerate() {
            let v = g[l][s + c];
            if !v.is_finite() {
                return None;
            }
            q[uc * LANES + ul] = v as f32;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `(I - M_SS)^{-1} r_S` by Gaussian elimination with partial pivoting in f64, 0 outside `S`.
    fn reference(block: &[f32], m: usize, set: usize, r: &[f32]) -> Vec<f64> {
        let s: Vec<usize> = (0..m).filter(|i| set >> i & 1 == 1).collect();
        let k = s.len();
        let mut g: Vec<Vec<f64>> = s
            .iter()
            .map(|&i| {
                let mut row: Vec<f64> = s
                    .iter()
                    .map(|&j| f64::from(u8::from(i == j)) - f64::from(block[i * m + j]))
                    .collect();
                row.push(f64::from(r[i]));
                row
            })
            .collect();
        for p in 0..k {
            let best = (p..k)
                .max_by(|&a, &b| g[a][p].abs().total_cmp(&g[b][p].abs()))
                .unwrap();
            g.swap(p, best);
            let pivot_row = g[p].clone();
            for (i, row) in g.iter_mut().enumerate() {
                if i != p {
                    let f = row[p] / pivot_row[p];
                    for (v, &w) in row.iter_mut().zip(&pivot_row) {
                        *v -= f * w;
                    }
                }
            }
        }
        let mut y = vec![0.0f64; m];
        for (p, &i) in s.iter().enumerate() {
            y[i] = g[p][k] / g[p][p];
        }
        y
    }

    fn contraction(raw: &[f32], m: usize, norm: f32) -> Vec<f32> {
        let mut block: Vec<f32> = raw[..m * m].to_vec();
        for row in block.chunks_mut(m) {
            let l1: f32 = row.iter().map(|v| v.abs()).sum();
            if l1 > 0.0 {
                row.iter_mut().for_each(|v| *v *= norm / l1);
            }
        }
        block
    }

    /// The pattern of `t` is `set`.
    fn pattern(set: usize, m: usize) -> [f32; LANES] {
        core::array::from_fn(|i| {
            if i < m && set >> i & 1 == 1 {
                1.0
            } else {
                -1.0
            }
        })
    }

    proptest! {
        /// Every pattern's operator applied to `r` is the f64 elimination of that pattern's system, for blocks of
        /// rows with L1 norm below 1 (any signs, self-loops included) and every size cached, whether the operator
        /// was just computed or read back.
        #[test]
        fn every_pattern_matches_the_elimination(m in 1usize..=CACHE_MAX, raw in proptest::collection::vec(-1.0f32..1.0, CACHE_MAX * CACHE_MAX), norm in 0.05f32..0.99, r in proptest::array::uniform8(-3.0f32..3.0)) {
            let block = contraction(&raw, m, norm);
            let mut region = vec![0.0f32; PatternCache::region_len(m)];
            let mut lanes = [0.0f32; LANES];
            lanes[..m].copy_from_slice(&r[..m]);
            for pass in 0..2 {
                let mut cache = PatternCache::bind(&block, m, &mut region).expect("cached size");
                for set in 0..1usize << m {
                    let want = reference(&block, m, set, &lanes);
                    let got = cache.solve(&lanes, &pattern(set, m)).expect("a contraction's pattern");
                    for i in 0..LANES {
                        let w = if i < m { want[i].max(0.0) } else { 0.0 };
                        prop_assert!((f64::from(got[i]) - w).abs() <= 1e-5 * (1.0 + w.abs()), "pass {} m {} set {:b} unit {}: {} vs {}", pass, m, set, i, got[i], w);
                    }
                }
            }
        }

        /// A region bound to one block and then to another gives the second block's answers, bit for bit those of
        /// a fresh region: nothing stale survives a change of block.
        #[test]
        fn a_new_block_forgets_the_old_operators(m in 1usize..=CACHE_MAX, raw in proptest::collection::vec(-1.0f32..1.0, 2 * CACHE_MAX * CACHE_MAX), r in proptest::array::uniform8(-3.0f32..3.0)) {
            let first = contraction(&raw, m, 0.9);
            let second = contraction(&raw[CACHE_MAX * CACHE_MAX..], m, 0.7);
            let mut used = vec![0.0f32; PatternCache::region_len(m)];
            let mut cache = PatternCache::bind(&first, m, &mut used).unwrap();
            for set in 0..1usize << m {
                cache.solve(&r, &pattern(set, m)).unwrap();
            }
            let mut fresh = vec![0.0f32; PatternCache::region_len(m)];
            for set in 0..1usize << m {
                let a = PatternCache::bind(&second, m, &mut used).unwrap().solve(&r, &pattern(set, m)).unwrap();
                let b = PatternCache::bind(&second, m, &mut fresh).unwrap().solve(&r, &pattern(set, m)).unwrap();
                prop_assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
            }
        }
    }

    #[test]
    fn pre_is_r_plus_m_v() {
        let block = [0.1f32, -0.2, 0.3, 0.0, 0.25, -0.5, 0.4, 0.1, 0.0];
        let mut region = vec![0.0f32; PatternCache::region_len(3)];
        let cache = PatternCache::bind(&block, 3, &mut region).unwrap();
        let r = [1.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0];
        let v = [2.0, 3.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let t = cache.pre(&r, &v);
        for i in 0..3 {
            let want = r[i] + (0..3).map(|j| block[i * 3 + j] * v[j]).sum::<f32>();
            assert!((t[i] - want).abs() <= 1e-6, "{t:?}");
        }
        assert_eq!(&t[3..], &[0.0; 5]);
    }

    #[test]
    fn regions_that_do_not_fit() {
        assert_eq!(PatternCache::region_len(CACHE_MAX + 1), 0);
        assert_eq!(PatternCache::region_len(0), 0);
        let mut region = vec![0.0f32; PatternCache::region_len(3)];
        // Too large, wrong block length, wrong region length.
        assert!(PatternCache::bind(&[0.0; 36], 6, &mut region).is_none());
        assert!(PatternCache::bind(&[0.0; 8], 3, &mut region).is_none());
        assert!(PatternCache::bind(&[0.0; 9], 3, &mut region[1..]).is_none());
        // A vanishing pivot (M_00 = 1): no operator, for the patterns that contain unit 0 only.
        let block = [1.0f32, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5];
        let mut cache = PatternCache::bind(&block, 3, &mut region).unwrap();
        let r = [1.0f32; LANES];
        assert!(cache.solve(&r, &pattern(0b001, 3)).is_none());
        assert!(cache.solve(&r, &pattern(0b110, 3)).is_some());
    }
}
