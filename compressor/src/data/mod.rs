//! Data sets for training and evaluating wolfpack models.
//!
//! A [`Dataset`] is a dense row-major matrix of inputs scaled to `[0, 1]` plus integer class labels. Loaders read
//! MNIST-style IDX folders ([`idx`]), CSV files with the label first ([`csv`]) and NumPy `.npy` pairs ([`npy`]);
//! [`digits`] embeds the 8x8 UCI digits so the tool works with no data at all. Every loader checks declared sizes
//! against the bytes actually present before allocating, and reports bad input as a [`DataError`] naming the file.

pub mod csv;
pub mod digits;
mod error;
pub mod idx;
pub mod npy;

pub use error::DataError;

use std::path::{Path, PathBuf};

/// Where the Debian package `dataset-fashion-mnist` installs its gzipped IDX files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Class names of Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), in label order.
pub const FASHION_MNIST_LABELS: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The affine map from raw input values to the `[0, 1]` values the model sees: `u = (raw - offset) * scale`.
///
/// It is stored in the model so that a runtime can apply the same preprocessing to raw inputs.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// Subtracted from every raw value.
    pub offset: f32,
    /// Multiplies every shifted value.
    pub scale: f32,
}

impl Preprocess {
    /// The map for 8-bit images: `u = raw / 255`.
    pub const BYTE: Preprocess = Preprocess {
        offset: 0.0,
        scale: 1.0 / 255.0,
    };

    /// The min-max map sending `[min, max]` onto `[0, 1]` (the identity shift when the range is empty).
    pub fn min_max(min: f32, max: f32) -> Preprocess {
        let range = max - min;
        let scale = if range > 0.0 && range.is_finite() {
            1.0 / range
        } else {
            1.0
        };
        Preprocess { offset: min, scale }
    }

    /// Applies the map to one raw value.
    #[inline]
    pub fn apply(&self, raw: f32) -> f32 {
        (raw - self.offset) * self.scale
    }
}

/// A labelled data set: `n` examples of `p` features each, in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Number of examples.
    pub n: usize,
    /// Number of features per example.
    pub p: usize,
    /// Inputs, `n * p` values in row-major order, scaled to `[0, 1]` by `preprocess` (test sets use the training set's
    /// map, so their values may leave `[0, 1]` slightly).
    pub x: Vec<f32>,
    /// Class of each example, each below `n_classes`.
    pub y: Vec<u32>,
    /// Number of classes.
    pub n_classes: usize,
    /// A human-readable name per class.
    pub labels: Vec<String>,
    /// The map that produced `x` from the raw values.
    pub preprocess: Preprocess,
}

impl Dataset {
    /// The features of example `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.p..(i + 1) * self.p]
    }

    /// A data set holding the examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.p);
        let mut y = Vec::with_capacity(indices.len());
        for &i in indices {
            x.extend_from_slice(self.row(i));
            y.push(self.y[i]);
        }
        Dataset {
            n: indices.len(),
            x,
            y,
            ..self.clone_meta()
        }
    }

    /// The first `k` examples (all of them when `k >= n`).
    pub fn head(&self, k: usize) -> Dataset {
        let k = k.min(self.n);
        Dataset {
            n: k,
            x: self.x[..k * self.p].to_vec(),
            y: self.y[..k].to_vec(),
            ..self.clone_meta()
        }
    }

    fn clone_meta(&self) -> Dataset {
        Dataset {
            n: 0,
            p: self.p,
            x: Vec::new(),
            y: Vec::new(),
            n_classes: self.n_classes,
            labels: self.labels.clone(),
            preprocess: self.preprocess,
        }
    }

    /// Checks the invariants every loader promises; `file` names the source in the error.
    pub(crate) fn validate(&self, file: &Path) -> Result<(), DataError> {
        if self.x.len() != self.n * self.p || self.y.len() != self.n {
            return Err(DataError::invalid(
                file,
                "inputs and labels disagree on the number of examples",
            ));
        }
        if let Some(bad) = self.y.iter().find(|&&c| c as usize >= self.n_classes) {
            return Err(DataError::invalid(
                file,
                format!("label {bad} is not below the {} classes", self.n_classes),
            ));
        }
        if self.x.iter().any(|v| !v.is_finite()) {
            return Err(DataError::invalid(
                file,
                "an input value is NaN or infinite",
            ));
        }
        Ok(())
    }
}

/// A training split and a test split over the same features and classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// Name of the source (a folder, or `embedded digits`).
    pub name: String,
    /// The training examples.
    pub train: Dataset,
    /// The held-out test examples.
    pub test: Dataset,
}

impl Splits {
    /// Checks that both splits describe the same problem.
    pub(crate) fn check_compatible(self, file: &Path) -> Result<Splits, DataError> {
        if self.train.p != self.test.p {
            return Err(DataError::invalid(
                file,
                format!(
                    "test examples have {} features but training ones {}",
                    self.test.p, self.train.p
                ),
            ));
        }
        if self.train.n == 0 || self.test.n == 0 {
            return Err(DataError::invalid(file, "a split holds no examples"));
        }
        Ok(self)
    }
}

/// Loads the data set in `dir`, recognising its format from the file names: MNIST-style IDX files
/// (`train-images-idx3-ubyte[.gz]`...), `train.csv`/`test.csv`, or `.npy` pairs (`train_x.npy`, `train_y.npy`,
/// `test_x.npy`, `test_y.npy`).
pub fn load_dir(dir: &Path) -> Result<Splits, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_path_buf(),
            what: "data folder",
        });
    }
    if idx::find(dir, "train-images-idx3-ubyte").is_some() {
        return idx::load_dir(dir);
    }
    if dir.join("train.csv").is_file() {
        return csv::load_dir(dir);
    }
    if dir.join("train_x.npy").is_file() {
        return npy::load_dir(dir);
    }
    Err(DataError::Missing {
        path: dir.to_path_buf(),
        what: "data files (train-images-idx3-ubyte[.gz], train.csv or train_x.npy)",
    })
}

/// The data set used when the user names none: Fashion-MNIST when the Debian package is installed, else the
/// embedded 8x8 digits.
pub fn default_dataset() -> Result<Splits, DataError> {
    let dir = PathBuf::from(FASHION_MNIST_DIR);
    if idx::find(&dir, "train-images-idx3-ubyte").is_some() {
        idx::load_dir(&dir)
    } else {
        digits::load()
    }
}
