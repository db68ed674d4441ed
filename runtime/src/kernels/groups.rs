//! [`RowGroups`]: the rows of a sparse square `A` repacked, at load, for grouped Gauss-Seidel sweeps on short rows.
//!
//! The grouped sweep ([`MatRef::iterate_groups`]) updates eight consecutive positions of the evaluation order at
//! once. From CSR it evaluates each row with its own masked gather and reduces the eight rows with a transposing
//! horizontal sum; with rows of a few weights (random `A` at 10% of a small model's weights: about 3) that is a
//! whole 8-lane gather per 3 weights. Here each group is stored *slot-major* (sliced ELLPACK with slices of eight
//! rows, "SELL-8": Kreutzer, Hager, Wellein, Fehske & Bishop, "A unified sparse matrix data format for efficient
//! general sparse matrix-vector multiplication on modern processors with wide SIMD units", SIAM J. Sci. Comput.
//! 36(5), 2014): slot `k` of a group holds the `k`-th weight of each of its eight rows, so one 8-lane gather
//! serves eight rows and the lanes are already the eight results (no horizontal sum). Rows shorter than the
//! group's longest are padded with zero weights reading column 0.
//!
//! The iteration is exactly the grouped sweep of [`MatRef::iterate_groups`] (same groups, same order, every row
//! of a group reading the values from before the group); only the summation order inside a row differs. The
//! weights are kept widened to `f32` (the `i8` row scales applied), which is what the kernels compute with: the
//! copy is small (it is built only for short rows, see [`RowGroups::new`]) and stays in the L1 cache.

use super::{larger, Kernels, MatRef, Storage, GROUP};
use crate::stop::{norm_inf, Stop};

/// The slot-major copy of the rows of a square CSR matrix, in groups of [`GROUP`] positions of an evaluation
/// order.
#[derive(Clone, Debug)]
pub(crate) struct RowGroups {
    /// Group `g` owns slots `slot_ptr[g]..slot_ptr[g + 1]`, each of `GROUP` lanes.
    slot_ptr: Vec<u32>,
    /// Unit of each lane of each group (`groups x GROUP`; the padding lanes of the last group repeat its first
    /// unit and are never stored).
    units: Vec<u32>,
    /// Column of each lane of each slot (`slots x GROUP`), all below `n`.
    idx: Vec<u32>,
    /// Weight of each lane of each slot, widened to `f32` (0 in padding).
    w: Vec<f32>,
    /// Positions (rows in the order), `n` the matrix size.
    len: usize,
    n: usize,
    /// `units` is `0..n`: the loads and stores of `z` and `x` are contiguous.
    contiguous: bool,
    /// Without a stored order: the rows sorted by length (the sweep order), and the columns of `idx` renumbered
    /// to positions in it, so that the sweeps run on permuted copies of `z` and `x`, contiguously.
    perm: Option<Vec<u32>>,
    /// The CPU has AVX-512F and AVX-512VL (detected at load): the register kernel of small copies takes their
    /// two-register permutes.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx512: bool,
}

/// Mean stored weights per row from which [`RowGroups::new`] declines: from about one full gather per row the
/// CSR kernel of the grouped sweep wastes little, and padding costs more.
pub(crate) const MAX_MEAN_ROW: usize = 8;

