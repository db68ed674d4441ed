//! A stored model as dense [`Params`] acting on a data set's preprocessed inputs, for the gradient and bound code.

use wolfpack_format::{ModelView, Role};

use super::RobustError;
use crate::data::Preprocess;
use crate::model::Params;

/// The model of `view` (weights dequantised to f32) as a function of the data set's inputs `u`.
///
/// The data set maps raw values to `u = (raw - offset) * scale` (`data`), the file maps raw values to
/// `v = (raw * s - mean) / std`. So `v = alpha u + beta` per feature, with `alpha = s / (scale std)` and
/// `beta = (offset s - mean) / std`, and the affine map is folded into the input weights:
/// `B' = B diag(alpha)`, `b' = b + B beta`, `D' = D diag(alpha)`, `c' = c + D beta`. Attacks and bounds then
/// work in the data set's `[0, 1]` box, and the runtime, fed `raw = u / scale + offset`, sees the same model.
pub fn params_from_view(view: &ModelView<'_>, data: Preprocess) -> Result<Params, RobustError> {
    let d = &view.meta.dims;
    let (h, p, q) = (d.hidden as usize, d.inputs as usize, d.outputs as usize);
    let mut params = Params::zeros(p, h, q);
    for (role, dst, len) in [
        (Role::A, &mut params.a, h * h),
        (Role::B, &mut params.b, h * p),
        (Role::C, &mut params.c, q * h),
        (Role::D, &mut params.d, q * p),
    ] {
        if let Some(m) = view.matrix(role) {
            let dense = m.to_dense();
            if dense.len() != len {
                return Err(RobustError::Model(format!(
                    "matrix {role:?} holds {} values, expected {len}",
                    dense.len()
                )));
            }
            *dst = dense;
        }
    }
    if let Some(b) = view.bias_x {
        params.bias_x.copy_from_slice(b);
    }
    if let Some(c) = view.bias_y {
        params.bias_y.copy_from_slice(c);
    }
    let pre = &view.meta.preprocessing;
    if !(data.scale.is_finite() && data.scale != 0.0) {
        return Err(RobustError::Data(format!(
            "data preprocessing scale {} is not usable",
            data.scale
        )));
    }
    let pick = |v: &[f32], i: usize, default: f32| match v.len() {
        0 => default,
        1 => v[0],
        _ => v.get(i).copied().unwrap_or(default),
    };
    let (alpha, beta): (Vec<f32>, Vec<f32>) = (0..p)
        .map(|i| {
            let (m, s) = (pick(&pre.mean, i, 0.0), pick(&pre.std, i, 1.0));
            (
                pre.scale / (data.scale * s),
                (data.offset * pre.scale - m) / s,
            )
        })
        .unzip();
    let identity = alpha.iter().all(|&a| a == 1.0) && beta.iter().all(|&b| b == 0.0);
    if !identity {
        fold(&mut params.b, &mut params.bias_x, p, &alpha, &beta);
        fold(&mut params.d, &mut params.bias_y, p, &alpha, &beta);
    }
    Ok(params)
}

/// `W <- W diag(alpha)`, `bias <- bias + W beta` (with the original `W`).
fn fold(w: &mut [f32], bias: &mut [f32], p: usize, alpha: &[f32], beta: &[f32]) {
    for (row, bi) in w.chunks_mut(p.max(1)).zip(bias.iter_mut()) {
        *bi += row.iter().zip(beta).map(|(a, b)| a * b).sum::<f32>();
        row.iter_mut().zip(alpha).for_each(|(a, s)| *a *= s);
    }
}

/// Raw input values from preprocessed ones, for the runtime: `raw = u / scale + offset`.
pub fn to_raw(u: &[f32], data: Preprocess) -> Vec<f32> {
    u.iter().map(|&v| v / data.scale + data.offset).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SolveOptions;
    use crate::pack::model_file;
    use wolfpack_format::ValueType;

    /// A model stored with one preprocessing and read against data with another computes the same outputs as the
    /// runtime on the corresponding raw inputs.
    #[test]
    fn folded_preprocessing_matches_the_runtime() {
        let mut params = Params::zeros(3, 2, 2);
        params.a = vec![0.0, 0.3, -0.2, 0.0];
        params.b = vec![1.0, -2.0, 0.5, 0.3, 0.7, -1.0];
        params.c = vec![1.0, -1.0, 0.5, 2.0];
        params.d = vec![0.1, 0.0, -0.3, 0.2, 0.4, 0.0];
        params.bias_x = vec![0.1, -0.2];
        params.bias_y = vec![0.05, 0.0];
        let stored = Preprocess {
            offset: 3.0,
            scale: 0.5,
        };
        let file = model_file(&params, ValueType::F32, 0.5, stored, &[]);
        let bytes = file.to_bytes().unwrap();
        let model = wolfpack_runtime::Model::from_bytes_copied(&bytes).unwrap();
        let data = Preprocess {
            offset: 1.0,
            scale: 0.25,
        };
        let folded = params_from_view(model.view(), data).unwrap();
        let u = [0.2f32, 0.9, 0.4];
        let ours = folded.forward(&u, 1, &SolveOptions::default()).y;
        let (theirs, _) = model
            .predict(&to_raw(&u, data), &Default::default())
            .unwrap();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-4, "{ours:?} vs {theirs:?}");
        }
    }
}
