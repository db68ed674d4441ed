//! Limited-memory BFGS with a strong-Wolfe line search.

use super::{check_finite, check_x0};
use crate::error::Result;
use crate::result::{Callback, Certificate, Monitor, OptimizeResult};
use crate::{linalg, Float, Objective};
use std::collections::VecDeque;

/// L-BFGS (Liu & Nocedal 1989) for smooth unconstrained problems: the two-loop recursion
/// applies an inverse-Hessian estimate built from the last `memory` pairs
/// `(s_k, y_k) = (x_{k+1} - x_k, grad_{k+1} - grad_k)`, scaled by
/// `gamma_k = <s, y> / <y, y>` (Nocedal & Wright 2006, Algorithms 7.4 and 7.5); steps satisfy
/// the strong Wolfe conditions with `c1 = 1e-4`, `c2 = 0.9` (Algorithms 3.5 and 3.6, zoom by
/// safeguarded cubic interpolation).
///
/// Written here rather than wrapping `argmin`: it is ~200 lines, generic over this crate's
/// [`Float`] and [`Objective`], and keeps the crate's dependency tree to `num-traits`.
///
/// Certificate: `||grad f(x)||_2`; stops when it is `<= tol`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lbfgs<T> {
    /// Number of stored pairs.
    pub memory: usize,
    /// Maximum number of iterations.
    pub max_iter: usize,
    /// Stop when `||grad f|| <= tol`.
    pub tol: T,
    /// Record a trace.
    pub trace: bool,
}

impl<T: Float> Default for Lbfgs<T> {
    fn default() -> Self {
        Self {
            memory: 10,
            max_iter: 1000,
            tol: T::c(1e-6),
            trace: false,
        }
    }
}

/// Minimiser of the cubic interpolating `(a, fa, da)` and `(b, fb, db)`, clamped to the middle
/// 80% of the interval (Nocedal & Wright eq. 3.59); bisection if the cubic is degenerate.
fn cubic_min<T: Float>(a: T, fa: T, da: T, b: T, fb: T, db: T) -> T {
    let d1 = da + db - T::c(3.0) * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let w = hi - lo;
    let mid = (a + b) / T::c(2.0);
    if disc < T::zero() || !disc.is_finite() {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (db + d2 - d1) / (db - da + T::c(2.0) * d2);
    if t.is_finite() {
        t.max(lo + T::c(0.1) * w).min(hi - T::c(0.1) * w)
    } else {
        mid
    }
}

struct Ls<'a, T, O> {
    f: &'a O,
    x: &'a [T],
    d: &'a [T],
    xt: Vec<T>,
    gt: Vec<T>,
    evals: usize,
}

impl<T: Float, O: Objective<T>> Ls<'_, T, O> {
    /// `(phi(a), phi'(a))` for `phi(a) = f(x + a d)`.
    fn eval(&mut self, a: T) -> (T, T) {
        for i in 0..self.x.len() {
            self.xt[i] = self.x[i] + a * self.d[i];
        }
        let v = self.f.value_grad(&self.xt, &mut self.gt);
        self.evals += 1;
        (v, linalg::dot(&self.gt, self.d))
    }
}

impl<T: Float> Lbfgs<T> {
    /// Minimises `f` from `x0`.
    pub fn minimize<O: Objective<T>>(&self, f: &O, x0: Vec<T>) -> Result<OptimizeResult<T>> {
        self.run(f, x0, None)
    }

    /// As [`minimize`](Self::minimize), with a callback.
    pub fn minimize_with<O: Objective<T>>(
        &self,
        f: &O,
        x0: Vec<T>,
        cb: Callback<'_, T>,
    ) -> Result<OptimizeResult<T>> {
        self.run(f, x0, Some(cb))
    }

