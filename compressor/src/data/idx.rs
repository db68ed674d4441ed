//! MNIST-style IDX files (LeCun et al. 1998), plain or gzipped.
//!
//! Layout: magic `00 00 TT DD` (TT = element type, 0x08 = unsigned byte; DD = number of dimensions), then DD big-endian
//! u32 sizes, then the elements in row-major order. Images are `idx3` (n x rows x cols), labels `idx1` (n).

use super::{DataError, Dataset, Preprocess, Splits, FASHION_MNIST_LABELS};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The path of `stem` or `stem.gz` in `dir`, whichever exists (plain first).
pub fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    let plain = dir.join(stem);
    if plain.is_file() {
        return Some(plain);
    }
    let gz = dir.join(format!("{stem}.gz"));
    gz.is_file().then_some(gz)
}

/// An IDX tensor of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxBytes {
    /// The declared sizes.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

/// Reads the IDX file at `path` (gzipped when its name ends in `.gz`), checking the declared element count against
/// the bytes present: a header can never make this allocate more than the file holds.
pub fn read(path: &Path) -> Result<IdxBytes, DataError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
            what: "IDX file",
        },
        _ => DataError::io(path, e),
    })?;
    let file_len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    let gz = path.extension().is_some_and(|e| e == "gz");
    let mut reader: Box<dyn Read> = if gz {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut magic = [0u8; 4];
    read_exact(&mut reader, &mut magic, path, "the 4-byte magic number")?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::invalid(
            path,
            format!("wrong magic number {magic:02x?}: not an IDX file"),
        ));
    }
    if magic[2] != 0x08 {
        return Err(DataError::invalid(
            path,
            format!(
                "element type 0x{:02x} is not supported (only 0x08, unsigned bytes)",
                magic[2]
            ),
        ));
    }
    let ndim = magic[3] as usize;
    if ndim == 0 || ndim > 4 {
        return Err(DataError::invalid(
            path,
            format!("{ndim} dimensions declared; expected 1 to 4"),
        ));
    }
    let mut dims = Vec::with_capacity(ndim);
    let mut count: u64 = 1;
    for _ in 0..ndim {
        let mut b = [0u8; 4];
        read_exact(&mut reader, &mut b, path, "the dimension sizes")?;
        let d = u32::from_be_bytes(b);
        dims.push(d as usize);
        count = count.saturating_mul(u64::from(d));
    }
    let header = 4 + 4 * ndim as u64;
    if !gz && header.saturating_add(count) != file_len {
        return Err(DataError::invalid(
            path,
            format!(
                "header declares {count} bytes of data but the file holds {}",
                file_len.saturating_sub(header)
            ),
        ));
    }
    // Reading through `take` grows the buffer only as real bytes arrive, so a lying gzip header cannot
    // trigger a huge allocation; one extra byte detects trailing data.
    let mut data = Vec::new();
    reader
        .take(count.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| DataError::io(path, e))?;
    if data.len() as u64 != count {
        let what = if (data.len() as u64) < count {
            "truncated"
        } else {
            "longer than declared"
        };
        return Err(DataError::invalid(
            path,
            format!(
                "{what}: header declares {count} bytes of data, found {}{}",
                data.len(),
                if what == "truncated" { "" } else { " or more" }
            ),
        ));
    }
    Ok(IdxBytes { dims, data })
}

fn read_exact(r: &mut dyn Read, buf: &mut [u8], path: &Path, what: &str) -> Result<(), DataError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            DataError::invalid(path, format!("truncated: file ends inside {what}"))
        }
        _ => DataError::io(path, e),
    })
}

/// Loads one split from an image file and a label file.
pub fn load_pair(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let img = read(images)?;
    if img.dims.len() < 2 {
        return Err(DataError::invalid(
            images,
            format!("{} dimensions; images need at least 2", img.dims.len()),
        ));
    }
    let lab = read(labels)?;
    if lab.dims.len() != 1 {
        return Err(DataError::invalid(
            labels,
            format!("{} dimensions; labels need exactly 1", lab.dims.len()),
        ));
    }
    let n = img.dims[0];
    if lab.dims[0] != n {
        return Err(DataError::invalid(
            labels,
            format!(
                "{} labels for {n} images in {}",
                lab.dims[0],
                images.display()
            ),
        ));
    }
    let p = img.dims[1..].iter().product();
    let n_classes = lab
        .data
        .iter()
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0)
        .max(10);
    let labels_txt = if n_classes == 10 {
        FASHION_MNIST_LABELS.iter().map(|s| s.to_string()).collect()
    } else {
        (0..n_classes).map(|c| c.to_string()).collect()
    };
    let pre = Preprocess::BYTE;
    let ds = Dataset {
        n,
        p,
        x: img.data.iter().map(|&v| pre.apply(f32::from(v))).collect(),
        y: lab.data.iter().map(|&c| u32::from(c)).collect(),
        n_classes,
        labels: labels_txt,
        preprocess: pre,
    };
    ds.validate(labels)?;
    Ok(ds)
}

