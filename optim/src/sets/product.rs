//! The Cartesian product of sets over consecutive blocks of coordinates.

use super::ConstraintSet;
use crate::error::{check_len, check_param, Result};
use crate::{Float, Vertex};

/// `C_1 x C_2 x ... x C_m`, where `C_k` acts on coordinates `k * block .. (k + 1) * block`.
///
/// Unlike [`RowWise`](super::RowWise), which repeats one set, every block has its own set (e.g. one threat ball per
/// input of a batch attacked at once, each around its own clean input). The product's LMO is the product of the
/// blocks' LMOs and its projection the product of their projections, since both problems separate over blocks:
/// `min_{s in C_1 x ... x C_m} <g, s> = sum_k min_{s_k in C_k} <g_k, s_k>`.
///
/// The answer is sparse when the first block's answer is (L1-type sets), dense otherwise (boxes, L2 balls); the
/// oracle allocates nothing once `out` is warm.
#[derive(Debug, Clone, PartialEq)]
pub struct Product<S> {
    block: usize,
    sets: Vec<S>,
}

impl<S> Product<S> {
    /// One set per block of `block` coordinates.
    pub fn new(block: usize, sets: Vec<S>) -> Result<Self> {
        check_param(block > 0 || sets.is_empty(), "block", "must be positive")?;
        Ok(Self { block, sets })
    }
    /// Coordinates per block.
    pub fn block(&self) -> usize {
        self.block
    }
    /// The blocks' sets.
    pub fn sets(&self) -> &[S] {
        &self.sets
    }
}

impl<T: Float, S: ConstraintSet<T>> ConstraintSet<T> for Product<S> {
    fn lmo(&self, grad: &[T], out: &mut Vertex<T>) -> Result<()> {
        let n = self.block * self.sets.len();
        check_len("gradient", n, grad.len())?;
        let mut part = out.row.take().unwrap_or_default();
        let mut res = Ok(());
        let mut dense = None::<bool>;
        for (k, (set, g)) in self
            .sets
            .iter()
            .zip(grad.chunks_exact(self.block))
            .enumerate()
        {
            if let Err(e) = set.lmo(g, &mut part) {
                res = Err(e);
                break;
            }
            // The first block decides the layout of the whole answer.
            let as_dense = *dense.get_or_insert_with(|| {
                if part.is_sparse() {
                    out.clear_sparse(n);
                    false
                } else {
                    out.dense_mut(n);
                    true
                }
            });
            if as_dense {
                let start = k * self.block;
                let buf = out.dense_mut(n);
                part.to_dense(&mut buf[start..start + self.block]);
            } else {
                out.append_shifted(&part, k * self.block);
            }
        }
        if dense.is_none() && res.is_ok() {
            out.clear_sparse(n);
        }
        out.row = Some(part);
        res
    }

    fn project(&self, x: &mut [T]) -> Result<()> {
        check_len("x", self.block * self.sets.len(), x.len())?;
        for (set, xb) in self.sets.iter().zip(x.chunks_exact_mut(self.block)) {
            set.project(xb)?;
        }
        Ok(())
    }

    fn contains(&self, x: &[T], tol: T) -> bool {
        x.len() == self.block * self.sets.len()
            && self
                .sets
                .iter()
                .zip(x.chunks_exact(self.block))
                .all(|(s, xb)| s.contains(xb, tol))
    }

    fn dim(&self) -> Option<usize> {
        Some(self.block * self.sets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::sets::{L1Ball, L2BallBox, LinfBallBox};
    use proptest::prelude::*;

    fn centers(rng: &mut SplitMix64, m: usize, p: usize) -> Vec<Vec<f64>> {
        (0..m)
            .map(|_| (0..p).map(|_| rng.uniform()).collect())
            .collect()
    }

    proptest! {
        /// The product's oracle value is the sum of the blocks' optimal values, its answer lies in the product, and
        /// projection acts block by block (dense L2 ball ∩ box blocks and sparse L1 blocks alike).
        #[test]
        fn product_separates_over_blocks(m in 0usize..5, p in 1usize..9, seed in 0u64..500, eps in 0.01f64..1.0) {
            let mut rng = SplitMix64::new(seed);
            let cs = centers(&mut rng, m, p);
            let sets: Vec<_> = cs.iter().map(|c| L2BallBox::new(c.clone(), eps, 0.0, 1.0).unwrap()).collect();
            let prod = Product::new(p, sets.clone()).unwrap();
            let g: Vec<f64> = (0..m * p).map(|_| rng.normal()).collect();
            let mut v = Vertex::new();
            prod.lmo(&g, &mut v).unwrap();
            prop_assert_eq!(v.dim(), m * p);
            let mut s = vec![0.0; m * p];
            v.to_dense(&mut s);
            prop_assert!(prod.contains(&s, 1e-9));
            let mut sum = 0.0;
            let mut part = Vertex::new();
            for (k, set) in sets.iter().enumerate() {
                set.lmo(&g[k * p..(k + 1) * p], &mut part).unwrap();
                sum += part.dot(&g[k * p..(k + 1) * p]);
            }
            prop_assert!((v.dot(&g) - sum).abs() < 1e-9);

            let mut x: Vec<f64> = (0..m * p).map(|_| 3.0 * rng.normal()).collect();
            let mut y = x.clone();
            prod.project(&mut x).unwrap();
            for (k, set) in sets.iter().enumerate() {
                set.project(&mut y[k * p..(k + 1) * p]).unwrap();
            }
            prop_assert_eq!(x, y);

            let l1 = Product::new(p, vec![L1Ball::new(eps).unwrap(); m]).unwrap();
            l1.lmo(&g, &mut v).unwrap();
            prop_assert!(v.is_sparse());
            prop_assert_eq!(v.nnz(), m);
        }
    }

    #[test]
    fn wrong_lengths_and_blocks_are_errors() {
        let set = LinfBallBox::new(vec![0.5; 3], 0.1, 0.0, 1.0).unwrap();
        let prod = Product::new(3, vec![set.clone(), set]).unwrap();
        let mut v = Vertex::new();
        assert!(prod.lmo(&[0.0; 5], &mut v).is_err());
        assert!(prod.project(&mut [0.0; 7]).is_err());
        assert!(!prod.contains(&[0.5; 5], 1e-9));
        assert!(Product::<L1Ball<f64>>::new(0, vec![L1Ball::new(1.0).unwrap()]).is_err());
        assert_eq!(ConstraintSet::<f64>::dim(&prod), Some(6));
    }
}
