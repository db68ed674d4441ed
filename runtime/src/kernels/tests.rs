//! Every backend against a naive `f64` reference and against the scalar backend, on random dense, CSR and
//! low-rank matrices of every storage kind, with empty rows, single rows, n = 1 and sizes that are not
//! multiples of the SIMD widths.

use half::{bf16, f16};
use proptest::prelude::*;

use super::*;
use crate::stop::{norm_inf, norm_inf_rows, Stop};

/// A small deterministic generator (xorshift64*), so one proptest seed describes a whole matrix.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    pub(crate) fn sym(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates).
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            p.swap(i, self.below(i + 1));
        }
        p
    }
}

/// Owned weights of one storage kind.
#[derive(Debug, Clone)]
pub(crate) enum OwnedValues {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
    I8(Vec<i8>, Vec<f32>),
}

impl OwnedValues {
    /// Stores `w` (whose element `k` lies in row `row_of(k)` of `rows`) in storage kind `kind % 4`.
    pub(crate) fn new(
        kind: u8,
        w: &[f32],
        rows: usize,
        row_of: impl Fn(usize) -> usize,
    ) -> OwnedValues {
        match kind % 4 {
            0 => OwnedValues::F32(w.to_vec()),
            1 => OwnedValues::F16(w.iter().map(|&v| f16::from_f32(v)).collect()),
            2 => OwnedValues::Bf16(w.iter().map(|&v| bf16::from_f32(v)).collect()),
            _ => {
                let mut scales = vec![0.0f32; rows];
                for (k, v) in w.iter().enumerate() {
                    scales[row_of(k)] = scales[row_of(k)].max(v.abs() / 127.0);
                }
                let q = w
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        if scales[row_of(k)] > 0.0 {
                            (v / scales[row_of(k)]).round() as i8
                        } else {
                            0
                        }
                    })
                    .collect();
                OwnedValues::I8(q, scales)
            }
        }
    }

    pub(crate) fn view(&self) -> Values<'_> {
        match self {
            OwnedValues::F32(v) => Values::F32(v),
            OwnedValues::F16(v) => Values::F16(v),
            OwnedValues::Bf16(v) => Values::Bf16(v),
            OwnedValues::I8(q, scales) => Values::I8 { q, scales },
        }
    }

    /// Element `k` (in row `row`) as stored, exactly, in f64.
    fn get64(&self, k: usize, row: usize) -> f64 {
        match self {
            OwnedValues::F32(v) => f64::from(v[k]),
            OwnedValues::F16(v) => f64::from(v[k].to_f32()),
            OwnedValues::Bf16(v) => f64::from(v[k].to_f32()),
            OwnedValues::I8(q, s) => f64::from(s[row]) * f64::from(q[k]),
        }
    }
}

/// An owned random matrix and its dense f64 reference.
#[derive(Debug)]
pub(crate) struct Case {
    rows: usize,
    cols: usize,
    row_ptr: Vec<u32>,
    idx16: Vec<u16>,
    idx32: Vec<u32>,
    wide_idx: bool,
    values: OwnedValues,
    v_values: Option<(usize, OwnedValues)>,
    kind: u8,
    dense: Vec<f64>,
}