/// Loads the `train-*` and `t10k-*` splits of an MNIST-style folder.
pub fn load_dir(dir: &Path) -> Result<Splits, DataError> {
    let get = |stem: &str| {
        find(dir, stem).ok_or_else(|| DataError::Missing {
            path: dir.join(stem),
            what: "IDX file (plain or .gz)",
        })
    };
    let train = load_pair(
        &get("train-images-idx3-ubyte")?,
        &get("train-labels-idx1-ubyte")?,
    )?;
    let test = load_pair(
        &get("t10k-images-idx3-ubyte")?,
        &get("t10k-labels-idx1-ubyte")?,
    )?;
    let (train, test) = harmonise_classes(train, test);
    Splits {
        name: dir.display().to_string(),
        train,
        test,
    }
    .check_compatible(dir)
}

/// Gives both splits the larger class count (a test set may lack the top class).
fn harmonise_classes(mut a: Dataset, mut b: Dataset) -> (Dataset, Dataset) {
    if a.n_classes < b.n_classes {
        a.n_classes = b.n_classes;
        a.labels = b.labels.clone();
    } else {
        b.n_classes = a.n_classes;
        b.labels = a.labels.clone();
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_bytes(magic3: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0x08, magic3];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        if name.ends_with(".gz") {
            let mut enc = flate2::write::GzEncoder::new(
                File::create(&p).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap();
        } else {
            std::fs::write(&p, bytes).unwrap();
        }
        p
    }

    fn tiny_folder(gz: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sfx = if gz { ".gz" } else { "" };
        let imgs: Vec<u8> = (0..3 * 4).map(|i| (i * 20) as u8).collect();
        write(
            dir.path(),
            &format!("train-images-idx3-ubyte{sfx}"),
            &idx_bytes(3, &[3, 2, 2], &imgs),
        );
        write(
            dir.path(),
            &format!("train-labels-idx1-ubyte{sfx}"),
            &idx_bytes(1, &[3], &[0, 9, 4]),
        );
        write(
            dir.path(),
            &format!("t10k-images-idx3-ubyte{sfx}"),
            &idx_bytes(3, &[1, 2, 2], &[255, 0, 0, 51]),
        );
        write(
            dir.path(),
            &format!("t10k-labels-idx1-ubyte{sfx}"),
            &idx_bytes(1, &[1], &[2]),
        );
        dir
    }

    #[test]
    fn loads_plain_and_gzipped_folders_alike() {
        let a = load_dir(tiny_folder(false).path()).unwrap();
        let b = load_dir(tiny_folder(true).path()).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.train.n, 3);
        assert_eq!(a.train.p, 4);
        assert_eq!(a.train.y, vec![0, 9, 4]);
        assert_eq!(
            a.test.row(0),
            &[1.0, 0.0, 0.0, 51.0 * Preprocess::BYTE.scale]
        );
        assert_eq!(a.train.labels[9], "Ankle boot");
    }

    #[test]
    fn wrong_magic_names_file() {
        let dir = tiny_folder(false);
        let p = write(
            dir.path(),
            "train-labels-idx1-ubyte",
            &[1, 2, 3, 4, 0, 0, 0, 0],
        );
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(&p.display().to_string()) && e.contains("magic"),
            "{e}"
        );
    }

    #[test]
    fn count_mismatch_is_reported() {
        let dir = tiny_folder(true);
        write(
            dir.path(),
            "train-labels-idx1-ubyte.gz",
            &idx_bytes(1, &[2], &[0, 1]),
        );
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("2 labels for 3 images"), "{e}");
    }

    #[test]
    fn truncated_and_lying_headers_fail_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        // Declares 4 billion images of 4 billion pixels; the file holds 3 bytes.
        let p = write(
            dir.path(),
            "x",
            &idx_bytes(3, &[u32::MAX, u32::MAX, 2], &[1, 2, 3]),
        );
        assert!(read(&p).unwrap_err().to_string().contains("declares"));
        let p = write(
            dir.path(),
            "x.gz",
            &idx_bytes(3, &[u32::MAX, u32::MAX, 2], &[1, 2, 3]),
        );
        assert!(read(&p).unwrap_err().to_string().contains("truncated"));
        let p = write(dir.path(), "y.gz", &[0, 0, 8]);
        assert!(read(&p).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tiny_folder(false);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn class_count_is_shared_by_both_splits() {
        let dir = tiny_folder(false);
        write(
            dir.path(),
            "t10k-labels-idx1-ubyte",
            &idx_bytes(1, &[1], &[200]),
        );
        // Class 200 makes 201 classes; the training split must agree so that its outputs cover it.
        let s = load_dir(dir.path()).unwrap();
        assert_eq!(s.train.n_classes, 201);
    }
}
