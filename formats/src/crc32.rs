//! CRC-32 of the `.wpk` checksums, with small tables.
//!
//! The checksum is the CRC-32 of IEEE 802.3 / zlib / PNG: reflected polynomial `0xEDB88320`
//! (x^32 + x^26 + x^23 + x^22 + x^16 + x^12 + x^11 + x^10 + x^8 + x^7 + x^5 + x^4 + x^2 + x + 1), initial
//! value and final xor `0xFFFFFFFF` (W. W. Peterson and D. T. Brown, "Cyclic Codes for Error Detection",
//! Proc. IRE 1961; the table method is D. V. Sarwate, "Computation of cyclic redundancy checks via table
//! look-up", CACM 1988).
//!
//! Why not `crc32fast` everywhere: its 28 KB of tables (slicing-by-16 plus the PMULL folding constants) were 5%
//! of the Android arm64 library, whose size has a budget (docs/BENCHMARKS.md, "android"). So:
//!
//! * on aarch64, the ARMv8 CRC32 instructions (`crc32x`, eight bytes per instruction; optional in ARMv8.0,
//!   mandatory from ARMv8.1, implemented by the arm64 cores Android phones use) when the CPU has them, else
//!   Sarwate's byte-at-a-time table (1 KB);
//! * elsewhere `crc32fast` (PCLMULQDQ folding on x86-64, many GB/s), whose size matters less there and whose
//!   speed keeps the host's load time (docs/BENCHMARKS.md, "Loading") where it was.

/// The reflected generator polynomial.
const POLY: u32 = 0xEDB8_8320;

/// `make_table()[b]`: the CRC register after feeding byte `b` into a zero register (Sarwate's table).
const fn make_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let mut r = b as u32;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 1 != 0 { (r >> 1) ^ POLY } else { r >> 1 };
            bit += 1;
        }
        t[b] = r;
        b += 1;
    }
    t
}

/// Sarwate's table (1 KB), computed at compile time.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
static TABLE: [u32; 256] = make_table();

/// Byte-at-a-time update of the (pre-inverted) CRC register.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
fn update_bytewise(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = (crc >> 8) ^ TABLE[((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    crc
}

/// The ARMv8 CRC32 instructions: `crc32x` on eight bytes at a time, `crc32b` on the tail.
///
/// # Safety
/// The CPU must have the `crc` feature (checked by the caller with `is_aarch64_feature_detected!`).
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "crc")]
unsafe fn update_arm(mut crc: u32, bytes: &[u8]) -> u32 {
    use core::arch::aarch64::{__crc32b, __crc32d};
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        crc = __crc32d(crc, u64::from_le_bytes(word));
    }
    for &b in chunks.remainder() {
        crc = __crc32b(crc, b);
    }
    crc
}

/// Feeds `bytes` into the pre-inverted register with the fastest path this CPU has.
#[cfg(target_arch = "aarch64")]
fn update(crc: u32, bytes: &[u8]) -> u32 {
    if std::arch::is_aarch64_feature_detected!("crc") {
        // SAFETY: the CPU has the CRC32 instructions, checked just above.
        return unsafe { update_arm(crc, bytes) };
    }
    update_bytewise(crc, bytes)
}

/// Feeds `bytes` into the pre-inverted register (`crc32fast` works on the final, non-inverted value).
#[cfg(not(target_arch = "aarch64"))]
fn update(crc: u32, bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(!crc);
    h.update(bytes);
    !h.finalize()
}

/// An incremental CRC-32: [`Crc32::update`] with consecutive pieces gives the CRC of their concatenation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Crc32(u32);

impl Crc32 {
    /// The CRC of the empty message so far.
    pub(crate) fn new() -> Self {
        Crc32(!0)
    }

    /// Appends `bytes` to the message.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0 = update(self.0, bytes);
    }

    /// The CRC-32 of everything appended.
    pub(crate) fn finalize(self) -> u32 {
        !self.0
    }
}

/// CRC-32 of `bytes`.
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    let mut h = Crc32::new();
    h.update(bytes);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, one bit at a time: the oracle every table and instruction path must match.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_values_of_the_standard() {
        // The "check" value of CRC-32/ISO-HDLC in the RevEng catalogue, and two more from zlib's crc32().
        assert_eq!(hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(hash(b""), 0);
        assert_eq!(
            hash(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        assert_eq!(bitwise(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn every_path_matches_the_definition_at_every_length() {
        // Lengths 0..=40 cover empty input, tails of every length 0..=7 and several whole eight-byte words.
        let data: Vec<u8> = (0..40u32).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..=data.len() {
            let want = bitwise(&data[..n]);
            assert_eq!(
                !update_bytewise(!0, &data[..n]),
                want,
                "bytewise, {n} bytes"
            );
            assert_eq!(hash(&data[..n]), want, "dispatched, {n} bytes");
            #[cfg(target_arch = "aarch64")]
            if std::arch::is_aarch64_feature_detected!("crc") {
                // SAFETY: the feature was just detected.
                assert_eq!(
                    !unsafe { update_arm(!0, &data[..n]) },
                    want,
                    "crc32x, {n} bytes"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn matches_the_definition_and_splits_anywhere(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cut in any::<prop::sample::Index>(),
        ) {
            let want = bitwise(&data);
            prop_assert_eq!(hash(&data), want);
            prop_assert_eq!(!update_bytewise(!0, &data), want);
            let cut = cut.index(data.len() + 1);
            let mut h = Crc32::new();
            h.update(&data[..cut]);
            h.update(&data[cut..]);
            prop_assert_eq!(h.finalize(), want);
        }
    }
}
