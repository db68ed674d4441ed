//! Linear minimisation oracles (LMOs) over the constraint sets of the recipe.
//!
//! TEMPORARY: a minimal private copy until `wolfpack-optim` lands its LMOs; replace these by the crate's.
//!
//! An LMO returns `v = argmin_{v in S} <g, v>`. Sets used here (Pokutta, Spiegel, Zimmer 2020, "Deep neural network
//! training with Frank-Wolfe"):
//! - the row-wise L1 ball `{W : ||W_i||_1 <= r for every row i}`: per row, `-r sign(g_ij) e_j` at `j = argmax |g_ij|`;
//! - the K-sparse polytope `P(K, t) = conv{v : ||v||_0 <= K, ||v||_inf <= t} = {||v||_inf <= t, ||v||_1 <= K t}`:
//!   `-t sign(g)` on the `K` entries of largest `|g|`, zero elsewhere.
//!
//! Ties (above all the all-zero gradient at the all-zero start, where every vertex is optimal) are broken at random
//! with the caller's seeded generator: that is what breaks the symmetry between hidden units.

use rand::seq::index::sample;
use rand::Rng;

/// Writes the row-wise L1-ball vertex for gradient `g` (`rows x cols`, row-major) into `v`. Only entries with
/// `allowed[k]` (when given) may be chosen; a row with none allowed gets `0`.
pub fn row_l1(
    g: &[f32],
    cols: usize,
    r: f32,
    allowed: Option<&[bool]>,
    rng: &mut impl Rng,
    v: &mut [f32],
) {
    v.iter_mut().for_each(|x| *x = 0.0);
    for (i, (gr, vr)) in g.chunks(cols).zip(v.chunks_mut(cols)).enumerate() {
        let ok = |j: usize| allowed.is_none_or(|a| a[i * cols + j]);
        let mut best: Option<usize> = None;
        let mut ties = 0u32;
        for j in (0..cols).filter(|&j| ok(j)) {
            match best {
                Some(b) if gr[j].abs() < gr[b].abs() => {}
                Some(b) if gr[j].abs() == gr[b].abs() => {
                    // Reservoir sampling keeps a uniform choice among equal magnitudes.
                    ties += 1;
                    if rng.random_range(0..=ties) == 0 {
                        best = Some(j);
                    }
                }
                _ => {
                    best = Some(j);
                    ties = 0;
                }
            }
        }
        if let Some(j) = best {
            let up = if gr[j] == 0.0 {
                rng.random::<bool>()
            } else {
                gr[j] < 0.0
            };
            let s = if up { 1.0 } else { -1.0 };
            vr[j] = s * r;
        }
    }
}

/// Writes the K-sparse-polytope vertex for gradient `g` into `v`: `-t sign(g)` on the `k` largest `|g|` among the
/// allowed entries. Entries with zero gradient that must fill the `k` are drawn at random with random signs.
pub fn k_sparse(
    g: &[f32],
    k: usize,
    t: f32,
    allowed: Option<&[bool]>,
    rng: &mut impl Rng,
    v: &mut [f32],
) {
    v.iter_mut().for_each(|x| *x = 0.0);
    let mut idx: Vec<u32> = (0..g.len() as u32)
        .filter(|&i| g[i as usize] != 0.0 && allowed.is_none_or(|a| a[i as usize]))
        .collect();
    let take = k.min(idx.len());
    if take > 0 && take < idx.len() {
        idx.select_nth_unstable_by(take - 1, |&a, &b| {
            g[b as usize].abs().total_cmp(&g[a as usize].abs())
        });
    }
    for &i in &idx[..take] {
        v[i as usize] = -t * g[i as usize].signum();
    }
    if take < k {
        let zeros: Vec<usize> = (0..g.len())
            .filter(|&i| g[i] == 0.0 && allowed.is_none_or(|a| a[i]))
            .collect();
        let extra = (k - take).min(zeros.len());
        for j in sample(rng, zeros.len(), extra) {
            v[zeros[j]] = if rng.random::<bool>() { t } else { -t };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    proptest! {
        /// Oracle check: no random point of the set does better than the returned vertex.
        #[test]
        fn row_l1_vertex_is_optimal(g in proptest::collection::vec(-1.0f32..1.0, 12), seed: u64) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut v = vec![0.0; 12];
            row_l1(&g, 4, 0.7, None, &mut rng, &mut v);
            for row in v.chunks(4) {
                prop_assert!((row.iter().map(|x| x.abs()).sum::<f32>() - 0.7).abs() < 1e-6);
            }
            for _ in 0..50 {
                let mut w: Vec<f32> = (0..12).map(|_| rand::Rng::random_range(&mut rng, -1.0f32..1.0)).collect();
                for row in w.chunks_mut(4) {
                    let s: f32 = row.iter().map(|x| x.abs()).sum();
                    row.iter_mut().for_each(|x| *x *= 0.7 / s.max(0.7));
                }
                prop_assert!(dot(&g, &v) <= dot(&g, &w) + 1e-5);
            }
        }

        #[test]
        fn k_sparse_vertex_is_optimal(g in proptest::collection::vec(-1.0f32..1.0, 20), k in 1usize..20, seed: u64) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut v = vec![0.0; 20];
            k_sparse(&g, k, 0.5, None, &mut rng, &mut v);
            prop_assert_eq!(v.iter().filter(|x| **x != 0.0).count(), k);
            // The optimum over {|v_i| <= t, ||v||_1 <= K t} is -t times the sum of the K largest |g_i|.
            let mut a: Vec<f32> = g.iter().map(|x| x.abs()).collect();
            a.sort_by(|x, y| y.total_cmp(x));
            let best: f32 = -0.5 * a[..k].iter().sum::<f32>();
            prop_assert!((dot(&g, &v) - best).abs() < 1e-5);
        }
    }

    #[test]
    fn zero_gradient_gives_random_but_reproducible_vertices() {
        let g = vec![0.0; 64];
        let run = |seed| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut v = vec![0.0; 64];
            row_l1(&g, 8, 1.0, None, &mut rng, &mut v);
            v
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let v = run(3);
        // Not all rows pick the same column: the hidden units start different.
        let cols: Vec<usize> = v
            .chunks(8)
            .map(|r| r.iter().position(|x| *x != 0.0).unwrap())
            .collect();
        assert!(cols.iter().any(|&c| c != cols[0]));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut w = vec![0.0; 64];
        k_sparse(&g, 10, 2.0, None, &mut rng, &mut w);
        assert_eq!(w.iter().filter(|x| x.abs() == 2.0).count(), 10);
    }

    #[test]
    fn masks_restrict_the_choice() {
        let g = vec![-5.0, 1.0, 0.5, 0.1];
        let allowed = [false, true, true, false];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut v = vec![0.0; 4];
        row_l1(&g, 4, 1.0, Some(&allowed), &mut rng, &mut v);
        assert_eq!(v, vec![0.0, -1.0, 0.0, 0.0]);
        k_sparse(&g, 3, 1.0, Some(&allowed), &mut rng, &mut v);
        assert_eq!(v, vec![0.0, -1.0, -1.0, 0.0]);
    }
}
