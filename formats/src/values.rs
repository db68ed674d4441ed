//! Typed, borrowed views of stored weight arrays: values (f32, f16, bf16, i8 + scale) and column indices.

use half::{bf16, f16};

/// How weight values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16: half the bytes, ~3 significant digits.
    F16,
    /// bfloat16: binary32's exponent range with 8 bits of mantissa.
    Bf16,
    /// Symmetric 8-bit integers with one f32 scale per row: w = q * scale, scale = max|w_row| / 127.
    I8,
}

impl ValueType {
    /// Bytes per stored value.
    pub const fn size(self) -> u64 {
        match self {
            ValueType::F32 => 4,
            ValueType::F16 | ValueType::Bf16 => 2,
            ValueType::I8 => 1,
        }
    }

    /// The `dtype` byte of a matrix record.
    pub const fn code(self) -> u8 {
        match self {
            ValueType::F32 => 0,
            ValueType::F16 => 1,
            ValueType::Bf16 => 2,
            ValueType::I8 => 3,
        }
    }

    /// Inverse of [`ValueType::code`].
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(ValueType::F32),
            1 => Some(ValueType::F16),
            2 => Some(ValueType::Bf16),
            3 => Some(ValueType::I8),
            _ => None,
        }
    }

    /// Lower-case name, as used on command lines and in `inspect`.
    pub const fn name(self) -> &'static str {
        match self {
            ValueType::F32 => "f32",
            ValueType::F16 => "f16",
            ValueType::Bf16 => "bf16",
            ValueType::I8 => "i8",
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ValueType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(ValueType::F32),
            "f16" => Ok(ValueType::F16),
            "bf16" => Ok(ValueType::Bf16),
            "i8" => Ok(ValueType::I8),
            _ => Err(format!(
                "unknown value type {s:?} (expected f32, f16, bf16 or i8)"
            )),
        }
    }
}

