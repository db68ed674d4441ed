//! The random sparse models the ONNX Runtime comparisons run on, until the compressor's trained Fashion-MNIST
//! model replaces them: same shape and budget as `wolfpack compress`'s defaults (784 inputs, 256 hidden units,
//! 10 outputs, 10,000 stored weights, `kappa = 0.5`, f16 values), random support and values.
//!
//! Only the sparsity pattern and sizes matter for speed, not the values: the latency of a sparse product is a
//! function of the nonzero count and layout, and the iteration count of a contraction of the bound `kappa`.

use rand::{Rng, SeedableRng};
use wolfpack_format::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};

/// Shape and budget of a random sparse model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseSpec {
    /// Inputs `p`.
    pub inputs: usize,
    /// Hidden units `n`.
    pub hidden: usize,
    /// Outputs `q`.
    pub outputs: usize,
    /// Nonzeros of `A` (0: a feed-forward model, `x = relu(B u + b)`).
    pub nnz_a: usize,
    /// Nonzeros of `B`.
    pub nnz_b: usize,
    /// Nonzeros of `C`.
    pub nnz_c: usize,
    /// Row L1 norm of every nonempty row of `A` (the contraction factor).
    pub kappa: f32,
    /// Stored value type.
    pub dtype: ValueType,
    /// Seed.
    pub seed: u64,
}

impl SparseSpec {
    /// The Fashion-MNIST stand-in: 784 -> 256 -> 10, 10,000 nonzeros (A 1,000, B 8,000, C 1,000), kappa 0.5, f16.
    pub fn fashion_implicit() -> SparseSpec {
        SparseSpec {
            inputs: 784,
            hidden: 256,
            outputs: 10,
            nnz_a: 1_000,
            nnz_b: 8_000,
            nnz_c: 1_000,
            kappa: 0.5,
            dtype: ValueType::F16,
            seed: 0,
        }
    }

    /// The feed-forward variant (`A = 0`): B 9,000 and C 1,000 nonzeros.
    pub fn fashion_feedforward() -> SparseSpec {
        SparseSpec {
            nnz_a: 0,
            nnz_b: 9_000,
            ..SparseSpec::fashion_implicit()
        }
    }
}

/// `nnz` distinct random positions of a `rows x cols` matrix as a dense row-major array (values in +-[0.1, 1)).
fn sparse(rows: usize, cols: usize, nnz: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut m = vec![0.0f32; rows * cols];
    let nnz = nnz.min(rows * cols);
    let mut placed = 0;
    while placed < nnz {
        let k = rng.random_range(0..rows * cols);
        if m[k] == 0.0 {
            let v = rng.random_range(0.1f32..1.0);
            m[k] = if rng.random::<bool>() { v } else { -v };
            placed += 1;
        }
    }
    m
}

/// A random sparse implicit model following `spec`, stored as CSR.
pub fn random_sparse_model(spec: &SparseSpec) -> ModelFile {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let (n, p, q) = (spec.hidden, spec.inputs, spec.outputs);
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.kappa = spec.kappa;
    meta.provenance.dataset =
        Some("random sparse stand-in of Fashion-MNIST shape (benchmarks only)".into());
    let mut file = ModelFile::new(meta);
    let csr = |rows, cols, v: &[f32]| {
        StoredMatrix::new(Matrix::csr_from_dense(rows, cols, v), spec.dtype)
    };
    if spec.nnz_a > 0 {
        let mut a = sparse(n, n, spec.nnz_a, &mut rng);
        for row in a.chunks_mut(n) {
            let l1: f32 = row.iter().map(|v| v.abs()).sum();
            if l1 > 0.0 {
                // A little under kappa so that f16 rounding cannot push a row over it.
                row.iter_mut().for_each(|v| *v *= 0.999 * spec.kappa / l1);
            }
        }
        file.a = Some(csr(n, n, &a));
    }
    // Scale B so that pre-activations are O(1) for inputs in [0, 1].
    let mut b = sparse(n, p, spec.nnz_b, &mut rng);
    let per_row = (spec.nnz_b as f32 / n as f32).max(1.0);
    b.iter_mut().for_each(|v| *v /= per_row.sqrt());
    file.b = Some(csr(n, p, &b));
    file.c = Some(csr(q, n, &sparse(q, n, spec.nnz_c, &mut rng)));
    file.bias_x = (0..n).map(|_| rng.random_range(-0.1f32..0.1)).collect();
    file.bias_y = (0..q).map(|_| rng.random_range(-0.1f32..0.1)).collect();
    file
}

#[cfg(test)]
mod tests {
    use super::*;
    use wolfpack_format::ModelView;

    #[test]
    fn stand_ins_have_the_budget_and_are_well_posed() {
        for spec in [
            SparseSpec::fashion_implicit(),
            SparseSpec::fashion_feedforward(),
        ] {
            let bytes = random_sparse_model(&spec).to_bytes().unwrap();
            let view = ModelView::parse(&bytes).unwrap();
            assert_eq!(view.nnz(), 10_000);
            assert!(
                view.structure.kappa < spec.kappa.max(1e-3),
                "{:?}",
                view.structure
            );
        }
    }
}
