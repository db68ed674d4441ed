//! Shared core of projected and proximal gradient, plain or accelerated (FISTA).

use super::check_finite;
use crate::error::Result;
use crate::{linalg, Float, Objective};

/// Options of the proximal-gradient core.
pub(crate) struct CoreOptions<T> {
    pub accelerated: bool,
    pub restart: bool,
    pub max_iter: usize,
    /// Initial Lipschitz estimate (`None`: probe).
    pub lipschitz: Option<T>,
    /// Keep `L` fixed (no backtracking) when `lipschitz` is given and this is false.
    pub backtracking: bool,
}

/// State handed to the per-iteration hook.
pub(crate) struct CoreIter<'a, T> {
    pub iteration: usize,
    /// The new iterate `x_{k+1}`.
    pub x: &'a [T],
    /// `f(x_{k+1})` (smooth part only).
    pub fx: T,
    /// Gradient-mapping norm `L ||x_{k+1} - y_k||`.
    pub grad_map: T,
    /// `grad f(x_{k+1})` when it is known for free (no momentum in the next point).
    pub grad_at_x: Option<&'a [T]>,
}

/// What the core returns.
pub(crate) struct CoreOut<T> {
    pub x: Vec<T>,
    pub fx: T,
    pub iterations: usize,
    pub grad_evals: usize,
    pub func_evals: usize,
}

/// Proximal gradient with Beck-Teboulle backtracking (Beck & Teboulle 2009, "A fast iterative
/// shrinkage-thresholding algorithm", SIAM J. Imaging Sci., FISTA with backtracking), where
/// `L` may also decrease by 10% per iteration (Scheinberg, Goldfarb & Bai 2014) and momentum is
/// reset when `f + h` increases (O'Donoghue & Candès 2015, "Adaptive restart for accelerated
/// gradient schemes").
///
/// `prox(v, step)` must overwrite `v` with `prox_{step h}(v)`; `h(x)` is the nonsmooth part's
/// value (0 for an indicator). `hook` sees every iterate and returns `true` to stop.
pub(crate) fn run<T: Float, O: Objective<T>>(
    f: &O,
    x0: Vec<T>,
    opts: &CoreOptions<T>,
    prox: &mut dyn FnMut(&mut [T], T) -> Result<()>,
    h: &dyn Fn(&[T]) -> T,
    hook: &mut dyn FnMut(&CoreIter<'_, T>) -> Result<bool>,
) -> Result<CoreOut<T>> {
    let n = x0.len();
    let mut x = x0;
    prox(&mut x, T::zero())?;
    let mut y = x.clone();
    let mut gy = vec![T::zero(); n];
    let mut fy = f.value_grad(&y, &mut gy);
    check_finite(fy, &gy)?;
    let (mut gevals, mut fevals) = (1usize, 0usize);
    let mut fx = fy;
    let mut obj_x = fx + h(&x);
    let mut lip = match opts.lipschitz {
        Some(l) => l,
        None => {
            // Probe along the negative gradient.
            let gn = linalg::norm2(&gy);
            let eps = T::c(1e-3) / gn.max(T::epsilon());
            let yt: Vec<T> = y.iter().zip(&gy).map(|(&a, &b)| a - eps * b).collect();
            let mut gt = vec![T::zero(); n];
            f.value_grad(&yt, &mut gt);
            gevals += 1;
            let l = linalg::dist2_sq(&gt, &gy).sqrt() / (eps * gn);
            if l.is_finite() && l > T::zero() {
                l
            } else {
                T::one()
            }
        }
    };
    let mut t = T::one();
    let mut xn = vec![T::zero(); n];
    let mut k = 0;
    let two = T::c(2.0);
    while k < opts.max_iter {
        if opts.backtracking {
            lip *= T::c(0.9);
        }
        let mut fxn = T::nan();
        for _ in 0..64 {
            for ((o, &yi), &gi) in xn.iter_mut().zip(&y).zip(&gy) {
                *o = yi - gi / lip;
            }
            prox(&mut xn, T::one() / lip)?;
            fxn = f.value(&xn);
            fevals += 1;
            if !opts.backtracking {
                break;
            }
            let mut lin = T::zero();
            let mut quad = T::zero();
            for i in 0..n {
                let dlt = xn[i] - y[i];
                lin += gy[i] * dlt;
                quad += dlt * dlt;
            }
            if fxn <= fy + lin + lip / two * quad + T::epsilon() * T::c(4.0) * fy.abs() {
                break;
            }
            lip *= two;
        }
        if !fxn.is_finite() {
            return Err(crate::OptimError::NotFinite {
                what: "objective value",
            });
        }
        let grad_map = lip * linalg::dist2_sq(&xn, &y).sqrt();
        let beta_zero;
        let obj_n = fxn + h(&xn);
        if opts.accelerated {
            // Gradient-based adaptive restart: the step x_{k+1} - y_k disagrees with the momentum
            // x_{k+1} - x_k (O'Donoghue & Candès 2015, Sec. 3.2) -> drop the momentum. Unlike
            // the function-value test it is immune to rounding once f stops changing.
            let mut restart = false;
            if opts.restart {
                let mut ip = T::zero();
                for i in 0..n {
                    ip += (y[i] - xn[i]) * (xn[i] - x[i]);
                }
                restart = ip > T::zero() || obj_n > obj_x + T::epsilon() * obj_x.abs() * T::c(16.0);
            }
            if restart {
                t = T::one();
            }
            let tn = (T::one() + (T::one() + T::c(4.0) * t * t).sqrt()) / two;
            let beta = (t - T::one()) / tn;
            beta_zero = beta == T::zero();
            for i in 0..n {
                y[i] = xn[i] + beta * (xn[i] - x[i]);
            }
            t = tn;
        } else {
            y.copy_from_slice(&xn);
            beta_zero = true;
        }
        core::mem::swap(&mut x, &mut xn);
        fx = fxn;
        obj_x = obj_n;
        fy = f.value_grad(&y, &mut gy);
        gevals += 1;
        check_finite(fy, &gy)?;
        k += 1;
        let grad_at_x = if beta_zero { Some(&gy[..]) } else { None };
        if hook(&CoreIter {
            iteration: k,
            x: &x,
            fx,
            grad_map,
            grad_at_x,
        })? {
            break;
        }
    }
    Ok(CoreOut {
        x,
        fx,
        iterations: k,
        grad_evals: gevals,
        func_evals: fevals,
    })
}
