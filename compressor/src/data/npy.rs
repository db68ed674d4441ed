//! NumPy `.npy` pairs: `train_x.npy`, `train_y.npy`, `test_x.npy`, `test_y.npy`.
//!
//! Format (NumPy NEP 1): magic `\x93NUMPY`, major and minor version bytes, a little-endian header length (u16 in
//! version 1, u32 in versions 2 and 3), then a Python dict literal with `descr`, `fortran_order` and `shape`, then the
//! data. Supported element types: little-endian (or byte-sized) integers of 1, 2, 4, 8 bytes and floats of 4 or 8
//! bytes, C order. Inputs of type `u1` are scaled by 1/255, others min-max with the training range.

use super::{DataError, Dataset, Preprocess, Splits};
use std::path::Path;

/// A parsed `.npy` array converted to f64 (exact for every supported type used as data or label).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The declared shape.
    pub shape: Vec<usize>,
    /// The element type string, e.g. `<f4`.
    pub descr: String,
    /// The elements, row-major.
    pub data: Vec<f64>,
}

/// Reads and validates the `.npy` file at `path`.
pub fn read(path: &Path) -> Result<NpyArray, DataError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
            what: ".npy file",
        },
        _ => DataError::io(path, e),
    })?;
    parse(&bytes, path)
}

