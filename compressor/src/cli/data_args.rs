//! The data-set arguments shared by every command that reads a data set (`--data DIR`, `--embedded`).

use std::path::PathBuf;

use super::CliError;
use crate::data::{self, Splits};

/// Which data set a command works on.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Folder of MNIST-style IDX files (`train-images-idx3-ubyte[.gz]`...), `train.csv`/`test.csv` (label first),
    /// or `.npy` pairs. Default: Fashion-MNIST when Debian's `dataset-fashion-mnist` is installed, else the 8x8
    /// digits embedded in wolfpack.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the 8x8 digits embedded in wolfpack (1,797 images) whatever else is installed.
    #[arg(long, conflicts_with = "data")]
    pub embedded: bool,
}

impl DataArgs {
    /// Loads the chosen data set; errors name the file and the problem.
    pub fn load(&self) -> Result<Splits, CliError> {
        let splits = match &self.data {
            Some(d) => data::load_dir(d),
            None if self.embedded => data::digits::load(),
            None => data::default_dataset(),
        };
        splits.map_err(|e| CliError(e.to_string()))
    }
}