impl RowGroups {
    /// The groups of a square CSR `a` in the evaluation order `order` (default `0..n`), or `None` when `a` is not
    /// square CSR, is empty, its mean row reaches [`MAX_MEAN_ROW`] weights, the padding would more than double
    /// the stored weights, or `order` holds a unit out of range.
    pub(crate) fn new(a: &MatRef, order: Option<&[u32]>) -> Option<RowGroups> {
        let n = a.rows();
        let Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } = *a.storage()
        else {
            return None;
        };
        let nnz = values.len();
        if a.cols() != n || n == 0 || nnz == 0 || nnz >= MAX_MEAN_ROW * n || n > i32::MAX as usize {
            return None;
        }
        let row = |i: u32| row_ptr[i as usize] as usize..row_ptr[i as usize + 1] as usize;
        // Without a stored order any sweep order is as good for convergence (the bound is the same), so the rows
        // go by length: groups of equal lengths need little padding (the "sigma" sorting of SELL-C-sigma; on the
        // random 1,000-weight model 17 slots per sweep instead of 26).
        let perm = order.is_none().then(|| {
            let mut p: Vec<u32> = (0..n as u32).collect();
            p.sort_by_key(|&i| row(i).len());
            p
        });
        let units: Vec<u32> = match (order, &perm) {
            (Some(o), _) if o.iter().any(|&u| u as usize >= n) => return None,
            (Some(o), _) => o.to_vec(),
            (None, Some(p)) => p.clone(),
            (None, None) => unreachable!("perm exists without an order"),
        };
        let mut position = vec![0u32; if perm.is_some() { n } else { 0 }];
        if let Some(p) = &perm {
            for (at, &i) in p.iter().enumerate() {
                position[i as usize] = at as u32;
            }
        }
        let len = units.len();
        let slots: usize = units
            .chunks(GROUP)
            .map(|g| g.iter().map(|&i| row(i).len()).max().unwrap_or(0))
            .sum();
        if slots * GROUP > 2 * nnz + GROUP * len.div_ceil(GROUP) {
            return None;
        }
        let mut groups = RowGroups {
            slot_ptr: Vec::with_capacity(len.div_ceil(GROUP) + 1),
            units: Vec::with_capacity(len.div_ceil(GROUP) * GROUP),
            idx: vec![0; slots * GROUP],
            w: vec![0.0; slots * GROUP],
            len,
            n,
            contiguous: order.is_none(),
            perm: None,
            #[cfg(target_arch = "x86_64")]
            avx512: is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl"),
            #[cfg(not(target_arch = "x86_64"))]
            avx512: false,
        };
        groups.slot_ptr.push(0);
        let mut base = 0;
        for g in units.chunks(GROUP) {
            let width = g.iter().map(|&i| row(i).len()).max().unwrap_or(0);
            for (lane, &i) in g.iter().enumerate() {
                for (k, at) in row(i).enumerate() {
                    let col = col_idx.get(at);
                    let col = if perm.is_some() {
                        position[col] as usize
                    } else {
                        col
                    };
                    groups.idx[(base + k) * GROUP + lane] = col as u32;
                    groups.w[(base + k) * GROUP + lane] = values.get(at, i as usize);
                }
            }
            base += width;
            groups.slot_ptr.push(base as u32);
        }
        // The lanes' units: positions in the permuted copies when sorted, else the order's units.
        let lanes: Vec<u32> = if perm.is_some() {
            (0..len as u32).collect()
        } else {
            units
        };
        for g in lanes.chunks(GROUP) {
            groups.units.extend_from_slice(g);
            groups
                .units
                .extend(core::iter::repeat_n(g[0], GROUP - g.len()));
        }
        groups.perm = perm;
        Some(groups)
    }

    /// The sweep order: the stored order the copy was built with, or the rows sorted by length.
    #[cfg(test)]
    pub(crate) fn order(&self) -> &[u32] {
        match &self.perm {
            Some(p) => p,
            None => &self.units[..self.len],
        }
    }

    /// Floats of scratch [`RowGroups::iterate`] needs: the permuted copies of `z` and `x` when it sorted the rows.
    pub(crate) fn scratch_len(&self) -> usize {
        if self.perm.is_some() {
            2 * self.n
        } else {
            0
        }
    }

    /// [`MatRef::iterate_groups`] on this copy: grouped sweeps of `x = relu(A x + z)` until the update meets
    /// `stop` (or is not finite), at most `stop.cap` sweeps; returns the sweeps run and the last update. `None`
    /// when `z` or `x` is not of length `n`.
    pub(crate) fn iterate(
        &self,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        stop: Stop,
        scratch: &mut [f32],
    ) -> Option<(u32, f32)> {
        if z.len() != self.n || x.len() != self.n {
            return None;
        }
        let Some(perm) = &self.perm else {
            return Some(self.iterate_in_place(k, z, x, stop));
        };
        let (zs, xs) = scratch.get_mut(..2 * self.n)?.split_at_mut(self.n);
        // Small sorted copies keep the state in registers, without the permuted copies (the scratch is checked
        // all the same, so that callers size it alike on every backend).
        #[cfg(target_arch = "x86_64")]
        if k.isa() == super::Isa::Avx2 && self.len <= small::MAX {
            let (raw, test) = (self.raw(), stop.running());
            // SAFETY: the token proves AVX2/FMA, and `avx512` was detected on this CPU; `new` established the Sell
            // invariants with every index and position below len <= small::MAX, and perm (length
            // n == len == z.len() == x.len()) holds units below n.
            return Some(unsafe {
                if self.avx512 {
                    small::iterate_avx512(raw, perm, z, x, test, stop.cap)
                } else {
                    small::iterate(raw, perm, z, x, test, stop.cap)
                }
            });
        }
        for ((zi, xi), &i) in zs.iter_mut().zip(xs.iter_mut()).zip(perm) {
            *zi = z[i as usize];
            *xi = x[i as usize];
        }
        let result = self.iterate_in_place(k, zs, xs, stop);
        for (&xi, &i) in xs.iter().zip(perm) {
            x[i as usize] = xi;
        }
        Some(result)
    }

    /// The sweeps on vectors in the copy's numbering (permuted when it sorted the rows).
    fn iterate_in_place(&self, k: Kernels, z: &[f32], x: &mut [f32], stop: Stop) -> (u32, f32) {
        let mut r = f32::INFINITY;
        let mut test = stop.running();
        for sweep in 1..=stop.cap {
            r = match k.isa() {
                // SAFETY: the token proves AVX2/FMA/F16C; `new` established the layout `sweep` relies on (every
                // index and unit below n == z.len() == x.len()).
                #[cfg(target_arch = "x86_64")]
                super::Isa::Avx2 => unsafe { super::avx2::sell_sweep(self.raw(), z, x) },
                _ => sweep_portable(self.raw(), z, x),
            };
            if test.met(r, || norm_inf(x)) || !r.is_finite() {
                return (sweep, r);
            }
        }
        (stop.cap, r)
    }

    fn raw(&self) -> Sell<'_> {
        Sell {
            slot_ptr: &self.slot_ptr,
            units: &self.units,
            idx: &self.idx,
            w: &self.w,
            len: self.len,
            contiguous: self.contiguous,
        }
    }
}

