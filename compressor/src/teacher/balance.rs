//! Rescaling a layered teacher so that it lies inside the student's well-posed set.
//!
//! relu is positively homogeneous, so for any positive diagonal `S` the model with `A' = S A S^-1`, `B' = S B`,
//! `b' = S b`, `C' = C S^-1` has the hidden state `S x` and the same output (El Ghaoui et al., "Implicit Deep
//! Learning", 2021, discuss this rescaling for well-posedness). An imported MLP's `A` is strictly block-lower
//! triangular, so scaling unit `i` by `alpha_i` multiplies `A_ik` by `alpha_i / alpha_k`: going down the layers,
//! each unit's scale can bring its row's L1 norm to any `kappa > 0` given the earlier units' scales. The fit then targets the rescaled pre-activations and may reuse earlier layers' states through
//! `A` within its `kappa` bound: with the whole budget, the rescaled teacher itself is a feasible student.

use crate::model::Params;

/// Scales each hidden unit of a layered teacher (blocks of `layers` widths, in order) so that every row of its `A`
/// has L1 norm at most `target`; returns the rescaled teacher and the scale of each hidden unit. Units that read no
/// earlier layer (the first layer) keep scale 1.
pub fn balance(t: &Params, layers: &[usize], target: f32) -> (Params, Vec<f32>) {
    let n = t.h;
    let mut scale = vec![1.0f32; n];
    if layers.iter().sum::<usize>() != n || layers.len() < 2 || target.is_nan() || target <= 0.0 {
        return (t.clone(), scale);
    }
    let mut start = 0;
    for &width in layers {
        // Each unit on its own: its row of A, in units of the already-scaled earlier layers, gets L1 norm `target`
        // (one scale per unit keeps the scales as close to 1 as the bound allows, which Adam's fine-tuning likes).
        for i in start..start + width {
            let norm: f32 = (0..start).map(|k| t.a[i * n + k].abs() / scale[k]).sum();
            if norm > 0.0 && norm.is_finite() {
                scale[i] = target / norm;
            }
        }
        start += width;
    }
    let mut s = t.clone();
    for i in 0..n {
        for k in 0..n {
            s.a[i * n + k] *= scale[i] / scale[k];
        }
        s.b[i * t.p..(i + 1) * t.p]
            .iter_mut()
            .for_each(|v| *v *= scale[i]);
        s.bias_x[i] *= scale[i];
    }
    for row in s.c.chunks_mut(n.max(1)) {
        row.iter_mut().zip(&scale).for_each(|(v, a)| *v /= a);
    }
    (s, scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SolveOptions;
    use rand::{Rng, SeedableRng};

    #[test]
    fn rescaled_teacher_is_well_posed_and_computes_the_same_outputs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (p, layers, q) = (5, [4usize, 3, 2], 3);
        let n: usize = layers.iter().sum();
        let mut t = Params::zeros(p, n, q);
        t.b[..4 * p]
            .iter_mut()
            .for_each(|v| *v = rng.random_range(-2.0..2.0));
        // Layer 2 reads layer 1, layer 3 reads layers 1 and 2 (a residual connection), all with large weights.
        for i in 4..n {
            for k in 0..i.min(if i < 7 { 4 } else { 7 }) {
                t.a[i * n + k] = rng.random_range(-3.0..3.0);
            }
        }
        t.bias_x
            .iter_mut()
            .for_each(|v| *v = rng.random_range(-0.5..0.5));
        t.c.iter_mut()
            .for_each(|v| *v = rng.random_range(-1.0..1.0));
        let (s, scale) = balance(&t, &layers, 0.25);
        assert!(s.kappa() <= 0.25 + 1e-5, "kappa {}", s.kappa());
        assert!(scale[..4].iter().all(|&a| a == 1.0));
        let u: Vec<f32> = (0..20 * p).map(|_| rng.random::<f32>()).collect();
        let exact = SolveOptions {
            tol: 0.0,
            max_iter: 20,
        };
        let (ft, fs) = (t.forward(&u, 20, &exact), s.forward(&u, 20, &exact));
        for (a, b) in ft.y.iter().zip(&fs.y) {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "{a} vs {b}");
        }
        for (k, (xt, xs)) in ft.x.iter().zip(&fs.x).enumerate() {
            assert!((xt * scale[k % n] - xs).abs() <= 1e-4 * xs.abs().max(1.0));
        }
    }

    #[test]
    fn one_layer_is_left_alone() {
        let mut t = Params::zeros(2, 3, 1);
        t.b = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(balance(&t, &[3], 0.5).0, t);
    }
}
