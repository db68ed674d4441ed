//! Benchmark helpers: the random sparse models and matrices the runtime is measured on, and the machine's
//! roofline (a STREAM-like copy for memory bandwidth, an FMA loop for peak arithmetic), measured in the same run.

use std::time::Duration;

use wolfpack_runtime::format::{
    AlignedBytes, Matrix, Metadata, ModelFile, StoredMatrix, ValueType,
};

/// Sizes of the benchmark models, in stored weights.
pub const SIZES: [usize; 4] = [1_000, 10_000, 50_000, 200_000];

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub fn sym(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A `rows x cols` CSR matrix with exactly `nnz` nonzeros at uniformly random places, each row scaled to L1
/// norm `row_l1` when given.
pub fn random_csr(rows: usize, cols: usize, nnz: usize, row_l1: Option<f32>, seed: u64) -> Matrix {
    assert!(nnz <= rows * cols);
    let mut rng = Rng::new(seed);
    let mut dense = vec![0.0f32; rows * cols];
    let mut placed = 0;
    while placed < nnz {
        let k = (rng.next_u64() % (rows * cols) as u64) as usize;
        if dense[k] == 0.0 {
            let v = rng.sym();
            // Away from zero, so exactly `nnz` entries are stored.
            dense[k] = if v >= 0.0 { v + 1e-3 } else { v - 1e-3 };
            placed += 1;
        }
    }
    if let Some(l1) = row_l1 {
        for row in dense.chunks_mut(cols) {
            let s: f32 = row.iter().map(|v| v.abs()).sum();
            if s > 0.0 {
                row.iter_mut().for_each(|v| *v *= l1 / s);
            }
        }
    }
    Matrix::csr_from_dense(rows, cols, &dense)
}

/// Shape `(rows, cols)` of the square-ish CSR matrix used for kernel benchmarks of `nnz` weights (about 5% dense).
pub fn kernel_shape(nnz: usize) -> (usize, usize) {
    let side = ((nnz as f64 / 0.05).sqrt().ceil() as usize).next_multiple_of(16);
    (side, side)
}

/// The kernel benchmark matrix of `nnz` weights ([`kernel_shape`], CSR, stored as `dtype`), encoded as the B of an
/// otherwise empty model so that the format crate does the quantisation: take it back with
/// `ModelView::parse(&bytes)?.matrix(Role::B)`.
pub fn kernel_matrix_file(nnz: usize, dtype: ValueType) -> AlignedBytes {
    let (rows, cols) = kernel_shape(nnz);
    let mut file = ModelFile::new(Metadata::new(rows as u32, cols as u32, 1));
    file.b = Some(StoredMatrix::new(
        random_csr(rows, cols, nnz, None, 7),
        dtype,
    ));
    file.to_bytes().expect("benchmark matrix encodes")
}

/// Shape `(n, p, q)` of the implicit benchmark model of `nnz` weights: 10% in A (hidden to hidden, a contraction
/// of rate 0.5), 10% in C (hidden to output; at most half of it), the rest (about 80%) in B (input to hidden).
pub fn model_shape(nnz: usize) -> (usize, usize, usize) {
    match nnz {
        0..=2_000 => (32, 64, 10),
        2_001..=20_000 => (128, 784, 10),
        20_001..=100_000 => (256, 784, 10),
        _ => (1024, 784, 10),
    }
}

/// The implicit benchmark model with `nnz` stored weights (see [`model_shape`]), encoded.
pub fn random_model(nnz: usize, dtype: ValueType, seed: u64) -> AlignedBytes {
    let (n, p, q) = model_shape(nnz);
    let mut meta = Metadata::new(n as u32, p as u32, q as u32);
    meta.kappa = 0.5;
    meta.solver.tolerance = 1e-5;
    meta.solver.max_iterations = 100;
    let mut file = ModelFile::new(meta);
    // C (q x n) is small: at most half dense; whatever it cannot hold goes to B.
    let (na, nc) = (nnz / 10, (nnz / 10).min(q * n / 2));
    let nb = nnz - na - nc;
    file.b = Some(StoredMatrix::new(random_csr(n, p, nb, None, seed), dtype));
    file.a = Some(StoredMatrix::new(
        random_csr(n, n, na, Some(0.5), seed + 1),
        dtype,
    ));
    file.c = Some(StoredMatrix::new(
        random_csr(q, n, nc, None, seed + 2),
        dtype,
    ));
    let mut rng = Rng::new(seed + 3);
    file.bias_x = (0..n).map(|_| 0.1 * rng.sym()).collect();
    file.bias_y = (0..q).map(|_| 0.1 * rng.sym()).collect();
    file.to_bytes().expect("benchmark model encodes")
}

/// A clock of this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): unlike wall time, it does not count the time
/// the thread waits for a core, which dominates on a shared two-core machine.
pub struct Clock(cpu_time::ThreadTime);

impl Clock {
    /// Starts measuring.
    pub fn start() -> Clock {
        Clock(cpu_time::ThreadTime::now())
    }

    /// CPU seconds this thread has run since [`Clock::start`].
    pub fn seconds(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }

    /// Name of the clock, for reports.
    pub fn kind() -> &'static str {
        "thread CPU time (CLOCK_THREAD_CPUTIME_ID)"
    }
}

