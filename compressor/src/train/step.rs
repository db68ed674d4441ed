//! The two update rules the recipe can use, both restricted to a [`Support`] and both keeping `A` in the row-wise L1
//! ball of radius `kappa` (so every intermediate model is well-posed):
//!
//! - stochastic Frank-Wolfe with momentum (Pokutta, Spiegel, Zimmer 2020): `m <- rho m + (1 - rho) g`,
//!   `v = LMO(m)`, `W <- W + gamma (v - W)` with the gradient-rescaled step `gamma = min(1, lr ||m|| / ||v - W||)`.
//!   `A` uses the row-wise L1 ball of radius `kappa`; `B`, `C`, `D` K-sparse polytopes. Iterates stay inside the
//!   sets as convex combinations of vertices.
//! - Adam (Kingma & Ba 2015) followed by the Euclidean projection of `A`'s rows onto the L1 ball.
//!
//! Biases are unconstrained and always take Adam steps.

use super::lmo;
use super::project::rows_onto_l1_ball;
use super::support::Support;
use crate::model::{Params, Which};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Adam's moment estimates, or Frank-Wolfe's momentum (in `first`), with the step counter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptState {
    /// First moment (Adam) or momentum (Frank-Wolfe).
    pub first: Params,
    /// Second moment (Adam; biases only under Frank-Wolfe).
    pub second: Params,
    /// Steps taken.
    pub t: u64,
}

impl OptState {
    /// A fresh state for a model shaped like `p`.
    pub fn new(p: &Params) -> OptState {
        OptState {
            first: Params::zeros(p.p, p.h, p.q),
            second: Params::zeros(p.p, p.h, p.q),
            t: 0,
        }
    }
}

/// Radii and sizes of the Frank-Wolfe sets, one per matrix in [`Which::ALL`] order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FwSets {
    /// Row-wise L1 radius of `A` (`kappa`).
    pub kappa: f32,
    /// L-infinity radius `t` of each K-sparse polytope (unused for `A`).
    pub tau: [f32; 4],
    /// Sparsity `K` of each K-sparse polytope (unused for `A`).
    pub k: [usize; 4],
}

impl FwSets {
    /// Radii from the scale of a default initialisation (Pokutta et al. 2020): the polytope's L2 diameter `2 t sqrt(K)`
    /// is `2 width` times the expected L2 norm of a Kaiming-uniform init (entries `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`,
    /// so `E||W||_2 ~ sqrt(rows cols / (3 fan_in)) = sqrt(rows / 3)`), and `K` is `k_frac` of the entries.
    pub fn from_init(p: &Params, kappa: f32, width: f32, k_frac: f32) -> FwSets {
        let mut tau = [0.0; 4];
        let mut k = [0; 4];
        for w in Which::ALL {
            let (r, c) = p.shape(w);
            let kw = ((r * c) as f32 * k_frac).ceil().max(1.0) as usize;
            k[w as usize] = kw;
            tau[w as usize] = width * (r as f32 / 3.0).sqrt() / (kw as f32).sqrt();
        }
        FwSets { kappa, tau, k }
    }
}

const B1: f32 = 0.9;
const B2: f32 = 0.999;
const EPS: f32 = 1e-8;

fn adam_tensor(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    lr: f32,
    t: u64,
    mask: Option<&[bool]>,
) {
    let c1 = 1.0 - B1.powi(t as i32);
    let c2 = 1.0 - B2.powi(t as i32);
    let step = lr * c2.sqrt() / c1;
    for k in 0..w.len() {
        if mask.is_some_and(|mk| !mk[k]) {
            continue;
        }
        m[k] = B1 * m[k] + (1.0 - B1) * g[k];
        v[k] = B2 * v[k] + (1.0 - B2) * g[k] * g[k];
        w[k] -= step * m[k] / (v[k].sqrt() + EPS * c2.sqrt());
    }
}

/// One Adam step on every tensor (weights restricted to `support`), then `A` projected onto its ball.
///
/// `weight_decay` is AdamW's decoupled decay (Loshchilov & Hutter 2019): before the Adam step every weight of `A`..`D`
/// shrinks by the factor `1 - lr weight_decay` (biases do not decay).
pub fn adam(
    p: &mut Params,
    g: &Params,
    st: &mut OptState,
    lr: f32,
    weight_decay: f32,
    kappa: f32,
    support: &Support,
) {
    st.t += 1;
    let t = st.t;
    let (h, gt, mt, vt) = (
        p.h,
        g.tensors(),
        st.first.tensors_mut(),
        st.second.tensors_mut(),
    );
    for (i, ((w, (gi, mi)), vi)) in p
        .tensors_mut()
        .into_iter()
        .zip(gt.into_iter().zip(mt))
        .zip(vt)
        .enumerate()
    {
        let mask = (i < 4).then(|| support.masks[i].as_slice());
        if i < 4 && weight_decay > 0.0 {
            let keep = 1.0 - lr * weight_decay;
            w.iter_mut().for_each(|x| *x *= keep);
        }
        adam_tensor(w, gi, mi, vi, lr, t, mask);
    }
    rows_onto_l1_ball(&mut p.a, h, kappa);
}

