//! Per-feature input standardisation while training, folded exactly into the first layer when the model is stored.
//!
//! Training sees `z = (u - m) / s` per feature (`m`, `s`: the training set's per-feature mean and standard
//! deviation, LeCun, Bottou, Orr, Müller 1998, "Efficient BackProp", section 4.3). The model trained on `z`,
//! `x = relu(A x + B z + b)`, `y = C x + D z + c`, is the same function of `u` as the model with
//!
//! ```text
//! B' = B diag(1/s),  b' = b - B' m,    D' = D diag(1/s),  c' = c - D' m,
//! ```
//!
//! so the stored model keeps the file's scalar preprocessing and gains no weights (`1/s > 0` keeps every zero a zero
//! and every nonzero a nonzero). The point for sparse training is the ranking: magnitude selection of `B` then
//! compares `|B_ij| = |B'_ij| s_j`, the change of the pre-activation per standard deviation of feature `j`, i.e.
//! the output sensitivity, instead of the raw `|B'_ij|` which favours weights on features of small spread. Adam's
//! steps and Frank-Wolfe's K-sparse vertices likewise become comparable across features.

use crate::data::Dataset;
use crate::model::Params;

/// Per-feature mean and inverse standard deviation of a training set.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardise {
    /// Mean `m_j` of each feature.
    pub mean: Vec<f32>,
    /// `1 / s_j` of each feature, `s_j` floored at a fraction of the mean standard deviation.
    pub inv_std: Vec<f32>,
}

impl Standardise {
    /// The statistics of `data` (two-pass in f64). `floor` is the smallest `s_j` used, as a fraction of the mean
    /// standard deviation over the features: a near-constant feature (a background pixel lit in a handful of images)
    /// would otherwise turn into huge standardised values that the model can use to memorise those images. Features
    /// that never vary get the floor (and every `s_j` is 1 when all features are constant).
    pub fn fit(data: &Dataset, floor: f32) -> Standardise {
        let (n, p) = (data.n.max(1) as f64, data.p);
        let mut mean = vec![0.0f64; p];
        for i in 0..data.n {
            mean.iter_mut()
                .zip(data.row(i))
                .for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; p];
        for i in 0..data.n {
            for ((s, &v), m) in var.iter_mut().zip(data.row(i)).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        let std: Vec<f64> = var.iter().map(|v| (v / n).sqrt()).collect();
        let mean_std = std.iter().sum::<f64>() / p.max(1) as f64;
        let floor = if mean_std > 0.0 {
            f64::from(floor) * mean_std
        } else {
            1.0
        };
        Standardise {
            mean: mean.iter().map(|&m| m as f32).collect(),
            inv_std: std.iter().map(|&s| (1.0 / s.max(floor)) as f32).collect(),
        }
    }

    /// Replaces each row of `rows` (row-major, `p` features each) by its standardised values `(u - m) / s`.
    pub fn apply(&self, rows: &mut [f32]) {
        let p = self.mean.len();
        for row in rows.chunks_mut(p.max(1)) {
            for ((v, m), is) in row.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                *v = (*v - m) * is;
            }
        }
    }

    /// The model on raw inputs `u` equal to `params` on standardised inputs: `B' = B diag(1/s)`, `b' = b - B' m`,
    /// and the same for `D` and `c` (`A`, `C` unchanged).
    pub fn fold(&self, params: &Params) -> Params {
        let mut out = params.clone();
        let p = params.p;
        let fold_rows = |w: &mut [f32], bias: &mut [f32]| {
            for (row, bias) in w.chunks_mut(p.max(1)).zip(bias) {
                let mut shift = 0.0f64;
                for ((v, m), is) in row.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                    *v *= is;
                    shift += f64::from(*v) * f64::from(*m);
                }
                *bias -= shift as f32;
            }
        };
        fold_rows(&mut out.b, &mut out.bias_x);
        fold_rows(&mut out.d, &mut out.bias_y);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Preprocess;
    use crate::model::{SolveOptions, Which};
    use rand::{Rng, SeedableRng};

    fn dataset(n: usize, p: usize, rng: &mut impl Rng) -> Dataset {
        // Features of very different spreads, one constant: the floor and the fold both matter.
        let x = (0..n * p)
            .map(|k| match k % p {
                0 => 0.25,
                j => rng.random_range(0.0..1.0f32) / j as f32,
            })
            .collect();
        Dataset {
            n,
            p,
            x,
            y: (0..n as u32).map(|i| i % 3).collect(),
            n_classes: 3,
            labels: vec!["a".into(), "b".into(), "c".into()],
            preprocess: Preprocess::BYTE,
        }
    }

    fn random_params(p: usize, h: usize, q: usize, rng: &mut impl Rng) -> Params {
        let mut params = Params::zeros(p, h, q);
        for t in params.tensors_mut() {
            // About half the entries zero, as in a sparse model.
            t.iter_mut().for_each(|v| {
                if rng.random_bool(0.5) {
                    *v = rng.random_range(-1.0..1.0);
                }
            });
        }
        // Rows of A within the L1 ball of radius 0.5: a contraction.
        let a = &mut params.a;
        for row in a.chunks_mut(h) {
            let l1: f32 = row.iter().map(|v| v.abs()).sum();
            if l1 > 0.5 {
                row.iter_mut().for_each(|v| *v *= 0.5 / l1);
            }
        }
        params
    }

    #[test]
    fn standardised_training_data_has_zero_mean_and_unit_spread() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let d = dataset(500, 6, &mut rng);
        let st = Standardise::fit(&d, 0.1);
        let mut z = d.x.clone();
        st.apply(&mut z);
        for j in 0..d.p {
            let col: Vec<f64> = z.chunks(d.p).map(|r| f64::from(r[j])).collect();
            let mean = col.iter().sum::<f64>() / d.n as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.n as f64;
            assert!(mean.abs() < 1e-5, "feature {j}: mean {mean}");
            if j == 0 {
                // The constant feature is centred, not blown up.
                assert!(var < 1e-10, "constant feature: variance {var}");
                assert!(st.inv_std[0].is_finite());
            } else {
                assert!((var - 1.0).abs() < 1e-4, "feature {j}: variance {var}");
            }
        }
    }

    #[test]
    fn folded_model_on_raw_inputs_equals_model_on_standardised_inputs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (p, h, q, m) = (7, 9, 4, 40);
        let d = dataset(m, p, &mut rng);
        let st = Standardise::fit(&d, 0.1);
        let params = random_params(p, h, q, &mut rng);
        let folded = st.fold(&params);
        // Sparsity pattern and A, C unchanged.
        for w in Which::ALL {
            let same = params
                .mat(w)
                .iter()
                .zip(folded.mat(w))
                .all(|(a, b)| (*a == 0.0) == (*b == 0.0));
            assert!(same, "{w:?}: zero pattern changed");
        }
        assert_eq!(params.a, folded.a);
        assert_eq!(params.c, folded.c);
        let opts = SolveOptions {
            tol: 1e-7,
            max_iter: 200,
        };
        let mut z = d.x.clone();
        st.apply(&mut z);
        let want = params.forward(&z, m, &opts).y;
        let got = folded.forward(&d.x, m, &opts).y;
        let scale = want.iter().fold(1.0f32, |a, v| a.max(v.abs()));
        for (k, (a, b)) in want.iter().zip(&got).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "output {k}: {a} on standardised inputs, {b} folded"
            );
        }
    }
}
