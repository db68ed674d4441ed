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

/// The attack use: maximise a logistic loss of a fixed linear classifier over the threat model
/// (minimise its negative). For a linear score the optimum over the L-inf ball ∩ box is the
/// LMO vertex of the box-clipped ball (a sign step clipped to [0, 1]); PGD and FW must find it.
#[test]
fn attacks_over_threat_models() {
    use wolfpack_optim::sets::{L2BallBox, LinfBallBox};
    struct NegLoss {
        w: Vec<f64>,
    }
    impl Objective<f64> for NegLoss {
        fn dim(&self) -> usize {
            self.w.len()
        }
        fn value(&self, x: &[f64]) -> f64 {
            // -log(1 + exp(-(w.x))) for a true label +1: increasing the loss = decreasing w.x.
            -(1.0 + (-linalg::dot(&self.w, x)).exp()).ln()
        }
        fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            let z = linalg::dot(&self.w, x);
            let s = 1.0 / (1.0 + z.exp()); // sigma(-z)
            for i in 0..x.len() {
                g[i] = s * self.w[i];
            }
            self.value(x)
        }
    }
    let mut rng = SplitMix64::new(46);
    let n = 16;
    let w: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let x0: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
    let f = NegLoss { w: w.clone() };
    let linf = LinfBallBox::new(x0.clone(), 0.1, 0.0, 1.0).unwrap();
    let expect: Vec<f64> = (0..n)
        .map(|i| {
            if w[i] > 0.0 {
                (x0[i] - 0.1).max(0.0)
            } else {
                (x0[i] + 0.1).min(1.0)
            }
        })
        .collect();
    let mut pgd = ProjectedGradient::pgd();
    pgd.tol = 1e-10;
    let r = pgd.minimize(&f, &linf, x0.clone()).unwrap();
    assert!(linalg::dist2_sq(&r.x, &expect).sqrt() < 1e-8);
    let mut fw = FrankWolfe::new(StepRule::Backtracking {
        initial_lipschitz: None,
    });
    fw.tol = 1e-10;
    let r = fw.minimize(&f, &linf, x0.clone()).unwrap();
    assert!(linalg::dist2_sq(&r.x, &expect).sqrt() < 1e-8);
    // L2 threat model: FW and APGD agree, the result lies in the set and beats the start.
    let l2 = L2BallBox::new(x0.clone(), 0.5, 0.0, 1.0).unwrap();
    let mut apgd = ProjectedGradient::apgd();
    apgd.tol = 1e-9;
    let ra = apgd.minimize(&f, &l2, x0.clone()).unwrap();
    let mut fw = FrankWolfe::new(StepRule::Backtracking {
        initial_lipschitz: None,
    });
    fw.tol = 1e-9;
    fw.max_iter = 10_000;
    let rf = fw.minimize(&f, &l2, x0.clone()).unwrap();
    assert!(l2.contains(&ra.x, 1e-9) && l2.contains(&rf.x, 1e-9));
    assert!((ra.f - rf.f).abs() < 1e-8, "{} vs {}", ra.f, rf.f);
    assert!(ra.f < f.value(&x0));
}

/// Everything is generic over f32: pairwise FW in single precision lands near the f64 optimum.
#[test]
fn single_precision_pairwise_fw() {
    let ds = common::breast_cancer();
    let a32: Vec<f32> = ds.a.iter().map(|&v| v as f32).collect();
    let y32: Vec<f32> = ds.y.iter().map(|&v| v as f32).collect();
    let f32p = Glm::new(&a32, &y32, ds.d, Logistic).unwrap();
    let set = L1Ball::new(5.0f32).unwrap();
    let mut m = AwayPairwiseFw::new(FwVariant::Pairwise);
    m.tol = 1e-4;
    let r = m.minimize(&f32p, &set, vec![0.0f32; ds.d]).unwrap();
    let f = Glm::new(&ds.a, &ds.y, ds.d, Logistic).unwrap();
    let x64: Vec<f64> = r.x.iter().map(|&v| v as f64).collect();
    let mut apgd = ProjectedGradient::apgd();
    apgd.tol = 1e-8;
    let fstar = apgd
        .minimize(&f, &L1Ball::new(5.0).unwrap(), vec![0.0; ds.d])
        .unwrap()
        .f;
    assert!((f.value(&x64) - fstar) / fstar < 1e-3);
}

