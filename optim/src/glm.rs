//! Generalised linear models on dense row-major data: losses, the [`Glm`] objective, and a
//! small labelled-CSV reader.

use crate::error::{check_len, check_param, OptimError, Result};
use crate::problem::{FiniteSumGlm, Objective, StochasticObjective};
use crate::{linalg, Float};

/// A scalar loss `phi(z; y)` of the linear prediction `z = a . w` and the target `y`.
pub trait Loss<T: Float> {
    /// `phi(z; y)`.
    fn value(&self, z: T, y: T) -> T;
    /// `d phi / d z`.
    fn deriv(&self, z: T, y: T) -> T;
    /// An upper bound on `d^2 phi / d z^2` (smoothness of the loss in `z`).
    fn curvature_bound(&self) -> T;
}

/// Logistic loss `phi(z; y) = log(1 + exp(-y z))` for `y in {-1, +1}`; equivalently the
/// binary cross-entropy with label `b = (1 + y)/2`. Curvature at most `1/4`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Logistic;

impl<T: Float> Loss<T> for Logistic {
    #[inline]
    fn value(&self, z: T, y: T) -> T {
        // log(1 + e^{-m}) = max(-m, 0) + log1p(e^{-|m|}), stable for all m.
        let m = y * z;
        (-m).max(T::zero()) + (-m.abs()).exp().ln_1p()
    }
    #[inline]
    fn deriv(&self, z: T, y: T) -> T {
        // -y sigma(-y z), computed without overflow.
        let m = y * z;
        let s = if m >= T::zero() {
            let e = (-m).exp();
            e / (T::one() + e)
        } else {
            T::one() / (T::one() + m.exp())
        };
        -y * s
    }
    fn curvature_bound(&self) -> T {
        T::c(0.25)
    }
}

/// Squared loss `phi(z; y) = (z - y)^2 / 2` (least squares). Curvature 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Squared;

impl<T: Float> Loss<T> for Squared {
    #[inline]
    fn value(&self, z: T, y: T) -> T {
        (z - y) * (z - y) / T::c(2.0)
    }
    #[inline]
    fn deriv(&self, z: T, y: T) -> T {
        z - y
    }
    fn curvature_bound(&self) -> T {
        T::one()
    }
}

/// `f(w) = (1/N) sum_i phi(a_i . w; y_i)` over a dense row-major `N x d` matrix `A`.
///
/// Implements [`Objective`] (full gradient `(1/N) A^T phi'(A w)` in one pass over `A`),
/// [`StochasticObjective`] and [`FiniteSumGlm`].
#[derive(Debug, Clone, Copy)]
pub struct Glm<'a, T, L> {
    a: &'a [T],
    y: &'a [T],
    n: usize,
    d: usize,
    loss: L,
}

impl<'a, T: Float, L: Loss<T>> Glm<'a, T, L> {
    /// Wraps data `a` (`n x d`, row-major) and targets `y` (length `n`).
    pub fn new(a: &'a [T], y: &'a [T], d: usize, loss: L) -> Result<Self> {
        check_param(d > 0, "d", "must be positive")?;
        let n = y.len();
        check_len("data matrix", n * d, a.len())?;
        check_param(n > 0, "y", "need at least one sample")?;
        if !linalg::all_finite(a) || !linalg::all_finite(y) {
            return Err(OptimError::NotFinite { what: "data" });
        }
        Ok(Self { a, y, n, d, loss })
    }

    /// Upper bound on the Lipschitz constant of `grad f`:
    /// `curvature_bound * sigma_max(A)^2 / N`, with `sigma_max(A)^2` estimated by 50 power
    /// iterations on `A^T A` and inflated by 1% (power iteration approaches from below).
    pub fn lipschitz(&self) -> T {
        let mut v = vec![T::one() / T::from_usize(self.d).sqrt(); self.d];
        let mut av = vec![T::zero(); self.n];
        let mut s = T::zero();
        for _ in 0..50 {
            linalg::gemv(self.a, self.n, self.d, &v, &mut av);
            linalg::gemv_t(self.a, self.n, self.d, &av, &mut v);
            s = linalg::norm2(&v);
            if s == T::zero() {
                break;
            }
            linalg::scale(T::one() / s, &mut v);
        }
        self.loss.curvature_bound() * s * T::c(1.01) / T::from_usize(self.n)
    }

    /// The targets.
    pub fn targets(&self) -> &[T] {
        self.y
    }
    /// The data matrix (row-major).
    pub fn data(&self) -> &[T] {
        self.a
    }
}

