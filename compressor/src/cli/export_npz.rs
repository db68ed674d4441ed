//! `wolfpack export-npz MODEL --out FILE.npz`: the model as dense float32 arrays for NumPy.
//!
//! An `.npz` is a ZIP archive of `.npy` files; this writes it uncompressed ("stored" entries, CRC-32 from
//! `flate2`), which `numpy.load` reads directly.

use std::path::{Path, PathBuf};

use wolfpack_format::{ModelView, Role};

use super::{read_model_bytes, CliError, CliResult};

/// Arguments of `export-npz`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `.wpk` model file.
    pub model: PathBuf,
    /// Output `.npz` file with float32 arrays A (n x n), B (n x p), C (q x n), D (q x p), b (n), c (q), dequantised
    /// (absent matrices and biases as zeros).
    #[arg(long)]
    pub out: PathBuf,
}

/// One `.npy` (format 1.0) holding a C-order little-endian float32 array.
fn npy(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A ZIP archive of uncompressed entries (no ZIP64: every entry and the archive stay below 4 GiB).
fn zip(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let size = u32::try_from(data.len()).map_err(|_| format!("{name} is larger than 4 GiB"))?;
        let offset =
            u32::try_from(out.len()).map_err(|_| "archive is larger than 4 GiB".to_string())?;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        // Fields shared by the local and central headers: version 2.0, no flags, stored, no date, crc, sizes, name.
        let mut common = Vec::new();
        for v in [20u16, 0, 0, 0, 0x21] {
            common.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            common.extend_from_slice(&v.to_le_bytes());
        }
        common.extend_from_slice(&(name.len() as u16).to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&common);
        for v in [0u16, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes()); // comment length, disk, internal attributes
        }
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset =
        u32::try_from(out.len()).map_err(|_| "archive is larger than 4 GiB".to_string())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let count = entries.len() as u16;
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// The `.npz` bytes of a parsed model.
pub fn npz_bytes(view: &ModelView) -> Result<Vec<u8>, String> {
    let d = view.meta.dims;
    let (n, p, q) = (d.hidden as usize, d.inputs as usize, d.outputs as usize);
    let mut entries = Vec::new();
    for role in Role::ALL {
        let (rows, cols) = role.shape(n, p, q);
        let dense = view
            .matrix(role)
            .map_or_else(|| vec![0.0; rows * cols], |m| m.to_dense());
        entries.push((format!("{role}.npy"), npy(&[rows, cols], &dense)));
    }
    entries.push((
        "b.npy".to_string(),
        npy(&[n], view.bias_x.map_or(&vec![0.0; n][..], |v| v)),
    ));
    entries.push((
        "c.npy".to_string(),
        npy(&[q], view.bias_y.map_or(&vec![0.0; q][..], |v| v)),
    ));
    zip(&entries)
}

/// Runs `export-npz`.
pub fn run(args: &Args) -> CliResult {
    let bytes = read_model_bytes(&args.model)?;
    let view = ModelView::parse(&bytes).map_err(|e| CliError::at(&args.model, e))?;
    let npz = npz_bytes(&view).map_err(|e| CliError::at(&args.model, e))?;
    write(&args.out, &npz)
}

fn write(path: &Path, bytes: &[u8]) -> CliResult {
    wolfpack_format::write_atomic(path, bytes).map_err(|e| CliError::at(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_are_aligned_and_parse_back() {
        let bytes = npy(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let a = crate::data::npy::parse(&bytes, Path::new("x.npy")).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let v = crate::data::npy::parse(&npy(&[2], &[7.0, 8.0]), Path::new("v.npy")).unwrap();
        assert_eq!(v.shape, vec![2]);
    }

    #[test]
    fn sample_model_exports_every_array() {
        let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        let npz = npz_bytes(&view).unwrap();
        // End-of-central-directory record: 6 entries.
        let eocd = &npz[npz.len() - 22..];
        assert_eq!(&eocd[..4], &0x0605_4b50u32.to_le_bytes());
        assert_eq!(u16::from_le_bytes([eocd[10], eocd[11]]), 6);
        // The A entry holds the dequantised A.
        let want = npy(&[8, 8], &view.a.unwrap().to_dense());
        assert!(npz.windows(want.len()).any(|w| w == want.as_slice()));
    }
}