/// Rates on a problem with a known optimum (the projection of c onto the L1 ball):
/// * projected gradient with the fixed step 1/L obeys f(x_k) - f* <= L ||x0 - x*||^2 / (2k)
///   (Beck & Teboulle 2009, Thm 3.1);
/// * pairwise FW converges linearly on the polytope (Lacoste-Julien & Jaggi 2015): it
///   certifies a 1e-10 gap within 200 iterations, where vanilla FW with the short step is
///   still above 1e-7 (sublinear when the solution lies on a face).
#[test]
fn pgd_rate_and_linear_convergence_of_pairwise_fw() {
    let mut rng = SplitMix64::new(47);
    let c: Vec<f64> = (0..30).map(|_| rng.normal()).collect();
    let f = Dist { c: c.clone() };
    let set = L1Ball::new(2.0).unwrap();
    let mut xstar = c.clone();
    set.project(&mut xstar).unwrap();
    let fstar = f.value(&xstar);

    // A harder problem for PGD: f(x) = ||M x - M c||^2/2 with an ill-conditioned diagonal M.
    struct Scaled {
        m: Vec<f64>,
        c: Vec<f64>,
    }
    impl Objective<f64> for Scaled {
        fn dim(&self) -> usize {
            self.m.len()
        }
        fn value(&self, x: &[f64]) -> f64 {
            (0..x.len())
                .map(|i| (self.m[i] * (x[i] - self.c[i])).powi(2))
                .sum::<f64>()
                / 2.0
        }
        fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
            for i in 0..x.len() {
                g[i] = self.m[i] * self.m[i] * (x[i] - self.c[i]);
            }
            self.value(x)
        }
    }
    let m: Vec<f64> = (0..30).map(|i| 0.05 + i as f64 / 10.0).collect();
    let lip = m.iter().fold(0.0f64, |a, &b| a.max(b * b));
    let g = Scaled { m, c: c.clone() };
    let mut refm = ProjectedGradient::apgd();
    refm.tol = 1e-12;
    refm.max_iter = 100_000;
    let rref = refm.minimize(&g, &set, vec![0.0; 30]).unwrap();
    let (gstar, xs) = (rref.f, rref.x.clone());
    let r0 = linalg::norm2_sq(&xs); // ||x0 - x*||^2 with x0 = 0
    let mut pgd = ProjectedGradient::pgd();
    pgd.lipschitz = Some(lip);
    pgd.backtracking = false;
    pgd.tol = 0.0;
    pgd.max_iter = 300;
    let mut k_seen = 0;
    let mut cb = |i: &IterInfo<'_, f64>| {
        let k = i.iteration as f64;
        assert!(
            i.f - gstar <= lip * r0 / (2.0 * k) + 1e-12,
            "PGD rate violated at k={k}"
        );
        k_seen += 1;
        Control::Continue
    };
    pgd.minimize_with(&g, &set, vec![0.0; 30], &mut cb).unwrap();
    assert!(k_seen >= 20, "only {k_seen} iterations checked");

    let mut pfw = AwayPairwiseFw::new(FwVariant::Pairwise);
    pfw.step = StepRule::ShortStep { lipschitz: 1.0 };
    pfw.tol = 1e-10;
    pfw.max_iter = 200;
    let r = pfw.minimize(&f, &set, vec![0.0; 30]).unwrap();
    assert!(
        r.success,
        "pairwise FW: {} after {} iterations, gap {:?}",
        r.message, r.iterations, r.certificate
    );
    assert!(r.f - fstar <= 1e-10);
    let mut fw = FrankWolfe::new(StepRule::ShortStep { lipschitz: 1.0 });
    fw.tol = 0.0;
    fw.max_iter = 200;
    let rf = fw.minimize(&f, &set, vec![0.0; 30]).unwrap();
    assert!(
        gap(&rf) > 1e-7,
        "vanilla FW unexpectedly fast: gap {}",
        gap(&rf)
    );
}
