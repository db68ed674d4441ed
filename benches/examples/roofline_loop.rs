//! Batch-1 predictions of one of the roofline example's random models in a loop, for a profiler (`perf record`)
//! and for A/B runs of two builds alternated: nothing else runs in the process once the model is built.
//!
//! `cargo run --release -p wolfpack-benches --example roofline_loop [WEIGHTS] [f32|f16] [SECONDS]`
//!
//! The model is `random_model(WEIGHTS, dtype, 42)` and the input the one of `roofline predict`, so the figures
//! are that table's row. Prints the thread CPU time per call: the best, 10th percentile and median of rounds of
//! 10,000 calls.

use wolfpack_benches::{random_model, Clock};
use wolfpack_runtime::format::ValueType;
use wolfpack_runtime::{Model, Session};

fn main() {
    let mut args = std::env::args().skip(1);
    let nnz: usize = args.next().map_or(1000, |s| s.parse().expect("WEIGHTS"));
    let dtype = match args.next().as_deref() {
        None | Some("f16") => ValueType::F16,
        Some("f32") => ValueType::F32,
        Some(other) => panic!("dtype {other}: f32 or f16"),
    };
    let seconds: f64 = args.next().map_or(5.0, |s| s.parse().expect("SECONDS"));
    let bytes = random_model(nnz, dtype, 42);
    let model = Model::from_bytes(&bytes).expect("model loads");
    let p = model.n_inputs();
    let input: Vec<f32> = (0..p).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    let mut y = vec![0.0f32; model.n_outputs()];
    let mut session = Session::new(&model);
    let stats = session.predict(&model, &input, &mut y).expect("prediction");
    let count = 10_000;
    let clock = Clock::start();
    let mut rounds = Vec::new();
    while clock.seconds() < seconds {
        let round = Clock::start();
        for _ in 0..count {
            session
                .predict(&model, std::hint::black_box(&input), &mut y)
                .expect("prediction");
            std::hint::black_box(&mut y);
        }
        rounds.push(round.seconds() / count as f64 * 1e9);
    }
    rounds.sort_by(f64::total_cmp);
    println!(
        "{} {nnz} ({:?}, {} iterations): ns per call: best round {:.1}, p10 {:.1}, median {:.1} ({} rounds of {count}, {})",
        dtype.name(),
        stats.solver,
        stats.iterations,
        rounds[0],
        rounds[rounds.len() / 10],
        rounds[rounds.len() / 2],
        rounds.len(),
        Clock::kind()
    );
}