impl Case {
    /// `shape % 3`: 0 dense, 1 CSR, 2 low-rank. `density` in percent (0 gives all-empty rows).
    pub(crate) fn random(
        rows: usize,
        cols: usize,
        shape: u8,
        vkind: u8,
        wide_idx: bool,
        density: u32,
        seed: u64,
    ) -> Case {
        let mut rng = Rng::new(seed);
        let mut row_ptr = vec![0u32];
        let (mut idx32, mut w) = (Vec::new(), Vec::new());
        let mut dense = vec![0.0f64; rows * cols];
        let (values, v_values) = match shape % 3 {
            0 => {
                w = (0..rows * cols).map(|_| rng.sym()).collect();
                let vals = OwnedValues::new(vkind, &w, rows, |k| k / cols.max(1));
                for (k, d) in dense.iter_mut().enumerate() {
                    *d = vals.get64(k, k / cols.max(1));
                }
                (vals, None)
            }
            1 => {
                let mut rows_of = Vec::new();
                for i in 0..rows {
                    // Some rows are forced empty, some dense, to hit every tail of the kernels.
                    let d = match rng.below(5) {
                        0 => 0,
                        1 => 100,
                        _ => density,
                    };
                    for j in 0..cols {
                        if (rng.below(100) as u32) < d {
                            idx32.push(j as u32);
                            w.push(rng.sym());
                            rows_of.push(i);
                        }
                    }
                    row_ptr.push(idx32.len() as u32);
                }
                let vals = OwnedValues::new(vkind, &w, rows, |k| rows_of[k]);
                for (k, (&i, &j)) in rows_of.iter().zip(&idx32).enumerate() {
                    dense[i * cols + j as usize] = vals.get64(k, i);
                }
                (vals, None)
            }
            _ => {
                let rank = 1 + rng.below(5);
                let uw: Vec<f32> = (0..rows * rank).map(|_| rng.sym()).collect();
                let vw: Vec<f32> = (0..rank * cols).map(|_| rng.sym()).collect();
                let u = OwnedValues::new(vkind, &uw, rows, |k| k / rank);
                let v = OwnedValues::new(vkind, &vw, rank, |k| k / cols.max(1));
                for i in 0..rows {
                    for j in 0..cols {
                        dense[i * cols + j] = (0..rank)
                            .map(|r| u.get64(i * rank + r, i) * v.get64(r * cols + j, r))
                            .sum();
                    }
                }
                (u, Some((rank, v)))
            }
        };
        let wide_idx = wide_idx || cols > usize::from(u16::MAX) + 1;
        let idx16 = if wide_idx {
            Vec::new()
        } else {
            idx32.iter().map(|&j| j as u16).collect()
        };
        Case {
            rows,
            cols,
            row_ptr,
            idx16,
            idx32,
            wide_idx,
            values,
            v_values,
            kind: shape % 3,
            dense,
        }
    }

    pub(crate) fn mat(&self) -> MatRef<'_> {
        match (self.kind, &self.v_values) {
            (0, _) => MatRef::dense(self.rows, self.cols, self.values.view()).unwrap(),
            (2, Some((rank, v))) => {
                MatRef::low_rank(self.rows, self.cols, *rank, self.values.view(), v.view()).unwrap()
            }
            _ => {
                let idx = if self.wide_idx {
                    Indices::U32(&self.idx32)
                } else {
                    Indices::U16(&self.idx16)
                };
                MatRef::csr(self.rows, self.cols, &self.row_ptr, idx, self.values.view()).unwrap()
            }
        }
    }

    /// `y0 + M X` in f64, and the bound `sum |M_ij| |X_jb|` that scales the rounding error of each entry.
    fn reference(&self, x: &[f32], batch: usize, y0: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let mut y: Vec<f64> = y0.iter().map(|&v| f64::from(v)).collect();
        let mut mag = vec![0.0f64; y.len()];
        for i in 0..self.rows {
            for j in 0..self.cols {
                let m = self.dense[i * self.cols + j];
                for b in 0..batch {
                    let t = m * f64::from(x[j * batch + b]);
                    y[i * batch + b] += t;
                    mag[i * batch + b] += t.abs();
                }
            }
        }
        (y, mag)
    }
}

fn assert_close(got: &[f32], want: &[f64], mag: &[f64], what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (k, ((&g, &w), &m)) in got.iter().zip(want).zip(mag).enumerate() {
        let tol = 1e-5 * (m + w.abs()) + 1e-6;
        prop_assert!(
            (f64::from(g) - w).abs() <= tol,
            "{}: entry {}: got {}, want {} (tolerance {})",
            what,
            k,
            g,
            w,
            tol
        );
    }
    Ok(())
}

