//! How much each kept weight matters, for choosing which ones survive support selection.
//!
//! Magnitude `|w|` (Zhu & Gupta 2017) is the usual score, but it is not invariant under the rescaling symmetry of
//! relu units: multiplying hidden unit `i`'s row of `B` (and `A`) and its bias by `s > 0` and its column of `C` (and
//! `A`) by `1/s` leaves the model's function unchanged yet reorders the magnitudes of `C` across units. The
//! optimal-brain-damage saliency (LeCun, Denker, Solla 1990) `w^2 H_ww / 2`, with the Hessian diagonal estimated by
//! the empirical Fisher `E[g^2]` (as in Theis et al. 2018, "Faster gaze prediction with dense networks and Fisher
//! pruning"), is invariant: `w -> s w` gives `g -> g / s`. Adam already tracks `E[g^2]` as its second moment `v`, so
//! the score `|w| sqrt(v)` (a monotone function of `w^2 v`) costs nothing.

use super::step::OptState;
use crate::model::{Params, Which};
use serde::{Deserialize, Serialize};

/// The score ranking a matrix's kept entries during selection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Saliency {
    /// `|w|`.
    #[default]
    Magnitude,
    /// `|w| sqrt(v)` with Adam's second-moment estimate `v` of the gradient: optimal brain damage with the empirical
    /// Fisher as the Hessian diagonal. Where `v` is zero everywhere (Frank-Wolfe keeps no second moment of the
    /// weights) it ranks like the magnitude.
    Fisher,
}

/// One score per entry of matrix `w` of `p`; larger means keep.
pub fn scores(s: Saliency, p: &Params, opt: &OptState, w: Which) -> Vec<f32> {
    let vals = p.mat(w);
    match s {
        Saliency::Magnitude => vals.iter().map(|x| x.abs()).collect(),
        // The small floor keeps the magnitude order among entries without a second moment yet.
        Saliency::Fisher => vals
            .iter()
            .zip(opt.second.mat(w))
            .map(|(x, v)| x.abs() * (v.sqrt() + 1e-12))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rescaling a hidden unit (row of `B`, column of `C`) leaves its Fisher scores unchanged when the gradients
    /// scale inversely, as they do for a relu unit; magnitudes change.
    #[test]
    fn fisher_scores_are_invariant_under_unit_rescaling() {
        let mut p = Params::zeros(3, 2, 2);
        p.b = vec![0.5, -0.2, 0.1, 0.3, 0.0, -0.4];
        p.c = vec![0.7, -0.1, 0.2, 0.6];
        let mut opt = OptState::new(&p);
        opt.second.b = vec![0.04, 0.01, 0.09, 0.16, 0.25, 0.01];
        opt.second.c = vec![0.01, 0.04, 0.09, 0.01];
        let before = scores(Saliency::Fisher, &p, &opt, Which::C);
        // Unit 0 scaled by s = 4: its B row x4, its C column /4, gradients inversely (v by s^2 or 1/s^2).
        let s = 4.0f32;
        for j in 0..3 {
            p.b[j] *= s;
            opt.second.b[j] /= s * s;
        }
        for k in 0..2 {
            p.c[k * 2] /= s;
            opt.second.c[k * 2] *= s * s;
        }
        let after = scores(Saliency::Fisher, &p, &opt, Which::C);
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} vs {b}");
        }
        assert_ne!(
            scores(Saliency::Magnitude, &p, &opt, Which::C)[0],
            0.7,
            "magnitude moved"
        );
        // Without second moments, Fisher ranks like the magnitude.
        let fresh = OptState::new(&p);
        let (f, m) = (
            scores(Saliency::Fisher, &p, &fresh, Which::B),
            scores(Saliency::Magnitude, &p, &fresh, Which::B),
        );
        let order = |v: &[f32]| {
            let mut i: Vec<usize> = (0..v.len()).collect();
            i.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
            i
        };
        assert_eq!(order(&f), order(&m));
    }
}
