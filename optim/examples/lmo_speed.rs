//! Throughput of the oracles the compressor calls every step: the row-wise L1 LMO (one signed
//! entry per row) and the K-sparse LMO, on an `n x n` gradient, plus one `SfwMomentum` step.
//!
//! `cargo run --release -p wolfpack-optim --example lmo_speed -- [N] [REPEATS]`

use std::time::Instant;

use wolfpack_optim::rng::SplitMix64;
use wolfpack_optim::sets::{ConstraintSet, KSparsePolytope, L1Ball, RowWise};
use wolfpack_optim::stochastic::{SfwMomentum, StochasticStep};
use wolfpack_optim::Vertex;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1024);
    let reps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200);
    let mut rng = SplitMix64::new(1);
    let g: Vec<f32> = (0..n * n).map(|_| rng.normal() as f32).collect();
    let mut v = Vertex::new();

    let rowwise = RowWise::new(n, n, L1Ball::new(0.95f32)?)?;
    rowwise.lmo(&g, &mut v)?; // warm the buffers
    let t = Instant::now();
    for _ in 0..reps {
        rowwise.lmo(&g, &mut v)?;
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "row-wise L1 LMO, {n}x{n} f32: {:.1} us/call, {:.2} GB/s of gradient read",
        per * 1e6,
        (n * n * 4) as f64 / per / 1e9
    );

    let k = n * n / 20;
    let ks = KSparsePolytope::new(k, 1.0f32)?;
    ks.lmo(&g, &mut v)?;
    let t = Instant::now();
    let kreps = (reps / 10).max(1);
    for _ in 0..kreps {
        ks.lmo(&g, &mut v)?;
    }
    println!(
        "K-sparse LMO (K = 5% = {k}), {n}x{n} f32: {:.1} us/call",
        t.elapsed().as_secs_f64() / kreps as f64 * 1e6
    );

    let mut opt = SfwMomentum::new(&rowwise, 0.9f32, 0.1)?;
    let mut x = vec![0.0f32; n * n];
    opt.step(&mut x, &g)?;
    let t = Instant::now();
    for _ in 0..reps {
        opt.step(&mut x, &g)?;
    }
    println!(
        "SfwMomentum step (momentum + row-wise LMO + update), {n}x{n} f32: {:.1} us/step",
        t.elapsed().as_secs_f64() / reps as f64 * 1e6
    );
    Ok(())
}
