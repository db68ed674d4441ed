//! Soundness of the certificates on random small well-posed models: every input certified by interval bounds
//! (or by the Lipschitz bound) survives PGD with many restarts and dense random sampling of its ball, and every
//! sampled fixed point lies inside the computed enclosure.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use wolfpack::model::{loss::argmax, Params, SolveOptions};
use wolfpack::robust::attack::{attack_batch, AttackConfig};
use wolfpack::robust::ibp::Bounder;
use wolfpack::robust::{Norm, Threat};

fn random_model(p: usize, h: usize, q: usize, kappa: f32, seed: u64) -> Params {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut m = Params::zeros(p, h, q);
    for t in m.tensors_mut() {
        t.iter_mut().for_each(|v| *v = rng.random_range(-1.0..1.0));
    }
    // Rows of A scaled to L1 norm kappa exactly (the worst case the bounds allow).
    for row in m.a.chunks_mut(h) {
        let s: f32 = row.iter().map(|v| v.abs()).sum();
        row.iter_mut().for_each(|v| *v *= kappa / s);
    }
    m
}

const SOLVE: SolveOptions = SolveOptions {
    tol: 1e-7,
    max_iter: 2000,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn certified_inputs_survive_attacks_and_sampling(
        seed in 0u64..1_000_000,
        kappa in 0.0f32..0.95,
        eps in 0.01f32..0.3,
    ) {
        let (p, h, q) = (5, 8, 3);
        let m = random_model(p, h, q, kappa, seed);
        let bd = Bounder::new(&m).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xABCD);
        let threat = Threat::new(Norm::Linf, eps).unwrap();
        let cfg = AttackConfig { restarts: 8, ..AttackConfig::pgd(threat, 30) };
        for _ in 0..8 {
            let u: Vec<f32> = (0..p).map(|_| rng.random_range(0.0..1.0)).collect();
            let y = m.forward(&u, 1, &SOLVE).y;
            let t = argmax(&y);
            let (l, r) = Bounder::linf_box(&u, eps);
            let enc = bd.enclose(&l, &r);
            let ibp = bd.certify(&u, t as usize, eps);
            let lip = bd.certify_lipschitz(&y, t as usize, eps);
            // Sampling: box corners and uniform points; every fixed point inside the enclosure.
            let mut samples: Vec<Vec<f32>> = (0..1usize << p)
                .map(|c| (0..p).map(|k| if c >> k & 1 == 1 { r[k] as f32 } else { l[k] as f32 }).collect())
                .collect();
            samples.extend((0..150).map(|_| {
                (0..p).map(|k| rng.random_range(l[k] as f32..=r[k] as f32)).collect()
            }));
            let flat: Vec<f32> = samples.concat();
            let f = m.forward(&flat, samples.len(), &SOLVE);
            for (xs, ys) in f.x.chunks(h).zip(f.y.chunks(q)) {
                for (k, &x) in xs.iter().enumerate() {
                    let v = f64::from(x);
                    prop_assert!(enc.lo[k] - 1e-5 <= v && v <= enc.hi[k] + 1e-5,
                        "state {k}: {v} outside [{}, {}]", enc.lo[k], enc.hi[k]);
                }
                if ibp || lip {
                    prop_assert_eq!(argmax(ys), t, "a certified input changed class under sampling");
                }
            }
            if ibp || lip {
                let out = attack_batch(&m, &u, &[t], &cfg, &mut rng).unwrap();
                prop_assert!(out.adversarial[0].is_none(), "PGD broke a certified input");
            }
        }
    }
}

/// At small radii most inputs of a random model are certified, so the property above is exercised; at large radii
/// the attack breaks some, so it is not a weak attack either.
#[test]
fn certification_is_not_vacuous_and_the_attack_is_not_weak() {
    let (p, h, q) = (5, 8, 3);
    let mut certified = 0;
    let mut broken = 0;
    for seed in 0..10 {
        let m = random_model(p, h, q, 0.8, seed);
        let bd = Bounder::new(&m).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..10 {
            let u: Vec<f32> = (0..p).map(|_| rng.random_range(0.0..1.0)).collect();
            let y = m.forward(&u, 1, &SOLVE).y;
            let t = argmax(&y);
            certified += usize::from(bd.certify(&u, t as usize, 0.01));
            let cfg = AttackConfig::pgd(Threat::new(Norm::Linf, 0.5).unwrap(), 20);
            broken += usize::from(
                attack_batch(&m, &u, &[t], &cfg, &mut rng)
                    .unwrap()
                    .adversarial[0]
                    .is_some(),
            );
        }
    }
    assert!(
        certified > 50,
        "only {certified} of 100 certified at eps 0.01"
    );
    assert!(broken > 20, "only {broken} of 100 broken at eps 0.5");
}
