//! Helpers shared by the format's integration tests.
#![allow(dead_code)]

use wolfpack_format::AlignedBytes;

/// Recomputes every checksum, so a deliberate corruption reaches the deeper validation.
pub fn refresh_checksums(bytes: &mut [u8]) {
    wolfpack_format::reseal(bytes);
}

/// Byte range of section `index` (offset, length), read from the table.
pub fn section_span(bytes: &[u8], index: usize) -> (usize, usize) {
    let e = 64 + 32 * index;
    let off = u64::from_le_bytes(bytes[e + 8..e + 16].try_into().unwrap()) as usize;
    let len = u64::from_le_bytes(bytes[e + 16..e + 24].try_into().unwrap()) as usize;
    (off, len)
}

/// Index of the first section with this kind and role.
pub fn find_section(bytes: &[u8], kind: u32, role: u32) -> usize {
    let count = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    (0..count)
        .find(|&i| {
            let e = 64 + 32 * i;
            u32::from_le_bytes(bytes[e..e + 4].try_into().unwrap()) == kind
                && u32::from_le_bytes(bytes[e + 4..e + 8].try_into().unwrap()) == role
        })
        .expect("section present")
}

/// The sample model's bytes, owned and aligned.
pub fn sample_bytes() -> AlignedBytes {
    wolfpack_format::sample::sample_model().to_bytes().unwrap()
}
