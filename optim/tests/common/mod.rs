//! Shared test fixtures.
#![allow(dead_code)]

use wolfpack_optim::glm::Dataset;
use wolfpack_optim::rng::SplitMix64;

/// scikit-learn's breast-cancer data (569 x 30), standardised, labels in {-1, +1}.
pub fn breast_cancer() -> Dataset<f64> {
    let text = include_str!("../data/breast_cancer.csv");
    let mut ds = Dataset::from_csv_str(text, true).expect("breast cancer CSV parses");
    ds.standardise();
    ds
}

/// A small synthetic logistic problem: A ~ N(0, 1), labels from a sparse model.
pub fn synthetic(n: usize, d: usize, seed: u64) -> Dataset<f64> {
    let mut rng = SplitMix64::new(seed);
    let a: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
    let w: Vec<f64> = (0..d)
        .map(|j| if j % 7 == 0 { rng.normal() } else { 0.0 })
        .collect();
    let y = (0..n)
        .map(|i| {
            let z: f64 = (0..d).map(|j| a[i * d + j] * w[j]).sum();
            let p = 1.0 / (1.0 + (-2.0 * z).exp());
            if rng.uniform() < p {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    Dataset { a, y, d }
}
