//! From trained weights to a `.wpk` model: each matrix becomes CSR (or is left out when it is zero), values are
//! stored in the chosen type, and the metadata records dimensions, solver defaults, preprocessing and provenance.

use wolfpack_format::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};

use crate::data::Preprocess;
use crate::model::{Params, Which};
use crate::train::Compressed;

/// Builds the model file for `params` (stored as CSR in `dtype`; all-zero matrices are omitted), its hidden
/// units renumbered in the runtime's evaluation order.
///
/// `preprocess` maps raw inputs to what the model saw in training, `u = (raw - offset) * scale`; the format's
/// preprocessing is `(raw * scale - mean) / std`, hence `scale = 1`, `mean = offset`, `std = 1 / scale` (or just
/// `scale` when there is no offset).
///
/// The hidden units are stored in the order the runtime evaluates them
/// ([`wolfpack_runtime::Model::evaluation_order`]: dependencies first, components contiguous, exact runs by
/// level), a renumbering that leaves the model's function unchanged ([`Params::renumbered`]); the runtime then
/// reads its plan off the stored order at every load instead of searching the graph of `A` for it.
pub fn model_file(
    params: &Params,
    dtype: ValueType,
    kappa: f32,
    preprocess: Preprocess,
    labels: &[String],
) -> ModelFile {
    let file = stored_model_file(params, dtype, kappa, preprocess, labels);
    match evaluation_order(&file) {
        Some(order) if order.iter().zip(0..).any(|(&o, k)| o != k) => {
            stored_model_file(&params.renumbered(&order), dtype, kappa, preprocess, labels)
        }
        _ => file,
    }
}

/// The runtime's evaluation order of `file`'s hidden units, as it stores them (quantised; `None` when the
/// file does not encode, which writing it reports, or `A` has no plan).
fn evaluation_order(file: &ModelFile) -> Option<Vec<u32>> {
    let bytes = file.to_bytes().ok()?;
    wolfpack_runtime::Model::from_bytes(&bytes)
        .ok()?
        .evaluation_order()
}

/// [`model_file`] in the stored order of `params`.
fn stored_model_file(
    params: &Params,
    dtype: ValueType,
    kappa: f32,
    preprocess: Preprocess,
    labels: &[String],
) -> ModelFile {
    let mut meta = Metadata::new(params.h as u32, params.p as u32, params.q as u32);
    meta.kappa = kappa;
    if preprocess.offset == 0.0 {
        meta.preprocessing.scale = preprocess.scale;
    } else {
        // Subtract before scaling, as training did: (raw - offset) / (1 / scale) keeps the precision that
        // raw * scale - offset * scale loses when the offset is large against the range.
        meta.preprocessing.mean = vec![preprocess.offset];
        meta.preprocessing.std = vec![1.0 / preprocess.scale];
    }
    if labels.len() == params.q {
        meta.labels = labels.to_vec();
    }
    let mut file = ModelFile::new(meta);
    let csr = |w: Which| {
        let (rows, cols) = params.shape(w);
        let m = params.mat(w);
        m.iter()
            .any(|&v| v != 0.0)
            .then(|| StoredMatrix::new(Matrix::csr_from_dense(rows, cols, m), dtype))
    };
    file.a = csr(Which::A);
    file.b = csr(Which::B);
    file.c = csr(Which::C);
    file.d = csr(Which::D);
    if params.bias_x.iter().any(|&v| v != 0.0) {
        file.bias_x = params.bias_x.clone();
    }
    if params.bias_y.iter().any(|&v| v != 0.0) {
        file.bias_y = params.bias_y.clone();
    }
    file
}

