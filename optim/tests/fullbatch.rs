//! Convergence, certificates and known optima of the full-batch methods.
#![allow(clippy::needless_range_loop)]

mod common;

use wolfpack_optim::fullbatch::{
    AwayPairwiseFw, FrankWolfe, FwVariant, GradientDescent, Lbfgs, ProjectedGradient,
    ProximalGradient, StepRule,
};
use wolfpack_optim::glm::{Glm, Logistic, Squared};
use wolfpack_optim::prox::L1Penalty;
use wolfpack_optim::rng::SplitMix64;
use wolfpack_optim::sets::{ConstraintSet, KSparsePolytope, L1Ball, L2Ball, Simplex};
use wolfpack_optim::{linalg, Certificate, Control, IterInfo, Objective, OptimError};

/// f(x) = ||x - c||^2 / 2: its minimiser over C is the projection of c.
struct Dist {
    c: Vec<f64>,
}
impl Objective<f64> for Dist {
    fn dim(&self) -> usize {
        self.c.len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        linalg::dist2_sq(x, &self.c) / 2.0
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        for i in 0..x.len() {
            g[i] = x[i] - self.c[i];
        }
        self.value(x)
    }
}

fn gap(r: &wolfpack_optim::OptimizeResult<f64>) -> f64 {
    match r.certificate {
        Certificate::FrankWolfeGap(g) => g,
        other => panic!("expected a FW gap, got {other:?}"),
    }
}

#[test]
fn every_constrained_method_finds_the_projection() {
    let mut rng = SplitMix64::new(41);
    let c: Vec<f64> = (0..12).map(|_| 2.0 * rng.normal()).collect();
    let f = Dist { c: c.clone() };
    for set in [
        &L1Ball::new(3.0).unwrap() as &dyn ConstraintSet<f64>,
        &KSparsePolytope::new(3, 0.9).unwrap(),
        &Simplex::new(2.0).unwrap(),
    ] {
        let mut p = c.clone();
        set.project(&mut p).unwrap();
        let fstar = f.value(&p);
        let mut x0 = vec![0.0; 12];
        set.project(&mut x0).unwrap();
        // Vanilla FW converges sublinearly when the solution is on a face: ask for a modest gap,
        // and check the gap certifies the suboptimality.
        let mut fw = FrankWolfe::new(StepRule::ShortStep { lipschitz: 1.0 });
        fw.max_iter = 100_000;
        fw.tol = 1e-4;
        let r_fw = fw.minimize(&f, &set, x0.clone()).unwrap();
        assert!(r_fw.success, "{}", r_fw.message);
        assert!(r_fw.f - fstar <= gap(&r_fw) + 1e-14);
        for variant in [FwVariant::Away, FwVariant::Pairwise] {
            let mut m = AwayPairwiseFw::new(variant);
            m.tol = 1e-10;
            let r = m.minimize(&f, &set, x0.clone()).unwrap();
            assert!(r.success, "{variant:?}: {}", r.message);
            assert!(linalg::dist2_sq(&r.x, &p).sqrt() < 1e-4, "{variant:?}");
            assert!(r.f - fstar <= gap(&r) + 1e-14);
        }
        for mut m in [ProjectedGradient::pgd(), ProjectedGradient::apgd()] {
            m.tol = 1e-10;
            let r = m.minimize(&f, &set, vec![0.0; 12]).unwrap();
            assert!(
                r.success,
                "{} {} {:?} {}",
                r.message, r.iterations, r.certificate, m.accelerated
            );
            assert!(linalg::dist2_sq(&r.x, &p).sqrt() < 1e-6);
        }
    }
}

/// The FW gap bounds the suboptimality at every iterate, and the 2/(t+2) step obeys
/// f(x_t) - f* <= 2 L D^2 / (t + 2) (Jaggi 2013, Theorem 1), D the diameter of the set.
#[test]
fn fw_gap_bounds_suboptimality_and_harmonic_rate_holds() {
    let ds = common::synthetic(200, 15, 42);
    let f = Glm::new(&ds.a, &ds.y, ds.d, Logistic).unwrap();
    let set = L1Ball::new(2.0).unwrap();
    // An estimate of f* from above keeps both checks valid (they only get weaker).
    let mut reference = ProjectedGradient::apgd();
    reference.tol = 1e-9;
    reference.max_iter = 5_000;
    let fstar = reference.minimize(&f, &set, vec![0.0; ds.d]).unwrap().f;
    let lip = f.lipschitz();
    let diam2 = 16.0; // diameter of the L1 ball of radius 2 in the Euclidean norm: 2 r = 4.
    let mut fw = FrankWolfe::new(StepRule::Harmonic);
    fw.max_iter = 300;
    fw.tol = 0.0;
    let mut checked = 0;
    let mut g = vec![0.0; ds.d];
    let mut v = wolfpack_optim::Vertex::new();
    let mut cb = |info: &IterInfo<'_, f64>| {
        let t = info.iteration as f64;
        assert!(
            info.f - fstar <= 2.0 * lip * diam2 / (t + 2.0) + 1e-12,
            "rate violated at t={t}"
        );
        // Gap at the new iterate.
        f.value_grad(info.x, &mut g);
        set.lmo(&g, &mut v).unwrap();
        let gap_now = wolfpack_optim::sets::fw_gap(&g, info.x, &v);
        assert!(
            info.f - fstar <= gap_now + 1e-12,
            "gap {gap_now} < subopt {}",
            info.f - fstar
        );
        checked += 1;
        Control::Continue
    };
    fw.minimize_with(&f, &set, vec![0.0; ds.d], &mut cb)
        .unwrap();
    assert_eq!(checked, 300);
}