impl<T: Float, L: Loss<T>> Objective<T> for Glm<'_, T, L> {
    fn dim(&self) -> usize {
        self.d
    }
    fn value(&self, w: &[T]) -> T {
        let mut f = T::zero();
        for (row, &y) in self.a.chunks_exact(self.d).zip(self.y) {
            f += self.loss.value(linalg::dot(row, w), y);
        }
        f / T::from_usize(self.n)
    }
    fn value_grad(&self, w: &[T], grad: &mut [T]) -> T {
        grad.iter_mut().for_each(|g| *g = T::zero());
        let inv_n = T::one() / T::from_usize(self.n);
        let mut f = T::zero();
        let d = self.d;
        for (i, (row, &y)) in self.a.chunks_exact(d).zip(self.y).enumerate() {
            // Hardware prefetchers stop at page boundaries; ask for the next row explicitly.
            if let Some(next) = self.a.get((i + 1) * d..(i + 2) * d) {
                linalg::prefetch(next);
            }
            let z = linalg::dot(row, w);
            f += self.loss.value(z, y);
            linalg::axpy(self.loss.deriv(z, y) * inv_n, row, grad);
        }
        f * inv_n
    }
}

impl<T: Float, L: Loss<T>> StochasticObjective<T> for Glm<'_, T, L> {
    fn dim(&self) -> usize {
        self.d
    }
    fn n_samples(&self) -> usize {
        self.n
    }
    fn batch_value_grad(&self, w: &[T], batch: &[usize], grad: &mut [T]) -> T {
        grad.iter_mut().for_each(|g| *g = T::zero());
        let inv_b = T::one() / T::from_usize(batch.len().max(1));
        let mut f = T::zero();
        for &i in batch {
            let row = &self.a[i * self.d..(i + 1) * self.d];
            let z = linalg::dot(row, w);
            f += self.loss.value(z, self.y[i]);
            linalg::axpy(self.loss.deriv(z, self.y[i]) * inv_b, row, grad);
        }
        f * inv_b
    }
}

impl<T: Float, L: Loss<T>> FiniteSumGlm<T> for Glm<'_, T, L> {
    fn n_samples(&self) -> usize {
        self.n
    }
    fn dim(&self) -> usize {
        self.d
    }
    #[inline]
    fn row(&self, i: usize) -> &[T] {
        &self.a[i * self.d..(i + 1) * self.d]
    }
    #[inline]
    fn loss(&self, i: usize, z: T) -> T {
        self.loss.value(z, self.y[i])
    }
    #[inline]
    fn deriv(&self, i: usize, z: T) -> T {
        self.loss.deriv(z, self.y[i])
    }
}

/// A dense labelled data set held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T> {
    /// Row-major `n x d` features.
    pub a: Vec<T>,
    /// Targets, length `n`.
    pub y: Vec<T>,
    /// Number of features `d`.
    pub d: usize,
}