/// Stored values, borrowed in place from the file.
///
/// For [`Values::I8`], `scales` holds one scale per *scale group* (a row of the matrix, or of a low-rank factor);
/// the owner of the view knows which group an index belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// f16 values.
    F16(&'a [f16]),
    /// bf16 values.
    Bf16(&'a [bf16]),
    /// i8 values with per-group f32 scales.
    I8 {
        /// Quantised values.
        q: &'a [i8],
        /// One scale per group.
        scales: &'a [f32],
    },
}

impl<'a> Values<'a> {
    /// Number of stored values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F16(v) => v.len(),
            Values::Bf16(v) => v.len(),
            Values::I8 { q, .. } => q.len(),
        }
    }

    /// True when no value is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Values::F32(_) => ValueType::F32,
            Values::F16(_) => ValueType::F16,
            Values::Bf16(_) => ValueType::Bf16,
            Values::I8 { .. } => ValueType::I8,
        }
    }

    /// Dequantised value `i`, which belongs to scale group `group` (ignored unless i8).
    #[inline]
    pub fn get(&self, i: usize, group: usize) -> f32 {
        match self {
            Values::F32(v) => v[i],
            Values::F16(v) => v[i].to_f32(),
            Values::Bf16(v) => v[i].to_f32(),
            Values::I8 { q, scales } => f32::from(q[i]) * scales[group],
        }
    }

    /// Whether value `i` (of scale group `group`) is nonzero: `get(i, group) != 0.0`, read from the bits without
    /// converting (an all-zero magnitude; for i8 a zero code or a zero scale).
    #[inline]
    pub fn is_nonzero(&self, i: usize, group: usize) -> bool {
        match self {
            Values::F32(v) => v[i] != 0.0,
            Values::F16(v) => v[i].to_bits() & 0x7fff != 0,
            Values::Bf16(v) => v[i].to_bits() & 0x7fff != 0,
            Values::I8 { q, scales } => q[i] != 0 && scales[group] != 0.0,
        }
    }

    /// `out[t] = get(start + t, group)` for every `t < out.len()`: values of one scale group dequantised in one
    /// typed pass (`half`'s slice conversion, F16C where the CPU has it, for f16 and bf16), where a loop of
    /// [`Values::get`] matches the type and, for f16, calls a conversion function once per value.
    ///
    /// Panics if `start + out.len()` exceeds [`Values::len`] or, for i8, `group` has no scale (as `get` does).
    pub fn dequantise_into(&self, start: usize, group: usize, out: &mut [f32]) {
        use half::slice::HalfFloatSliceExt;
        let range = start..start + out.len();
        match self {
            Values::F32(v) => out.copy_from_slice(&v[range]),
            Values::F16(v) => v[range].convert_to_f32_slice(out),
            Values::Bf16(v) => v[range].convert_to_f32_slice(out),
            Values::I8 { q, scales } => {
                let s = scales[group];
                for (o, &x) in out.iter_mut().zip(&q[range]) {
                    *o = f32::from(x) * s;
                }
            }
        }
    }

    /// `max_{i < rows} sum_{k in row(i)} |get(k, i)|`: the largest L1 norm of the rows of a matrix whose row `i`
    /// holds the values `row(i)` (scale group `i`), each accumulated in f64 in index order.
    ///
    /// For finite values only (the reader checks them first): f16 magnitudes are widened by moving their bits into
    /// an f32 and scaling by 2^112, exact for normal and subnormal values alike and inlined, where the `half` crate
    /// calls a function per value; the value type is matched once, not per value.
    pub(crate) fn max_row_abs_sum(
        &self,
        rows: usize,
        row: impl Fn(usize) -> core::ops::Range<usize>,
    ) -> f64 {
        fn max_sum<T: Copy>(
            v: &[T],
            rows: usize,
            row: impl Fn(usize) -> core::ops::Range<usize>,
            value: impl Fn(T, usize) -> f32,
        ) -> f64 {
            let sum = |i: usize| {
                v[row(i)]
                    .iter()
                    .fold(0.0f64, |s, &x| s + f64::from(value(x, i).abs()))
            };
            // Not `f64::max`, whose NaN handling (a select around `maxsd`) lengthened the chain from row to row, and
            // four running maxima over rows i, i + 1, i + 2, i + 3 (mod 4), so that four rows are summed and compared
            // at once: with rows of a few weights, one running maximum was a chain of `maxsd` latencies. The same
            // maximum: each starts at 0 and is never NaN, a NaN sum is skipped as `f64::max` skips it, and the
            // maximum of maxima is exact in any order.
            let larger = |m: f64, s: f64| if s > m { s } else { m };
            let mut m = [0.0f64; 4];
            let quads = rows / 4 * 4;
            for i in (0..quads).step_by(4) {
                let s = [sum(i), sum(i + 1), sum(i + 2), sum(i + 3)];
                for (m, s) in m.iter_mut().zip(s) {
                    *m = larger(*m, s);
                }
            }
            for i in quads..rows {
                m[0] = larger(m[0], sum(i));
            }
            larger(larger(m[0], m[1]), larger(m[2], m[3]))
        }
        match self {
            Values::F32(v) => max_sum(v, rows, row, |x, _| x),
            Values::F16(v) => max_sum(v, rows, row, |h, _| f16_magnitude(h.to_bits())),
            Values::Bf16(v) => max_sum(v, rows, row, |h, _| {
                f32::from_bits(u32::from(h.to_bits()) << 16)
            }),
            Values::I8 { q, scales } => max_sum(q, rows, row, |x, i| f32::from(x) * scales[i]),
        }
    }

    /// Position of the first non-finite value, if any; for i8, the first scale group whose scale is not finite or
    /// whose dequantised values `q * scale` could overflow.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, f32)> {
        // Non-finite means an all-ones exponent field; testing the bits needs no conversion, so a model's values are
        // scanned at memory speed when it loads (the half crate's per-value conversion dominated loading).
        match self {
            Values::F32(v) => first_all_ones(v, |x| x.to_bits(), 0x7f80_0000).map(|i| (i, v[i])),
            Values::F16(v) => {
                first_all_ones(v, |x| x.to_bits(), 0x7c00).map(|i| (i, v[i].to_f32()))
            }
            Values::Bf16(v) => {
                first_all_ones(v, |x| x.to_bits(), 0x7f80).map(|i| (i, v[i].to_f32()))
            }
            // Every dequantised q * scale (|q| <= 128) must be finite too, not only the scale.
            Values::I8 { scales, .. } => scales
                .iter()
                .position(|&s| !(s * 128.0).is_finite())
                .map(|i| (i, scales[i])),
        }
    }
}

