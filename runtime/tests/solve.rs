//! Solvers and predictions against the naive f64 reference on random models of every kind, on every kernel
//! backend, single and batched, plus the failure modes (non-convergence, bad input, malformed files).

mod common;

use common::{max_rel_err, random_input, random_model, reference, AKind};
use proptest::prelude::*;
use wolfpack_format::ValueType;
use wolfpack_runtime::kernels::Kernels;
use wolfpack_runtime::{Error, Method, Model, Session, SolveOptions, Solver};

const DTYPES: [ValueType; 4] = [
    ValueType::F32,
    ValueType::F16,
    ValueType::Bf16,
    ValueType::I8,
];

/// Predicts `batch` random inputs on every backend and method, one at a time and as one batch, and compares
/// each output with the f64 reference. Returns the solvers used.
fn check_model(
    seed: u64,
    n: usize,
    p: usize,
    q: usize,
    a: AKind,
    dtype: ValueType,
    batch: usize,
) -> Result<Vec<Solver>, TestCaseError> {
    let file = random_model(seed, n, p, q, a, dtype, seed.is_multiple_of(2));
    let bytes = file.to_bytes().unwrap();
    let inputs: Vec<f32> = (0..batch)
        .flat_map(|b| random_input(p, seed.wrapping_add(b as u64)))
        .collect();
    let want: Vec<Vec<f64>> = inputs
        .chunks(p.max(1))
        .take(batch)
        .map(|u| reference(&bytes, u).0)
        .collect();
    let mut used = Vec::new();
    for k in Kernels::all_available() {
        let model = Model::from_bytes(&bytes).unwrap().with_kernels(k);
        let mut session = Session::new(&model);
        for method in [
            Method::Auto,
            Method::Picard,
            Method::GaussSeidel,
            Method::GroupedGaussSeidel,
        ] {
            let options = SolveOptions {
                method,
                ..SolveOptions::default()
            };
            let mut out = vec![0.0f32; q];
            for (b, w) in want.iter().enumerate() {
                let stats = session
                    .predict_with(&model, &inputs[b * p..(b + 1) * p], &mut out, &options)
                    .unwrap();
                // The model's tolerance 1e-6, or the resolution of the state when that is coarser (`SolveOptions`).
                let norm = session.hidden().iter().fold(0.0f32, |m, v| m.max(v.abs()));
                prop_assert!(
                    stats.residual <= 1e-6f32.max(4.0 * f32::EPSILON * norm),
                    "{stats:?}, |x| {norm}"
                );
                let err = max_rel_err(&out, w);
                prop_assert!(
                    err < 1e-4,
                    "{:?} {:?} {:?} {:?} sample {}: error {}",
                    k.isa(),
                    method,
                    a,
                    dtype,
                    b,
                    err
                );
                used.push(stats.solver);
            }
            let mut outs = vec![0.0f32; q * batch];
            let stats = session
                .predict_batch_with(&model, &inputs, batch, &mut outs, &options)
                .unwrap();
            for (b, w) in want.iter().enumerate() {
                let err = max_rel_err(&outs[b * q..(b + 1) * q], w);
                prop_assert!(
                    err < 1e-4,
                    "batch {:?} {:?} {:?} sample {}: error {} ({stats:?})",
                    k.isa(),
                    method,
                    a,
                    b,
                    err
                );
            }
        }
    }
    Ok(used)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24), ..ProptestConfig::default() })]

    #[test]
    fn contractions_match_reference(seed in any::<u64>(), n in 1usize..24, p in 1usize..20, q in 1usize..6, dt in 0usize..4, batch in 1usize..11, dense in any::<bool>()) {
        let a = if dense { AKind::DenseContraction(0.7) } else { AKind::Contraction(0.7) };
        check_model(seed, n, p, q, a, DTYPES[dt], batch)?;
    }

    #[test]
    fn triangular_models_match_reference_in_one_sweep(seed in any::<u64>(), n in 1usize..24, p in 1usize..20, q in 1usize..6, dt in 0usize..4, batch in 1usize..11) {
        let used = check_model(seed, n, p, q, AKind::Triangular, DTYPES[dt], batch)?;
        // Auto (the first of each four) must notice the structure (or that A has no nonzero at all).
        let bytes = random_model(seed, n, p, q, AKind::Triangular, DTYPES[dt], seed.is_multiple_of(2)).to_bytes().unwrap();
        let a_empty = Model::from_bytes(&bytes).unwrap().matrix(wolfpack_format::Role::A).is_none_or(|a| a.stored() == 0);
        let auto = if a_empty { Solver::Direct } else { Solver::TriangularSweep };
        prop_assert!(used.chunks(batch).step_by(4).all(|c| c.iter().all(|&s| s == auto)), "{used:?}");
    }

    /// The block-triangular plan on random sparse graphs (empty rows, self-loops, chains, small cycles, one big
    /// component, depending on the density), n from 1: asked for explicitly, it matches the reference on every
    /// backend, single and batched, with the true residual within the tolerance; Auto (checked with the other
    /// methods by `check_model`) takes it whenever its cyclic components hold at most a quarter of the units.
    #[test]
    fn block_plans_match_reference(seed in any::<u64>(), n in 1usize..40, p in 1usize..12, q in 1usize..5, dt in 0usize..4, batch in 1usize..7, per_mille in 0u32..300, kappa in 0.1f32..0.85) {
        let a = AKind::Sparse { kappa, per_mille };
        let used = check_model(seed, n, p, q, a, DTYPES[dt], batch)?;
        let bytes = random_model(seed, n, p, q, a, DTYPES[dt], seed.is_multiple_of(2)).to_bytes().unwrap();
        let inputs: Vec<f32> = (0..batch).flat_map(|b| random_input(p, seed.wrapping_add(b as u64))).collect();
        let want: Vec<Vec<f64>> = inputs.chunks(p).map(|u| reference(&bytes, u).0).collect();
        let Some(blocks) = Model::from_bytes(&bytes).unwrap().blocks() else {
            prop_assert!(used.chunks(batch).step_by(4).all(|c| c.iter().all(|&s| s == Solver::Direct)));
            return Ok(());
        };
        let plan = if blocks.cyclic_blocks == 0 { Solver::TriangularSweep } else { Solver::BlockTriangular };
        if 4 * blocks.cyclic_rows <= n {
            prop_assert!(used.chunks(batch).step_by(4).all(|c| c.iter().all(|&s| s == plan)), "{used:?}");
        }
        let options = SolveOptions { method: Method::BlockTriangular, ..SolveOptions::default() };
        for k in Kernels::all_available() {
            let model = Model::from_bytes(&bytes).unwrap().with_kernels(k);
            let mut session = Session::new(&model);
            let mut outs = vec![0.0f32; q * batch];
            let stats = session.predict_batch_with(&model, &inputs, batch, &mut outs, &options).unwrap();
            prop_assert_eq!(stats.solver, plan);
            prop_assert!(stats.residual <= 1e-6, "{stats:?}");
            for (b, w) in want.iter().enumerate() {
                let mut out = vec![0.0f32; q];
                let one = session.predict_with(&model, &inputs[b * p..(b + 1) * p], &mut out, &options).unwrap();
                prop_assert!(one.residual <= 1e-6 && (blocks.cyclic_blocks > 0 || one.iterations == 1), "{one:?}");
                prop_assert!(max_rel_err(&out, w) < 1e-4, "{:?} sample {b}", k.isa());
                prop_assert!(max_rel_err(&outs[b * q..(b + 1) * q], w) < 1e-4, "{:?} batch sample {b}", k.isa());
            }
        }
    }

    #[test]
    fn low_rank_and_zero_a_match_reference(seed in any::<u64>(), n in 1usize..16, p in 1usize..12, q in 1usize..5, dt in 0usize..4, batch in 1usize..9, zero in any::<bool>()) {
        let a = if zero { AKind::Zero } else { AKind::LowRank(0.6) };
        let used = check_model(seed, n, p, q, a, DTYPES[dt], batch)?;
        let auto = if zero { Solver::Direct } else { Solver::Picard };
        prop_assert!(used.chunks(batch).step_by(4).all(|c| c.iter().all(|&s| s == auto)), "{used:?}");
    }
}

