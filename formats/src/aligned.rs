//! An owned byte buffer with 8-byte alignment, for parsing bytes that did not come from a memory map.

/// Owned bytes whose start is 8-byte aligned, so [`crate::ModelView::parse`] can view f32/u32 arrays in place.
///
/// A memory map is page-aligned and needs no copy; a `Vec<u8>` or a slice inside another buffer (an Android asset,
/// a network message) may not be aligned, and this is the one copy that fixes it.
#[derive(Clone, Default)]
pub struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        AlignedBytes {
            words: vec![0; len.div_ceil(8)],
            len,
        }
    }

    /// An aligned copy of `bytes`.
    pub fn copy_from(bytes: &[u8]) -> Self {
        let mut out = Self::zeroed(bytes.len());
        out.as_mut_slice().copy_from_slice(bytes);
        out
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words)[..self.len]
    }
}

impl std::ops::Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }
}

impl std::fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBytes({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_aligns() {
        for len in [0usize, 1, 7, 8, 9, 100] {
            let src: Vec<u8> = (0..len as u8).collect();
            let a = AlignedBytes::copy_from(&src);
            assert_eq!(&*a, &src[..]);
            assert_eq!(a.as_ptr().align_offset(8), 0);
            assert_eq!(a.to_vec(), src);
        }
    }
}
