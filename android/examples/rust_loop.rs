//! The Rust side of the JNI overhead measurement: `Session::predict` in a loop on the first input of a
//! reference file, the same model and input `JvmBench.kt` times through `WolfpackModel.predict(input, output)`.
//!
//! `cargo run --release -p wolfpack-android --example rust_loop -- MODEL.wpk MODEL.ref [CALLS]`
//!
//! Prints the median over 7 rounds of the time per call, in nanoseconds.

use std::process::ExitCode;
use std::time::Instant;

use wolfpack_runtime::{Model, Session};

fn run(model: &str, reference: &str, calls: usize) -> Result<(), String> {
    let model = Model::open(model).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(reference).map_err(|e| format!("{reference}: {e}"))?;
    let line = text.lines().nth(2).ok_or_else(|| format!("{reference}: no sample"))?;
    let input: Vec<f32> =
        line.split_whitespace().map(|v| v.parse::<f32>().map_err(|e| format!("{v}: {e}"))).collect::<Result<_, _>>()?;
    let mut session = Session::new(&model);
    let mut output = vec![0.0; model.n_outputs()];
    for _ in 0..calls / 4 {
        session.predict(&model, &input, &mut output).map_err(|e| e.to_string())?;
    }
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..calls {
                session.predict(&model, std::hint::black_box(&input), &mut output).unwrap();
            }
            t0.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    println!(
        "rust: Session::predict {:.0} ns/call (median of 7 x {calls} calls; {:?} kernels, {} weights)",
        rounds[3],
        model.kernels().isa(),
        model.view().nnz()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: rust_loop MODEL.wpk MODEL.ref [CALLS]");
        return ExitCode::from(2);
    }
    let calls = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(20_000);
    match run(&args[0], &args[1], calls) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