impl<T: Float> Dataset<T> {
    /// Parses CSV text whose first column is the label and the rest are features; blank lines
    /// are skipped, and a first line that does not parse as numbers is taken as a header.
    /// Labels in `{0, 1}` are mapped to `{-1, +1}` when `pm_one_labels` is set (logistic loss).
    pub fn from_csv_str(text: &str, pm_one_labels: bool) -> Result<Self> {
        let mut a = Vec::new();
        let mut y = Vec::new();
        let mut d = None;
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split(',').map(|f| f.trim().parse::<f64>());
            let parsed: core::result::Result<Vec<f64>, _> = fields.by_ref().collect();
            let vals = match parsed {
                Ok(v) => v,
                Err(_) if lineno == 0 => continue,
                Err(e) => return Err(OptimError::Data(format!("line {}: {e}", lineno + 1))),
            };
            if vals.len() < 2 {
                return Err(OptimError::Data(format!(
                    "line {}: need a label and a feature",
                    lineno + 1
                )));
            }
            match d {
                None => d = Some(vals.len() - 1),
                Some(dd) if dd != vals.len() - 1 => {
                    return Err(OptimError::Data(format!(
                        "line {}: {} features, expected {dd}",
                        lineno + 1,
                        vals.len() - 1
                    )))
                }
                _ => {}
            }
            let lab = vals[0];
            if pm_one_labels {
                if lab != 0.0 && lab != 1.0 {
                    return Err(OptimError::Data(format!(
                        "line {}: label {lab} not in {{0, 1}}",
                        lineno + 1
                    )));
                }
                y.push(T::c(2.0 * lab - 1.0));
            } else {
                y.push(T::c(lab));
            }
            a.extend(vals[1..].iter().map(|&v| T::c(v)));
        }
        let d = d.ok_or_else(|| OptimError::Data("no data rows".into()))?;
        if !linalg::all_finite(&a) || !linalg::all_finite(&y) {
            return Err(OptimError::NotFinite { what: "CSV data" });
        }
        Ok(Self { a, y, d })
    }

    /// Number of samples.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Centres every feature to mean 0 and scales it to unit (population) standard deviation;
    /// constant features are only centred.
    pub fn standardise(&mut self) {
        let (n, d) = (self.n(), self.d);
        if n == 0 {
            return;
        }
        // Row-major passes (cache friendly): means, then variances, then the update.
        let mut mean = vec![T::zero(); d];
        for row in self.a.chunks_exact(d) {
            linalg::axpy(T::one(), row, &mut mean);
        }
        linalg::scale(T::one() / T::from_usize(n), &mut mean);
        let mut var = vec![T::zero(); d];
        for row in self.a.chunks_exact(d) {
            for j in 0..d {
                let v = row[j] - mean[j];
                var[j] += v * v;
            }
        }
        let inv_sd: Vec<T> = var
            .iter()
            .map(|&v| {
                let sd = (v / T::from_usize(n)).sqrt();
                if sd > T::zero() {
                    T::one() / sd
                } else {
                    T::one()
                }
            })
            .collect();
        for row in self.a.chunks_exact_mut(d) {
            for j in 0..d {
                row[j] = (row[j] - mean[j]) * inv_sd[j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn logistic_is_stable_and_derivative_matches_finite_difference() {
        let l = Logistic;
        for &z in &[-800.0f64, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0] {
            for &y in &[-1.0, 1.0] {
                let v: f64 = l.value(z, y);
                assert!(v.is_finite() && v >= 0.0);
                let h = 1e-6;
                let fd = (l.value(z + h, y) - l.value(z - h, y)) / (2.0 * h);
                assert!((fd - l.deriv(z, y)).abs() < 1e-6, "z={z} y={y}");
            }
        }
        assert!((Loss::<f64>::value(&l, 0.0, 1.0) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn glm_gradient_matches_finite_differences_and_lipschitz_bounds() {
        let mut rng = SplitMix64::new(21);
        let (n, d) = (40, 6);
        let a: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..n)
            .map(|_| if rng.uniform() < 0.5 { -1.0 } else { 1.0 })
            .collect();
        let f = Glm::new(&a, &y, d, Logistic).unwrap();
        let w: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let mut g = vec![0.0; d];
        let v = f.value_grad(&w, &mut g);
        assert!((v - f.value(&w)).abs() < 1e-14);
        for j in 0..d {
            let mut wp = w.clone();
            wp[j] += 1e-6;
            let mut wm = w.clone();
            wm[j] -= 1e-6;
            assert!(((f.value(&wp) - f.value(&wm)) / 2e-6 - g[j]).abs() < 1e-6);
        }
        // L bounds the gradient's variation along random directions.
        let lip = f.lipschitz();
        let mut g2 = vec![0.0; d];
        for _ in 0..20 {
            let w2: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            f.value_grad(&w2, &mut g2);
            f.value_grad(&w, &mut g);
            assert!(
                linalg::dist2_sq(&g, &g2).sqrt() <= lip * linalg::dist2_sq(&w, &w2).sqrt() + 1e-12
            );
        }
        // Batch over all samples = full gradient.
        let all: Vec<usize> = (0..n).collect();
        let mut gb = vec![0.0; d];
        let vb = f.batch_value_grad(&w, &all, &mut gb);
        f.value_grad(&w, &mut g);
        assert!((vb - v).abs() < 1e-12 && linalg::dist2_sq(&g, &gb) < 1e-24);
    }

    #[test]
    fn csv_parsing_and_errors() {
        let ds = Dataset::<f64>::from_csv_str("label,a,b\n1,2,3\n0,4,5\n\n", true).unwrap();
        assert_eq!(ds.y, vec![1.0, -1.0]);
        assert_eq!(ds.a, vec![2.0, 3.0, 4.0, 5.0]);
        assert!(matches!(
            Dataset::<f64>::from_csv_str("1,2\n0,3,4\n", true),
            Err(OptimError::Data(_))
        ));
        assert!(matches!(
            Dataset::<f64>::from_csv_str("2,2\n", true),
            Err(OptimError::Data(_))
        ));
        assert!(matches!(
            Dataset::<f64>::from_csv_str("1,2\n0,x\n", true),
            Err(OptimError::Data(_))
        ));
        assert!(Dataset::<f64>::from_csv_str("", true).is_err());
        let mut ds = Dataset::<f64>::from_csv_str("1,1,7\n0,3,7\n", true).unwrap();
        ds.standardise();
        assert_eq!(ds.a, vec![-1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn glm_rejects_bad_shapes() {
        assert!(Glm::new(&[1.0f64, 2.0, 3.0], &[1.0], 2, Logistic).is_err());
        assert!(Glm::new(&[f64::NAN, 2.0], &[1.0], 2, Logistic).is_err());
    }
}
