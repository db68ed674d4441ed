//! `wolfpack predict MODEL --input FILE [--json]`: run a model on inputs from a `.npy`, IDX or CSV file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use wolfpack_runtime::{Model, Session};

use super::{CliError, CliResult};
use crate::data::{idx, npy};

/// Arguments of `predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// Inputs: `.npy` (`[N, p]` or `[p]`, any real dtype), IDX (`*-ubyte`, `.idx*`, optionally `.gz`: `N x ...` bytes
    /// flattened to p) or CSV (one input per line, p numbers, or p + 1 with a leading label, which is ignored). Raw
    /// values: the model's own preprocessing (e.g. 1/255 for pixels) is applied by the runtime.
    #[arg(long)]
    pub input: PathBuf,
    /// Print {"outputs": [[...], ...], "labels": [...], "iterations": [...]}: per input, the output vector, the
    /// predicted class (its name when the model has labels, else its index) and the fixed-point iterations used.
    #[arg(long)]
    pub json: bool,
}

/// Inputs read from a file: `n` rows of `p` values.
struct Inputs {
    values: Vec<f32>,
    p: usize,
}

fn read_inputs(path: &Path, p: usize) -> Result<Inputs, CliError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".npy") {
        let a = npy::read(path).map_err(|e| CliError(e.to_string()))?;
        let cols = match a.shape.as_slice() {
            [p] => *p,
            [_, p] => *p,
            s => {
                return Err(CliError::at(
                    path,
                    format!("expected a [N, p] or [p] array, found shape {s:?}"),
                ))
            }
        };
        return Ok(Inputs {
            values: a.data.iter().map(|&v| v as f32).collect(),
            p: cols,
        });
    }
    if name.ends_with(".csv") {
        return read_csv(path, p);
    }
    if name.contains("ubyte") || name.contains(".idx") {
        let a = idx::read(path).map_err(|e| CliError(e.to_string()))?;
        let cols = a.dims.iter().skip(1).product::<usize>();
        return Ok(Inputs {
            values: a.data.iter().map(|&v| f32::from(v)).collect(),
            p: cols,
        });
    }
    Err(CliError::at(
        path,
        "unknown input type: expected .npy, .csv, or an IDX file (*-ubyte, *.idx*)",
    ))
}

fn read_csv(path: &Path, p: usize) -> Result<Inputs, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::at(path, e))?;
    let mut values = Vec::new();
    for (lineno, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let numbers: Result<Vec<f32>, _> = fields.iter().map(|f| f.parse::<f32>()).collect();
        let row = match numbers {
            Ok(v) if v.len() == p => v,
            Ok(v) if v.len() == p + 1 => v[1..].to_vec(),
            // A header line.
            Err(_) if lineno == 0 => continue,
            Ok(v) => {
                return Err(CliError::at(
                    path,
                    format!(
                        "line {}: {} numbers, the model takes {p} (or {} with a label first)",
                        lineno + 1,
                        v.len(),
                        p + 1
                    ),
                ))
            }
            Err(e) => return Err(CliError::at(path, format!("line {}: {e}", lineno + 1))),
        };
        values.extend(row);
    }
    Ok(Inputs { values, p })
}

#[derive(Serialize)]
#[serde(untagged)]
enum Label {
    Name(String),
    Index(usize),
}

#[derive(Serialize)]
struct Report {
    outputs: Vec<Vec<f32>>,
    labels: Vec<Label>,
    iterations: Vec<u32>,
}

/// Runs `predict`.
pub fn run(args: &Args) -> CliResult {
    let model = Model::open(&args.model).map_err(|e| CliError::at(&args.model, e))?;
    let (p, q) = (model.n_inputs(), model.n_outputs());
    let inputs = read_inputs(&args.input, p)?;
    if inputs.p != p {
        return Err(CliError::at(
            &args.input,
            format!("inputs have {} values each, the model takes {p}", inputs.p),
        ));
    }
    let names = model.labels();
    let mut session = Session::new(&model);
    let mut report = Report {
        outputs: Vec::new(),
        labels: Vec::new(),
        iterations: Vec::new(),
    };
    let mut y = vec![0.0f32; q];
    for (i, u) in inputs.values.chunks_exact(p.max(1)).enumerate() {
        let stats = session
            .predict(&model, u, &mut y)
            .map_err(|e| CliError::at(&args.model, format!("input {i}: {e}")))?;
        let best = y
            .iter()
            .enumerate()
            .fold(0, |b, (j, &v)| if v > y[b] { j } else { b });
        report.labels.push(
            names
                .get(best)
                .map_or(Label::Index(best), |n| Label::Name(n.clone())),
        );
        report.outputs.push(y.clone());
        report.iterations.push(stats.iterations);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| CliError(e.to_string()))?
        );
        return Ok(());
    }
    for ((out, label), it) in report
        .outputs
        .iter()
        .zip(&report.labels)
        .zip(&report.iterations)
    {
        let label = match label {
            Label::Name(n) => n.clone(),
            Label::Index(k) => k.to_string(),
        };
        let values: Vec<String> = out.iter().map(|v| format!("{v:.6}")).collect();
        println!("{label}\t{}\t({it} iterations)", values.join(" "));
    }
    Ok(())
}