    fn run<O: Objective<T>>(
        &self,
        f: &O,
        x0: Vec<T>,
        cb: Option<Callback<'_, T>>,
    ) -> Result<OptimizeResult<T>> {
        check_x0(f, &x0)?;
        let n = x0.len();
        let m = self.memory.max(1);
        let mut x = x0;
        let mut g = vec![T::zero(); n];
        let mut fx = f.value_grad(&x, &mut g);
        check_finite(fx, &g)?;
        let mut gevals = 1;
        let mut hist: VecDeque<(Vec<T>, Vec<T>, T)> = VecDeque::with_capacity(m);
        let mut d = vec![T::zero(); n];
        let mut alpha_buf = vec![T::zero(); m];
        let mut mon = Monitor::new(self.trace, cb);
        let mut gn = linalg::norm2(&g);
        let (mut it, mut msg) = (0, "maximum iterations reached");
        let (c1, c2) = (T::c(1e-4), T::c(0.9));
        while it < self.max_iter {
            if gn <= self.tol {
                msg = "gradient norm below tolerance";
                break;
            }
            // Two-loop recursion: d = -H g.
            d.iter_mut().zip(&g).for_each(|(di, &gi)| *di = -gi);
            for (k, (s, y, rho)) in hist.iter().enumerate().rev() {
                let a = *rho * linalg::dot(s, &d);
                alpha_buf[k] = a;
                linalg::axpy(-a, y, &mut d);
            }
            let gamma = match hist.back() {
                Some((s, y, _)) => linalg::dot(s, y) / linalg::norm2_sq(y),
                None => T::one() / gn.max(T::one()),
            };
            linalg::scale(gamma, &mut d);
            for (k, (s, y, rho)) in hist.iter().enumerate() {
                let b = *rho * linalg::dot(y, &d);
                linalg::axpy(alpha_buf[k] - b, s, &mut d);
            }
            let mut dphi0 = linalg::dot(&g, &d);
            if dphi0 >= T::zero() {
                // Not a descent direction (loss of curvature information): restart with -g.
                hist.clear();
                d.iter_mut()
                    .zip(&g)
                    .for_each(|(di, &gi)| *di = -gi / gn.max(T::one()));
                dphi0 = linalg::dot(&g, &d);
            }
            // Strong-Wolfe line search (Nocedal & Wright Alg. 3.5 / 3.6).
            let mut ls = Ls {
                f,
                x: &x,
                d: &d,
                xt: vec![T::zero(); n],
                gt: vec![T::zero(); n],
                evals: 0,
            };
            let (mut a_prev, mut f_prev, mut d_prev) = (T::zero(), fx, dphi0);
            let mut a = T::one();
            let mut found = None;
            for i in 0..30 {
                let (fa, da) = ls.eval(a);
                if !fa.is_finite() || fa > fx + c1 * a * dphi0 || (i > 0 && fa >= f_prev) {
                    found = zoom(
                        &mut ls,
                        (a_prev, f_prev, d_prev),
                        (a, fa, da),
                        fx,
                        dphi0,
                        c1,
                        c2,
                    );
                    break;
                }
                if da.abs() <= -c2 * dphi0 {
                    found = Some((a, fa));
                    break;
                }
                if da >= T::zero() {
                    found = zoom(
                        &mut ls,
                        (a, fa, da),
                        (a_prev, f_prev, d_prev),
                        fx,
                        dphi0,
                        c1,
                        c2,
                    );
                    break;
                }
                (a_prev, f_prev, d_prev) = (a, fa, da);
                a *= T::c(2.0);
            }
            gevals += ls.evals;
            let Some((a, fa)) = found else {
                msg = "line search failed (numerical precision reached)";
                break;
            };
            // ls.xt / ls.gt hold the last evaluated point; re-evaluate if zoom ended elsewhere.
            let (xt, gt) = if ls
                .xt
                .iter()
                .zip(&x)
                .zip(&d)
                .all(|((&t, &xi), &di)| t == xi + a * di)
            {
                (ls.xt, ls.gt)
            } else {
                let mut ls2 = ls;
                ls2.eval(a);
                gevals += 1;
                (ls2.xt, ls2.gt)
            };
            let s: Vec<T> = xt.iter().zip(&x).map(|(&a1, &b1)| a1 - b1).collect();
            let y: Vec<T> = gt.iter().zip(&g).map(|(&a1, &b1)| a1 - b1).collect();
            let sy = linalg::dot(&s, &y);
            x = xt;
            g = gt;
            fx = fa;
            check_finite(fx, &g)?;
            if sy > T::epsilon() * linalg::norm2(&s) * linalg::norm2(&y) {
                if hist.len() == m {
                    hist.pop_front();
                }
                hist.push_back((s, y, T::one() / sy));
            }
            gn = linalg::norm2(&g);
            it += 1;
            if mon.observe(it, &x, fx, gn) {
                msg = "stopped by callback";
                break;
            }
        }
        Ok(OptimizeResult {
            x,
            f: fx,
            iterations: it,
            certificate: Certificate::GradientNorm(gn),
            success: gn <= self.tol,
            message: msg.into(),
            trace: mon.into_trace(),
            grad_evals: gevals,
            func_evals: 0,
        })
    }
}

/// Zoom phase (Nocedal & Wright Alg. 3.6) between `lo` (satisfies sufficient decrease, lowest
/// value so far) and `hi`. Returns `(alpha, phi(alpha))` satisfying the strong Wolfe conditions.
fn zoom<T: Float, O: Objective<T>>(
    ls: &mut Ls<'_, T, O>,
    mut lo: (T, T, T),
    mut hi: (T, T, T),
    f0: T,
    d0: T,
    c1: T,
    c2: T,
) -> Option<(T, T)> {
    for _ in 0..40 {
        let a = cubic_min(lo.0, lo.1, lo.2, hi.0, hi.1, hi.2);
        let (fa, da) = ls.eval(a);
        if !fa.is_finite() || fa > f0 + c1 * a * d0 || fa >= lo.1 {
            hi = (a, fa, da);
        } else {
            if da.abs() <= -c2 * d0 {
                return Some((a, fa));
            }
            if da * (hi.0 - lo.0) >= T::zero() {
                hi = lo;
            }
            lo = (a, fa, da);
        }
        if (hi.0 - lo.0).abs() <= T::epsilon() * lo.0.abs().max(T::one()) {
            break;
        }
    }
    // Accept the best sufficient-decrease point found if it decreases f.
    if lo.0 > T::zero() && lo.1 < f0 {
        Some((lo.0, lo.1))
    } else {
        None
    }
}
