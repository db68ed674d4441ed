//! Projected steepest descent with a fixed step: the PGD attack of the adversarial-robustness literature.

use super::check_x0;
use crate::error::{OptimError, Result};
use crate::sets::ConstraintSet;
use crate::{linalg, Certificate, Float, Objective, OptimizeResult};

/// The norm whose steepest-descent direction [`SteepestDescent`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SteepestNorm {
    /// `d = sign(g)`: the L-infinity steepest-descent direction (the "fast gradient sign" step).
    Linf,
    /// `d = g / ||g||_2`.
    L2,
}

/// Projected steepest descent with a fixed step, block by block:
/// `x <- P_C(x - step * d(grad f(x)))`, where `d` normalises each block of `block` coordinates separately in the
/// chosen norm (`sign(g)` for L-infinity, `g / ||g||_2` for L2).
///
/// Minimising the negated loss over a threat ball ∩ the input box, this is the PGD attack of Madry, Makelov,
/// Schmidt, Tsipras & Vladu (2018, "Towards deep learning models resistant to adversarial attacks", ICLR); one step
/// of length `eps` from the clean input is FGSM (Goodfellow, Shlens & Szegedy 2015). The step is not a descent
/// method's step (it ignores curvature), and the objective is non-convex: the result is the last iterate after
/// `steps` steps, with no certificate. Blocks let a batch of independent attacks run as one problem (with a
/// [`Product`](crate::sets::Product) of per-input sets), each input normalised on its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SteepestDescent<T> {
    /// The norm whose steepest-descent direction is taken.
    pub norm: SteepestNorm,
    /// Step length in that norm.
    pub step: T,
    /// Number of steps.
    pub steps: usize,
    /// Coordinates normalised together (the whole vector for one problem, the input size for a batch).
    pub block: usize,
}

impl<T: Float> SteepestDescent<T> {
    /// Minimises `f` over `set` from `P_C(x0)`; returns the last iterate.
    pub fn minimize<O: Objective<T>, S: ConstraintSet<T>>(
        &self,
        f: &O,
        set: &S,
        x0: Vec<T>,
    ) -> Result<OptimizeResult<T>> {
        check_x0(f, &x0)?;
        if self.block == 0 || !x0.len().is_multiple_of(self.block) {
            return Err(OptimError::InvalidParameter {
                name: "block",
                reason: format!("must be positive and divide the dimension {}", x0.len()),
            });
        }
        if !(self.step.is_finite() && self.step >= T::zero()) {
            return Err(OptimError::InvalidParameter {
                name: "step",
                reason: "must be finite and non-negative".into(),
            });
        }
        let mut x = x0;
        set.project(&mut x)?;
        let mut g = vec![T::zero(); x.len()];
        for _ in 0..self.steps {
            f.value_grad(&x, &mut g);
            for (xb, gb) in x.chunks_mut(self.block).zip(g.chunks(self.block)) {
                self.step_block(xb, gb);
            }
            set.project(&mut x)?;
        }
        let fx = f.value(&x);
        Ok(OptimizeResult {
            f: fx,
            iterations: self.steps,
            certificate: Certificate::None,
            success: true,
            message: "fixed number of steps done".into(),
            trace: None,
            grad_evals: self.steps,
            func_evals: 1,
            x,
        })
    }

    fn step_block(&self, x: &mut [T], g: &[T]) {
        match self.norm {
            SteepestNorm::Linf => {
                for (xi, &gi) in x.iter_mut().zip(g) {
                    if gi > T::zero() {
                        *xi -= self.step;
                    } else if gi < T::zero() {
                        *xi += self.step;
                    }
                }
            }
            SteepestNorm::L2 => {
                let n = linalg::norm2(g);
                if n > T::zero() {
                    let s = self.step / n;
                    x.iter_mut().zip(g).for_each(|(xi, &gi)| *xi -= s * gi);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::{BoxSet, L2Ball, Product};

    /// `f(x) = 0.5 ||x - t||^2`.
    struct Quadratic(Vec<f64>);
    impl Objective<f64> for Quadratic {
        fn dim(&self) -> usize {
            self.0.len()
        }
        fn value(&self, x: &[f64]) -> f64 {
            0.5 * x
                .iter()
                .zip(&self.0)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
        }
        fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            for ((gi, a), b) in g.iter_mut().zip(x).zip(&self.0) {
                *gi = a - b;
            }
            self.value(x)
        }
    }

    #[test]
    fn linf_steps_move_each_coordinate_by_the_step_and_stay_feasible() {
        let f = Quadratic(vec![1.0, -1.0, 0.0]);
        let set = BoxSet::new(vec![-0.25; 3], vec![0.25; 3]).unwrap();
        let res = SteepestDescent {
            norm: SteepestNorm::Linf,
            step: 0.1,
            steps: 1,
            block: 3,
        }
        .minimize(&f, &set, vec![0.0; 3])
        .unwrap();
        assert_eq!(res.x, vec![0.1, -0.1, 0.0]);
        let res = SteepestDescent {
            steps: 10,
            ..SteepestDescent {
                norm: SteepestNorm::Linf,
                step: 0.1,
                steps: 1,
                block: 3,
            }
        }
        .minimize(&f, &set, vec![0.0; 3])
        .unwrap();
        assert!(set.contains(&res.x, 0.0));
        assert_eq!(res.x[..2], [0.25, -0.25]);
    }

    #[test]
    fn l2_blocks_are_normalised_separately() {
        // Two blocks with gradients of very different sizes: each moves by exactly `step`.
        let f = Quadratic(vec![100.0, 0.0, 0.0, 0.01]);
        let ball = L2Ball::new(10.0).unwrap();
        let set = Product::new(2, vec![ball, ball]).unwrap();
        let res = SteepestDescent {
            norm: SteepestNorm::L2,
            step: 0.5,
            steps: 1,
            block: 2,
        }
        .minimize(&f, &set, vec![0.0; 4])
        .unwrap();
        let moved = |k: usize| linalg::norm2(&res.x[2 * k..2 * k + 2]);
        assert!((moved(0) - 0.5).abs() < 1e-12 && (moved(1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn bad_blocks_and_steps_are_errors() {
        let f = Quadratic(vec![0.0; 4]);
        let set = BoxSet::new(vec![-1.0; 4], vec![1.0; 4]).unwrap();
        let pgd = |block, step| SteepestDescent {
            norm: SteepestNorm::L2,
            step,
            steps: 1,
            block,
        };
        assert!(pgd(3, 0.1).minimize(&f, &set, vec![0.0; 4]).is_err());
        assert!(pgd(0, 0.1).minimize(&f, &set, vec![0.0; 4]).is_err());
        assert!(pgd(2, f64::NAN).minimize(&f, &set, vec![0.0; 4]).is_err());
        assert!(pgd(2, 0.1).minimize(&f, &set, vec![0.0; 3]).is_err());
    }
}