/// One stochastic Frank-Wolfe step with momentum `rho` on `A`..`D` (vertices restricted to `support`) and an Adam
/// step of size `lr_bias` on the biases.
#[allow(clippy::too_many_arguments)]
pub fn frank_wolfe(
    p: &mut Params,
    g: &Params,
    st: &mut OptState,
    lr: f32,
    rho: f32,
    lr_bias: f32,
    sets: &FwSets,
    support: &Support,
    rng: &mut impl Rng,
) {
    st.t += 1;
    let t = st.t;
    for w in Which::ALL {
        let mask = support.mask(w);
        if !mask.iter().any(|b| *b) {
            continue;
        }
        let (_, cols) = p.shape(w);
        let m = st.first.mat_mut(w);
        for (mi, gi) in m.iter_mut().zip(g.mat(w)) {
            *mi = rho * *mi + (1.0 - rho) * gi;
        }
        let m = st.first.mat(w);
        let mut v = vec![0.0f32; m.len()];
        match w {
            Which::A => lmo::row_l1(m, cols, sets.kappa, Some(mask), rng, &mut v),
            _ => lmo::k_sparse(
                m,
                sets.k[w as usize],
                sets.tau[w as usize],
                Some(mask),
                rng,
                &mut v,
            ),
        }
        let x = p.mat_mut(w);
        let dist: f32 = v
            .iter()
            .zip(x.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
        let mnorm: f32 = m.iter().map(|a| a * a).sum::<f32>().sqrt();
        // At the all-zero start the momentum is zero: take a full-size first step toward the random vertex.
        let gamma = if dist == 0.0 {
            0.0
        } else if mnorm == 0.0 {
            lr.min(1.0)
        } else {
            (lr * mnorm / dist).min(1.0)
        };
        for (xi, vi) in x.iter_mut().zip(&v) {
            *xi += gamma * (vi - *xi);
        }
    }
    let (gt, mt, vt) = (g.tensors(), st.first.tensors_mut(), st.second.tensors_mut());
    for (i, ((w, (gi, mi)), vi)) in p
        .tensors_mut()
        .into_iter()
        .zip(gt.into_iter().zip(mt))
        .zip(vt)
        .enumerate()
    {
        if i >= 4 {
            adam_tensor(w, gi, mi, vi, lr_bias, t, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn quad_grad(p: &Params, target: &Params) -> Params {
        let mut g = p.clone();
        for (gi, ti) in g.tensors_mut().into_iter().zip(target.tensors()) {
            gi.iter_mut().zip(ti).for_each(|(a, b)| *a -= b);
        }
        g
    }

    /// On the quadratic `|W - T|^2 / 2` both rules approach a feasible target and keep `A` well-posed.
    #[test]
    fn both_rules_descend_and_stay_feasible() {
        let mut target = Params::zeros(6, 4, 3);
        target.a = vec![0.05; 16];
        target.b = (0..24)
            .map(|i| if i % 5 == 0 { 0.3 } else { 0.0 })
            .collect();
        target.c = vec![-0.2; 12];
        target.bias_x = vec![0.1; 4];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let dist = |p: &Params| -> f32 {
            p.tensors()
                .iter()
                .zip(target.tensors())
                .flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(x, y)| (x - y).powi(2)))
                .sum()
        };
        for fw in [false, true] {
            let mut p = Params::zeros(6, 4, 3);
            let support = Support::full(&p, true);
            let sets = FwSets {
                kappa: 0.5,
                tau: [0.0, 0.5, 0.5, 0.5],
                k: [0, 24, 12, 18],
            };
            let mut st = OptState::new(&p);
            let d0 = dist(&p);
            for _ in 0..400 {
                let g = quad_grad(&p, &target);
                if fw {
                    frank_wolfe(
                        &mut p, &g, &mut st, 0.05, 0.9, 0.01, &sets, &support, &mut rng,
                    );
                } else {
                    adam(&mut p, &g, &mut st, 0.01, 0.0, 0.5, &support);
                }
                assert!(p.kappa() <= 0.5 + 1e-6);
            }
            assert!(dist(&p) < 0.1 * d0, "fw={fw}: {} vs {d0}", dist(&p));
        }
    }

    #[test]
    fn masked_entries_never_move() {
        let mut p = Params::zeros(3, 2, 2);
        let mut support = Support::full(&p, true);
        support.masks[1] = vec![true, false, false, false, false, true];
        let mut g = p.clone();
        g.b = vec![1.0; 6];
        let mut st = OptState::new(&p);
        adam(&mut p, &g, &mut st, 0.1, 0.0, 0.5, &support);
        let sets = FwSets::from_init(&p, 0.5, 1.0, 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        frank_wolfe(
            &mut p, &g, &mut st, 0.1, 0.9, 0.1, &sets, &support, &mut rng,
        );
        assert!(p.b[1..5].iter().all(|v| *v == 0.0) && p.b[0] != 0.0 && p.b[5] != 0.0);
    }
}