/// Quality bar of issue 3: pairwise FW and accelerated PGD reach a relative suboptimality of
/// 1e-6 on L1-constrained logistic regression on the breast-cancer data, alpha = 5.
#[test]
fn breast_cancer_pfw_and_apgd_reach_1e_minus_6() {
    let ds = common::breast_cancer();
    assert_eq!((ds.n(), ds.d), (569, 30));
    let f = Glm::new(&ds.a, &ds.y, ds.d, Logistic).unwrap();
    let set = L1Ball::new(5.0).unwrap();
    // Reference optimum: long runs of two different methods must agree, and their certified
    // lower bounds f - gap must lie below both (the gap floor in double precision is ~1e-9
    // here: near the optimum gap ~ |grad| dist while f - f* ~ dist^2 is below rounding).
    let mut apgd_ref = ProjectedGradient::apgd();
    apgd_ref.tol = 2e-9;
    apgd_ref.max_iter = 20_000;
    let r1 = apgd_ref.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    let mut pfw_ref = AwayPairwiseFw::new(FwVariant::Pairwise);
    pfw_ref.tol = 2e-8;
    pfw_ref.max_iter = 20_000;
    let r2 = pfw_ref.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    let fstar = r1.f.min(r2.f);
    assert!(
        (r1.f - r2.f).abs() <= 1e-10 * fstar,
        "references disagree: {} vs {}",
        r1.f,
        r2.f
    );
    assert!(r1.f - gap(&r1) <= r2.f && r2.f - gap(&r2) <= r1.f);
    assert!(gap(&r1) <= 1e-8 && gap(&r2) <= 1e-7);

    let mut pfw = AwayPairwiseFw::new(FwVariant::Pairwise);
    pfw.tol = 1e-7;
    pfw.max_iter = 10_000;
    let r = pfw.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    assert!(
        (r.f - fstar) / fstar <= 1e-6,
        "PFW rel. subopt {}",
        (r.f - fstar) / fstar
    );
    assert!(r.success);
    let mut apgd = ProjectedGradient::apgd();
    apgd.tol = 1e-7;
    apgd.max_iter = 10_000;
    let r = apgd.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    assert!(
        (r.f - fstar) / fstar <= 1e-6,
        "APGD rel. subopt {}",
        (r.f - fstar) / fstar
    );
    assert!(r.success);
    // The L1 solution is sparse and the FW iterate's support is within the PFW active atoms.
    assert!(r2.x.iter().filter(|v| **v != 0.0).count() < ds.d);
}

#[test]
fn fw_iterates_stay_sparse_and_feasible() {
    let ds = common::synthetic(300, 40, 43);
    let f = Glm::new(&ds.a, &ds.y, ds.d, Logistic).unwrap();
    let set = L1Ball::new(1.0).unwrap();
    let mut bt = FrankWolfe::new(StepRule::Backtracking {
        initial_lipschitz: None,
    });
    bt.max_iter = 30;
    bt.tol = 0.0;
    let r = bt.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    // Started at 0 with one-atom vertices: at most one new nonzero per iteration.
    assert!(r.x.iter().filter(|v| **v != 0.0).count() <= 30);
    let mut h = FrankWolfe::new(StepRule::Harmonic);
    h.max_iter = 30;
    h.tol = 0.0;
    let rh = h.minimize(&f, &set, vec![0.0; ds.d]).unwrap();
    assert!(rh.x.iter().filter(|v| **v != 0.0).count() <= 30);
    assert!(linalg::norm1(&r.x) <= 1.0 + 1e-12);
    assert!(linalg::norm1(&rh.x) <= 1.0 + 1e-12);
}

#[test]
fn l2_ball_fw_converges_to_the_projection() {
    let c = vec![3.0, -4.0, 0.0];
    let f = Dist { c };
    let set = L2Ball::new(1.0).unwrap();
    let mut fw = FrankWolfe::new(StepRule::Backtracking {
        initial_lipschitz: None,
    });
    fw.tol = 1e-10;
    let r = fw.minimize(&f, &set, vec![0.0; 3]).unwrap();
    assert!(r.success);
    assert!(linalg::dist2_sq(&r.x, &[0.6, -0.8, 0.0]) < 1e-8);
}