/// The model file of a finished compression run, with its provenance (data set, accuracy, settings).
pub fn compressed_model_file(c: &Compressed, dataset: &str) -> ModelFile {
    let mut file = model_file(&c.params, c.quant, c.kappa, c.preprocess, &c.labels);
    let s = c.config.eval_solve;
    file.meta.solver.tolerance = s.tol;
    file.meta.solver.max_iterations = s.max_iter as u32;
    file.meta.provenance.dataset = Some(dataset.to_string());
    file.meta.provenance.accuracy = Some(c.test_accuracy);
    file.meta.provenance.training = serde_json::to_value(&c.config).unwrap_or_default().into();
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_matrices_are_left_out_and_nonzeros_kept() {
        let mut p = Params::zeros(3, 2, 2);
        p.b[1] = 0.5;
        p.c[3] = -1.0;
        p.a[1] = 0.25;
        let f = model_file(
            &p,
            ValueType::F32,
            0.5,
            Preprocess::BYTE,
            &["x".into(), "y".into()],
        );
        let bytes = f.to_bytes().unwrap();
        let v = wolfpack_format::ModelView::parse(&bytes).unwrap();
        assert_eq!(v.nnz(), 3);
        assert!(v.d.is_none());
        assert_eq!(v.meta.labels, vec!["x", "y"]);
        // Row 0 of A reads row 1, which reads nothing: stored as unit 1 then unit 0.
        assert_eq!(v.b.unwrap().to_dense(), p.renumbered(&[1, 0]).b);
        assert!((v.meta.preprocessing.scale - 1.0 / 255.0).abs() < 1e-9);
    }

    /// A model whose `A` has cycles, self-loops and chains in no particular order: the written file stores its
    /// units in evaluation order (the runtime reads the plan off it) and computes the same outputs.
    #[test]
    fn files_store_the_hidden_units_in_evaluation_order() {
        use rand::{Rng, SeedableRng};
        use wolfpack_runtime::{Model, Session};
        let (p, h, q) = (5, 12, 3);
        let mut params = Params::zeros(p, h, q);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.random_range(-1.0f32..1.0);
        // Row i reads i + 3 (a chain stored backwards), and 7 <-> 9, 2 -> 5 -> 2 are cycles, 4 has a self-loop.
        for (i, j) in [
            (0, 3),
            (3, 6),
            (6, 9),
            (7, 9),
            (9, 7),
            (2, 5),
            (5, 2),
            (4, 4),
            (10, 1),
        ] {
            params.a[i * h + j] = 0.3 * next();
        }
        params.b.iter_mut().for_each(|v| *v = next());
        params.c.iter_mut().for_each(|v| *v = next());
        params.bias_x.iter_mut().for_each(|v| *v = 0.1 * next());
        params.bias_y.iter_mut().for_each(|v| *v = next());
        let labels = ["a".into(), "b".into(), "c".into()];
        let written = model_file(&params, ValueType::F32, 0.5, Preprocess::BYTE, &labels);
        let stored = stored_model_file(&params, ValueType::F32, 0.5, Preprocess::BYTE, &labels);
        assert_ne!(written, stored, "this order is not an evaluation order");
        let (written, stored) = (written.to_bytes().unwrap(), stored.to_bytes().unwrap());
        let (written, stored) = (
            Model::from_bytes(&written).unwrap(),
            Model::from_bytes(&stored).unwrap(),
        );
        let (w, s) = (written.blocks().unwrap(), stored.blocks().unwrap());
        assert!(w.in_stored_order && !s.in_stored_order);
        assert_eq!((w.cyclic_blocks, w.pairs, w.self_loops), (2, 2, 1));
        assert_eq!((w.exact_rows, w.empty_rows), (s.exact_rows, s.empty_rows));
        let (mut sw, mut ss) = (Session::new(&written), Session::new(&stored));
        for _ in 0..20 {
            let u: Vec<f32> = (0..p).map(|_| next()).collect();
            let (mut yw, mut ys) = (vec![0.0; q], vec![0.0; q]);
            sw.predict(&written, &u, &mut yw).unwrap();
            ss.predict(&stored, &u, &mut ys).unwrap();
            for (a, b) in yw.iter().zip(&ys) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{yw:?} vs {ys:?}");
            }
        }
    }
}
