//! `wolfpack inspect MODEL [--json]`.

use serde::Serialize;
use wolfpack_format::{Preprocessing, Role};
use wolfpack_runtime::{Error as RuntimeError, Model};

use super::{read_model_bytes, CliError, CliResult, PathArg};

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathArg,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct MatrixReport {
    role: String,
    rows: usize,
    cols: usize,
    storage: &'static str,
    dtype: &'static str,
    nnz: usize,
    bytes: u64,
}

/// The runtime's [`wolfpack_runtime::BlockStructure`], for the JSON report.
#[derive(Serialize)]
struct BlocksReport {
    empty_rows: usize,
    exact_rows: usize,
    self_loops: usize,
    cyclic_components: usize,
    cyclic_rows: usize,
    largest_component: usize,
    pairs: usize,
    levels: usize,
    /// Whether the hidden units are stored in evaluation order (the plan is read off it at load).
    in_stored_order: bool,
}

impl From<wolfpack_runtime::BlockStructure> for BlocksReport {
    fn from(b: wolfpack_runtime::BlockStructure) -> Self {
        BlocksReport {
            empty_rows: b.empty_rows,
            exact_rows: b.exact_rows,
            self_loops: b.self_loops,
            cyclic_components: b.cyclic_blocks,
            cyclic_rows: b.cyclic_rows,
            largest_component: b.largest_block,
            pairs: b.pairs,
            levels: b.levels,
            in_stored_order: b.in_stored_order,
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    file_bytes: u64,
    hidden: u32,
    inputs: u32,
    outputs: u32,
    nnz: usize,
    kappa: f32,
    triangular: bool,
    matrices: Vec<MatrixReport>,
    /// What the runtime's block-triangular plan found in `A` (absent without `A`, or for a low-rank `A`).
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<BlocksReport>,
    metadata: &'a wolfpack_format::Metadata,
}

/// Validates the model and prints its summary.
pub fn run(args: &Args) -> CliResult {
    let bytes = read_model_bytes(&args.model)?;
    // One load: the runtime's model validates the bytes through the format crate and builds its solve plan; a
    // format error reads as the format crate words it.
    let model = Model::from_bytes(&bytes).map_err(|e| match e {
        RuntimeError::Format(e) => CliError::at(&args.model, e),
        e => CliError::at(&args.model, e),
    })?;
    let view = model.view();
    let matrices = Role::ALL
        .iter()
        .filter_map(|&r| view.matrix(r).map(|m| (r, m)))
        .map(|(r, m)| MatrixReport {
            role: r.to_string(),
            rows: m.rows(),
            cols: m.cols(),
            storage: m.storage().name(),
            dtype: m.value_type().name(),
            nnz: m.stored_weights(),
            bytes: m.stored_bytes(),
        })
        .collect();
    let d = view.meta.dims;
    let report = Report {
        file: args.model.display().to_string(),
        file_bytes: bytes.len() as u64,
        hidden: d.hidden,
        inputs: d.inputs,
        outputs: d.outputs,
        nnz: view.nnz(),
        kappa: view.structure.kappa,
        triangular: view.structure.triangular,
        matrices,
        blocks: model.blocks().map(BlocksReport::from),
        metadata: &view.meta,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| CliError(e.to_string()))?
        );
        return Ok(());
    }
    print_table(&report);
    Ok(())
}

fn print_table(r: &Report) {
    println!("model       {}", r.file);
    println!("file size   {} bytes", r.file_bytes);
    println!(
        "dimensions  hidden n = {}, inputs p = {}, outputs q = {}",
        r.hidden, r.inputs, r.outputs
    );
    println!("nnz         {} stored weights (A, B, C, D)", r.nnz);
    let solve = if r.triangular {
        "strictly triangular: one sweep is exact"
    } else {
        "contraction"
    };
    println!("kappa       {:.4} (max row L1 norm of A; {solve})", r.kappa);
    if let Some(b) = &r.blocks {
        println!(
            "A's blocks  {} empty rows, {} rows exact in one sweep ({} levels), {} self-loops in closed form, \
             {} cyclic components ({} rows, largest {}; {} pairs in closed form); {}",
            b.empty_rows,
            b.exact_rows,
            b.levels,
            b.self_loops,
            b.cyclic_components,
            b.cyclic_rows,
            b.largest_component,
            b.pairs,
            if b.in_stored_order {
                "plan read off the stored order at load"
            } else {
                "plan searched for at load (units not stored in a dependency order with components of at most 32)"
            }
        );
    }
    println!();
    println!(
        "{:<6} {:>12} {:>9} {:>6} {:>10} {:>10}",
        "matrix", "shape", "storage", "dtype", "nnz", "bytes"
    );
    for m in &r.matrices {
        let shape = format!("{} x {}", m.rows, m.cols);
        println!(
            "{:<6} {:>12} {:>9} {:>6} {:>10} {:>10}",
            m.role, shape, m.storage, m.dtype, m.nnz, m.bytes
        );
    }
    let meta = r.metadata;
    println!();
    println!(
        "solver      tolerance {:e}, at most {} iterations",
        meta.solver.tolerance, meta.solver.max_iterations
    );
    if !meta.labels.is_empty() {
        println!("labels      {}", meta.labels.join(", "));
    }
    let p = &meta.preprocessing;
    if !p.is_identity() {
        println!("input       {}", describe_preprocessing(p));
    }
    if let Some(ds) = &meta.provenance.dataset {
        println!("data set    {ds}");
    }
    if let Some(acc) = meta.provenance.accuracy {
        println!("accuracy    {:.2}%", 100.0 * acc);
    }
    println!("written by  wolfpack {}", meta.provenance.wolfpack_version);
}

/// The preprocessing as the formula the runtime applies, naming only its parts that are there (a mean or spread of
/// one value is shown, longer ones by their length): `u * 0.0039`, `(u * 0.0039 - mean[784]) / std[784]`.
fn describe_preprocessing(p: &Preprocessing) -> String {
    let part = |v: &[f32], name: &str| match v {
        [] => None,
        [one] => Some(format!("{one}")),
        many => Some(format!("{name}[{}]", many.len())),
    };
    let mut s = if p.scale == 1.0 {
        "u".to_string()
    } else {
        format!("u * {}", p.scale)
    };
    if let Some(mean) = part(&p.mean, "mean") {
        s = format!("{s} - {mean}");
    }
    if let Some(std) = part(&p.std, "std") {
        if !p.mean.is_empty() || p.scale != 1.0 {
            s = format!("({s})");
        }
        s = format!("{s} / {std}");
    }
    s
}

#[cfg(test)]
mod preprocessing_tests {
    use super::describe_preprocessing;
    use wolfpack_format::Preprocessing;

    fn pre(scale: f32, mean: Vec<f32>, std: Vec<f32>) -> String {
        describe_preprocessing(&Preprocessing { scale, mean, std })
    }

    #[test]
    fn names_only_the_parts_that_are_there() {
        assert_eq!(pre(0.5, vec![], vec![]), "u * 0.5");
        assert_eq!(pre(1.0, vec![0.25], vec![]), "u - 0.25");
        assert_eq!(pre(0.5, vec![0.25], vec![2.0]), "(u * 0.5 - 0.25) / 2");
        assert_eq!(pre(1.0, vec![], vec![2.0; 3]), "u / std[3]");
        assert_eq!(
            pre(1.0, vec![0.0; 4], vec![1.0; 4]),
            "(u - mean[4]) / std[4]"
        );
    }
}
