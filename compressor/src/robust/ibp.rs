//! Certified robustness: interval bound propagation (IBP) through the fixed point, and the Lipschitz bound.
//!
//! **Enclosure.** Let `u` range over a box `[l, r]`. For `x = relu(A x + B u + b)`, the interval map
//! `F(lo, hi) = (relu(A+ lo + A- hi + B+ l + B- r + b), relu(A- lo + A+ hi + B- l + B+ r + b))` (see
//! [`super::lift`]) is monotone and maps any enclosure `lo <= x* <= hi` of a fixed point `x*` to another one. It is
//! a `kappa`-contraction in the max norm when every row of `A` has L1 norm at most `kappa < 1`, because the rows of
//! `[A+, A-]` have the same L1 norms. Started from the safe box `lo = 0`, `hi = R 1` with
//! `R = max_i (B+ r + B- l + b)_i^+ / (1 - kappa)` (every fixed point satisfies `||x*||_inf <= R` since
//! `||x*||_inf <= kappa ||x*||_inf + ||(B u + b)^+||_inf`), the iterates shrink monotonically and each one is an
//! enclosure, so stopping at any iteration is sound. We update in place (Gauss-Seidel order), which keeps every
//! intermediate vector an enclosure and converges faster, and compute in f64.
//!
//! **Certificate.** Input `u` with label `t` is certified at radius `eps` (L-infinity) if for every class `j != t`
//! the lower bound of the margin `y_t - y_j = (C_t - C_j) x + (D_t - D_j) u + c_t - c_j` over the enclosure and the
//! input box is positive. Bounding the margins directly through the rows `C_t - C_j` is tighter than bounding each
//! logit on its own (Gowal et al. 2018, section 3).
//!
//! **Lipschitz bound.** For two inputs, `||x - x'||_inf <= ||B||_inf ||u - u'||_inf / (1 - kappa)` (the same
//! contraction argument), so the margin moves by at most `L_tj eps` with
//! `L_tj = ||C_t - C_j||_1 ||B||_inf / (1 - kappa) + ||D_t - D_j||_1` (`||B||_inf` is the largest row L1 norm).
//! It certifies `u` when `margin_j(u) > L_tj eps` for every `j != t`. It ignores the box and the ReLU's dead units,
//! which is why IBP is usually much tighter on trained models.

use rayon::prelude::*;

use super::RobustError;
use crate::data::Dataset;
use crate::model::{loss::argmax, Params, SolveOptions};

/// A matrix as rows of `(column, value)` in f64, split into positive and negative parts.
#[derive(Clone, Debug)]
struct SignedRows {
    pos: Vec<Vec<(usize, f64)>>,
    neg: Vec<Vec<(usize, f64)>>,
}

impl SignedRows {
    fn new(m: &[f32], rows: usize, cols: usize) -> SignedRows {
        let mut pos = vec![Vec::new(); rows];
        let mut neg = vec![Vec::new(); rows];
        for i in 0..rows {
            for j in 0..cols {
                let v = f64::from(m[i * cols + j]);
                if v > 0.0 {
                    pos[i].push((j, v));
                } else if v < 0.0 {
                    neg[i].push((j, v));
                }
            }
        }
        SignedRows { pos, neg }
    }

    /// `(min, max)` of row `i` times `z` over the box `lo <= z <= hi`.
    #[inline]
    fn range(&self, i: usize, lo: &[f64], hi: &[f64]) -> (f64, f64) {
        let (mut a, mut b) = (0.0, 0.0);
        for &(j, v) in &self.pos[i] {
            a += v * lo[j];
            b += v * hi[j];
        }
        for &(j, v) in &self.neg[i] {
            a += v * hi[j];
            b += v * lo[j];
        }
        (a, b)
    }
}

/// A model prepared for interval bounds: sparse signed rows in f64, its contraction factor, and the rows of `C`
/// and `D` for the margins.
#[derive(Clone, Debug)]
pub struct Bounder {
    p: usize,
    h: usize,
    q: usize,
    a: SignedRows,
    b: SignedRows,
    bias_x: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
    bias_y: Vec<f64>,
    /// Largest row L1 norm of `A`, computed in f64.
    pub kappa: f64,
    /// Largest row L1 norm of `B` (`||B||_inf`).
    pub b_norm: f64,
    /// Stopping rule of the enclosure iteration (any stop is sound; `tol` only trades time for tightness).
    pub solve: SolveOptions,
}

/// The interval enclosure `lo <= x <= hi` of every fixed point produced by inputs in a box.
#[derive(Clone, Debug, PartialEq)]
pub struct Enclosure {
    /// Lower bounds of the hidden state.
    pub lo: Vec<f64>,
    /// Upper bounds of the hidden state.
    pub hi: Vec<f64>,
    /// Sweeps done.
    pub iterations: usize,
}