/// `|h|` for the bits `h` of a finite f16: the 15 magnitude bits moved to an f32's exponent and mantissa fields, then
/// rescaled from the f32 exponent bias (127) to the f16 one (15). Exact for every finite f16, subnormals included
/// (a power-of-two product of an exactly represented value); infinities and NaNs come out finite and wrong.
#[inline]
fn f16_magnitude(h: u16) -> f32 {
    f32::from_bits(u32::from(h & 0x7fff) << 13) * f32::from_bits((127 + 112) << 23)
}

/// Index of the first value whose exponent field (`mask`) is all ones, i.e. the first infinity or NaN. The whole
/// array is tested first with a branch-free fold ([`any_all_ones`], which vectorises: a valid model has none), and
/// the exact position is looked for only when there is one.
fn first_all_ones<T: Copy, B>(values: &[T], bits: impl Fn(T) -> B + Copy, mask: B) -> Option<usize>
where
    B: Copy + PartialEq + core::ops::BitAnd<Output = B>,
{
    if !any_all_ones(values, bits, mask) {
        return None;
    }
    values.iter().position(|&x| bits(x) & mask == mask)
}

/// Whether some value has an all-ones exponent field, with the widest vectors the CPU has: AVX-512BW (32 lanes of
/// `u16`) or AVX2 (16) when detected at run time, the x86-64 baseline's SSE2 (8) otherwise, which is what the
/// crate is compiled for (`first_non_finite` of m10000's 10,000 f16 weights: see docs/BENCHMARKS.md, session 5).
fn any_all_ones<T: Copy, B>(values: &[T], bits: impl Fn(T) -> B + Copy, mask: B) -> bool
where
    B: Copy + PartialEq + core::ops::BitAnd<Output = B>,
{
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512F and BW (BW implies F), the only requirement of the function.
            return unsafe { any_all_ones_avx512(values, bits, mask) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only requirement of the function.
            return unsafe { any_all_ones_avx2(values, bits, mask) };
        }
    }
    any_all_ones_portable(values, bits, mask)
}

/// [`any_all_ones_portable`] compiled for AVX-512BW.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn any_all_ones_avx512<T: Copy, B>(values: &[T], bits: impl Fn(T) -> B, mask: B) -> bool
where
    B: Copy + PartialEq + core::ops::BitAnd<Output = B>,
{
    any_all_ones_portable(values, bits, mask)
}

/// [`any_all_ones_portable`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn any_all_ones_avx2<T: Copy, B>(values: &[T], bits: impl Fn(T) -> B, mask: B) -> bool
where
    B: Copy + PartialEq + core::ops::BitAnd<Output = B>,
{
    any_all_ones_portable(values, bits, mask)
}

/// The fold of [`any_all_ones`] in plain Rust, without an early exit so that it vectorises.
#[inline(always)]
fn any_all_ones_portable<T: Copy, B>(values: &[T], bits: impl Fn(T) -> B, mask: B) -> bool
where
    B: Copy + PartialEq + core::ops::BitAnd<Output = B>,
{
    values
        .iter()
        .fold(false, |any, &x| any | (bits(x) & mask == mask))
}