/// Median seconds per call of `f` (thread CPU time where available, see [`Clock`]), over `rounds` rounds of at
/// least `min_round` each.
pub fn time_per_call(f: impl FnMut(), rounds: usize, min_round: Duration) -> f64 {
    rounds_per_call(f, rounds, min_round)[rounds / 2]
}

/// Seconds per call of `f` in each of `rounds` rounds of at least `min_round` (thread CPU time where available),
/// sorted: the first is the least disturbed round (the estimate to compare variants with on a shared machine),
/// the middle one the median.
pub fn rounds_per_call(mut f: impl FnMut(), rounds: usize, min_round: Duration) -> Vec<f64> {
    // Calibrate the calls per round.
    let mut calls = 1usize;
    loop {
        let t = Clock::start();
        for _ in 0..calls {
            f();
        }
        if t.seconds() >= min_round.as_secs_f64() / 4.0 {
            break;
        }
        calls *= 2;
    }
    calls *= 4;
    let mut times: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Clock::start();
            for _ in 0..calls {
                f();
            }
            t.seconds() / calls as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// [`rounds_per_call`] for several variants at once, their rounds interleaved (round `r` of every variant before
/// round `r + 1` of any), so that a change of the machine's load hits all of them alike: the way to compare
/// variants on a shared machine. Returns one sorted list of seconds per call per variant.
pub fn interleaved_rounds(
    fs: &mut [&mut dyn FnMut()],
    rounds: usize,
    min_round: Duration,
) -> Vec<Vec<f64>> {
    let calls: Vec<usize> = fs
        .iter_mut()
        .map(|f| {
            let mut calls = 1usize;
            loop {
                let t = Clock::start();
                for _ in 0..calls {
                    f();
                }
                if t.seconds() >= min_round.as_secs_f64() / 4.0 {
                    break calls * 4;
                }
                calls *= 2;
            }
        })
        .collect();
    let mut times = vec![Vec::with_capacity(rounds); fs.len()];
    for _ in 0..rounds.max(1) {
        for ((f, &calls), t) in fs.iter_mut().zip(&calls).zip(times.iter_mut()) {
            let c = Clock::start();
            for _ in 0..calls {
                f();
            }
            t.push(c.seconds() / calls as f64);
        }
    }
    for t in &mut times {
        t.sort_by(f64::total_cmp);
    }
    times
}

/// STREAM "copy" bandwidth in bytes per second (read + write counted, as STREAM does) over arrays of `bytes`
/// each: the best of `reps` copies.
pub fn copy_bandwidth(bytes: usize, reps: usize) -> f64 {
    let len = bytes / 4;
    let src: Vec<f32> = (0..len).map(|i| i as f32).collect();
    let mut dst = vec![0.0f32; len];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Clock::start();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
        best = best.min(t.seconds());
    }
    2.0 * (len * 4) as f64 / best
}

/// Peak single-precision FLOP/s of one core: independent FMA chains in registers (AVX2 8-lane FMAs where the
/// CPU has them, else whatever the compiler makes of the portable loop).
pub fn peak_flops() -> f64 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { peak_flops_avx2() };
    }
    let iters = 20_000_000u64;
    let mut acc = [1.0f32; 16];
    let t = Clock::start();
    for _ in 0..iters {
        for a in &mut acc {
            *a = a.mul_add(0.999_999, 1e-7);
        }
    }
    std::hint::black_box(acc);
    2.0 * 16.0 * iters as f64 / t.seconds()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn peak_flops_avx2() -> f64 {
    use std::arch::x86_64::*;
    const CHAINS: usize = 10; // FMA latency 4 x 2 ports: 8 chains saturate; 10 for margin.
    let iters = 20_000_000u64;
    let (m, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    let t = Clock::start();
    for _ in 0..iters {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    std::hint::black_box(&acc);
    2.0 * 8.0 * CHAINS as f64 * iters as f64 / t.seconds()
}

/// The CPU model name (Linux), for the record.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