/// Parses `.npy` bytes; `path` names the source in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<NpyArray, DataError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(DataError::invalid(
            path,
            "wrong magic number: not a .npy file",
        ));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        v => {
            return Err(DataError::invalid(
                path,
                format!("unsupported .npy version {v}"),
            ))
        }
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| DataError::invalid(path, "truncated: file ends inside the header"))?;
    let header =
        std::str::from_utf8(header).map_err(|_| DataError::invalid(path, "header is not text"))?;
    let descr =
        field(header, "descr").ok_or_else(|| DataError::invalid(path, "header lacks 'descr'"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"').to_string();
    if field(header, "fortran_order").is_some_and(|f| f.starts_with("True")) {
        return Err(DataError::invalid(
            path,
            "Fortran-ordered arrays are not supported; save with C order",
        ));
    }
    let shape_txt =
        field(header, "shape").ok_or_else(|| DataError::invalid(path, "header lacks 'shape'"))?;
    let inner = shape_txt.trim_start_matches('(');
    let inner = &inner[..inner
        .find(')')
        .ok_or_else(|| DataError::invalid(path, "malformed 'shape'"))?];
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| DataError::invalid(path, format!("malformed shape entry {s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let (kind, size) = element(&descr)
        .ok_or_else(|| DataError::invalid(path, format!("unsupported dtype {descr:?}")))?;
    let body = &bytes[start + hlen..];
    let need = count.and_then(|c| c.checked_mul(size));
    if need != Some(body.len()) {
        return Err(DataError::invalid(
            path,
            format!(
                "shape {shape:?} of {descr} needs {need:?} bytes but the file holds {}",
                body.len()
            ),
        ));
    }
    let data = body.chunks_exact(size).map(|c| decode(kind, c)).collect();
    Ok(NpyArray { shape, descr, data })
}

/// The text after `'key':` up to the next top-level comma (or the whole tuple for `shape`).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    if rest.starts_with('(') {
        return Some(rest);
    }
    Some(rest.split(',').next()?.trim())
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Uint,
    Float,
}

fn element(descr: &str) -> Option<(Kind, usize)> {
    let (order, ty) = descr.split_at(1);
    let size: usize = ty.get(1..)?.parse().ok()?;
    if size > 1 && order != "<" && order != "=" {
        return None; // big-endian multi-byte data
    }
    match (ty.as_bytes()[0], size) {
        (b'i', 1 | 2 | 4 | 8) => Some((Kind::Int, size)),
        (b'u', 1 | 2 | 4 | 8) => Some((Kind::Uint, size)),
        (b'f', 4 | 8) => Some((Kind::Float, size)),
        _ => None,
    }
}

fn decode(kind: Kind, c: &[u8]) -> f64 {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    match (kind, c.len()) {
        (Kind::Float, 4) => f64::from(f32::from_le_bytes(b[..4].try_into().expect("4 bytes"))),
        (Kind::Float, _) => f64::from_le_bytes(b),
        (Kind::Uint, _) => u64::from_le_bytes(b) as f64,
        (Kind::Int, n) => {
            let shift = 64 - 8 * n as u32;
            ((i64::from_le_bytes(b) << shift) >> shift) as f64
        }
    }
}

fn split(xp: &Path, yp: &Path) -> Result<(NpyArray, Vec<u32>), DataError> {
    let x = read(xp)?;
    let y = read(yp)?;
    if x.shape.is_empty() {
        return Err(DataError::invalid(
            xp,
            "inputs must have at least one dimension",
        ));
    }
    if y.shape.len() != 1 || y.shape[0] != x.shape[0] {
        return Err(DataError::invalid(
            yp,
            format!(
                "labels of shape {:?} for inputs of shape {:?}",
                y.shape, x.shape
            ),
        ));
    }
    if x.data.iter().any(|v| !v.is_finite()) {
        return Err(DataError::invalid(xp, "an input value is NaN or infinite"));
    }
    let labels = y
        .data
        .iter()
        .map(|&v| {
            if v >= 0.0 && v.fract() == 0.0 && v < 65_536.0 {
                Ok(v as u32)
            } else {
                Err(DataError::invalid(
                    yp,
                    format!("label {v} is not a class index (a small non-negative integer)"),
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((x, labels))
}

/// Loads the four `.npy` files of `dir`.
pub fn load_dir(dir: &Path) -> Result<Splits, DataError> {
    let (xtr, ytr) = split(&dir.join("train_x.npy"), &dir.join("train_y.npy"))?;
    let (xte, yte) = split(&dir.join("test_x.npy"), &dir.join("test_y.npy"))?;
    let pre = if xtr.descr.ends_with("u1") {
        Preprocess::BYTE
    } else {
        let (lo, hi) = xtr
            .data
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        Preprocess::min_max(lo as f32, hi as f32)
    };
    let n_classes = ytr
        .iter()
        .chain(&yte)
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(1);
    let make = |x: &NpyArray, y: Vec<u32>| Dataset {
        n: x.shape[0],
        p: x.shape[1..].iter().product(),
        x: x.data.iter().map(|&v| pre.apply(v as f32)).collect(),
        y,
        n_classes,
        labels: (0..n_classes).map(|c| c.to_string()).collect(),
        preprocess: pre,
    };
    let (train, test) = (make(&xtr, ytr), make(&xte, yte));
    train.validate(&dir.join("train_x.npy"))?;
    test.validate(&dir.join("test_x.npy"))?;
    Splits {
        name: dir.display().to_string(),
        train,
        test,
    }
    .check_compatible(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a version-1 `.npy` file the way NumPy does.
    fn npy(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
        let shape_txt = match shape.len() {
            1 => format!("({},)", shape[0]),
            _ => format!(
                "({})",
                shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut h =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(body);
        v
    }

    fn f4(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn loads_float_inputs_and_integer_labels() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("train_x.npy"),
            npy("<f4", &[2, 2], &f4(&[0.0, 2.0, 4.0, 1.0])),
        )
        .unwrap();
        let y: Vec<u8> = [1i64, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(d.path().join("train_y.npy"), npy("<i8", &[2], &y)).unwrap();
        std::fs::write(d.path().join("test_x.npy"), npy("|u1", &[1, 2], &[3, 4])).unwrap();
        std::fs::write(d.path().join("test_y.npy"), npy("|u1", &[1], &[2])).unwrap();
        let s = super::super::load_dir(d.path()).unwrap();
        assert_eq!(s.train.x, vec![0.0, 0.5, 1.0, 0.25]);
        assert_eq!(s.test.x, vec![0.75, 1.0]);
        assert_eq!((s.train.n_classes, s.test.y[0]), (3, 2));
    }

    #[test]
    fn negative_ints_decode() {
        let body: Vec<u8> = [-3i16, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse(&npy("<i2", &[2], &body), Path::new("a")).unwrap();
        assert_eq!(a.data, vec![-3.0, 7.0]);
    }

    #[test]
    fn bad_files_are_named() {
        let p = Path::new("q.npy");
        assert!(parse(b"\x93NUMPX\x01\x00\x00\x00", p)
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let e = parse(&npy("<f4", &[3, 2], &f4(&[1.0; 5])), p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("q.npy") && e.contains("needs"), "{e}");
        let e = parse(&npy("<f4", &[usize::MAX, 2], &[]), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs None"), "{e}");
        assert!(parse(&npy(">f4", &[1], &f4(&[1.0])), p)
            .unwrap_err()
            .to_string()
            .contains("dtype"));
        let mut t = npy("<f4", &[1], &f4(&[1.0]));
        t.truncate(20);
        assert!(parse(&t, p).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn nan_inputs_and_fractional_labels_are_rejected() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("train_x.npy"),
            npy("<f4", &[1, 1], &f4(&[f32::NAN])),
        )
        .unwrap();
        std::fs::write(d.path().join("train_y.npy"), npy("<f4", &[1], &f4(&[0.5]))).unwrap();
        let e = load_dir(d.path()).unwrap_err().to_string();
        assert!(e.contains("train_x.npy") && e.contains("NaN"), "{e}");
        std::fs::write(
            d.path().join("train_x.npy"),
            npy("<f4", &[1, 1], &f4(&[0.0])),
        )
        .unwrap();
        let e = load_dir(d.path()).unwrap_err().to_string();
        assert!(e.contains("train_y.npy") && e.contains("0.5"), "{e}");
    }
}
