//! Where one batch-1 prediction of a real model spends its time: the whole call beside its parts, each timed
//! alone on the same inputs (thread CPU time per call in rounds of many calls, so the clock's own cost is spread
//! over the round; the least disturbed of 31 rounds, the estimate that compares variants on a shared machine).
//!
//! `cargo run --release -p wolfpack-benches --example latency_split [MODEL.wpk] [IMAGES-idx3-ubyte(.gz)]`
//!
//! Defaults: `/tmp/final/m10000.wpk` and the Fashion-MNIST test images of Debian's `dataset-fashion-mnist`.
//! Inputs cycle through the first 1,000 images (3 MB of f32: out of L1/L2, as in `wolfpack bench`).

use std::time::Duration;

use wolfpack_benches::{cpu_name, interleaved_rounds, rounds_per_call, Clock};
use wolfpack_runtime::format::Role;
use wolfpack_runtime::kernels::{Kernels, MatRef, Storage, Values};
use wolfpack_runtime::{Model, Session, SolveOptions};

mod common;

/// The least disturbed of 31 rounds of at least `round` (see `rounds_per_call`).
fn best(f: impl FnMut(), _rounds: usize, round: Duration) -> f64 {
    rounds_per_call(f, 31, round)[0]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let model_path = args.next().unwrap_or("/tmp/final/m10000.wpk".into());
    let images_path = args.next().unwrap_or(common::TEST_IMAGES.into());
    let model = Model::open(&model_path).expect("model loads");
    let (n, p, q) = (model.n_hidden(), model.n_inputs(), model.n_outputs());
    let k: Kernels = model.kernels();
    let count = 1000;
    let inputs = common::images(&images_path, p, count);
    let round = Duration::from_millis(20);
    println!(
        "{model_path}: n = {n}, p = {p}, q = {q}; {}; kernels {:?}; {}; blocks {:?}",
        cpu_name(),
        k.isa(),
        Clock::kind(),
        model.blocks()
    );

    let mut session = Session::new(&model);
    let mut y = vec![0.0f32; q];
    let mut next = 0usize;
    let mut sample = || {
        let s = &inputs[(next % count) * p..(next % count + 1) * p];
        next += 1;
        s
    };
    let whole = best(
        || {
            session
                .predict(&model, sample(), &mut y)
                .expect("prediction");
        },
        9,
        round,
    );
    let stats = session
        .predict_with(&model, &inputs[..p], &mut y, &SolveOptions::default())
        .expect("prediction");

    // Preprocessed inputs and the hidden states of the same images, for the parts.
    let pre = &model.metadata().preprocessing;
    let mut pre_inputs = inputs.clone();
    for u in pre_inputs.chunks_exact_mut(p) {
        pre.apply(u);
    }
    let mut hidden = Vec::with_capacity(count * n);
    for u in inputs.chunks_exact(p) {
        session.predict(&model, u, &mut y).expect("prediction");
        hidden.extend_from_slice(session.hidden());
    }

    let mut buf = vec![0.0f32; p];
    let mut next = 0usize;
    let preprocess = best(
        || {
            let i = next % count;
            next += 1;
            buf.copy_from_slice(&inputs[i * p..(i + 1) * p]);
            pre.apply(&mut buf);
            std::hint::black_box(&mut buf);
        },
        9,
        round,
    );
    let mut z = vec![0.0f32; n];
    let b = model.matrix(Role::B).expect("B");
    let mut next = 0usize;
    let bu = best(
        || {
            let i = next % count;
            next += 1;
            z.fill(0.0);
            b.gemv_add(k, &pre_inputs[i * p..(i + 1) * p], &mut z, &mut [])
                .expect("B u");
            std::hint::black_box(&mut z);
        },
        9,
        round,
    );
    let mut out = vec![0.0f32; q];
    let c = model.matrix(Role::C).expect("C");
    // C x as the runtime does it for single inputs: its dense copy when C is at least a quarter dense
    // (`kernels/dense_copy.rs`), rebuilt here from the CSR weights.
    let c_dense: Option<Vec<f32>> = match *c.storage() {
        Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } if !matches!(values, Values::I8 { .. }) && c.rows() * c.cols() <= 4 * c.stored() => {
            let mut d = vec![0.0f32; c.rows() * c.cols()];
            for i in 0..c.rows() {
                for kk in row_ptr[i] as usize..row_ptr[i + 1] as usize {
                    d[i * c.cols() + col_idx.get(kk)] += values.get(kk, i);
                }
            }
            Some(d)
        }
        _ => None,
    };
    let c_used = match &c_dense {
        Some(d) => MatRef::dense(c.rows(), c.cols(), Values::F32(d)).expect("dense C"),
        None => c,
    };
    let mut next = 0usize;
    let cx = best(
        || {
            let i = next % count;
            next += 1;
            out.fill(0.0);
            c_used
                .gemv_add(k, &hidden[i * n..(i + 1) * n], &mut out, &mut [])
                .expect("C x");
            std::hint::black_box(&mut out);
        },
        9,
        round,
    );
    let us = |s: f64| s * 1e6;
    println!("| part | us per call |");
    println!("|---|---|");
    println!(
        "| whole prediction (default solver: {:?}, {} iterations on image 0) | {:.2} |",
        stats.solver,
        stats.iterations,
        us(whole)
    );
    println!(
        "| B u ({} weights, {} rows) | {:.2} |",
        b.stored(),
        b.rows(),
        us(bu)
    );
    println!(
        "| C x ({} weights, {} rows{}) | {:.2} |",
        c.stored(),
        c.rows(),
        if c_dense.is_some() {
            ", dense copy"
        } else {
            ""
        },
        us(cx)
    );
    println!(
        "| rest (input check, biases, A's rows, residual, output) | {:.2} |",
        us(whole - bu - cx)
    );
    println!(
        "| (not in the prediction when folded into B: copy + preprocessing of the input) | {:.2} |",
        us(preprocess)
    );

    // Every SIMD backend of this CPU on the same inputs, rounds interleaved: the A/B of a kernel change.
    let backends: Vec<Kernels> = Kernels::all_available()
        .filter(|k| k.isa() != wolfpack_runtime::kernels::Isa::Scalar)
        .collect();
    let models: Vec<Model> = backends
        .iter()
        .map(|&k| {
            Model::open(&model_path)
                .expect("model loads")
                .with_kernels(k)
        })
        .collect();
    let mut sessions: Vec<Session> = models.iter().map(Session::new).collect();
    let mut outs = vec![vec![0.0f32; q]; backends.len()];
    let mut zs = vec![vec![0.0f32; n]; backends.len()];
    let mut whole_fs: Vec<Box<dyn FnMut()>> = Vec::new();
    let mut bu_fs: Vec<Box<dyn FnMut()>> = Vec::new();
    for (((m, s), o), z) in models
        .iter()
        .zip(sessions.iter_mut())
        .zip(outs.iter_mut())
        .zip(zs.iter_mut())
    {
        let inputs = &inputs;
        let mut next = 0usize;
        whole_fs.push(Box::new(move || {
            let i = next % count;
            next += 1;
            s.predict(m, &inputs[i * p..(i + 1) * p], o)
                .expect("prediction");
        }));
        let (pre_inputs, b, k) = (&pre_inputs, m.matrix(Role::B).expect("B"), m.kernels());
        let mut next = 0usize;
        bu_fs.push(Box::new(move || {
            let i = next % count;
            next += 1;
            z.fill(0.0);
            b.gemv_add(k, &pre_inputs[i * p..(i + 1) * p], z, &mut [])
                .expect("B u");
            std::hint::black_box(&mut *z);
        }));
    }
    for (what, fs) in [("whole prediction", &mut whole_fs), ("B u", &mut bu_fs)] {
        let mut refs: Vec<&mut dyn FnMut()> = fs
            .iter_mut()
            .map(|f| &mut **f as &mut dyn FnMut())
            .collect();
        let times = interleaved_rounds(&mut refs, 31, round);
        for (k, t) in backends.iter().zip(&times) {
            println!(
                "{what}, {:?}: best {:.2} us, median {:.2} us (31 interleaved rounds)",
                k.isa(),
                us(t[0]),
                us(t[15])
            );
        }
    }
}
