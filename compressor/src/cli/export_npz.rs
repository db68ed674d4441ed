//! `wolfpack export-npz MODEL --out FILE.npz`: the model's weights as dense float32 arrays, for NumPy.

use std::path::PathBuf;

use wolfpack_format::{ModelView, Role};

use super::{read_model_bytes, CliError, CliResult};

/// Largest matrix exported (2^28 entries, 1 GiB of float32).
const MAX_DENSE_ENTRIES: usize = 1 << 28;

/// Arguments of `export-npz`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// Output `.npz` file: arrays A (n x n), B (n x p), C (q x n), D (q x p), b (n), c (q), dequantised, plus
    /// preprocess_scale (1), preprocess_mean and preprocess_std (0, 1 or p values) and order (n, as float32).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `export-npz`.
pub fn run(args: &Args) -> CliResult {
    let bytes = read_model_bytes(&args.model)?;
    let view = ModelView::parse(&bytes).map_err(|e| CliError::at(&args.model, e))?;
    let d = view.meta.dims;
    let (n, p, q) = (d.hidden as usize, d.inputs as usize, d.outputs as usize);
    let mut arrays: Vec<(&str, Vec<usize>, Vec<f32>)> = Vec::new();
    for (name, role) in [
        ("A", Role::A),
        ("B", Role::B),
        ("C", Role::C),
        ("D", Role::D),
    ] {
        let (rows, cols) = role.shape(n, p, q);
        // Dense export of a huge declared shape would exhaust memory: refuse it in one line instead.
        if rows.checked_mul(cols).is_none_or(|e| e > MAX_DENSE_ENTRIES) {
            return Err(CliError::at(
                &args.model,
                format!("{name} is {rows} x {cols}: too large to export densely (limit {MAX_DENSE_ENTRIES} entries)"),
            ));
        }
        let dense = view
            .matrix(role)
            .map_or_else(|| vec![0.0; rows * cols], |m| m.to_dense());
        arrays.push((name, vec![rows, cols], dense));
    }
    let vector = |v: Option<&[f32]>, len: usize| v.map_or_else(|| vec![0.0; len], <[f32]>::to_vec);
    arrays.push(("b", vec![n], vector(view.bias_x, n)));
    arrays.push(("c", vec![q], vector(view.bias_y, q)));
    let pre = &view.meta.preprocessing;
    arrays.push(("preprocess_scale", vec![1], vec![pre.scale]));
    arrays.push(("preprocess_mean", vec![pre.mean.len()], pre.mean.clone()));
    arrays.push(("preprocess_std", vec![pre.std.len()], pre.std.clone()));
    let order: Vec<f32> = match view.order {
        Some(o) => o.iter().map(|&i| i as f32).collect(),
        None => (0..n).map(|i| i as f32).collect(),
    };
    arrays.push(("order", vec![n], order));
    let data = crate::npz::npz(&arrays).map_err(|e| CliError::at(&args.out, e))?;
    wolfpack_format::write_atomic(&args.out, &data).map_err(|e| CliError(e.to_string()))?;
    eprintln!("wrote {} ({} bytes)", args.out.display(), data.len());
    Ok(())
}