#[test]
fn triangular_sweep_is_exactly_one_iteration() {
    let bytes = random_model(7, 30, 10, 3, AKind::Triangular, ValueType::F32, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert!(model.structure().triangular);
    let (out, stats) = model
        .predict(&random_input(10, 1), &SolveOptions::default())
        .unwrap();
    assert_eq!(
        (stats.iterations, stats.solver),
        (1, Solver::TriangularSweep)
    );
    assert!(max_rel_err(&out, &reference(&bytes, &random_input(10, 1)).0) < 1e-5);
}

#[test]
fn an_upper_chain_is_one_pass_for_the_block_plan_and_n_sweeps_for_gauss_seidel() {
    let n = 40;
    let bytes = random_model(4, n, 6, 3, AKind::Chain(0.9), ValueType::F32, true)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert!(!model.structure().triangular);
    let b = model.blocks().unwrap();
    assert_eq!((b.empty_rows, b.exact_rows, b.cyclic_blocks), (1, n - 1, 0));
    let u = random_input(6, 3);
    let want = reference(&bytes, &u).0;
    let (out, stats) = model.predict(&u, &SolveOptions::default()).unwrap();
    assert_eq!(
        (stats.solver, stats.iterations, stats.residual),
        (Solver::TriangularSweep, 1, 0.0)
    );
    assert!(max_rel_err(&out, &want) < 1e-5);
    let gs = SolveOptions {
        method: Method::GaussSeidel,
        ..SolveOptions::default()
    };
    assert!(model.predict(&u, &gs).unwrap().1.iterations > 1);
}

#[test]
fn block_plan_iterations_are_the_slowest_component_and_its_residual_is_true() {
    // Two 2-cycles with different rates, x_0 <-> x_1 (0.8) and x_2 <-> x_3 (0.3), and a row reading both.
    use wolfpack_format::{Matrix, StoredMatrix};
    let n = 5;
    let mut a = vec![0.0f32; n * n];
    a[1] = 0.8;
    a[n] = 0.8;
    a[2 * n + 3] = 0.3;
    a[3 * n + 2] = 0.3;
    a[4 * n] = 0.5;
    a[4 * n + 2] = -0.3;
    let mut file = random_model(8, n, 3, 2, AKind::Zero, ValueType::F32, false);
    file.a = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, n, &a),
        ValueType::F32,
    ));
    file.bias_x = vec![1.0; n];
    let bytes = file.to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let b = model.blocks().unwrap();
    assert_eq!((b.cyclic_blocks, b.cyclic_rows, b.exact_rows), (2, 4, 1));
    let u = [0.0f32; 3];
    let mut session = Session::new(&model);
    let mut out = [0.0f32; 2];
    let options = |method, tolerance| SolveOptions {
        method,
        tolerance: Some(tolerance),
        max_iterations: Some(1000),
    };
    // The reported residual is max |x - relu(A x + z)| of the returned state (lane 0), recomputed here in f64.
    let true_residual = |x: &[f32], batch: usize| {
        (0..n)
            .map(|i| {
                let t: f64 = 1.0
                    + (0..n)
                        .map(|j| f64::from(a[i * n + j]) * f64::from(x[j * batch]))
                        .sum::<f64>();
                (t.max(0.0) - f64::from(x[i * batch])).abs()
            })
            .fold(0.0, f64::max)
    };
    // Four of the five units are cyclic: Auto would take Picard, so ask for the plan. Single inputs solve both
    // 2-unit components in closed form: one pass, residual at rounding level.
    let plan = options(Method::BlockTriangular, 1e-6);
    let one = session.predict_with(&model, &u, &mut out, &plan).unwrap();
    assert_eq!((one.solver, one.iterations), (Solver::BlockTriangular, 1));
    assert!(one.residual <= 1e-6, "{one:?}");
    assert!((true_residual(session.hidden(), 1) - f64::from(one.residual)).abs() < 1e-6);
    // Batches iterate them: the 0.8 cycle sets the count (Gauss-Seidel on the whole of A needs as many sweeps).
    let mut session = Session::with_batch(&model, 2);
    let (two, mut outs) = ([0.0f32; 6], [0.0f32; 4]);
    let batch = session
        .predict_batch_with(&model, &two, 2, &mut outs, &plan)
        .unwrap();
    let gs = session
        .predict_with(&model, &u, &mut out, &options(Method::GaussSeidel, 1e-6))
        .unwrap();
    assert_eq!(
        (batch.solver, batch.iterations),
        (Solver::BlockTriangular, gs.iterations)
    );
    let loose = options(Method::BlockTriangular, 1e-3);
    let stats = session
        .predict_batch_with(&model, &two, 2, &mut outs, &loose)
        .unwrap();
    assert!(stats.residual > 0.0 && stats.residual <= 1e-3, "{stats:?}");
    let r = true_residual(session.hidden(), 2);
    assert!(
        (r - f64::from(stats.residual)).abs() < 1e-6,
        "{r} vs {stats:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Single-value preprocessing and no D: single inputs take the fold of the preprocessing into B (fold.rs).
    /// They match the reference and the batch path (which preprocesses explicitly) on every backend.
    #[test]
    fn folded_preprocessing_matches_reference_and_the_batch_path(seed in any::<u64>(), n in 1usize..30, p in 1usize..40, dt in 0usize..4, scale in 0.01f32..1.0, mean in -1.0f32..1.0, std in 0.1f32..3.0, kind in 0usize..3) {
        let a = [AKind::Zero, AKind::Sparse { kappa: 0.6, per_mille: 80 }, AKind::Triangular][kind];
        let mut file = random_model(seed, n, p, 3, a, DTYPES[dt], false);
        file.d = None;
        file.meta.preprocessing.scale = scale;
        file.meta.preprocessing.mean = vec![mean];
        file.meta.preprocessing.std = vec![std];
        // States reach a few hundred here: f32 spacing 3e-5, so a tolerance of 1e-4.
        file.meta.solver.tolerance = 1e-4;
        // The solve stops at an update of 1e-4, which bounds the state error by kappa / (1 - kappa) * 1e-4 = 1.5e-4
        // in the infinity norm (any of the iterations, a kappa-contraction with the same fixed point), so an output
        // by ||C||_inf times that.
        let c_norm = match &file.c.as_ref().unwrap().matrix {
            wolfpack_format::Matrix::Dense { values, cols, .. } => values.chunks(*cols).map(|r| r.iter().map(|v| f64::from(v.abs())).sum::<f64>()).fold(0.0, f64::max),
            _ => unreachable!("random_model stores C dense"),
        };
        let allowed = 1e-4 + 1.5e-4 * c_norm;
        let bytes = file.to_bytes().unwrap();
        let raw: Vec<f32> = random_input(p, seed).iter().map(|v| v.abs()).collect();
        let want = reference(&bytes, &raw).0;
        for k in Kernels::all_available() {
            let model = Model::from_bytes(&bytes).unwrap().with_kernels(k);
            let mut session = Session::with_batch(&model, 2);
            let mut one = vec![0.0f32; 3];
            session.predict(&model, &raw, &mut one).unwrap();
            prop_assert!(max_rel_err(&one, &want) < allowed, "{:?} {:?}", one, want);
            let two: Vec<f32> = raw.iter().chain(&raw).copied().collect();
            let mut outs = vec![0.0f32; 6];
            session.predict_batch(&model, &two, 2, &mut outs).unwrap();
            prop_assert!(max_rel_err(&outs[..3], &want) < allowed);
        }
    }
}

