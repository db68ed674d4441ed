//! Batch-1 latency of a `.wpk` model in the runtime against an ONNX model in ONNX Runtime (one intra-op thread),
//! their timing rounds interleaved so that a change of the machine's load hits both alike: on a shared machine
//! the ratio of two measurements taken one after the other (as `wolfpack bench` does) swings with the load.
//!
//! `cargo run --release -p wolfpack-benches --example vs_ort_interleaved [MODEL.wpk] [MODEL.onnx] [IMAGES] [ROUNDS]`
//!
//! Defaults: `/tmp/final/m10000.wpk`, `target/onnx-bench/fashion_mlp_784_256_10_plain.onnx` (ORT's
//! dense 784-256-10 MLP peer), the Fashion-MNIST test images (the first 1,000, cycled, raw 0-255 pixels as
//! `wolfpack bench --inputs` gives them), 31 rounds of 20 ms of thread CPU time each. Needs `ORT_DYLIB_PATH` (or
//! `scripts/setup.sh`). Prints, per engine, the best and the median round, and the ratios.

use std::time::Duration;

use wolfpack::onnx::ort_runtime::OrtModel;
use wolfpack_benches::{interleaved_rounds, Clock};
use wolfpack_runtime::{Model, Session};

mod common;

fn main() {
    let mut args = std::env::args().skip(1);
    let wpk = args.next().unwrap_or("/tmp/final/m10000.wpk".into());
    let onnx = args
        .next()
        .unwrap_or("target/onnx-bench/fashion_mlp_784_256_10_plain.onnx".into());
    let images = args.next().unwrap_or(common::TEST_IMAGES.into());
    let rounds: usize = args.next().map_or(31, |s| s.parse().expect("ROUNDS"));
    let model = Model::open(&wpk).expect("model loads");
    let mut ort = OrtModel::from_file(std::path::Path::new(&onnx), 1)
        .unwrap_or_else(|e| panic!("{onnx}: {e}"));
    let (p, q) = (model.n_inputs(), model.n_outputs());
    assert_eq!(
        ort.n_inputs(),
        p,
        "the two models take inputs of different sizes"
    );
    let count = 1000;
    let inputs = common::images(&images, p, count);
    let mut session = Session::new(&model);
    let mut y = vec![0.0f32; q];
    let (mut a, mut b) = (0usize, 0usize);
    let mut wolfpack = || {
        let i = a % count;
        a += 1;
        session
            .predict(&model, &inputs[i * p..(i + 1) * p], &mut y)
            .expect("prediction");
    };
    let mut onnxruntime = || {
        let i = b % count;
        b += 1;
        ort.run_discard(&inputs[i * p..(i + 1) * p], 1)
            .expect("ONNX Runtime");
    };
    let t = interleaved_rounds(
        &mut [&mut wolfpack, &mut onnxruntime],
        rounds,
        Duration::from_millis(20),
    );
    let us = |s: f64| s * 1e6;
    let m = rounds / 2;
    println!(
        "{wpk} vs {onnx}, batch 1, {rounds} interleaved rounds, {}",
        Clock::kind()
    );
    println!("| engine | best us | median us |");
    println!("|---|---|---|");
    println!("| wolfpack | {:.2} | {:.2} |", us(t[0][0]), us(t[0][m]));
    println!("| onnxruntime | {:.2} | {:.2} |", us(t[1][0]), us(t[1][m]));
    println!(
        "ratio onnxruntime / wolfpack: best {:.2}x, median {:.2}x",
        t[1][0] / t[0][0],
        t[1][m] / t[0][m]
    );
}
