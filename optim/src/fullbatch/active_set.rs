//! The active set of away-step and pairwise Frank-Wolfe: the iterate as an explicit convex
//! combination of vertices.

use crate::{Float, Vertex};
use std::collections::HashMap;

/// `x = sum_k w_k a_k` with `w_k > 0`, `sum_k w_k = 1`, atoms `a_k` distinct vertices.
///
/// Atoms are identified by their exact entries (bit patterns), so an oracle that returns the
/// same vertex twice (the usual case on polytopes) increases a weight instead of adding a copy.
#[derive(Debug, Clone, Default)]
pub struct ActiveSet<T> {
    atoms: Vec<Vertex<T>>,
    weights: Vec<T>,
    index: HashMap<Vec<u64>, usize>,
}

fn key<T: Float>(v: &Vertex<T>) -> Vec<u64> {
    let mut k = Vec::with_capacity(2 * v.nnz() + 1);
    k.push(v.is_sparse() as u64);
    for (i, x) in v.iter() {
        if v.is_sparse() {
            k.push(i as u64);
        }
        // +0 and -0 are the same point.
        let x = if x == T::zero() { 0.0 } else { x.f64() };
        k.push(x.to_bits());
    }
    k
}

impl<T: Float> ActiveSet<T> {
    /// The active set `{v: 1}`.
    pub fn singleton(v: &Vertex<T>) -> Self {
        let mut s = Self::default();
        s.add(v, T::one());
        s
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// `true` if there is no atom.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// The atoms.
    pub fn atoms(&self) -> &[Vertex<T>] {
        &self.atoms
    }

    /// Their weights (same order as [`atoms`](Self::atoms)).
    pub fn weights(&self) -> &[T] {
        &self.weights
    }

    /// Position of `v` among the atoms.
    pub fn find(&self, v: &Vertex<T>) -> Option<usize> {
        self.index.get(&key(v)).copied()
    }

    /// Adds `w` to the weight of `v`, inserting it if new; returns its position.
    pub fn add(&mut self, v: &Vertex<T>, w: T) -> usize {
        let k = key(v);
        if let Some(&p) = self.index.get(&k) {
            self.weights[p] += w;
            p
        } else {
            let mut a = Vertex::new();
            a.copy_from(v);
            self.atoms.push(a);
            self.weights.push(w);
            self.index.insert(k, self.atoms.len() - 1);
            self.atoms.len() - 1
        }
    }

    /// Multiplies all weights by `c`.
    pub fn scale(&mut self, c: T) {
        self.weights.iter_mut().for_each(|w| *w *= c);
    }

    /// Adds `delta` to the weight of atom `p`, removing the atom if its weight drops to
    /// `<= 0` (a "drop step").
    pub fn shift(&mut self, p: usize, delta: T) {
        self.weights[p] += delta;
        if self.weights[p] <= T::zero() {
            self.remove(p);
        }
    }

    /// Removes atom `p`.
    pub fn remove(&mut self, p: usize) {
        let k = key(&self.atoms[p]);
        self.index.remove(&k);
        self.atoms.swap_remove(p);
        self.weights.swap_remove(p);
        if p < self.atoms.len() {
            let moved = key(&self.atoms[p]);
            self.index.insert(moved, p);
        }
    }

    /// Empties the set and makes `v` its single atom with weight 1.
    pub fn reset_to(&mut self, v: &Vertex<T>) {
        self.atoms.clear();
        self.weights.clear();
        self.index.clear();
        self.add(v, T::one());
    }

    /// The away vertex: `argmax_k <g, a_k>` and that value.
    pub fn away(&self, g: &[T]) -> Option<(usize, T)> {
        let mut best = None;
        let mut m = T::neg_infinity();
        for (k, a) in self.atoms.iter().enumerate() {
            let v = a.dot(g);
            if v > m {
                m = v;
                best = Some(k);
            }
        }
        best.map(|k| (k, m))
    }

    /// Writes `sum_k w_k a_k` into `out`.
    pub fn combination(&self, out: &mut [T]) {
        out.iter_mut().for_each(|o| *o = T::zero());
        for (a, &w) in self.atoms.iter().zip(&self.weights) {
            a.add_scaled_to(w, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(n: usize, i: usize, v: f64) -> Vertex<f64> {
        let mut s = Vertex::new();
        s.clear_sparse(n);
        s.push(i, v);
        s
    }

    #[test]
    fn dedupes_and_drops() {
        let a = unit(3, 0, 1.0);
        let b = unit(3, 2, -1.0);
        let mut s = ActiveSet::singleton(&a);
        s.scale(0.5);
        s.add(&b, 0.5);
        assert_eq!(s.len(), 2);
        assert_eq!(s.add(&a, 0.0), 0);
        assert_eq!(s.len(), 2);
        let mut x = [0.0; 3];
        s.combination(&mut x);
        assert_eq!(x, [0.5, 0.0, -0.5]);
        assert_eq!(s.away(&[-1.0, 0.0, -1.0]).unwrap().0, s.find(&b).unwrap());
        let pa = s.find(&a).unwrap();
        s.shift(pa, -0.5);
        assert_eq!(s.len(), 1);
        assert_eq!(s.find(&b), Some(0));
        assert_eq!(s.find(&a), None);
    }
}