/// The slices of a [`RowGroups`], as the kernels take them.
///
/// Invariants (established by [`RowGroups::new`]): `slot_ptr` is monotone from 0 with one entry per group plus
/// one, `idx.len() == w.len() == GROUP * slot_ptr.last()`, `units.len() == GROUP * groups`, `len` positions
/// (the groups are `len.div_ceil(GROUP)`), every index and unit below the matrix size, which is `z.len()` and
/// `x.len()` in the kernels; with `contiguous`, `units` is `0..len` and `len` is that size.
#[derive(Clone, Copy)]
pub(crate) struct Sell<'a> {
    pub(crate) slot_ptr: &'a [u32],
    pub(crate) units: &'a [u32],
    pub(crate) idx: &'a [u32],
    pub(crate) w: &'a [f32],
    pub(crate) len: usize,
    /// Only the AVX2 kernel has a contiguous fast path (whole-group loads and stores of `x` and `z`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) contiguous: bool,
}

/// One grouped sweep over the slot-major copy, lane by lane (the scalar and NEON backends): each group's eight
/// sums from the values before the group, then its updates `x_i <- max(0, z_i + sum)`. Returns the largest
/// change.
fn sweep_portable(s: Sell, z: &[f32], x: &mut [f32]) -> f32 {
    let mut r = 0.0f32;
    for (g, units) in s.units.chunks_exact(GROUP).enumerate() {
        let m = (s.len - g * GROUP).min(GROUP);
        let slots = s.slot_ptr[g] as usize..s.slot_ptr[g + 1] as usize;
        let mut sums = [0.0f32; GROUP];
        for k in slots {
            let (idx, w) = (&s.idx[k * GROUP..][..GROUP], &s.w[k * GROUP..][..GROUP]);
            for lane in 0..GROUP {
                sums[lane] += w[lane] * x[idx[lane] as usize];
            }
        }
        for (&i, &sum) in units.iter().zip(&sums).take(m) {
            let i = i as usize;
            let new = larger(0.0, z[i] + sum);
            r = larger(r, (new - x[i]).abs());
            x[i] = new;
        }
    }
    r
}

