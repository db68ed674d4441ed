//! `wolfpack predict MODEL --input FILE [--json]`: run the runtime on inputs from a `.npy`, IDX or CSV file.

use std::path::{Path, PathBuf};

use wolfpack_runtime::{Model, Session};

use super::{CliError, CliResult};
use crate::data::{idx, npy};
use crate::evaluate::argmax;

/// Arguments of `predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// Raw inputs (the model applies its own preprocessing): `.npy` [N, p] (float32/float64/integer), an IDX file
    /// (`*-ubyte[.gz]`, e.g. MNIST images; each item flattened), or CSV with one input of p numbers per line.
    #[arg(long)]
    pub input: PathBuf,
    /// Print {"outputs": [[...], ...], "labels": [...], "iterations": [...]}.
    #[arg(long)]
    pub json: bool,
}

/// Reads `[N, p]` raw inputs from `path`, in the format its name says.
pub fn read_inputs(path: &Path, p: usize) -> Result<Vec<f32>, CliError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let values: Vec<f32> = if name.ends_with(".npy") {
        let a = npy::read(path).map_err(|e| CliError(e.to_string()))?;
        if a.shape.last() != Some(&p) || a.shape.len() > 2 {
            return Err(CliError::at(
                path,
                format!("array of shape {:?}; expected [N, {p}] or [{p}]", a.shape),
            ));
        }
        a.data.iter().map(|&v| v as f32).collect()
    } else if name.ends_with(".csv") {
        let (values, width) = read_csv(path)?;
        if width != p {
            return Err(CliError::at(
                path,
                format!("lines hold {width} values; the model takes {p}"),
            ));
        }
        values
    } else if name.contains("-ubyte") {
        let a = idx::read(path).map_err(|e| CliError(e.to_string()))?;
        a.data.iter().map(|&v| f32::from(v)).collect()
    } else {
        return Err(CliError::at(
            path,
            "unknown input format (expected .npy, .csv or an IDX *-ubyte[.gz] file)",
        ));
    };
    if values.is_empty() || !values.len().is_multiple_of(p) {
        return Err(CliError::at(
            path,
            format!(
                "holds {} values, not a whole number of {p}-value inputs",
                values.len()
            ),
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(CliError::at(
            path,
            format!("input {} holds a NaN or infinite value", i / p),
        ));
    }
    Ok(values)
}

/// The values of a CSV file of numbers, and the number of values per line.
fn read_csv(path: &Path) -> Result<(Vec<f32>, usize), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::at(path, e))?;
    let mut values = Vec::new();
    let mut width = None;
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: Result<Vec<f32>, _> = line.split(',').map(|f| f.trim().parse::<f32>()).collect();
        let row = row.map_err(|e| CliError::at(path, format!("line {}: {e}", line_no + 1)))?;
        if *width.get_or_insert(row.len()) != row.len() {
            return Err(CliError::at(
                path,
                format!(
                    "line {}: {} values, earlier lines have {}",
                    line_no + 1,
                    row.len(),
                    width.unwrap_or(0)
                ),
            ));
        }
        values.extend(row);
    }
    Ok((values, width.unwrap_or(0)))
}

/// Runs `predict`.
pub fn run(args: &Args) -> CliResult {
    let model = Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let (p, q) = (model.n_inputs(), model.n_outputs());
    let inputs = read_inputs(&args.input, p)?;
    let mut session = Session::new(&model);
    let mut outputs = vec![0.0f32; inputs.len() / p * q];
    let mut iterations = Vec::with_capacity(inputs.len() / p);
    for (u, y) in inputs.chunks(p).zip(outputs.chunks_mut(q)) {
        let stats = session
            .predict(&model, u, y)
            .map_err(|e| CliError::at(&args.model, e))?;
        iterations.push(stats.iterations);
    }
    let names = model.labels();
    let labels: Vec<String> = outputs
        .chunks(q)
        .map(|y| {
            let k = argmax(y);
            names.get(k).cloned().unwrap_or_else(|| k.to_string())
        })
        .collect();
    if args.json {
        let rows: Vec<&[f32]> = outputs.chunks(q).collect();
        let doc = serde_json::json!({"outputs": rows, "labels": labels, "iterations": iterations});
        println!("{doc}");
    } else {
        for (i, (y, label)) in outputs.chunks(q).zip(&labels).enumerate() {
            let ys: Vec<String> = y.iter().map(|v| format!("{v:.4}")).collect();
            println!(
                "{i:>6}  {label:<16} [{}]  ({} iterations)",
                ys.join(", "),
                iterations[i]
            );
        }
    }
    Ok(())
}
