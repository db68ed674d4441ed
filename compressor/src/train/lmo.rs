//! Linear minimisation oracles (LMOs) over the constraint sets of the recipe, restricted to a support.
//!
//! The oracles are `wolfpack-optim`'s ([`L1Ball`] per row, [`KSparsePolytope`]); this module adds what training
//! needs around them: restriction to the allowed entries of a support (the oracle runs on the gathered allowed
//! entries, its vertex is scattered back), and a *random* choice among tied vertices when the gradient vanishes.
//! At the all-zero start every vertex is optimal and `wolfpack-optim` deterministically returns the same one for
//! every row, which would give every hidden unit the same weights forever; drawing the vertex with the caller's
//! seeded generator breaks that symmetry reproducibly.
//!
//! Sets (Pokutta, Spiegel, Zimmer 2020, "Deep neural network training with Frank-Wolfe"):
//! - the row-wise L1 ball `{W : ||W_i||_1 <= r for every row i}`: per row, `-r sign(g_ij) e_j` at `j = argmax |g_ij|`;
//! - the K-sparse polytope `P(K, t) = conv{v : ||v||_0 <= K, ||v||_inf <= t} = {||v||_inf <= t, ||v||_1 <= K t}`:
//!   `-t sign(g)` on the `K` entries of largest `|g|`, zero elsewhere.

use rand::seq::index::sample;
use rand::Rng;
use wolfpack_optim::sets::{KSparsePolytope, L1Ball};
use wolfpack_optim::{ConstraintSet, Vertex};

fn random_sign(rng: &mut impl Rng) -> f32 {
    if rng.random::<bool>() {
        1.0
    } else {
        -1.0
    }
}

/// Writes the row-wise L1-ball vertex for gradient `g` (`rows x cols`, row-major) into `v`. Only entries with
/// `allowed[k]` (when given) may be chosen; a row with none allowed gets `0`; a row whose allowed gradient is all
/// zero gets `±r` at a random allowed entry.
pub fn row_l1(
    g: &[f32],
    cols: usize,
    r: f32,
    allowed: Option<&[bool]>,
    rng: &mut impl Rng,
    v: &mut [f32],
) {
    v.iter_mut().for_each(|x| *x = 0.0);
    let ball = L1Ball::new(r).expect("kappa is checked to lie in [0, 1)");
    let (mut idx, mut gathered, mut vert) = (
        Vec::with_capacity(cols),
        Vec::with_capacity(cols),
        Vertex::new(),
    );
    for (i, (gr, vr)) in g.chunks(cols).zip(v.chunks_mut(cols)).enumerate() {
        idx.clear();
        idx.extend((0..cols).filter(|&j| allowed.is_none_or(|a| a[i * cols + j])));
        if idx.is_empty() {
            continue;
        }
        gathered.clear();
        gathered.extend(idx.iter().map(|&j| gr[j]));
        if gathered.iter().all(|x| *x == 0.0) {
            vr[idx[rng.random_range(0..idx.len())]] = r * random_sign(rng);
            continue;
        }
        ball.lmo(&gathered, &mut vert)
            .expect("the L1 ball's oracle accepts any finite gradient");
        for (k, val) in vert.iter() {
            vr[idx[k]] = val;
        }
    }
}

/// Writes the K-sparse-polytope vertex for gradient `g` into `v`: `-t sign(g)` on the `k` largest `|g|` among the
/// allowed entries with nonzero gradient; if fewer than `k` have one, the rest are drawn at random among the allowed
/// zero-gradient entries, with random signs.
pub fn k_sparse(
    g: &[f32],
    k: usize,
    t: f32,
    allowed: Option<&[bool]>,
    rng: &mut impl Rng,
    v: &mut [f32],
) {
    v.iter_mut().for_each(|x| *x = 0.0);
    let idx: Vec<usize> = (0..g.len())
        .filter(|&i| g[i] != 0.0 && allowed.is_none_or(|a| a[i]))
        .collect();
    let take = k.min(idx.len());
    if take > 0 {
        let gathered: Vec<f32> = idx.iter().map(|&i| g[i]).collect();
        let set = KSparsePolytope::new(take, t)
            .expect("radii from the init scale are finite and positive");
        let mut vert = Vertex::new();
        set.lmo(&gathered, &mut vert)
            .expect("the K-sparse oracle accepts any finite gradient");
        for (j, val) in vert.iter() {
            v[idx[j]] = val;
        }
    }
    if take < k {
        let zeros: Vec<usize> = (0..g.len())
            .filter(|&i| g[i] == 0.0 && allowed.is_none_or(|a| a[i]))
            .collect();
        let extra = (k - take).min(zeros.len());
        for j in sample(rng, zeros.len(), extra) {
            v[zeros[j]] = t * random_sign(rng);
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