/// The grouped sweeps of a small sorted copy (at most four groups, 32 units) with the whole state in registers.
///
/// With `x` in four AVX registers, the 8-lane "gather" of a slot is a table lookup among the registers: one
/// `vpermps` per register (it reads the low three bits of each index) and `vblendvps` on index bits 3 and 4, about
/// 6 cycles of latency against some 20 for `vgatherdps`, and no store of a group's results before the next group
/// reads them (the store-to-gather path the memory kernel waits on). The groups of the sorted copy are consecutive
/// positions, so group `g`'s update replaces register `g` whole. `z` is read once through the permutation, and
/// `x` written back once at the end: no permuted copies in memory. Where the CPU has AVX-512VL (detected at
/// load), the lookup is two `vpermt2ps` (16 entries each) and a mask blend on index bit 4: a third of the uops and
/// a shorter chain (f16 1k prediction 550-566 -> 501-515 ns, best rounds alternated). The iteration is the memory
/// kernel's exactly
/// (same slots, same even/odd accumulators, same order of the sums), so the results are bit for bit the same.
#[cfg(target_arch = "x86_64")]
mod small {
    use core::arch::x86_64::*;

    use super::{Sell, GROUP};
    use crate::stop::Running;

    /// Most positions (units) the register kernel takes: four registers of eight.
    pub(super) const MAX: usize = 4 * GROUP;