fn random_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed ^ 0xABCD);
    (0..len).map(|_| 2.0 * rng.sym()).collect()
}

fn config() -> ProptestConfig {
    // Small enough for qemu (the NEON run) and debug builds; raise PROPTEST_CASES locally for more.
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// `Y += M X` on every backend equals the f64 reference; every SIMD backend also equals the scalar one.
    #[test]
    fn products_match_reference(
        rows in prop_oneof![Just(1usize), 0usize..40], cols in prop_oneof![Just(1usize), 1usize..45],
        shape in 0u8..3, vkind in 0u8..4, wide in any::<bool>(), density in 0u32..100, seed in any::<u64>(),
        batch in prop_oneof![Just(1usize), 1usize..75],
    ) {
        let case = Case::random(rows, cols, shape, vkind, wide, density, seed);
        let m = case.mat();
        let x = random_vec(cols * batch, seed);
        let y0 = random_vec(rows * batch, seed.wrapping_add(1));
        let (want, mag) = case.reference(&x, batch, &y0);
        let mut scalar_y = None;
        for k in Kernels::all_available() {
            let mut y = y0.clone();
            let mut scratch = vec![0.0; m.scratch_len(batch)];
            m.gemm_add(k, &x, batch, &mut y, &mut scratch).unwrap();
            assert_close(&y, &want, &mag, &format!("{:?} gemm batch {batch}", k.isa()))?;
            if batch == 1 {
                let mut y1 = y0.clone();
                m.gemv_add(k, &x, &mut y1, &mut scratch).unwrap();
                prop_assert_eq!(&y1, &y);
            }
            match &scalar_y {
                None => scalar_y = Some(y),
                Some(s) => assert_close(&y, &s.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), &mag, &format!("{:?} vs scalar", k.isa()))?,
            }
        }
    }

    /// Dense single-input products whose rows are a multiple of eight long (the eight-row AVX2 kernel, with its
    /// rows past the last group of eight): the reference, for every value type (scales of i8 included), whatever
    /// the rows.
    #[test]
    fn dense_products_by_eight_rows_match_reference(
        rows in 0usize..27, blocks in 1usize..40, vkind in 0u8..4, seed in any::<u64>(),
    ) {
        let case = Case::random(rows, 8 * blocks, 0, vkind, false, 100, seed);
        let m = case.mat();
        let x = random_vec(8 * blocks, seed);
        let y0 = random_vec(rows, seed.wrapping_add(1));
        let (want, mag) = case.reference(&x, 1, &y0);
        for k in Kernels::all_available() {
            let mut y = y0.clone();
            m.gemv_add(k, &x, &mut y, &mut []).unwrap();
            assert_close(&y, &want, &mag, &format!("{:?} dense rows {rows} cols {}", k.isa(), 8 * blocks))?;
        }
    }

    /// Single rows (the Gauss-Seidel step) equal the reference, for one vector and for a batch.
    #[test]
    fn rows_match_reference(
        rows in 1usize..20, cols in 1usize..45, shape in 0u8..3, vkind in 0u8..4, wide in any::<bool>(),
        density in 0u32..100, seed in any::<u64>(), batch in 1usize..40,
    ) {
        let case = Case::random(rows, cols, shape, vkind, wide, density, seed);
        let m = case.mat();
        let x = random_vec(cols * batch, seed);
        let (want, mag) = case.reference(&x, batch, &vec![0.0; rows * batch]);
        for k in Kernels::all_available() {
            for i in 0..rows {
                let mut out = vec![0.0f32; batch];
                m.row_batch_add(k, i, &x, batch, &mut out).unwrap();
                let r = i * batch..(i + 1) * batch;
                assert_close(&out, &want[r.clone()], &mag[r.clone()], &format!("{:?} row {i}", k.isa()))?;
                if batch == 1 {
                    let d = m.row_dot(k, i, &x).unwrap();
                    assert_close(&[d], &want[r.clone()], &mag[r], "row_dot")?;
                }
            }
        }
    }

    /// The fused single-vector Gauss-Seidel sweep equals the sequential f64 definition, in a random order.
    #[test]
    fn gauss_seidel_sweep_matches_reference(n in 1usize..40, shape in 0u8..2, vkind in 0u8..4, wide in any::<bool>(), density in 0u32..100, seed in any::<u64>(), ordered in any::<bool>()) {
        let case = Case::random(n, n, shape, vkind, wide, density, seed);
        let m = case.mat();
        let z = random_vec(n, seed.wrapping_add(3));
        let x0 = random_vec(n, seed.wrapping_add(4));
        let mut rng = Rng::new(seed);
        let order = rng.permutation(n);
        let order = ordered.then_some(&order[..]);
        let mut want: Vec<f64> = x0.iter().map(|&v| f64::from(v)).collect();
        let mut mag = vec![0.0f64; n];
        let mut want_r = 0.0f64;
        for pos in 0..n {
            let i = order.map_or(pos, |o| o[pos] as usize);
            let t: f64 = f64::from(z[i]) + (0..n).map(|j| case.dense[i * n + j] * want[j]).sum::<f64>();
            mag[i] = f64::from(z[i]).abs() + (0..n).map(|j| (case.dense[i * n + j] * want[j]).abs()).sum::<f64>();
            want_r = want_r.max((t.max(0.0) - want[i]).abs());
            want[i] = t.max(0.0);
        }
        for k in Kernels::all_available() {
            let mut x = x0.clone();
            let r = m.gauss_seidel_sweep(k, &z, &mut x, order).unwrap().unwrap();
            assert_close(&x, &want, &mag, &format!("{:?} sweep", k.isa()))?;
            prop_assert!((f64::from(r) - want_r).abs() <= 1e-4 * (1.0 + want_r), "{} vs {}", r, want_r);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// `sweep_rows` (write and residual-only) and `solve_rows` (with its residual) over a random subset of rows in
    /// a random order, with random gains, equal their sequential f64 definitions.
    #[test]
    fn row_subsets_match_reference(n in 1usize..40, shape in 0u8..2, vkind in 0u8..4, wide in any::<bool>(), density in 0u32..100, seed in any::<u64>(), keep in 0usize..40) {
        let case = Case::random(n, n, shape, vkind, wide, density, seed);
        let m = case.mat();
        let z = random_vec(n, seed.wrapping_add(3));
        let x0 = random_vec(n, seed.wrapping_add(4));
        let mut rng = Rng::new(seed);
        let mut order = rng.permutation(n);
        order.truncate(keep.min(n));
        let gains: Vec<f32> = order.iter().map(|_| 0.5 + rng.sym().abs()).collect();
        let rows = RowList::new(order.clone(), n).unwrap();
        let len = order.len();
        // Sequential definitions in f64: the sweep, the residual at x0, and the solve (own weight read as 0).
        let (mut sweep, mut solve) = (x0.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), x0.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
        let mut mag = vec![0.0f64; n];
        let (mut sweep_r, mut residual, mut solve_r) = (0.0f64, 0.0f64, 0.0f64);
        for (&i, &g) in order.iter().zip(&gains) {
            let i = i as usize;
            let row = |x: &[f64], skip: bool| f64::from(z[i]) + (0..n).filter(|&j| !(skip && j == i)).map(|j| case.dense[i * n + j] * x[j]).sum::<f64>();
            mag[i] = 2.0 * (f64::from(z[i]).abs() + (0..n).map(|j| (case.dense[i * n + j] * sweep[j]).abs() + (case.dense[i * n + j] * solve[j]).abs()).sum::<f64>());
            let x0_64: Vec<f64> = x0.iter().map(|&v| f64::from(v)).collect();
            residual = residual.max((row(&x0_64, false).max(0.0) - x0_64[i]).abs());
            let t = row(&sweep, false).max(0.0);
            sweep_r = sweep_r.max((t - sweep[i]).abs());
            sweep[i] = t;
            solve[i] = f64::from(g) * row(&solve, true).max(0.0);
            // solve_rows' residual: each row with its new value, when it is set.
            solve_r = solve_r.max((row(&solve, false).max(0.0) - solve[i]).abs());
        }
        for k in Kernels::all_available() {
            let mut x = x0.clone();
            let r = m.sweep_rows(k, &z, &mut x, &rows, 0..len, false).unwrap().unwrap();
            prop_assert_eq!(&x, &x0);
            prop_assert!((f64::from(r) - residual).abs() <= 1e-4 * (1.0 + residual), "{} vs {}", r, residual);
            let r = m.sweep_rows(k, &z, &mut x, &rows, 0..len, true).unwrap().unwrap();
            assert_close(&x, &sweep, &mag, &format!("{:?} sweep_rows", k.isa()))?;
            prop_assert!((f64::from(r) - sweep_r).abs() <= 1e-4 * (1.0 + sweep_r), "{} vs {}", r, sweep_r);
            // iterate_rows = repeated sweep_rows, stopping at the stopping test (here no tolerance: only an update
            // stalled within the resolution of the rows' states, `stop.rs`) or the cap.
            let (mut a, mut b) = (x0.clone(), x0.clone());
            let (mut last, mut sweeps) = (0.0, 0);
            let mut test = Stop::new(-1.0, 3, 0.0).running();
            while sweeps < 3 {
                last = m.sweep_rows(k, &z, &mut a, &rows, 0..len, true).unwrap().unwrap();
                sweeps += 1;
                if test.met(last, || norm_inf_rows(&a, &rows.as_slice()[..len])) {
                    break;
                }
            }
            prop_assert_eq!(m.iterate_rows(k, &z, &mut b, &rows, 0..len, -1.0, 3, 0.0).unwrap().unwrap(), (sweeps, last));
            prop_assert_eq!(&a, &b);
            let mut c = x0.clone();
            prop_assert_eq!(m.iterate_rows(k, &z, &mut c, &rows, 0..len, f32::INFINITY, 3, 0.0).unwrap().unwrap().0, 1);
            let mut x = x0.clone();
            let r = m.solve_rows(k, &z, &mut x, &rows, 0..len, &gains).unwrap().unwrap();
            assert_close(&x, &solve, &mag, &format!("{:?} solve_rows", k.isa()))?;
            prop_assert!((f64::from(r) - solve_r).abs() <= 1e-4 * (1.0 + solve_r), "{:?}: {} vs {}", k.isa(), r, solve_r);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// `iterate_groups` equals the grouped Gauss-Seidel sweep's f64 definition (groups of 8 consecutive positions
    /// of the row list, or of `0..n`: every row of a group reads the values from before the group), on every
    /// backend, for every weight and index type; `cap` sweeps in one call equal `cap` calls of one sweep.
    #[test]
    fn grouped_sweeps_match_reference(n in 1usize..40, vkind in 0u8..4, wide in any::<bool>(), density in 0u32..100, seed in any::<u64>(), keep in 0usize..41, listed in any::<bool>()) {
        let case = Case::random(n, n, 1, vkind, wide, density, seed);
        let m = case.mat();
        let z = random_vec(n, seed.wrapping_add(3));
        let x0 = random_vec(n, seed.wrapping_add(4));
        let mut rng = Rng::new(seed);
        let mut order = rng.permutation(n);
        order.truncate(keep.min(n));
        let rows = listed.then_some(&order[..]);
        let units: Vec<usize> = rows.map_or((0..n).collect(), |o| o.iter().map(|&u| u as usize).collect());
        let mut want: Vec<f64> = x0.iter().map(|&v| f64::from(v)).collect();
        let mut mag = vec![0.0f64; n];
        let mut want_r = 0.0f64;
        for group in units.chunks(8) {
            let new: Vec<f64> = group.iter().map(|&i| {
                mag[i] = f64::from(z[i]).abs() + (0..n).map(|j| (case.dense[i * n + j] * want[j]).abs()).sum::<f64>();
                (f64::from(z[i]) + (0..n).map(|j| case.dense[i * n + j] * want[j]).sum::<f64>()).max(0.0)
            }).collect();
            for (&i, v) in group.iter().zip(new) {
                want_r = want_r.max((v - want[i]).abs());
                want[i] = v;
            }
        }
        for k in Kernels::all_available() {
            let mut x = x0.clone();
            let (sweeps, r) = m.iterate_groups(k, &z, &mut x, rows, -1.0, 1, 0.0).unwrap().unwrap();
            prop_assert_eq!(sweeps, 1);
            assert_close(&x, &want, &mag, &format!("{:?} grouped sweep", k.isa()))?;
            prop_assert!((f64::from(r) - want_r).abs() <= 1e-4 * (1.0 + want_r), "{} vs {}", r, want_r);
            // Repeated single sweeps, stopping at the stopping test (no tolerance: an update stalled within the
            // resolution of the swept rows' states) or the cap.
            let (mut a, mut b) = (x0.clone(), x0.clone());
            let (mut last, mut sweeps) = (0.0, 0);
            let mut test = Stop::new(-1.0, 3, 0.0).running();
            while sweeps < 3 {
                last = m.iterate_groups(k, &z, &mut a, rows, -1.0, 1, 0.0).unwrap().unwrap().1;
                sweeps += 1;
                if test.met(last, || rows.map_or_else(|| norm_inf(&a), |o| norm_inf_rows(&a, o))) {
                    break;
                }
            }
            prop_assert_eq!(m.iterate_groups(k, &z, &mut b, rows, -1.0, 3, 0.0).unwrap().unwrap(), (sweeps, last));
            prop_assert_eq!(&a, &b);
            let mut c = x0.clone();
            prop_assert_eq!(m.iterate_groups(k, &z, &mut c, rows, f32::INFINITY, 3, 0.0).unwrap().unwrap().0, 1);
        }
    }
}

#[test]
fn grouped_sweeps_refuse_what_they_cannot_do() {
    let k = Kernels::detect();
    let csr = MatRef::csr(
        2,
        2,
        &[0, 1, 2],
        Indices::U16(&[1, 0]),
        Values::F32(&[0.5, 0.5]),
    )
    .unwrap();
    assert!(matches!(
        csr.iterate_groups(k, &[0.0; 2], &mut [0.0; 2], Some(&[0, 2]), 0.0, 1, 0.0),
        Err(MatrixError::RowOutOfRange { row: 2, rows: 2 })
    ));
    assert!(csr
        .iterate_groups(k, &[0.0; 3], &mut [0.0; 2], None, 0.0, 1, 0.0)
        .is_err());
    let dense = MatRef::dense(2, 2, Values::F32(&[0.0; 4])).unwrap();
    assert_eq!(
        dense.iterate_groups(k, &[0.0; 2], &mut [0.0; 2], None, 0.0, 1, 0.0),
        Ok(None)
    );
    // x = relu(0.5 P x + 1) for the swap P: the fixed point is 2 in both units, reached to the tolerance.
    let mut x = [0.0; 2];
    let (sweeps, r) = csr
        .iterate_groups(k, &[1.0; 2], &mut x, None, 1e-6, 100, 0.0)
        .unwrap()
        .unwrap();
    assert!(r <= 1e-6 && sweeps < 30, "{sweeps} {r}");
    assert!(x.iter().all(|v| (v - 2.0).abs() < 1e-5), "{x:?}");
}

#[test]
fn row_lists_are_checked_once_and_matched_to_the_matrix() {
    let k = Kernels::detect();
    assert_eq!(
        RowList::new(vec![0, 3], 3),
        Err(MatrixError::RowOutOfRange { row: 3, rows: 3 })
    );
    let sq = MatRef::dense(2, 2, Values::F32(&[0.5; 4])).unwrap();
    let other = RowList::new(vec![0, 1], 3).unwrap();
    assert!(sq
        .sweep_rows(k, &[0.0; 2], &mut [0.0; 2], &other, 0..2, true)
        .is_err());
    let rows = RowList::new(vec![1, 0], 2).unwrap();
    assert!(sq
        .sweep_rows(k, &[0.0; 2], &mut [0.0; 2], &rows, 0..3, true)
        .is_err());
    assert!(sq
        .solve_rows(k, &[0.0; 2], &mut [0.0; 2], &rows, 0..2, &[1.0])
        .is_err());
    let lr = MatRef::low_rank(2, 2, 1, Values::F32(&[1.0; 2]), Values::F32(&[1.0; 2])).unwrap();
    assert_eq!(
        lr.sweep_rows(k, &[0.0; 2], &mut [0.0; 2], &rows, 0..2, true),
        Ok(None)
    );
}

#[test]
fn gauss_seidel_sweep_refuses_what_it_cannot_do() {
    let k = Kernels::detect();
    let lr = MatRef::low_rank(2, 2, 1, Values::F32(&[1.0; 2]), Values::F32(&[1.0; 2])).unwrap();
    assert_eq!(
        lr.gauss_seidel_sweep(k, &[0.0; 2], &mut [0.0; 2], None),
        Ok(None)
    );
    let rect = MatRef::dense(2, 3, Values::F32(&[1.0; 6])).unwrap();
    assert!(rect
        .gauss_seidel_sweep(k, &[0.0; 2], &mut [0.0; 2], None)
        .is_err());
    let sq = MatRef::dense(2, 2, Values::F32(&[1.0; 4])).unwrap();
    assert_eq!(
        sq.gauss_seidel_sweep(k, &[0.0; 2], &mut [0.0; 2], Some(&[0, 2])),
        Err(MatrixError::RowOutOfRange { row: 2, rows: 2 })
    );
    assert!(sq
        .gauss_seidel_sweep(k, &[0.0; 2], &mut [0.0; 2], Some(&[0]))
        .is_err());
}

#[test]
fn detect_picks_an_available_backend() {
    let k = Kernels::detect();
    assert!(k.isa().is_available());
    assert_eq!(Kernels::all_available().next(), Some(Kernels::scalar()));
    #[cfg(target_arch = "x86_64")]
    assert_eq!(Kernels::with_isa(Isa::Neon), None);
}

#[test]
fn malformed_csr_is_refused_with_the_reason() {
    let v = Values::F32(&[1.0, 2.0]);
    let e = MatRef::csr(2, 3, &[0, 2], Indices::U16(&[0, 1]), v).unwrap_err();
    assert_eq!(
        e,
        MatrixError::Length {
            what: "CSR row pointers",
            expected: 3,
            found: 2
        }
    );
    let e = MatRef::csr(2, 3, &[0, 2, 1], Indices::U16(&[0, 1]), v).unwrap_err();
    assert_eq!(e, MatrixError::RowPointers { row: 1 });
    let e = MatRef::csr(2, 3, &[1, 1, 2], Indices::U16(&[0, 1]), v).unwrap_err();
    assert_eq!(e, MatrixError::RowPointers { row: 0 });
    let e = MatRef::csr(2, 3, &[0, 1, 1], Indices::U16(&[0, 1]), v).unwrap_err();
    assert_eq!(e, MatrixError::RowPointers { row: 2 });
    let e = MatRef::csr(2, 3, &[0, 1, 2], Indices::U32(&[0, 3]), v).unwrap_err();
    assert_eq!(
        e,
        MatrixError::ColumnOutOfRange {
            row: 1,
            col: 3,
            cols: 3
        }
    );
    let e = MatRef::csr(2, 3, &[0, 1, 2], Indices::U32(&[0]), v).unwrap_err();
    assert!(matches!(
        e,
        MatrixError::Length {
            what: "CSR column indices",
            ..
        }
    ));
    let e = MatRef::csr(
        2,
        3,
        &[0, 1, 2],
        Indices::U16(&[0, 1]),
        Values::I8 {
            q: &[1, 2],
            scales: &[1.0],
        },
    )
    .unwrap_err();
    assert!(matches!(
        e,
        MatrixError::Length {
            what: "CSR i8 scales",
            ..
        }
    ));
    assert!(e.to_string().contains("CSR i8 scales"));
}

#[test]
fn malformed_dense_and_low_rank_are_refused() {
    assert!(matches!(
        MatRef::dense(2, 2, Values::F32(&[1.0; 3])),
        Err(MatrixError::Length { .. })
    ));
    assert!(matches!(
        MatRef::dense(usize::MAX, 2, Values::F32(&[])),
        Err(MatrixError::TooLarge { .. })
    ));
    assert!(matches!(
        MatRef::low_rank(2, 2, 1, Values::F32(&[1.0; 2]), Values::F32(&[1.0; 3])),
        Err(MatrixError::Length {
            what: "low-rank V",
            ..
        })
    ));
}

#[test]
fn mismatched_shapes_are_errors_not_panics() {
    let m = MatRef::dense(2, 3, Values::F32(&[1.0; 6])).unwrap();
    let k = Kernels::detect();
    assert!(m.gemv_add(k, &[1.0; 2], &mut [0.0; 2], &mut []).is_err());
    assert!(m.gemv_add(k, &[1.0; 3], &mut [0.0; 3], &mut []).is_err());
    assert!(m.gemm_add(k, &[1.0; 6], 2, &mut [0.0; 3], &mut []).is_err());
    assert_eq!(
        m.row_dot(k, 2, &[1.0; 3]),
        Err(MatrixError::RowOutOfRange { row: 2, rows: 2 })
    );
    let lr = MatRef::low_rank(2, 2, 2, Values::F32(&[1.0; 4]), Values::F32(&[1.0; 4])).unwrap();
    assert!(matches!(
        lr.gemv_add(k, &[1.0; 2], &mut [0.0; 2], &mut [0.0; 1]),
        Err(MatrixError::Length {
            what: "low-rank scratch",
            ..
        })
    ));
}

/// A non-finite weight stays in its own row: the SIMD tails that load past a short row's end (the next rows'
/// weights, masked out) must not let it reach the rows before it. `MatRef` does not require finite weights (the
/// format does), so this is the kernels' own guarantee.
#[test]
fn a_non_finite_weight_does_not_leak_into_other_rows() {
    // Row 0: 3 weights (a masked tail over the next row's weights); row 1: 9 weights with a NaN and an infinity.
    let row_ptr = [0u32, 3, 12];
    let cols: Vec<u16> = (0..3).chain(0..9).collect();
    let mut w = vec![0.5f32; 12];
    w[4] = f32::NAN;
    w[7] = f32::INFINITY;
    let m = MatRef::csr(2, 9, &row_ptr, Indices::U16(&cols), Values::F32(&w)).unwrap();
    let x = vec![1.0f32; 9];
    for k in Kernels::all_available() {
        let mut y = vec![0.0f32; 2];
        let mut scratch = vec![0.0; m.scratch_len(1)];
        m.gemv_add(k, &x, &mut y, &mut scratch).unwrap();
        assert_eq!(y[0], 1.5, "{:?}: row 0 = {y:?}", k.isa());
        assert!(!y[1].is_finite(), "{:?}: row 1 = {y:?}", k.isa());
    }
}
