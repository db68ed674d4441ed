//! The output of a linear minimisation oracle: a vertex of the constraint set, kept sparse
//! when the set's vertices are sparse (L1 ball, K-sparse polytope, group-L1 ball, row-wise
//! versions of those).

use crate::linalg;
use crate::Float;

/// A point returned by [`ConstraintSet::lmo`](crate::sets::ConstraintSet::lmo).
///
/// It is either *sparse* (index/value pairs, indices strictly increasing, all other entries
/// zero) or *dense* (a full vector). The buffer is owned by the caller and reused across calls,
/// so that the oracle allocates nothing once warm: the Frank-Wolfe update
/// `x <- (1 - gamma) x + gamma s` then costs `O(nnz(s))` on top of the scaling of `x`, and a
/// Frank-Wolfe iterate started at a sparse point stays supported on the union of the vertices
/// it has visited.
#[derive(Debug, Clone, Default)]
pub struct Vertex<T> {
    dim: usize,
    sparse: bool,
    idx: Vec<usize>,
    val: Vec<T>,
    dense: Vec<T>,
    /// Scratch indices for oracles that select (K-sparse top-K).
    pub(crate) scratch_idx: Vec<usize>,
    /// Scratch vertex for per-row oracles (row-wise wrapper).
    pub(crate) row: Option<Box<Vertex<T>>>,
}

impl<T: Float> Vertex<T> {
    /// An empty (dimension 0, sparse) vertex buffer.
    pub fn new() -> Self {
        Self {
            dim: 0,
            sparse: true,
            idx: Vec::new(),
            val: Vec::new(),
            dense: Vec::new(),
            scratch_idx: Vec::new(),
            row: None,
        }
    }

    /// Dimension of the ambient space.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `true` if stored as index/value pairs.
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }

    /// The index/value pairs if sparse.
    pub fn sparse(&self) -> Option<(&[usize], &[T])> {
        if self.sparse {
            Some((&self.idx, &self.val))
        } else {
            None
        }
    }

    /// The full vector if dense.
    pub fn dense(&self) -> Option<&[T]> {
        if self.sparse {
            None
        } else {
            Some(&self.dense)
        }
    }

    /// Number of stored entries (nonzeros for a sparse vertex, `dim` for a dense one).
    pub fn nnz(&self) -> usize {
        if self.sparse {
            self.idx.len()
        } else {
            self.dim
        }
    }

    /// Resets to the sparse zero vector of dimension `dim` (for oracle implementations).
    #[inline]
    pub fn clear_sparse(&mut self, dim: usize) {
        self.dim = dim;
        self.sparse = true;
        self.idx.clear();
        self.val.clear();
    }

    /// Appends entry `(i, v)` to a sparse vertex. Indices must be pushed in increasing order.
    #[inline]
    pub fn push(&mut self, i: usize, v: T) {
        debug_assert!(self.sparse && i < self.dim);
        debug_assert!(self.idx.last().is_none_or(|&l| l < i));
        self.idx.push(i);
        self.val.push(v);
    }

    /// Switches to dense storage of dimension `dim` and returns the buffer to fill (contents
    /// unspecified).
    #[inline]
    pub fn dense_mut(&mut self, dim: usize) -> &mut [T] {
        self.dim = dim;
        self.sparse = false;
        self.dense.resize(dim, T::zero());
        &mut self.dense
    }

    /// Iterates over the stored entries `(index, value)` (allocation-free).
    pub fn iter(&self) -> VertexIter<'_, T> {
        if self.sparse {
            VertexIter::Sparse(self.idx.iter().zip(self.val.iter()))
        } else {
            VertexIter::Dense(self.dense.iter().enumerate())
        }
    }

    /// `<s, g>`.
    #[inline]
    pub fn dot(&self, g: &[T]) -> T {
        if self.sparse {
            self.idx
                .iter()
                .zip(&self.val)
                .map(|(&i, &v)| v * g[i])
                .sum()
        } else {
            linalg::dot(&self.dense, g)
        }
    }

    /// `||s||^2`.
    pub fn norm2_sq(&self) -> T {
        if self.sparse {
            self.val.iter().map(|&v| v * v).sum()
        } else {
            linalg::norm2_sq(&self.dense)
        }
    }

    /// `||s - x||^2` in `O(dim)` without materialising `s`.
    pub fn dist2_sq(&self, x: &[T]) -> T {
        if self.sparse {
            // ||x||^2 - 2<s,x> + ||s||^2, computed exactly enough: correct the touched entries.
            let mut acc = linalg::norm2_sq(x);
            for (&i, &v) in self.idx.iter().zip(&self.val) {
                acc += (v - x[i]) * (v - x[i]) - x[i] * x[i];
            }
            acc.max(T::zero())
        } else {
            linalg::dist2_sq(&self.dense, x)
        }
    }

    /// Writes `s` into `out` (length `dim`).
    pub fn to_dense(&self, out: &mut [T]) {
        if self.sparse {
            out.iter_mut().for_each(|o| *o = T::zero());
            for (&i, &v) in self.idx.iter().zip(&self.val) {
                out[i] = v;
            }
        } else {
            out.copy_from_slice(&self.dense);
        }
    }

    /// `x += alpha * s`.
    #[inline]
    pub fn add_scaled_to(&self, alpha: T, x: &mut [T]) {
        if self.sparse {
            for (&i, &v) in self.idx.iter().zip(&self.val) {
                x[i] += alpha * v;
            }
        } else {
            linalg::axpy(alpha, &self.dense, x);
        }
    }

    /// The Frank-Wolfe move `x <- (1 - gamma) x + gamma s`. Zeros of `x` outside the support
    /// of `s` stay exactly zero.
    #[inline]
    pub fn fw_update(&self, gamma: T, x: &mut [T]) {
        linalg::scale(T::one() - gamma, x);
        self.add_scaled_to(gamma, x);
    }

    /// Copies the content (not the scratch space) of `other` into `self`, reusing buffers.
    pub fn copy_from(&mut self, other: &Vertex<T>) {
        self.dim = other.dim;
        self.sparse = other.sparse;
        self.idx.clear();
        self.idx.extend_from_slice(&other.idx);
        self.val.clear();
        self.val.extend_from_slice(&other.val);
        if !other.sparse {
            self.dense.clear();
            self.dense.extend_from_slice(&other.dense);
        }
    }

    /// Appends the entries of `row` shifted by `offset` (row-wise oracle assembly).
    pub(crate) fn append_shifted(&mut self, row: &Vertex<T>, offset: usize) {
        if row.sparse {
            for (&i, &v) in row.idx.iter().zip(&row.val) {
                self.idx.push(i + offset);
                self.val.push(v);
            }
        } else {
            for (i, &v) in row.dense.iter().enumerate() {
                if v != T::zero() {
                    self.idx.push(i + offset);
                    self.val.push(v);
                }
            }
        }
    }
}