    /// Lanes `idx` (each below `8 G`) of the state held in the first `G` registers of `x`; with `W`, by the
    /// two-register permutes of AVX-512VL (`vpermt2ps`: one instruction per 16 entries, and a mask blend on index
    /// bit 4, instead of four `vpermps` and three two-uop `vblendvps`).
    #[inline(always)]
    fn lookup<const G: usize, const W: bool>(x: &[__m256; 4], idx: __m256i) -> __m256 {
        // SAFETY (whole function): register operations only, on a CPU with AVX2, and AVX-512F/VL when `W` (the
        // caller's target features).
        unsafe {
            let p0 = _mm256_permutevar8x32_ps(x[0], idx);
            if G == 1 {
                return p0;
            }
            if W {
                let low = _mm256_permutex2var_ps(x[0], idx, x[1]);
                if G == 2 {
                    return low;
                }
                let high = _mm256_permutex2var_ps(x[2], idx, x[3]);
                let upper = _mm256_test_epi32_mask(idx, _mm256_set1_epi32(16));
                return _mm256_mask_blend_ps(upper, low, high);
            }
            let p1 = _mm256_permutevar8x32_ps(x[1], idx);
            // Index bit 3 (resp. 4) moved to the sign bit, which `blendv` reads.
            let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(idx));
            let low = _mm256_blendv_ps(p0, p1, bit3);
            if G == 2 {
                return low;
            }
            let p2 = _mm256_permutevar8x32_ps(x[2], idx);
            let p3 = _mm256_permutevar8x32_ps(x[3], idx);
            let high = _mm256_blendv_ps(p2, p3, bit3);
            _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32::<27>(idx)))
        }
    }

    /// Largest lane of `v` (`maxps` keeps its second operand on a NaN, as the sweeps' running maximum does).
    #[inline(always)]
    fn hmax(v: __m256) -> f32 {
        // SAFETY: register operations only, on a CPU with AVX2 (the caller's target features).
        unsafe {
            let m = _mm_max_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
            let m = _mm_max_ps(_mm_movehl_ps(m, m), m);
            _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps::<1>(m, m), m))
        }
    }

    /// Grouped sweeps until `test` is met (or the update is not finite), at most `cap`; returns the sweeps run and
    /// the last update, with `x` (in the caller's numbering) updated.
    ///
    /// # Safety
    /// AVX2 and FMA available; the [`Sell`] invariants of a sorted copy (`contiguous`, positions `0..len` in
    /// groups of eight) with `len <= MAX`; `perm.len() == z.len() == x.len() == len`, every entry below `len`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn iterate(
        s: Sell,
        perm: &[u32],
        z: &[f32],
        x: &mut [f32],
        test: Running,
        cap: u32,
    ) -> (u32, f32) {
        match s.len.div_ceil(GROUP) {
            // SAFETY: the caller's contract, with G registers enough for len.
            1 => unsafe { run::<1, false>(s, perm, z, x, test, cap) },
            2 => unsafe { run::<2, false>(s, perm, z, x, test, cap) },
            // Three groups take the four-register lookup (the fourth register stays 0 and is never selected).
            _ => unsafe { run::<4, false>(s, perm, z, x, test, cap) },
        }
    }

    /// [`iterate`] with the AVX-512VL lookup.
    ///
    /// # Safety
    /// That of [`iterate`], and AVX-512F and AVX-512VL available.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    pub(super) unsafe fn iterate_avx512(
        s: Sell,
        perm: &[u32],
        z: &[f32],
        x: &mut [f32],
        test: Running,
        cap: u32,
    ) -> (u32, f32) {
        match s.len.div_ceil(GROUP) {
            // SAFETY: the caller's contract, with G registers enough for len.
            1 => unsafe { run::<1, true>(s, perm, z, x, test, cap) },
            2 => unsafe { run::<2, true>(s, perm, z, x, test, cap) },
            _ => unsafe { run::<4, true>(s, perm, z, x, test, cap) },
        }
    }

    /// Group `g`'s new values `max(0, z + sum_slots w * x[idx])` from the state `x` (the values before the group;
    /// a NaN sum gives 0, as `larger(0, t)` in the other backends). The even and odd slots accumulate apart and
    /// are added at the end, as in the memory kernel.
    ///
    /// # Safety
    /// AVX2 and FMA available; `g` a group of `s` (its slots inside `idx` and `w`), every index below `8 G`.
    #[inline(always)]
    unsafe fn group<const G: usize, const W: bool>(
        s: Sell,
        g: usize,
        z: __m256,
        x: [__m256; 4],
    ) -> __m256 {
        let (a, b) = (s.slot_ptr[g] as usize, s.slot_ptr[g + 1] as usize);
        let (ip, wp) = (s.idx.as_ptr(), s.w.as_ptr());
        // SAFETY (whole block): slots a..b are inside idx and w, 8 lanes each (the caller's contract); the rest
        // are register operations on a CPU with AVX2 and FMA.
        unsafe {
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut k = a;
            while k + 2 <= b {
                let v0 = lookup::<G, W>(&x, _mm256_loadu_si256(ip.add(8 * k).cast()));
                let v1 = lookup::<G, W>(&x, _mm256_loadu_si256(ip.add(8 * k + 8).cast()));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k)), v0, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k + 8)), v1, acc1);
                k += 2;
            }
            if k < b {
                let v0 = lookup::<G, W>(&x, _mm256_loadu_si256(ip.add(8 * k).cast()));
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(wp.add(8 * k)), v0, acc0);
            }
            _mm256_max_ps(
                _mm256_add_ps(z, _mm256_add_ps(acc0, acc1)),
                _mm256_setzero_ps(),
            )
        }
    }

    /// [`iterate`] for a state in `G` registers (inlined into the two entry points, which compile it with their
    /// target features).
    ///
    /// # Safety
    /// That of [`iterate`], `len <= 8 G`, and AVX-512F/VL available when `W`.
    #[inline(always)]
    unsafe fn run<const G: usize, const W: bool>(
        s: Sell,
        perm: &[u32],
        z: &[f32],
        x: &mut [f32],
        mut test: Running,
        cap: u32,
    ) -> (u32, f32) {
        let groups = s.len.div_ceil(GROUP);
        // z and x in the copy's numbering, 0 past len (padding lanes: weight 0 and z 0 keep them at 0).
        let (mut zb, mut xb) = ([0.0f32; MAX], [0.0f32; MAX]);
        for (p, &i) in perm.iter().enumerate() {
            zb[p] = z[i as usize];
            xb[p] = x[i as usize];
        }
        // SAFETY: 8g + 8 <= MAX for g < 4.
        let load = |b: &[f32; MAX], g: usize| unsafe { _mm256_loadu_ps(b.as_ptr().add(GROUP * g)) };
        let zr = [load(&zb, 0), load(&zb, 1), load(&zb, 2), load(&zb, 3)];
        // The state in four named registers: group g replaces register g, with constant indices throughout (an
        // array indexed by the group number would live on the stack).
        let [mut x0, mut x1, mut x2, mut x3] =
            [load(&xb, 0), load(&xb, 1), load(&xb, 2), load(&xb, 3)];
        let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
        let mut sweeps = 0;
        let mut r = f32::INFINITY;
        while sweeps < cap {
            sweeps += 1;
            let mut change = _mm256_setzero_ps();
            // SAFETY (of the four calls): g < groups, so the group's slots are inside idx and w (Sell invariants).
            let new = unsafe { group::<G, W>(s, 0, zr[0], [x0, x1, x2, x3]) };
            change = _mm256_max_ps(_mm256_and_ps(_mm256_sub_ps(new, x0), magnitude), change);
            x0 = new;
            if groups > 1 {
                let new = unsafe { group::<G, W>(s, 1, zr[1], [x0, x1, x2, x3]) };
                change = _mm256_max_ps(_mm256_and_ps(_mm256_sub_ps(new, x1), magnitude), change);
                x1 = new;
            }
            if groups > 2 {
                let new = unsafe { group::<G, W>(s, 2, zr[2], [x0, x1, x2, x3]) };
                change = _mm256_max_ps(_mm256_and_ps(_mm256_sub_ps(new, x2), magnitude), change);
                x2 = new;
            }
            if groups > 3 {
                let new = unsafe { group::<G, W>(s, 3, zr[3], [x0, x1, x2, x3]) };
                change = _mm256_max_ps(_mm256_and_ps(_mm256_sub_ps(new, x3), magnitude), change);
                x3 = new;
            }
            r = hmax(change);
            let scale = || hmax(_mm256_max_ps(_mm256_max_ps(x0, x1), _mm256_max_ps(x2, x3)));
            if test.met(r, scale) || !r.is_finite() {
                break;
            }
        }
        for (g, v) in [x0, x1, x2, x3].into_iter().enumerate() {
            // SAFETY: 8g + 8 <= MAX for g < 4 (all four stored: the registers past the groups hold zeros).
            unsafe { _mm256_storeu_ps(xb.as_mut_ptr().add(GROUP * g), v) };
        }
        for (p, &i) in perm.iter().enumerate() {
            x[i as usize] = xb[p];
        }
        (sweeps, r)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::Rng;
    use super::super::{Indices, Values};
    use super::*;

    proptest! {
        /// The slot-major sweeps are the grouped sweeps of the CSR matrix (`MatRef::iterate_groups`, tested
        /// against its f64 definition): same sweeps, same states up to the summation order, on every backend,
        /// with and without an order, for sizes that are not multiples of eight and rows of 0 to 5 weights.
        #[test]
        fn sweeps_equal_the_csr_grouped_sweeps(n in 1usize..40, seed in any::<u64>(), ordered in any::<bool>(), half in any::<bool>(), cap in 1u32..4) {
            let mut rng = Rng::new(seed);
            let mut row_ptr = vec![0u32];
            let (mut idx, mut w) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let len = (1 + rng.below(4)).min(n) * usize::from(rng.below(5) > 0);
                let mut cols: Vec<u16> = (0..n as u16).collect();
                for j in 0..len {
                    cols.swap(j, j + rng.below(n - j));
                }
                for &c in &cols[..len] {
                    idx.push(c);
                    w.push(0.4 * rng.sym() / len as f32);
                }
                row_ptr.push(idx.len() as u32);
            }
            let w16: Vec<half::f16> = w.iter().map(|&v| half::f16::from_f32(v)).collect();
            let values = if half { Values::F16(&w16) } else { Values::F32(&w) };
            let a = MatRef::csr(n, n, &row_ptr, Indices::U16(&idx), values).unwrap();
            let order = rng.permutation(n);
            let order = ordered.then_some(&order[..]);
            let z: Vec<f32> = (0..n).map(|_| rng.sym()).collect();
            let x0: Vec<f32> = (0..n).map(|_| rng.sym().abs()).collect();
            let Some(groups) = RowGroups::new(&a, order) else {
                // Declined only for an empty matrix or too much padding (in the sweep order: by length without one).
                let len_of = |i: u32| (row_ptr[i as usize + 1] - row_ptr[i as usize]) as usize;
                let mut units: Vec<u32> = order.map_or((0..n as u32).collect(), <[u32]>::to_vec);
                if order.is_none() {
                    units.sort_by_key(|&i| len_of(i));
                }
                let slots: usize = units.chunks(GROUP).map(|g| g.iter().map(|&i| len_of(i)).max().unwrap()).sum();
                prop_assert!(idx.is_empty() || slots * GROUP > 2 * idx.len() + GROUP * n.div_ceil(GROUP));
                return Ok(());
            };
            // Without an order the copy sweeps the rows sorted by length; with one, in that order.
            let sweep_order = groups.order().to_vec();
            let lengths: Vec<u32> = sweep_order.iter().map(|&i| row_ptr[i as usize + 1] - row_ptr[i as usize]).collect();
            if let Some(o) = order {
                prop_assert_eq!(o, &sweep_order[..]);
            } else {
                prop_assert!(lengths.windows(2).all(|w| w[0] <= w[1]));
                let mut sorted = sweep_order.clone();
                sorted.sort();
                prop_assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
            }
            let mut scratch = vec![0.0; groups.scratch_len()];
            for k in Kernels::all_available() {
                let (mut want, mut got) = (x0.clone(), x0.clone());
                let (sw, rw) = a.iterate_groups(k, &z, &mut want, Some(&sweep_order), -1.0, cap, 0.0).unwrap().unwrap();
                let (sg, rg) = groups.iterate(k, &z, &mut got, Stop::new(-1.0, cap, 0.0), &mut scratch).unwrap();
                prop_assert_eq!(sw, sg);
                prop_assert!((rw - rg).abs() <= 1e-5 * (1.0 + rw.abs()), "{:?}: {} vs {}", k.isa(), rw, rg);
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{:?}: {:?} vs {:?}", k.isa(), got, want);
                }
                // The register kernel of small sorted copies (AVX2, n <= 32) is the memory kernel bit for bit, with
                // either lookup.
                #[cfg(target_arch = "x86_64")]
                if let Some(perm) = groups.perm.as_ref().filter(|_| n <= small::MAX) {
                    let (zs, mut xs): (Vec<f32>, Vec<f32>) = perm.iter().map(|&i| (z[i as usize], x0[i as usize])).unzip();
                    let (sm, rm) = groups.iterate_in_place(k, &zs, &mut xs, Stop::new(-1.0, cap, 0.0));
                    let mut memory = x0.clone();
                    for (&v, &i) in xs.iter().zip(perm) {
                        memory[i as usize] = v;
                    }
                    // With the AVX-512VL lookup where the CPU has it, and with the AVX2 one.
                    let mut avx2_only = groups.clone();
                    avx2_only.avx512 = false;
                    for g in [&groups, &avx2_only] {
                        let mut registers = x0.clone();
                        let (sr, rr) = g.iterate(k, &z, &mut registers, Stop::new(-1.0, cap, 0.0), &mut scratch).unwrap();
                        prop_assert_eq!((sm, rm.to_bits()), (sr, rr.to_bits()));
                        prop_assert_eq!(memory.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), registers.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                    }
                }
            }
        }
    }

    #[test]
    fn declines_what_it_does_not_pay_for_and_checks_lengths() {
        // Mean row of 8 weights: declined.
        let n = 8;
        let row_ptr: Vec<u32> = (0..=n as u32).map(|i| i * 8).collect();
        let idx: Vec<u16> = (0..64).map(|k| (k % 8) as u16).collect();
        let w = vec![0.01f32; 64];
        let a = MatRef::csr(n, n, &row_ptr, Indices::U16(&idx), Values::F32(&w)).unwrap();
        assert!(RowGroups::new(&a, None).is_none());
        // One row of 7 among 15 empty ones: 7 slots of 8 lanes for 7 weights, more than double: declined.
        let row_ptr: Vec<u32> = (0..=16u32).map(|i| if i == 0 { 0 } else { 7 }).collect();
        let a = MatRef::csr(
            16,
            16,
            &row_ptr,
            Indices::U16(&idx[..7]),
            Values::F32(&w[..7]),
        )
        .unwrap();
        assert!(RowGroups::new(&a, None).is_none());
        // Not square, empty, dense, or an order out of range.
        let a = MatRef::csr(
            2,
            3,
            &[0, 1, 2],
            Indices::U16(&[0, 1]),
            Values::F32(&[0.5, 0.5]),
        )
        .unwrap();
        assert!(RowGroups::new(&a, None).is_none());
        let a = MatRef::csr(2, 2, &[0, 0, 0], Indices::U16(&[]), Values::F32(&[])).unwrap();
        assert!(RowGroups::new(&a, None).is_none());
        let a = MatRef::dense(2, 2, Values::F32(&[0.0, 0.5, 0.5, 0.0])).unwrap();
        assert!(RowGroups::new(&a, None).is_none());
        let a = MatRef::csr(
            2,
            2,
            &[0, 1, 2],
            Indices::U16(&[1, 0]),
            Values::F32(&[0.5, 0.5]),
        )
        .unwrap();
        assert!(RowGroups::new(&a, Some(&[0, 2])).is_none());
        // x = relu(0.5 P x + 1) for the swap P: fixed point 2, in order 1, 0 as well.
        let g = RowGroups::new(&a, Some(&[1, 0])).unwrap();
        let mut x = [0.0; 2];
        let (sweeps, r) = g
            .iterate(
                Kernels::detect(),
                &[1.0; 2],
                &mut x,
                Stop::new(1e-6, 100, 0.0),
                &mut [],
            )
            .unwrap();
        assert!(
            r <= 1e-6 && sweeps < 30 && x.iter().all(|v| (v - 2.0).abs() < 1e-5),
            "{x:?}"
        );
        assert!(g
            .iterate(
                Kernels::detect(),
                &[1.0; 3],
                &mut x,
                Stop::new(1e-6, 100, 0.0),
                &mut []
            )
            .is_none());
        // Sorted by length (no order): needs its scratch, and a short one is refused. Rows 0.25 (x1 + x2), 0.5 x2,
        // 0.5 x0 and z = 1: fixed point 2 in every unit.
        let a = MatRef::csr(
            3,
            3,
            &[0, 2, 3, 4],
            Indices::U16(&[1, 2, 2, 0]),
            Values::F32(&[0.25, 0.25, 0.5, 0.5]),
        )
        .unwrap();
        let g = RowGroups::new(&a, None).unwrap();
        assert_eq!((g.order(), g.scratch_len()), (&[1u32, 2, 0][..], 6));
        let k = Kernels::detect();
        let mut x = [0.0; 3];
        assert!(g
            .iterate(
                k,
                &[1.0; 3],
                &mut x,
                Stop::new(1e-6, 100, 0.0),
                &mut [0.0; 5]
            )
            .is_none());
        let (_, r) = g
            .iterate(
                k,
                &[1.0; 3],
                &mut x,
                Stop::new(1e-6, 100, 0.0),
                &mut [0.0; 6],
            )
            .unwrap();
        assert!(
            r <= 1e-6 && x.iter().all(|v| (v - 2.0).abs() < 1e-5),
            "{x:?}"
        );
    }
}
