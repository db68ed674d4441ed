//! Writing NumPy `.npy` arrays and `.npz` archives (a zip of `.npy` members, stored uncompressed as `np.savez`
//! does), for exporting weights to Python tools.

use std::io::Write;

/// Encodes a little-endian float32 array of `shape` as a `.npy` (format 1.0) byte string.
///
/// The header is the Python-literal dict NumPy expects, padded with spaces so that the data starts at a multiple
/// of 64 bytes (NumPy's own alignment).
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// An `.npz` archive holding `name.npy` for each `(name, shape, data)`.
pub fn npz(arrays: &[(&str, Vec<usize>, Vec<f32>)]) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for (name, shape, data) in arrays {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&npy_f32(shape, data))?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parses_back() {
        let bytes = npy_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let back = crate::data::npy::parse(&bytes, std::path::Path::new("t.npy")).unwrap();
        assert_eq!(back.shape, vec![2, 3]);
        assert_eq!(back.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let vector =
            crate::data::npy::parse(&npy_f32(&[1], &[7.0]), std::path::Path::new("v.npy")).unwrap();
        assert_eq!(vector.shape, vec![1]);
    }
}
