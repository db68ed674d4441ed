//! The teacher's hidden pre-activations, hidden states and logits on a set of inputs: the targets and features of
//! the row-wise fit.

use super::load::exact_solve;
use crate::model::gemm::{gemm, View};
use crate::model::Params;

/// Inputs to a batch at a time: bounds the solver's scratch memory, not the result's.
const BATCH: usize = 2048;

/// States of `m` examples, each row-major with one row per example.
#[derive(Clone, Debug, PartialEq)]
pub struct States {
    /// Examples.
    pub m: usize,
    /// Hidden units of the teacher (all layers stacked).
    pub n: usize,
    /// Outputs.
    pub q: usize,
    /// Pre-activations `s = A h + B u + b`, `m x n`.
    pub pre: Vec<f32>,
    /// Hidden states `h = relu(s)`, `m x n`.
    pub hidden: Vec<f32>,
    /// Logits `z = C h + D u + c`, `m x q`.
    pub logits: Vec<f32>,
}

impl States {
    /// Solves the teacher `t` exactly on `m` inputs `u` (`m x p`) and records its states.
    pub fn of(t: &Params, u: &[f32], m: usize) -> States {
        let (p, n, q) = (t.p, t.h, t.q);
        assert_eq!(u.len(), m * p, "inputs have the wrong size");
        let mut st = States {
            m,
            n,
            q,
            pre: vec![0.0; m * n],
            hidden: Vec::with_capacity(m * n),
            logits: Vec::with_capacity(m * q),
        };
        let opts = exact_solve(t);
        for start in (0..m).step_by(BATCH) {
            let k = BATCH.min(m - start);
            let ub = &u[start * p..(start + k) * p];
            let f = t.forward(ub, k, &opts);
            let pre = &mut st.pre[start * n..(start + k) * n];
            for row in pre.chunks_mut(n.max(1)) {
                row.copy_from_slice(&t.bias_x);
            }
            gemm(k, p, n, 1.0, View::rows(ub, p), View::t(&t.b, p), 1.0, pre);
            gemm(
                k,
                n,
                n,
                1.0,
                View::rows(&f.x, n),
                View::t(&t.a, n),
                1.0,
                pre,
            );
            st.hidden.extend_from_slice(&f.x);
            st.logits.extend_from_slice(&f.y);
        }
        st
    }

    /// The states of the hidden units `keep` only (the logits stay whole).
    pub fn restrict(&self, keep: &[usize]) -> States {
        if keep.len() == self.n {
            return self.clone();
        }
        let gather = |x: &[f32]| -> Vec<f32> {
            x.chunks(self.n.max(1))
                .flat_map(|row| keep.iter().map(move |&j| row[j]))
                .collect()
        };
        States {
            m: self.m,
            n: keep.len(),
            q: self.q,
            pre: gather(&self.pre),
            hidden: gather(&self.hidden),
            logits: self.logits.clone(),
        }
    }
}

#[cfg(test)]
// Index loops over parallel arrays read like the sums they check.
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn two_layer_states_match_the_layers() {
        // u (2) -> h1 (2) -> h2 (1) -> y (1), as the importer lays it out: A holds W2 below the diagonal.
        let mut t = Params::zeros(2, 3, 1);
        t.b = vec![1.0, -1.0, 0.5, 2.0, 0.0, 0.0];
        t.bias_x = vec![0.0, -1.0, 0.25];
        t.a[2 * 3] = 1.0; // h2 <- h1[0]
        t.a[2 * 3 + 1] = -2.0; // h2 <- h1[1]
        t.c = vec![0.0, 0.0, 3.0];
        t.bias_y = vec![-1.0];
        let u = [1.0, 0.5, -1.0, 1.0];
        let st = States::of(&t, &u, 2);
        for (k, uk) in u.chunks(2).enumerate() {
            let s1 = [uk[0] - uk[1], 0.5 * uk[0] + 2.0 * uk[1] - 1.0];
            let h1 = s1.map(|v| v.max(0.0));
            let s2 = h1[0] - 2.0 * h1[1] + 0.25;
            let want = [s1[0], s1[1], s2];
            for j in 0..3 {
                assert!((st.pre[k * 3 + j] - want[j]).abs() < 1e-6, "{k} {j}");
                assert!((st.hidden[k * 3 + j] - want[j].max(0.0)).abs() < 1e-6);
            }
            assert!((st.logits[k] - (3.0 * s2.max(0.0) - 1.0)).abs() < 1e-6);
        }
    }
}