impl Bounder {
    /// Prepares `params`; errors unless the model is well-posed (`kappa < 1`), the premise of every bound here.
    pub fn new(params: &Params) -> Result<Bounder, RobustError> {
        let (p, h, q) = (params.p, params.h, params.q);
        let a = SignedRows::new(&params.a, h, h);
        let row_l1 = |m: &[f32], cols: usize| -> f64 {
            m.chunks(cols.max(1))
                .map(|r| r.iter().map(|v| f64::from(v.abs())).sum::<f64>())
                .fold(0.0, f64::max)
        };
        let kappa = row_l1(&params.a, h);
        if kappa.is_nan() || kappa >= 1.0 {
            return Err(RobustError::Model(format!(
                "the largest row L1 norm of A is {kappa:.4} >= 1: the model is not known to be well-posed, so no bound holds"
            )));
        }
        let all_finite = params
            .tensors()
            .iter()
            .all(|t| t.iter().all(|v| v.is_finite()));
        if !all_finite {
            return Err(RobustError::Model("the weights are not all finite".into()));
        }
        let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
        Ok(Bounder {
            p,
            h,
            q,
            a,
            b: SignedRows::new(&params.b, h, p),
            bias_x: widen(&params.bias_x),
            c: widen(&params.c),
            d: widen(&params.d),
            bias_y: widen(&params.bias_y),
            kappa,
            b_norm: row_l1(&params.b, p),
            solve: SolveOptions {
                tol: 1e-6,
                max_iter: 200,
            },
        })
    }

    /// The enclosure of every fixed point for inputs in the box `[l, r]` (see the module documentation).
    pub fn enclose(&self, l: &[f64], r: &[f64]) -> Enclosure {
        let h = self.h;
        // Input part of the pre-activation, bounded once: [vl, vr] contains B u + b for all u in [l, r].
        let (mut vl, mut vr) = (vec![0.0; h], vec![0.0; h]);
        for i in 0..h {
            let (a, b) = self.b.range(i, l, r);
            vl[i] = a + self.bias_x[i];
            vr[i] = b + self.bias_x[i];
        }
        let big = vr.iter().fold(0.0f64, |m, v| m.max(*v)) / (1.0 - self.kappa);
        let (mut lo, mut hi) = (vec![0.0; h], vec![big; h]);
        let has_a = self.a.pos.iter().chain(&self.a.neg).any(|r| !r.is_empty());
        let mut iterations = 0;
        loop {
            let mut change = 0.0f64;
            for i in 0..h {
                let (a, b) = self.a.range(i, &lo, &hi);
                // Monotone: never loosen (guards against rounding undoing the shrinking).
                let nl = (a + vl[i]).max(0.0).max(lo[i]);
                let nh = (b + vr[i]).max(0.0).min(hi[i]);
                change = change.max(nl - lo[i]).max(hi[i] - nh);
                lo[i] = nl;
                hi[i] = nh;
            }
            iterations += 1;
            if !has_a || change <= f64::from(self.solve.tol) || iterations >= self.solve.max_iter {
                break;
            }
        }
        Enclosure { lo, hi, iterations }
    }

    /// Lower bounds of the margins `y_t - y_j` for all `j` (`+inf` at `j = t`) over the enclosure of the box.
    pub fn margin_bounds(&self, enc: &Enclosure, l: &[f64], r: &[f64], t: usize) -> Vec<f64> {
        let (p, h, q) = (self.p, self.h, self.q);
        (0..q)
            .map(|j| {
                if j == t {
                    return f64::INFINITY;
                }
                let mut s = self.bias_y[t] - self.bias_y[j];
                for k in 0..h {
                    let w = self.c[t * h + k] - self.c[j * h + k];
                    s += if w > 0.0 {
                        w * enc.lo[k]
                    } else {
                        w * enc.hi[k]
                    };
                }
                for k in 0..p {
                    let w = self.d[t * p + k] - self.d[j * p + k];
                    s += if w > 0.0 { w * l[k] } else { w * r[k] };
                }
                s
            })
            .collect()
    }

    /// The L-infinity box `[u - eps, u + eps] ∩ [0, 1]` in f64.
    pub fn linf_box(u: &[f32], eps: f32) -> (Vec<f64>, Vec<f64>) {
        let e = f64::from(eps);
        u.iter()
            .map(|&v| {
                let v = f64::from(v);
                ((v - e).clamp(0.0, 1.0), (v + e).clamp(0.0, 1.0))
            })
            .unzip()
    }

    /// Whether IBP proves that every input of the L-infinity ball of radius `eps` (∩ the box) around `u` is classed
    /// `t`.
    pub fn certify(&self, u: &[f32], t: usize, eps: f32) -> bool {
        let (l, r) = Bounder::linf_box(u, eps);
        let enc = self.enclose(&l, &r);
        self.margin_bounds(&enc, &l, &r, t).iter().all(|&m| m > 0.0)
    }

    /// Whether the Lipschitz bound proves the same, from the clean outputs `y` at `u`.
    pub fn certify_lipschitz(&self, y: &[f32], t: usize, eps: f32) -> bool {
        let (h, p) = (self.h, self.p);
        let gain = self.b_norm / (1.0 - self.kappa);
        (0..self.q).filter(|&j| j != t).all(|j| {
            let cn: f64 = (0..h)
                .map(|k| (self.c[t * h + k] - self.c[j * h + k]).abs())
                .sum();
            let dn: f64 = (0..p)
                .map(|k| (self.d[t * p + k] - self.d[j * p + k]).abs())
                .sum();
            f64::from(y[t]) - f64::from(y[j]) > (cn * gain + dn) * f64::from(eps)
        })
    }
}