/// Iterator over the stored `(index, value)` entries of a [`Vertex`].
#[derive(Debug, Clone)]
pub enum VertexIter<'a, T> {
    /// Over index/value pairs.
    Sparse(core::iter::Zip<core::slice::Iter<'a, usize>, core::slice::Iter<'a, T>>),
    /// Over all entries of a dense vertex.
    Dense(core::iter::Enumerate<core::slice::Iter<'a, T>>),
}

impl<T: Copy> Iterator for VertexIter<'_, T> {
    type Item = (usize, T);
    #[inline]
    fn next(&mut self) -> Option<(usize, T)> {
        match self {
            VertexIter::Sparse(it) => it.next().map(|(&i, &v)| (i, v)),
            VertexIter::Dense(it) => it.next().map(|(i, &v)| (i, v)),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            VertexIter::Sparse(it) => it.size_hint(),
            VertexIter::Dense(it) => it.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = Vertex::<f64>::new();
        s.clear_sparse(5);
        s.push(1, 2.0);
        s.push(4, -1.0);
        let mut d = Vertex::<f64>::new();
        d.dense_mut(5).copy_from_slice(&[0.0, 2.0, 0.0, 0.0, -1.0]);
        let x = [0.5, -1.0, 3.0, 0.25, 2.0];
        assert_eq!(s.dot(&x), d.dot(&x));
        assert!((s.dist2_sq(&x) - d.dist2_sq(&x)).abs() < 1e-12);
        assert_eq!(s.norm2_sq(), d.norm2_sq());
        let (mut a, mut b) = (x, x);
        s.fw_update(0.25, &mut a);
        d.fw_update(0.25, &mut b);
        assert_eq!(a, b);
        let mut o = [9.0; 5];
        s.to_dense(&mut o);
        assert_eq!(o, [0.0, 2.0, 0.0, 0.0, -1.0]);
        assert_eq!(s.nnz(), 2);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(1, 2.0), (4, -1.0)]);
        assert_eq!(
            d.iter().filter(|e| e.1 != 0.0).collect::<Vec<_>>(),
            vec![(1, 2.0), (4, -1.0)]
        );
        assert_eq!(d.nnz(), 5);
    }
}
