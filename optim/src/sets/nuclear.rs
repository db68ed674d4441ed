//! The nuclear-norm (trace-norm) ball of `rows x cols` matrices.

use super::{check_radius, ConstraintSet};
use crate::error::{check_len, check_param, Result};
use crate::rng::SplitMix64;
use crate::{linalg, Float, Vertex};

/// Nuclear-norm ball `{X in R^{m x n} : ||X||_* = sum_i sigma_i(X) <= r}` on row-major matrices.
///
/// LMO: `-r u1 v1^T` with `(u1, v1)` the top singular pair of the gradient, computed by power
/// iteration on `G^T G` (Jaggi 2013, Sec. 4.3; the oracle only needs an approximate top pair).
/// Projection: SVD (one-sided Jacobi, [`linalg::svd_jacobi`]), then projection of the singular
/// values onto `{s >= 0, sum s <= r}`; exact but `O(m n min(m, n))` per sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct NuclearBall<T> {
    rows: usize,
    cols: usize,
    radius: T,
    power_iters: usize,
    tol: T,
}

impl<T: Float> NuclearBall<T> {
    /// Ball of radius `radius` in `R^{rows x cols}`; the LMO runs at most 200 power iterations
    /// and stops when the singular-value estimate changes by less than `1e-10` relative (f64;
    /// `1e-5` for f32).
    pub fn new(rows: usize, cols: usize, radius: T) -> Result<Self> {
        check_radius("radius", radius)?;
        check_param(rows > 0 && cols > 0, "rows/cols", "must be positive")?;
        let tol = T::epsilon().sqrt() * T::c(1e-2);
        Ok(Self {
            rows,
            cols,
            radius,
            power_iters: 200,
            tol,
        })
    }

    /// Overrides the power-iteration budget and relative tolerance of the LMO.
    pub fn with_power_iterations(mut self, iters: usize, tol: T) -> Self {
        self.power_iters = iters.max(1);
        self.tol = tol;
        self
    }

    /// Top singular triple of the row-major `rows x cols` matrix `g` by power iteration.
    fn top_pair(&self, g: &[T]) -> (T, Vec<T>, Vec<T>) {
        let (m, n) = (self.rows, self.cols);
        let mut rng = SplitMix64::new(0x5eed);
        let mut v: Vec<T> = (0..n).map(|_| T::c(rng.normal())).collect();
        let nv = linalg::norm2(&v);
        linalg::scale(T::one() / nv, &mut v);
        let mut u = vec![T::zero(); m];
        let mut sigma = T::zero();
        for _ in 0..self.power_iters {
            linalg::gemv(g, m, n, &v, &mut u);
            let nu = linalg::norm2(&u);
            if nu == T::zero() {
                break;
            }
            linalg::scale(T::one() / nu, &mut u);
            linalg::gemv_t(g, m, n, &u, &mut v);
            let s = linalg::norm2(&v);
            if s == T::zero() {
                break;
            }
            linalg::scale(T::one() / s, &mut v);
            let done = (s - sigma).abs() <= self.tol * s;
            sigma = s;
            if done {
                break;
            }
        }
        (sigma, u, v)
    }
}

impl<T: Float> ConstraintSet<T> for NuclearBall<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        check_len("gradient", self.rows * self.cols, grad.len())?;
        let (sigma, u, v) = self.top_pair(grad);
        let (m, n) = (self.rows, self.cols);
        let buf = out.dense_mut(m * n);
        if sigma > T::zero() {
            for i in 0..m {
                for j in 0..n {
                    buf[i * n + j] = -self.radius * u[i] * v[j];
                }
            }
        } else {
            buf.iter_mut().for_each(|b| *b = T::zero());
            buf[0] = self.radius;
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.rows * self.cols, x.len())?;
        let (u, mut s, vt) = linalg::svd_jacobi(x, self.rows, self.cols);
        if s.iter().copied().sum::<T>() <= self.radius {
            return Ok(());
        }
        super::project_simplex(&mut s, self.radius);
        let (m, n, k) = (self.rows, self.cols, s.len());
        for i in 0..m {
            for j in 0..n {
                x[i * n + j] = (0..k).map(|l| u[i * k + l] * s[l] * vt[l * n + j]).sum();
            }
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        if x.len() != self.rows * self.cols {
            return false;
        }
        let (_, s, _) = linalg::svd_jacobi(x, self.rows, self.cols);
        s.iter().copied().sum::<T>() <= self.radius + tol
    }

    fn dim(&self) -> Option<usize> {
        Some(self.rows * self.cols)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn lmo_attains_minus_r_times_spectral_norm() {
        let mut rng = SplitMix64::new(15);
        for (m, n) in [(3usize, 4usize), (5, 2), (4, 4)] {
            let set = NuclearBall::new(m, n, 1.5).unwrap();
            let feas = feasible_points(&set, m * n, &mut rng, 60);
            for _ in 0..10 {
                let g: Vec<f64> = (0..m * n).map(|_| rng.normal()).collect();
                let (_, s, _) = linalg::svd_jacobi(&g, m, n);
                let mut v = Vertex::new();
                set.lmo(&g, &mut v).unwrap();
                // Closed form: min over the ball of <G, S> = -r sigma_max(G).
                assert!(
                    (v.dot(&g) + 1.5 * s[0]).abs() < 1e-6 * s[0],
                    "{} vs {}",
                    v.dot(&g),
                    -1.5 * s[0]
                );
                check_lmo_beats(&set, &g, &feas);
                let x: Vec<f64> = (0..m * n).map(|_| rng.normal()).collect();
                check_projection(&set, &x, &feas);
            }
        }
    }
}