struct Rosenbrock;
impl Objective<f64> for Rosenbrock {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
        g[1] = 200.0 * (x[1] - x[0] * x[0]);
        self.value(x)
    }
}

#[test]
fn lbfgs_and_gd_solve_unconstrained_problems() {
    let r = Lbfgs {
        tol: 1e-9,
        ..Lbfgs::default()
    }
    .minimize(&Rosenbrock, vec![-1.2, 1.0])
    .unwrap();
    assert!(r.success, "{}", r.message);
    assert!((r.x[0] - 1.0).abs() < 1e-6 && (r.x[1] - 1.0).abs() < 1e-6);
    assert!(r.iterations < 100, "L-BFGS took {}", r.iterations);
    // Least squares with a known solution: y = A w0 exactly.
    let mut rng = SplitMix64::new(44);
    let (n, d) = (60, 8);
    let a: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
    let w0: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| linalg::dot(&a[i * d..(i + 1) * d], &w0))
        .collect();
    let f = Glm::new(&a, &y, d, Squared).unwrap();
    let r = Lbfgs {
        tol: 1e-10,
        ..Lbfgs::default()
    }
    .minimize(&f, vec![0.0; d])
    .unwrap();
    assert!(linalg::dist2_sq(&r.x, &w0).sqrt() < 1e-8);
    let r = GradientDescent {
        tol: 1e-8,
        ..GradientDescent::default()
    }
    .minimize(&f, vec![0.0; d])
    .unwrap();
    assert!(r.success, "{}", r.message);
    assert!(linalg::dist2_sq(&r.x, &w0).sqrt() < 1e-6);
    assert!(matches!(r.certificate, Certificate::GradientNorm(g) if g <= 1e-8));
}

/// Lasso with an orthogonal design (A = sqrt(n) I stacked): the solution is soft-thresholding.
#[test]
fn proximal_gradient_solves_orthogonal_lasso() {
    let d = 6;
    let mut rng = SplitMix64::new(45);
    let b: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
    // f(w) = (1/d) sum_i (w_i - b_i)^2 / 2 with A = I: minimiser of f + lam ||w||_1 is
    // soft(b, d * lam).
    let mut a = vec![0.0; d * d];
    for i in 0..d {
        a[i * d + i] = 1.0;
    }
    let f = Glm::new(&a, &b, d, Squared).unwrap();
    let lam = 0.05;
    let h = L1Penalty::new(lam).unwrap();
    for accelerated in [false, true] {
        let m = ProximalGradient {
            accelerated,
            tol: 1e-12,
            max_iter: 10_000,
            ..ProximalGradient::default()
        };
        let r = m.minimize(&f, &h, vec![0.0; d]).unwrap();
        assert!(r.success, "{}", r.message);
        for i in 0..d {
            let expect = b[i].signum() * (b[i].abs() - d as f64 * lam).max(0.0);
            assert!(
                (r.x[i] - expect).abs() < 1e-9,
                "{i}: {} vs {expect}",
                r.x[i]
            );
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let f = Dist { c: vec![1.0, 2.0] };
    let set = L1Ball::new(1.0).unwrap();
    let fw = FrankWolfe::<f64>::default();
    assert!(matches!(
        fw.minimize(&f, &set, vec![0.0; 3]),
        Err(OptimError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        fw.minimize(&f, &set, vec![5.0, 0.0]),
        Err(OptimError::InvalidParameter { .. })
    ));
    assert!(matches!(
        fw.minimize(&f, &set, vec![f64::NAN, 0.0]),
        Err(OptimError::NotFinite { .. })
    ));
    let mut h = AwayPairwiseFw::new(FwVariant::Away);
    h.step = StepRule::Harmonic;
    assert!(h.minimize(&f, &set, vec![0.0; 2]).is_err());
    let ss = FrankWolfe::new(StepRule::ShortStep { lipschitz: -1.0 });
    assert!(ss.minimize(&f, &set, vec![0.0; 2]).is_err());
}

#[test]
fn callbacks_stop_early_and_traces_record() {
    // c strictly inside the ball: FW never hits a zero gap exactly.
    let f = Dist {
        c: vec![0.3, 0.2, 0.1],
    };
    let set = L1Ball::new(1.0).unwrap();
    let mut fw = FrankWolfe::new(StepRule::Harmonic);
    fw.trace = true;
    fw.tol = 0.0;
    let mut cb = |i: &IterInfo<'_, f64>| {
        if i.iteration >= 5 {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let r = fw.minimize_with(&f, &set, vec![0.0; 3], &mut cb).unwrap();
    assert_eq!(r.iterations, 5);
    assert_eq!(r.trace.as_ref().unwrap().len(), 5);
    assert_eq!(r.message, "stopped by callback");
    assert!(!r.success);
}