/// Certified accuracies at one radius.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Certified {
    /// The L-infinity radius.
    pub eps: f32,
    /// Fraction of inputs correctly classified *and* proved robust by interval bounds through the fixed point.
    pub accuracy: f64,
    /// The same with the Lipschitz bound.
    pub lipschitz_accuracy: f64,
}

/// Clean accuracy (training code's forward pass) and certified accuracies at each `eps` on the first `limit`
/// examples of `data`, in parallel over examples.
pub fn certify_dataset(
    params: &Params,
    data: &Dataset,
    eps: &[f32],
    limit: Option<usize>,
) -> Result<(f64, usize, Vec<Certified>), RobustError> {
    if data.p != params.p {
        return Err(RobustError::Data(format!(
            "the model takes {} inputs but the data has {} features",
            params.p, data.p
        )));
    }
    if let Some(e) = eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(RobustError::Config(format!(
            "eps = {e} must be finite and >= 0"
        )));
    }
    let bounder = Bounder::new(params)?;
    let n = limit.unwrap_or(data.n).min(data.n);
    let p = data.p;
    let y = params
        .forward(&data.x[..n * p], n, &SolveOptions::default())
        .y;
    let per: Vec<(bool, Vec<(bool, bool)>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let u = &data.x[i * p..(i + 1) * p];
            let yi = &y[i * params.q..(i + 1) * params.q];
            let t = data.y[i] as usize;
            let right = argmax(yi) as usize == t;
            let per_eps = eps
                .iter()
                .map(|&e| {
                    (
                        right && bounder.certify(u, t, e),
                        right && bounder.certify_lipschitz(yi, t, e),
                    )
                })
                .collect();
            (right, per_eps)
        })
        .collect();
    let frac = |c: usize| c as f64 / n.max(1) as f64;
    let clean = frac(per.iter().filter(|r| r.0).count());
    let certified = eps
        .iter()
        .enumerate()
        .map(|(k, &e)| Certified {
            eps: e,
            accuracy: frac(per.iter().filter(|r| r.1[k].0).count()),
            lipschitz_accuracy: frac(per.iter().filter(|r| r.1[k].1).count()),
        })
        .collect();
    Ok((clean, n, certified))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(p: usize, h: usize, q: usize, kappa: f32, seed: u64) -> Params {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut m = Params::zeros(p, h, q);
        for t in m.tensors_mut() {
            t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
        }
        crate::train::project::rows_onto_l1_ball(&mut m.a, h, kappa);
        m
    }

    #[test]
    fn enclosure_contains_sampled_fixed_points_and_shrinks_to_a_point() {
        let m = random(4, 6, 3, 0.8, 5);
        let bd = Bounder::new(&m).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let opts = SolveOptions {
            tol: 1e-7,
            max_iter: 1000,
        };
        for _ in 0..20 {
            let u: Vec<f32> = (0..4).map(|_| rng.random_range(0.0..1.0)).collect();
            let (l, r) = Bounder::linf_box(&u, 0.1);
            let enc = bd.enclose(&l, &r);
            for _ in 0..50 {
                let s: Vec<f32> = l
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| rng.random_range(*a as f32..=*b as f32))
                    .collect();
                let x = m.forward(&s, 1, &opts).x;
                for k in 0..6 {
                    let xk = f64::from(x[k]);
                    assert!(enc.lo[k] - 1e-5 <= xk && xk <= enc.hi[k] + 1e-5);
                }
            }
            // A degenerate box encloses exactly the fixed point.
            let (l0, r0) = Bounder::linf_box(&u, 0.0);
            let e0 = bd.enclose(&l0, &r0);
            let x = m.forward(&u, 1, &opts).x;
            for k in 0..6 {
                assert!((e0.lo[k] - f64::from(x[k])).abs() < 1e-4);
                assert!((e0.hi[k] - f64::from(x[k])).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn ill_posed_model_is_refused() {
        let mut m = random(2, 2, 2, 0.5, 1);
        m.a = vec![0.7, 0.4, 0.0, 0.1];
        assert!(matches!(Bounder::new(&m), Err(RobustError::Model(_))));
    }

    #[test]
    fn certified_radius_zero_is_clean_accuracy_and_shrinks_with_eps() {
        let data = crate::data::digits::load().unwrap().test;
        let mut m = random(data.p, 8, data.n_classes, 0.5, 2);
        m.b.iter_mut().for_each(|v| *v *= 0.1);
        let (clean, n, cert) = certify_dataset(&m, &data, &[0.0, 0.01, 0.1], Some(100)).unwrap();
        assert_eq!(n, 100);
        assert!((cert[0].accuracy - clean).abs() < 1e-12);
        assert!(cert[1].accuracy <= cert[0].accuracy && cert[2].accuracy <= cert[1].accuracy);
        assert!(cert.iter().all(|c| c.lipschitz_accuracy <= clean));
    }
}
