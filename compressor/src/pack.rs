//! From trained weights to a `.wpk` model: each matrix becomes CSR (or is left out when it is zero), values are
//! stored in the chosen type, and the metadata records dimensions, solver defaults, preprocessing and provenance.

use wolfpack_format::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};

use crate::data::Preprocess;
use crate::model::{Params, Which};
use crate::train::Compressed;

/// Builds the model file for `params` (stored as CSR in `dtype`; all-zero matrices are omitted).
///
/// `preprocess` maps raw inputs to what the model saw in training, `u = (raw - offset) * scale`; the format's
/// preprocessing is `(raw * scale - mean) / std`, hence `scale = 1`, `mean = offset`, `std = 1 / scale` (or just
/// `scale` when there is no offset).
pub fn model_file(
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
        assert_eq!(v.b.unwrap().to_dense(), p.b);
        assert!((v.meta.preprocessing.scale - 1.0 / 255.0).abs() < 1e-9);
    }
}
