//! Batch-1 predictions of a real model in a loop, for a profiler (`perf record`): nothing else runs in the
//! process once the inputs are read, so the profile is the prediction's alone.
//!
//! `cargo run --release -p wolfpack-benches --example predict_loop [MODEL.wpk] [IMAGES-idx3-ubyte(.gz)] [SECONDS]`
//!
//! Inputs cycle through the first 1,000 images, as in `latency_split` and `wolfpack bench`. Prints the thread
//! CPU time per call: the mean, and the best, 10th percentile and median of rounds of 1,000 calls (the best
//! rounds are the ones to compare builds by on a shared machine, run alternately).

use wolfpack_benches::Clock;
use wolfpack_runtime::{Model, Session};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let model_path = args.next().unwrap_or("/tmp/final/m10000.wpk".into());
    let images_path = args.next().unwrap_or(common::TEST_IMAGES.into());
    let seconds: f64 = args.next().map_or(5.0, |s| s.parse().expect("SECONDS"));
    let model = Model::open(&model_path).expect("model loads");
    let (p, q) = (model.n_inputs(), model.n_outputs());
    let count = 1000;
    let inputs = common::images(&images_path, p, count);
    let mut session = Session::new(&model);
    let mut y = vec![0.0f32; q];
    let clock = Clock::start();
    let mut rounds = Vec::new();
    while clock.seconds() < seconds {
        let round = Clock::start();
        for s in inputs.chunks_exact(p) {
            session.predict(&model, s, &mut y).expect("prediction");
            std::hint::black_box(&mut y);
        }
        rounds.push(round.seconds() / count as f64 * 1e6);
    }
    let mean = clock.seconds() / (rounds.len() * count) as f64 * 1e6;
    rounds.sort_by(f64::total_cmp);
    println!(
        "{} predictions, us per call: mean {mean:.3}, best round {:.3}, p10 {:.3}, median {:.3} ({})",
        rounds.len() * count,
        rounds[0],
        rounds[rounds.len() / 10],
        rounds[rounds.len() / 2],
        Clock::kind()
    );
}