/// Column indices of a CSR matrix, borrowed in place.
#[derive(Debug, Clone, Copy)]
pub enum Indices<'a> {
    /// 16-bit indices (when the column count is at most 65,536): half the index bytes.
    U16(&'a [u16]),
    /// 32-bit indices.
    U32(&'a [u32]),
}

impl Indices<'_> {
    /// Number of indices.
    pub fn len(&self) -> usize {
        match self {
            Indices::U16(v) => v.len(),
            Indices::U32(v) => v.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index `k` as usize.
    #[inline]
    pub fn get(&self, k: usize) -> usize {
        match self {
            Indices::U16(v) => usize::from(v[k]),
            Indices::U32(v) => v[k] as usize,
        }
    }

    /// Bytes per index.
    pub fn width(&self) -> u64 {
        match self {
            Indices::U16(_) => 2,
            Indices::U32(_) => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The bit test agrees with `is_finite` after conversion, for any f16, bf16 and f32 bit patterns, including
    // specials at a block's first or last position and across the 64-value block boundary.
    proptest! {
        #[test]
        fn first_non_finite_matches_the_naive_scan(
            bits in proptest::collection::vec(any::<u16>(), 0..200),
            f32_bits in proptest::collection::vec(any::<u32>(), 0..200),
        ) {
            let h: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b)).collect();
            let naive_h = h.iter().position(|x| !x.to_f32().is_finite());
            prop_assert_eq!(Values::F16(&h).first_non_finite().map(|(i, _)| i), naive_h);
            let b: Vec<bf16> = bits.iter().map(|&b| bf16::from_bits(b)).collect();
            let naive_b = b.iter().position(|x| !x.to_f32().is_finite());
            prop_assert_eq!(Values::Bf16(&b).first_non_finite().map(|(i, _)| i), naive_b);
            let f: Vec<f32> = f32_bits.iter().map(|&b| f32::from_bits(b)).collect();
            let naive_f = f.iter().position(|x| !x.is_finite());
            prop_assert_eq!(Values::F32(&f).first_non_finite().map(|(i, _)| i), naive_f);
        }

        /// The largest row sum over rows of any lengths (empty ones included) equals the naive `f64::max` fold.
        #[test]
        fn max_row_abs_sum_takes_the_largest_row(
            bits in proptest::collection::vec(any::<u16>(), 0..100),
            cuts in proptest::collection::vec(0usize..100, 0..20),
        ) {
            let h: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b)).filter(|x| x.is_finite()).collect();
            let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(h.len())).chain([0, h.len()]).collect();
            ends.sort_unstable();
            let row = |i: usize| ends[i]..ends[i + 1];
            let naive = (0..ends.len() - 1)
                .map(|i| h[row(i)].iter().map(|x| f64::from(x.to_f32().abs())).sum::<f64>())
                .fold(0.0, f64::max);
            prop_assert_eq!(Values::F16(&h).max_row_abs_sum(ends.len() - 1, row).to_bits(), naive.to_bits());
        }

        /// The inlined f16 widening and the zero test agree with the `half` crate on every finite value.
        #[test]
        fn magnitudes_and_zero_tests_match_the_conversion(bits in proptest::collection::vec(any::<u16>(), 0..100)) {
            let h: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b)).filter(|x| x.is_finite()).collect();
            let v = Values::F16(&h);
            let naive: f64 = h.iter().map(|x| f64::from(x.to_f32().abs())).sum();
            prop_assert_eq!(v.max_row_abs_sum(1, |_| 0..h.len()), naive);
            for (i, x) in h.iter().enumerate() {
                prop_assert_eq!(f16_magnitude(x.to_bits()), x.to_f32().abs());
                prop_assert_eq!(v.is_nonzero(i, 0), x.to_f32() != 0.0);
            }
            let b: Vec<bf16> = bits.iter().map(|&b| bf16::from_bits(b)).filter(|x| x.is_finite()).collect();
            let naive: f64 = b.iter().map(|x| f64::from(x.to_f32().abs())).sum();
            prop_assert_eq!(Values::Bf16(&b).max_row_abs_sum(1, |_| 0..b.len()), naive);
            let q: Vec<i8> = bits.iter().map(|&b| b as i8).collect();
            for scale in [0.0f32, -0.5, 3.0] {
                let v = Values::I8 { q: &q, scales: &[scale] };
                let naive: f64 = q.iter().map(|&x| f64::from((f32::from(x) * scale).abs())).sum();
                prop_assert_eq!(v.max_row_abs_sum(1, |_| 0..q.len()), naive);
                for i in 0..q.len() {
                    prop_assert_eq!(v.is_nonzero(i, 0), v.get(i, 0) != 0.0);
                }
            }
        }

        /// The typed pass equals `get` value by value, for every type, any start and length.
        #[test]
        fn dequantise_into_matches_get(bits in proptest::collection::vec(any::<u16>(), 1..80), start in 0usize..80, len in 0usize..80) {
            let start = start % bits.len();
            let len = len.min(bits.len() - start);
            let h: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b)).collect();
            let b: Vec<bf16> = bits.iter().map(|&b| bf16::from_bits(b)).collect();
            let f: Vec<f32> = h.iter().map(|x| x.to_f32()).collect();
            let q: Vec<i8> = bits.iter().map(|&b| b as i8).collect();
            let scales = [0.25f32, -3.0];
            for v in [Values::F16(&h), Values::Bf16(&b), Values::F32(&f), Values::I8 { q: &q, scales: &scales }] {
                let mut out = vec![0.0f32; len];
                v.dequantise_into(start, 1, &mut out);
                for (t, o) in out.iter().enumerate() {
                    let want = v.get(start + t, 1);
                    prop_assert!(o.to_bits() == want.to_bits() || (o.is_nan() && want.is_nan()), "{:?} at {}", v.value_type(), t);
                }
            }
        }

        /// Every build of the whole-array test the CPU can run agrees with the naive scan, for f16 and f32 bit
        /// patterns, with specials anywhere (vector bodies and tails of every width).
        #[test]
        fn every_build_of_the_special_test_agrees(
            len in 0usize..300,
            at in proptest::collection::vec(0usize..300, 0..3),
            special in any::<u16>(),
        ) {
            let mut h = vec![0x3c00u16; len];
            let mut f = vec![1.0f32.to_bits(); len];
            for &k in at.iter().filter(|&&k| k < len) {
                h[k] = special | 0x7c00;
                f[k] = u32::from(special) | 0x7f80_0000;
            }
            let naive_h = h.iter().any(|&x| x & 0x7c00 == 0x7c00);
            let naive_f = f.iter().any(|&x| x & 0x7f80_0000 == 0x7f80_0000);
            prop_assert_eq!(any_all_ones_portable(&h, |x| x, 0x7c00), naive_h);
            prop_assert_eq!(any_all_ones_portable(&f, |x| x, 0x7f80_0000), naive_f);
            prop_assert_eq!(any_all_ones(&h, |x| x, 0x7c00), naive_h);
            prop_assert_eq!(any_all_ones(&f, |x| x, 0x7f80_0000), naive_f);
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx512bw") {
                    // SAFETY: the features were just detected.
                    prop_assert_eq!(unsafe { any_all_ones_avx512(&h, |x| x, 0x7c00) }, naive_h);
                    // SAFETY: as above.
                    prop_assert_eq!(unsafe { any_all_ones_avx512(&f, |x| x, 0x7f80_0000) }, naive_f);
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the feature was just detected.
                    prop_assert_eq!(unsafe { any_all_ones_avx2(&h, |x| x, 0x7c00) }, naive_h);
                    // SAFETY: as above.
                    prop_assert_eq!(unsafe { any_all_ones_avx2(&f, |x| x, 0x7f80_0000) }, naive_f);
                }
            }
        }

        #[test]
        fn one_special_value_is_found_where_it_is(len in 1usize..300, at in 0usize..300, nan in any::<bool>()) {
            let at = at % len;
            let mut v = vec![f16::from_f32(1.5); len];
            v[at] = if nan { f16::NAN } else { f16::NEG_INFINITY };
            prop_assert_eq!(Values::F16(&v).first_non_finite().map(|(i, _)| i), Some(at));
        }
    }
}
