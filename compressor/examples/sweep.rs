//! One training run with settings overridden on the command line, for measuring the recipe:
//! `cargo run --release -p wolfpack --example sweep -- max_nnz=10000 epochs=20 method=adam [data=DIR|digits]`.
//! Keys: every `CompressConfig` field (`distill=W,T`, `max_nnz=none`), plus `data`, `train_n` (a subsample) and
//! `out=PATH` (write the stored model as a `.wpk`).

use std::time::Instant;
use wolfpack::data;
use wolfpack::train::saliency::Saliency;
use wolfpack::train::{compress, quant, CompressConfig, Distill, Method, Quant};

fn main() {
    let mut cfg = CompressConfig::default();
    let mut source = None;
    let mut train_n = usize::MAX;
    let mut out_path: Option<std::path::PathBuf> = None;
    for arg in std::env::args().skip(1) {
        let (k, v) = arg
            .split_once('=')
            .unwrap_or_else(|| panic!("expected key=value, got {arg}"));
        let f = || {
            v.parse::<f32>()
                .unwrap_or_else(|_| panic!("{k}: not a number: {v}"))
        };
        let n = || {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("{k}: not an integer: {v}"))
        };
        match k {
            "label_smoothing" => cfg.label_smoothing = f(),
            "weight_decay" => cfg.weight_decay = f(),
            "shift" => cfg.shift = n(),
            "triangular_a" => cfg.triangular_a = v == "true",
            "standardise" if v == "true" => cfg.standardise = Some(0.1),
            "standardise" => cfg.standardise = Some(f()),
            "restart_lr" => cfg.restart_lr = f(),
            "average_from" => cfg.average_from = Some(f()),
            "saliency" => {
                cfg.saliency = if v == "fisher" {
                    Saliency::Fisher
                } else {
                    Saliency::Magnitude
                }
            }
            "out" => out_path = Some(v.into()),
            "data" => source = Some(v.to_string()),
            "train_n" => train_n = n(),
            "hidden" => cfg.hidden = n(),
            "max_nnz" => cfg.max_nnz = if v == "none" { None } else { Some(n()) },
            "epochs" => cfg.epochs = n(),
            "batch" => cfg.batch = n(),
            "seed" => cfg.seed = n() as u64,
            "kappa" => cfg.kappa = f(),
            "use_a" => cfg.use_a = v == "true",
            "method" => {
                cfg.method = if v == "fw" {
                    Method::FrankWolfe
                } else {
                    Method::Adam
                }
            }
            "lr" => cfg.lr = f(),
            "fw_epochs" => cfg.fw_epochs = f(),
            "fw_lr" => cfg.fw_lr = f(),
            "fw_momentum" => cfg.fw_momentum = f(),
            "fw_width" => cfg.fw_width = f(),
            "fw_k_frac" => cfg.fw_k_frac = f(),
            "fw_support" => cfg.fw_support = v == "true",
            "swap_frac" => cfg.swap_frac = f(),
            "shares" if v == "global" => cfg.shares = None,
            "shares" => {
                let v: Vec<f32> = v
                    .split(',')
                    .map(|x| x.parse().expect("shares=a,b,c,d"))
                    .collect();
                cfg.shares = Some([v[0], v[1], v[2], v[3]]);
            }
            "select_from" => cfg.select_from = f(),
            "select_to" => cfg.select_to = f(),
            "distill" => {
                let (w, t) = v.split_once(',').expect("distill=W,T");
                cfg.distill = Some(Distill {
                    weight: w.parse().unwrap(),
                    temperature: t.parse().unwrap(),
                });
            }
            "quant" => {
                cfg.quant = match v {
                    "f32" => Quant::F32,
                    "bf16" => Quant::Bf16,
                    "i8" => Quant::I8,
                    _ => Quant::F16,
                }
            }
            _ => panic!("unknown key {k}"),
        }
    }
    let splits = match source.as_deref() {
        None => data::default_dataset(),
        Some("digits") => data::digits::load(),
        Some(dir) => data::load_dir(std::path::Path::new(dir)),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let train = if train_n < splits.train.n {
        splits.train.head(train_n)
    } else {
        splits.train.clone()
    };
    eprintln!(
        "data: {} ({} train, {} test); {:?}",
        splits.name, train.n, splits.test.n, cfg
    );
    let t0 = Instant::now();
    let out = compress(&train, &splits.test, &cfg, None, &mut |s, _| {
        eprintln!(
            "epoch {:>3}/{} {:<11} loss {:.4} train {:.4} test {:.4} nnz {:?} kappa {:.3} iters {:.1} {:.1}s",
            s.epoch, s.epochs, s.phase, s.loss, s.train_accuracy, s.test_accuracy, s.nnz, s.kappa, s.mean_iterations, s.seconds
        )
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "RESULT test_acc={:.4} test_acc_f32={:.4} nnz={} per_matrix={:?} quant={:?} iters={:.2} train_s={:.1} wall_s={:.1} args={:?}",
        out.test_accuracy,
        out.test_accuracy_f32,
        out.nnz.iter().sum::<usize>(),
        out.nnz,
        out.quant,
        out.mean_iterations,
        out.train_seconds,
        t0.elapsed().as_secs_f64(),
        std::env::args().skip(1).collect::<Vec<_>>()
    );
    if let Some(path) = out_path {
        let file = wolfpack::pack::compressed_model_file(&out, &splits.name);
        file.write(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("WROTE {}", path.display());
    }
    for q in [Quant::F32, Quant::F16, Quant::Bf16, Quant::I8] {
        let stored = quant::quantise(&out.params_f32, q, out.kappa);
        let (acc, _) = stored.accuracy(&splits.test, &out.config.eval_solve);
        println!("QUANT {q:?} test_acc={acc:.4} nnz={}", stored.total_nnz());
    }
}
