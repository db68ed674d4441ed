//! Boxes `{x : lo <= x <= hi}` (coordinate-wise bounds).

use super::ConstraintSet;
use crate::error::{check_len, OptimError, Result};
use crate::{Float, Vertex};

/// Box `[lo_1, hi_1] x ... x [lo_n, hi_n]`.
///
/// LMO: `s_i = lo_i` where `g_i > 0`, else `hi_i`. Projection: clipping.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSet<T> {
    lo: Vec<T>,
    hi: Vec<T>,
}

impl<T: Float> BoxSet<T> {
    /// Box with per-coordinate bounds; requires `lo_i <= hi_i`, all finite.
    pub fn new(lo: Vec<T>, hi: Vec<T>) -> Result<Self> {
        check_len("hi", lo.len(), hi.len())?;
        for (l, h) in lo.iter().zip(&hi) {
            if !(l.is_finite() && h.is_finite() && l <= h) {
                return Err(OptimError::InvalidParameter {
                    name: "lo/hi",
                    reason: format!("need finite lo <= hi, got [{l}, {h}]"),
                });
            }
        }
        Ok(Self { lo, hi })
    }

    /// The box `[lo, hi]^dim`.
    pub fn uniform(dim: usize, lo: T, hi: T) -> Result<Self> {
        Self::new(vec![lo; dim], vec![hi; dim])
    }

    /// Lower bounds.
    pub fn lo(&self) -> &[T] {
        &self.lo
    }
    /// Upper bounds.
    pub fn hi(&self) -> &[T] {
        &self.hi
    }
}

impl<T: Float> ConstraintSet<T> for BoxSet<T> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        check_len("gradient", self.lo.len(), grad.len())?;
        let buf = out.dense_mut(grad.len());
        for i in 0..grad.len() {
            buf[i] = if grad[i] > T::zero() {
                self.lo[i]
            } else {
                self.hi[i]
            };
        }
        Ok(())
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.lo.len(), x.len())?;
        for i in 0..x.len() {
            x[i] = x[i].max(self.lo[i]).min(self.hi[i]);
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.len() == self.lo.len()
            && x.iter()
                .zip(self.lo.iter().zip(&self.hi))
                .all(|(&v, (&l, &h))| v >= l - tol && v <= h + tol)
    }

    fn dim(&self) -> Option<usize> {
        Some(self.lo.len())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn lmo_and_projection_brute_force() {
        let mut rng = SplitMix64::new(12);
        for n in 1..7 {
            let lo: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let hi: Vec<f64> = lo.iter().map(|l| l + rng.uniform() * 2.0).collect();
            let set = BoxSet::new(lo.clone(), hi.clone()).unwrap();
            let verts: Vec<Vec<f64>> = (0..(1usize << n))
                .map(|m| {
                    (0..n)
                        .map(|i| if m >> i & 1 == 1 { hi[i] } else { lo[i] })
                        .collect()
                })
                .collect();
            for _ in 0..10 {
                let g: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                check_lmo_beats(&set, &g, &verts);
                let x: Vec<f64> = (0..n).map(|_| rng.normal() * 2.0).collect();
                check_projection(&set, &x, &verts);
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(BoxSet::new(vec![1.0], vec![0.0]).is_err());
        assert!(BoxSet::new(vec![0.0, 0.0], vec![1.0]).is_err());
        let b = BoxSet::uniform(3, 0.0, 1.0).unwrap();
        let mut v = Vertex::new();
        assert!(matches!(
            b.lmo(&[1.0, 2.0], &mut v),
            Err(OptimError::DimensionMismatch { .. })
        ));
        assert!(b.project(&mut [1.0]).is_err());
    }
}