#[test]
fn folded_preprocessing_still_refuses_non_finite_inputs() {
    let mut file = random_model(2, 6, 5, 2, AKind::Zero, ValueType::F32, false);
    file.d = None;
    file.meta.preprocessing.scale = 1.0 / 255.0;
    file.meta.preprocessing.mean = vec![0.3];
    file.meta.preprocessing.std = vec![0.35];
    let bytes = file.to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut out = [0.0f32; 2];
    for bad in [f32::NAN, f32::INFINITY] {
        let mut u = [1.0f32; 5];
        u[3] = bad;
        assert_eq!(
            Session::new(&model).predict(&model, &u, &mut out),
            Err(Error::NotFinite { what: "input" })
        );
    }
}

#[test]
fn gauss_seidel_needs_fewer_iterations_than_picard() {
    let bytes = random_model(3, 40, 12, 4, AKind::Contraction(0.9), ValueType::F32, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let u = random_input(12, 2);
    let run = |method| {
        model
            .predict(
                &u,
                &SolveOptions {
                    method,
                    ..SolveOptions::default()
                },
            )
            .unwrap()
            .1
            .iterations
    };
    let (gs, picard) = (run(Method::GaussSeidel), run(Method::Picard));
    assert!(gs < picard, "Gauss-Seidel {gs} vs Picard {picard}");
}

#[test]
fn anderson_cuts_iterations_on_slow_contractions_and_matches_the_reference() {
    for (seed, kappa) in [(21u64, 0.95f32), (22, 0.99)] {
        let mut file = random_model(
            seed,
            40,
            12,
            4,
            AKind::Positive(kappa),
            ValueType::F32,
            false,
        );
        // Every unit active (A x, about 3 / (1 - kappa), outweighs B u), so the iteration is linear with rate kappa.
        // States near 60 have an f32 spacing of 4e-6: ask for 1e-4, not less.
        file.bias_x = vec![3.0; 40];
        let bytes = file.to_bytes().unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let u = random_input(12, seed);
        let want = reference(&bytes, &u).0;
        let run = |method| {
            let options = SolveOptions {
                method,
                max_iterations: Some(100_000),
                tolerance: Some(1e-4),
            };
            model.predict(&u, &options).unwrap()
        };
        let (picard, anderson) = (run(Method::Picard), run(Method::Anderson { depth: 5 }));
        assert_eq!(anderson.1.solver, Solver::Anderson);
        let auto = run(Method::Auto);
        assert_eq!(
            (auto.1.solver, auto.0.clone()),
            (Solver::Anderson, run(Method::Anderson { depth: 5 }).0)
        );
        assert!(max_rel_err(&anderson.0, &want) < 1e-4, "kappa {kappa}");
        assert!(
            2 * anderson.1.iterations < picard.1.iterations,
            "kappa {kappa}: Anderson {} vs Picard {} iterations",
            anderson.1.iterations,
            picard.1.iterations
        );
        // A batch of different inputs: one history per input, each output within the tolerance of its
        // reference, in as few iterations (the slowest input's) as well.
        let batch = 5;
        let inputs: Vec<f32> = (0..batch)
            .flat_map(|b| random_input(12, seed + 100 * b as u64))
            .collect();
        let mut outs = vec![0.0f32; 4 * batch];
        let mut session = Session::with_batch(&model, batch);
        let run_batch = |session: &mut Session, outs: &mut [f32], method| {
            let options = SolveOptions {
                method,
                max_iterations: Some(100_000),
                tolerance: Some(1e-4),
            };
            session
                .predict_batch_with(&model, &inputs, batch, outs, &options)
                .unwrap()
        };
        let picard = run_batch(&mut session, &mut outs, Method::Picard);
        let anderson = run_batch(&mut session, &mut outs, Method::Anderson { depth: 5 });
        assert_eq!(anderson.solver, Solver::Anderson);
        for (b, out) in outs.chunks(4).enumerate() {
            let want = reference(&bytes, &inputs[12 * b..12 * (b + 1)]).0;
            assert!(max_rel_err(out, &want) < 1e-4, "kappa {kappa} sample {b}");
        }
        assert!(
            2 * anderson.iterations < picard.iterations,
            "kappa {kappa}, batch: Anderson {} vs Picard {} iterations",
            anderson.iterations,
            picard.iterations
        );
    }
}

#[test]
fn anderson_refuses_bad_depths() {
    let bytes = random_model(1, 5, 4, 2, AKind::Contraction(0.5), ValueType::F32, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut s = Session::with_batch(&model, 2);
    for depth in [0, 9] {
        let options = SolveOptions {
            method: Method::Anderson { depth },
            ..SolveOptions::default()
        };
        assert!(matches!(
            s.predict_with(&model, &[1.0; 4], &mut [0.0; 2], &options),
            Err(Error::InvalidOption(_))
        ));
    }
}

/// States of about 2,000 (large inputs into a random model, as raw 0-255 pixels into the random 10,000-weight
/// stand-in of `wolfpack bench --inputs`): `f32` spacings from 2^-16 to 2^-13 across the units, above the
/// tolerance 1e-5, so an iteration cannot always bring its update under it and may end in a cycle of an ulp or
/// two. Every method, single inputs and a batch mixing such an input with a small one, must converge to the
/// resolution of the state (an update of at most `max(1e-5, 2^-21 ||x||_inf)`) and match the f64 reference.
/// Before the stopping test had that floor, the AVX2 kernels failed here with `NotConverged` ("update
/// 1.5258789e-5 after 500 iterations"), every method on these two models in a first run.
#[test]
fn tolerances_below_the_resolution_of_large_states_still_converge() {
    let (n, p, q) = (128, 24, 3);
    let a = AKind::Sparse {
        kappa: 0.5,
        per_mille: 30,
    };
    let resolution = 4.0 * f32::EPSILON;
    for seed in [2, 4] {
        let bytes = random_model(seed, n, p, q, a, ValueType::F32, false)
            .to_bytes()
            .unwrap();
        let large: Vec<f32> = random_input(p, seed)
            .iter()
            .map(|v| 300.0 * v.abs())
            .collect();
        let inputs: Vec<f32> = large.iter().chain(&random_input(p, 9)).copied().collect();
        let want: Vec<Vec<f64>> = inputs.chunks(p).map(|u| reference(&bytes, u).0).collect();
        for k in Kernels::all_available() {
            let model = Model::from_bytes(&bytes).unwrap().with_kernels(k);
            let mut session = Session::with_batch(&model, 2);
            for method in [
                Method::Auto,
                Method::Picard,
                Method::GaussSeidel,
                Method::GroupedGaussSeidel,
                Method::BlockTriangular,
                Method::Anderson { depth: 5 },
            ] {
                let options = SolveOptions {
                    method,
                    tolerance: Some(1e-5),
                    ..SolveOptions::default()
                };
                let mut out = vec![0.0f32; q];
                for (b, w) in want.iter().enumerate() {
                    let stats = session
                        .predict_with(&model, &inputs[b * p..(b + 1) * p], &mut out, &options)
                        .unwrap_or_else(|e| panic!("{:?} {method:?} input {b}: {e}", k.isa()));
                    let norm = session.hidden().iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    assert!(
                        stats.residual <= 1e-5f32.max(resolution * norm),
                        "{:?} {method:?} input {b}: {stats:?}, |x| {norm}",
                        k.isa()
                    );
                    let err = max_rel_err(&out, w);
                    assert!(
                        err < 1e-4,
                        "{:?} {method:?} input {b}: error {err}",
                        k.isa()
                    );
                }
                let mut outs = vec![0.0f32; 2 * q];
                session
                    .predict_batch_with(&model, &inputs, 2, &mut outs, &options)
                    .unwrap_or_else(|e| panic!("batch {:?} {method:?}: {e}", k.isa()));
                for (b, w) in want.iter().enumerate() {
                    let err = max_rel_err(&outs[b * q..(b + 1) * q], w);
                    assert!(
                        err < 1e-4,
                        "batch {:?} {method:?} input {b}: error {err}",
                        k.isa()
                    );
                }
            }
        }
    }
}

/// A slow contraction at large states: x = relu(0.9999 x + 0.03), x* = 300. In `f32` its update stays at a few
/// ulps of 300 for thousands of sweeps while the state still climbs; a stall floor that ignored `1 - kappa`
/// stopped Picard at x = 298.57 (error 1.4) and called it converged. Now the solve either runs until `f32` itself
/// settles (within 0.2 of x*) or reports that it did not converge.
#[test]
fn slow_contractions_at_large_states_are_not_stopped_early() {
    let mut file = random_model(3, 1, 2, 1, AKind::Diagonal(0.9999), ValueType::F32, false);
    file.b = None;
    file.bias_x = vec![0.03];
    let bytes = file.to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let exact = 0.03f64 / (1.0 - f64::from(0.9999f32));
    for method in [
        Method::Picard,
        Method::GaussSeidel,
        Method::GroupedGaussSeidel,
    ] {
        let mut session = Session::new(&model);
        let options = SolveOptions {
            method,
            tolerance: Some(1e-5),
            max_iterations: Some(300_000),
        };
        let mut out = [0.0f32; 1];
        match session.predict_with(&model, &[0.0, 0.0], &mut out, &options) {
            Ok(stats) => {
                let x = f64::from(session.hidden()[0]);
                assert!(
                    (x - exact).abs() < 0.5,
                    "{method:?}: x {x} against {exact} ({stats:?})"
                );
            }
            Err(Error::NotConverged { .. }) => {}
            Err(e) => panic!("{method:?}: {e}"),
        }
    }
}

#[test]
fn non_convergence_is_an_error_with_the_numbers() {
    // x = 0.999 x + z converges at rate 0.999: 2 iterations are far from enough.
    let bytes = random_model(5, 6, 4, 2, AKind::Diagonal(0.999), ValueType::F32, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    for method in [
        Method::Picard,
        Method::GaussSeidel,
        Method::GroupedGaussSeidel,
    ] {
        let options = SolveOptions {
            max_iterations: Some(3),
            tolerance: Some(1e-7),
            method,
        };
        match model.predict(&random_input(4, 1), &options) {
            Err(Error::NotConverged {
                iterations: 3,
                residual,
                tolerance,
            }) => {
                assert!(residual > tolerance && residual.is_finite());
            }
            other => panic!("{method:?}: expected NotConverged, got {other:?}"),
        }
    }
    // With a generous cap Picard converges, slowly; Anderson in a few steps; Auto solves each self-loop
    // x_i = relu(0.999 x_i + z_i) in closed form, relu(z_i) / (1 - 0.999), in one pass.
    let run = |method| {
        let options = SolveOptions {
            max_iterations: Some(100_000),
            method,
            ..SolveOptions::default()
        };
        model.predict(&random_input(4, 1), &options).unwrap().1
    };
    assert!(run(Method::Picard).iterations > 1000);
    let anderson = run(Method::Anderson { depth: 5 });
    assert!(anderson.iterations < 20, "{anderson:?}");
    let auto = run(Method::Auto);
    assert_eq!((auto.solver, auto.iterations), (Solver::TriangularSweep, 1));
    assert!(auto.residual <= 1e-6, "{auto:?}");
}

#[test]
fn bad_inputs_and_options_are_typed_errors() {
    let bytes = random_model(1, 5, 4, 2, AKind::Contraction(0.5), ValueType::F16, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut s = Session::new(&model);
    let mut out = [0.0f32; 2];
    assert_eq!(
        s.predict(&model, &[1.0; 3], &mut out),
        Err(Error::Shape {
            what: "inputs",
            expected: 4,
            found: 3
        })
    );
    assert_eq!(
        s.predict(&model, &[1.0; 4], &mut [0.0; 3]),
        Err(Error::Shape {
            what: "outputs",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        s.predict(&model, &[1.0, f32::NAN, 0.0, 0.0], &mut out),
        Err(Error::NotFinite {
            what: "input (after preprocessing)"
        })
    );
    assert!(matches!(
        s.predict_batch(&model, &[1.0; 8], 3, &mut [0.0; 6]),
        Err(Error::Shape { .. })
    ));
    let bad = SolveOptions {
        tolerance: Some(f32::NAN),
        ..SolveOptions::default()
    };
    assert!(matches!(
        s.predict_with(&model, &[1.0; 4], &mut out, &bad),
        Err(Error::InvalidOption(_))
    ));
    let bad = SolveOptions {
        max_iterations: Some(0),
        ..SolveOptions::default()
    };
    assert!(matches!(
        s.predict_with(&model, &[1.0; 4], &mut out, &bad),
        Err(Error::InvalidOption(_))
    ));
    // Huge inputs overflow to infinity: reported, not returned.
    let r = s.predict(&model, &[3e38; 4], &mut out);
    assert!(
        matches!(r, Err(Error::NotFinite { .. })) || out.iter().all(|v| v.is_finite()),
        "{r:?} {out:?}"
    );
    // Empty batch: nothing to do.
    assert!(s.predict_batch(&model, &[], 0, &mut []).is_ok());
}

#[test]
fn malformed_files_are_format_errors() {
    assert!(matches!(
        Model::from_bytes(b"not a model"),
        Err(Error::Format(_))
    ));
    let mut bytes = random_model(2, 5, 4, 2, AKind::Contraction(0.5), ValueType::F32, false)
        .to_bytes()
        .unwrap()
        .to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    let e = Model::from_bytes_copied(&bytes).unwrap_err();
    assert!(e.to_string().contains("checksum"), "{e}");
    assert!(
        matches!(Model::open("/nonexistent/model.wpk"), Err(Error::Io(m)) if m.contains("/nonexistent/model.wpk"))
    );
}

#[test]
fn misaligned_bytes_are_copied_once_and_predict_the_same() {
    let bytes = random_model(9, 8, 6, 3, AKind::Contraction(0.5), ValueType::Bf16, true)
        .to_bytes()
        .unwrap();
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let (aligned, misaligned) = (
        Model::from_bytes(&bytes).unwrap(),
        Model::from_bytes(&shifted[1..]).unwrap(),
    );
    let u = random_input(6, 4);
    assert_eq!(
        aligned.predict(&u, &SolveOptions::default()).unwrap(),
        misaligned.predict(&u, &SolveOptions::default()).unwrap()
    );
}

#[test]
fn model_outlives_its_loader_and_opens_from_a_path() {
    let bytes = random_model(11, 8, 6, 3, AKind::Contraction(0.5), ValueType::I8, false)
        .to_bytes()
        .unwrap();
    let path =
        std::env::temp_dir().join(format!("wolfpack-runtime-test-{}.wpk", std::process::id()));
    std::fs::write(&path, &*bytes).unwrap();
    let mapped = Model::open(&path).unwrap();
    let copied = Model::from_bytes_copied(&bytes).unwrap();
    drop(bytes);
    std::fs::remove_file(&path).unwrap(); // the mapping stays valid after unlinking
    let u = random_input(6, 1);
    let boxed = Box::new(copied); // moving the model does not move its bytes
    assert_eq!(
        mapped.predict(&u, &SolveOptions::default()).unwrap(),
        boxed.predict(&u, &SolveOptions::default()).unwrap()
    );
}

#[test]
fn models_move_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model<'static>>();
    let bytes = random_model(13, 10, 5, 2, AKind::Contraction(0.8), ValueType::F16, false)
        .to_bytes()
        .unwrap();
    let model = Model::from_bytes_copied(&bytes).unwrap();
    let u = random_input(5, 3);
    let want = model.predict(&u, &SolveOptions::default()).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| model.predict(&u, &SolveOptions::default()).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
    let moved = std::thread::spawn(move || model.predict(&u, &SolveOptions::default()).unwrap())
        .join()
        .unwrap();
    assert_eq!(moved, want);
}

#[test]
fn sample_model_predicts_like_the_reference() {
    let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let u = random_input(model.n_inputs(), 5);
    let (out, stats) = model.predict(&u, &SolveOptions::default()).unwrap();
    // 21 stored weights in 8 rows of A, one strongly connected component: grouped Gauss-Seidel (one input).
    assert_eq!(model.blocks().unwrap().cyclic_blocks, 1);
    // Without the `packed` feature (the Android build) Auto keeps its earlier choices.
    if cfg!(feature = "packed") {
        assert_eq!(stats.solver, Solver::GroupedGaussSeidel);
    }
    assert!(max_rel_err(&out, &reference(&bytes, &u).0) < 1e-5);
    assert_eq!(model.labels(), ["alpha", "beta", "gamma"]);
}

/// `Method::Auto` on a dense or CSR contraction (kappa < 0.9) takes the block-triangular plan: one exact pass
/// when the only cycles are self-loops, iterations on the cyclic components otherwise, except for single inputs
/// with one big CSR component (grouped Gauss-Seidel sweeps); low-rank `A` keeps Picard.
#[test]
fn auto_takes_the_block_plan_for_dense_and_csr_a() {
    let cases = [
        // Self-loops only (A = 0.5 I): closed form, one pass.
        (AKind::Diagonal(0.5), 256, [Solver::TriangularSweep; 2]),
        // About 12 of 24 columns per row, CSR: one strongly connected component.
        (
            AKind::Contraction(0.5),
            24,
            [Solver::GroupedGaussSeidel, Solver::BlockTriangular],
        ),
        // Dense rows.
        (
            AKind::DenseContraction(0.5),
            16,
            [Solver::BlockTriangular; 2],
        ),
        (AKind::LowRank(0.5), 16, [Solver::Picard; 2]),
    ];
    for (kind, n, wants) in cases {
        let bytes = random_model(3, n, 20, 4, kind, ValueType::F16, false)
            .to_bytes()
            .unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        assert!(!model.structure().triangular, "{kind:?}");
        let a = model.matrix(wolfpack_format::Role::A).unwrap();
        let u = random_input(20, 9);
        for (batch, want) in [1, 3].into_iter().zip(wants) {
            let inputs: Vec<f32> = u.iter().cycle().take(20 * batch).copied().collect();
            let mut out = vec![0.0; 4 * batch];
            let stats = Session::new(&model)
                .predict_batch(&model, &inputs, batch, &mut out)
                .unwrap();
            // Grouped sweeps come with the `packed` feature (off in the Android build).
            if cfg!(feature = "packed") || want != Solver::GroupedGaussSeidel {
                assert_eq!(
                    stats.solver,
                    want,
                    "{kind:?} n = {n}, nnz(A) = {}, batch {batch}",
                    a.stored()
                );
            }
            assert!(stats.residual <= 1e-6, "{stats:?}");
            assert!(max_rel_err(&out[..4], &reference(&bytes, &u).0) < 1e-4);
        }
    }
}
