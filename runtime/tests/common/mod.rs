//! Shared test helpers: random implicit models written with the format crate's writer, and a naive f64
//! reference of their prediction.
#![allow(dead_code)]

use wolfpack_format::{Matrix, Metadata, ModelFile, ModelView, Role, StoredMatrix, ValueType};

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub fn sym(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The structure of A in a random model.
#[derive(Clone, Copy, Debug)]
pub enum AKind {
    /// No A: a one-layer network.
    Zero,
    /// Sparse CSR with every row L1 norm equal to kappa.
    Contraction(f32),
    /// Dense storage, row L1 norms kappa.
    DenseContraction(f32),
    /// Strictly lower-triangular under a random stored order, with row L1 norms up to 2 (not a contraction).
    Triangular,
    /// Rank 2, certified bound kappa.
    LowRank(f32),
    /// kappa times the identity: the slowest possible contraction of rate kappa.
    Diagonal(f32),
    /// Sparse CSR, each entry present with probability `per_mille / 1000`, rows scaled to L1 norm kappa: empty
    /// rows, self-loops, chains and small cycles at low densities, one big strongly connected component at high
    /// ones.
    Sparse { kappa: f32, per_mille: u32 },
    /// Row `i` reads unit `i + 1` only (weight kappa): acyclic, but upper-triangular in the stored order.
    Chain(f32),
    /// Sparse CSR with nonnegative entries and row sums kappa: spectral radius kappa, so Picard really needs
    /// about log(tol) / log(kappa) steps.
    Positive(f32),
}

fn scale_rows(a: &mut [f32], n: usize, kappa: f32) {
    for row in a.chunks_mut(n.max(1)) {
        let l1: f32 = row.iter().map(|v| v.abs()).sum();
        if l1 > 0.0 {
            row.iter_mut().for_each(|v| *v *= kappa / l1);
        }
    }
}

/// A random model with n hidden units, p inputs, q outputs; B CSR, C dense, D low-rank, all stored as `dtype`.
pub fn random_model(
    seed: u64,
    n: usize,
    p: usize,
    q: usize,
    a_kind: AKind,
    dtype: ValueType,
    preprocess: bool,
) -> ModelFile {
    let mut rng = Rng::new(seed);
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.solver.tolerance = 1e-6;
    meta.solver.max_iterations = 500;
    if preprocess {
        meta.preprocessing.scale = 0.5;
        meta.preprocessing.mean = (0..p).map(|_| rng.sym()).collect();
        meta.preprocessing.std = vec![1.5];
    }
    let mut file = ModelFile::new(meta);
    let sparse = |rows: usize, cols: usize, rng: &mut Rng| -> Vec<f32> {
        (0..rows * cols)
            .map(|_| if rng.below(2) == 0 { rng.sym() } else { 0.0 })
            .collect()
    };
    let (a, order) = match a_kind {
        AKind::Zero => (None, None),
        AKind::Contraction(kappa) => {
            let mut a = sparse(n, n, &mut rng);
            scale_rows(&mut a, n, kappa * 0.99);
            (Some(Matrix::csr_from_dense(n, n, &a)), None)
        }
        AKind::DenseContraction(kappa) => {
            let mut a: Vec<f32> = (0..n * n).map(|_| rng.sym()).collect();
            scale_rows(&mut a, n, kappa * 0.99);
            (
                Some(Matrix::Dense {
                    rows: n,
                    cols: n,
                    values: a,
                }),
                None,
            )
        }
        AKind::Triangular => {
            // A random evaluation order; unit order[i] reads only units order[j], j < i.
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let mut a = vec![0.0f32; n * n];
            for i in 0..n {
                for j in 0..i {
                    if rng.below(3) != 0 {
                        a[order[i] as usize * n + order[j] as usize] = 0.6 * rng.sym();
                    }
                }
            }
            (Some(Matrix::csr_from_dense(n, n, &a)), Some(order))
        }
        AKind::LowRank(kappa) => {
            let rank = 2;
            let u: Vec<f32> = (0..n * rank).map(|_| rng.sym()).collect();
            let mut v: Vec<f32> = (0..rank * n).map(|_| rng.sym()).collect();
            // Certified bound max_i sum_r |U_ir| ||V_r||_1 <= kappa: scale V.
            let vn: Vec<f32> = v
                .chunks(n)
                .map(|r| r.iter().map(|x| x.abs()).sum())
                .collect();
            let bound = u
                .chunks(rank)
                .map(|ur| ur.iter().zip(&vn).map(|(a, b)| a.abs() * b).sum::<f32>())
                .fold(0.0, f32::max);
            v.iter_mut().for_each(|x| *x *= kappa * 0.95 / bound);
            (
                Some(Matrix::LowRank {
                    rows: n,
                    cols: n,
                    rank,
                    u,
                    v,
                }),
                None,
            )
        }
        AKind::Positive(kappa) => {
            let mut a: Vec<f32> = sparse(n, n, &mut rng).iter().map(|v| v.abs()).collect();
            for i in 0..n {
                a[i * n + (i + 1) % n] += 0.1; // no empty row: every row sum is exactly kappa
            }
            scale_rows(&mut a, n, kappa * 0.99);
            (Some(Matrix::csr_from_dense(n, n, &a)), None)
        }
        AKind::Sparse { kappa, per_mille } => {
            let mut a: Vec<f32> = (0..n * n)
                .map(|_| {
                    if (rng.below(1000) as u32) < per_mille {
                        rng.sym()
                    } else {
                        0.0
                    }
                })
                .collect();
            scale_rows(&mut a, n, kappa * 0.99);
            (Some(Matrix::csr_from_dense(n, n, &a)), None)
        }
        AKind::Chain(kappa) => {
            let a: Vec<f32> = (0..n * n)
                .map(|k| if k % n == k / n + 1 { kappa } else { 0.0 })
                .collect();
            (Some(Matrix::csr_from_dense(n, n, &a)), None)
        }
        AKind::Diagonal(kappa) => {
            let a: Vec<f32> = (0..n * n)
                .map(|k| if k % (n + 1) == 0 { kappa } else { 0.0 })
                .collect();
            (Some(Matrix::csr_from_dense(n, n, &a)), None)
        }
    };
    file.a = a.map(|m| StoredMatrix::new(m, dtype));
    file.order = order;
    file.b = Some(StoredMatrix::new(
        Matrix::csr_from_dense(n, p, &sparse(n, p, &mut rng)),
        dtype,
    ));
    file.c = Some(StoredMatrix::new(
        Matrix::Dense {
            rows: q,
            cols: n,
            values: (0..q * n).map(|_| rng.sym()).collect(),
        },
        dtype,
    ));
    if p > 0 && q > 0 {
        let u: Vec<f32> = (0..q).map(|_| rng.sym()).collect();
        let v: Vec<f32> = (0..p).map(|_| 0.3 * rng.sym()).collect();
        file.d = Some(StoredMatrix::new(
            Matrix::LowRank {
                rows: q,
                cols: p,
                rank: 1,
                u,
                v,
            },
            dtype,
        ));
    }
    file.bias_x = (0..n).map(|_| 0.5 * rng.sym() + 0.2).collect();
    file.bias_y = (0..q).map(|_| rng.sym()).collect();
    file
}

/// The prediction of the model in `bytes` for a raw input, in f64: dense dequantised matrices (the format
/// crate's `to_dense`), preprocessing applied by hand, fixed point by f64 Picard iteration to 1e-13.
pub fn reference(bytes: &[u8], raw: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let view = ModelView::parse(bytes).unwrap();
    let dims = view.meta.dims;
    let (n, p, q) = (
        dims.hidden as usize,
        dims.inputs as usize,
        dims.outputs as usize,
    );
    let dense = |r: Role| {
        view.matrix(r).map(|m| {
            m.to_dense()
                .into_iter()
                .map(f64::from)
                .collect::<Vec<f64>>()
        })
    };
    let mv = |m: &Option<Vec<f64>>, rows: usize, cols: usize, x: &[f64], y: &mut [f64]| {
        if let Some(m) = m {
            for i in 0..rows {
                y[i] += (0..cols).map(|j| m[i * cols + j] * x[j]).sum::<f64>();
            }
        }
    };
    let pre = &view.meta.preprocessing;
    let pick = |v: &[f32], j: usize, d: f32| {
        f64::from(match v.len() {
            0 => d,
            1 => v[0],
            _ => v[j],
        })
    };
    let u: Vec<f64> = (0..p)
        .map(|j| {
            (f64::from(raw[j]) * f64::from(pre.scale) - pick(&pre.mean, j, 0.0))
                / pick(&pre.std, j, 1.0)
        })
        .collect();
    let (a, b, c, d) = (
        dense(Role::A),
        dense(Role::B),
        dense(Role::C),
        dense(Role::D),
    );
    let mut z: Vec<f64> = view
        .bias_x
        .map_or(vec![0.0; n], |v| v.iter().map(|&x| f64::from(x)).collect());
    mv(&b, n, p, &u, &mut z);
    let mut x = vec![0.0f64; n];
    for _ in 0..100_000 {
        let mut next = z.clone();
        mv(&a, n, n, &x, &mut next);
        next.iter_mut().for_each(|v| *v = v.max(0.0));
        let delta = next
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        x = next;
        if delta < 1e-13 {
            break;
        }
    }
    let mut y: Vec<f64> = view
        .bias_y
        .map_or(vec![0.0; q], |v| v.iter().map(|&x| f64::from(x)).collect());
    mv(&c, q, n, &x, &mut y);
    mv(&d, q, p, &u, &mut y);
    (y, x)
}

pub fn random_input(p: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    (0..p).map(|_| 2.0 * rng.sym()).collect()
}

/// Largest |got - want| relative to max(1, |want|).
pub fn max_rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}
