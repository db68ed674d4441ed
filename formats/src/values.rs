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

    /// Position of the first non-finite value, if any; for i8, the first scale group whose scale is not finite or
    /// whose dequantised values `q * scale` could overflow.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, f32)> {
        let find = |it: &mut dyn Iterator<Item = f32>| it.enumerate().find(|(_, x)| !x.is_finite());
        match self {
            Values::F32(v) => find(&mut v.iter().copied()),
            Values::F16(v) => find(&mut v.iter().map(|x| x.to_f32())),
            Values::Bf16(v) => find(&mut v.iter().map(|x| x.to_f32())),
            // Every dequantised q * scale (|q| <= 128) must be finite too, not only the scale.
            Values::I8 { scales, .. } => find(&mut scales.iter().map(|&s| {
                if (s * 128.0).is_finite() {
                    s
                } else {
                    f32::INFINITY
                }
            })),
        }
    }
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
