//! `wolfpack compress --teacher MODEL.onnx`: compress an existing network by fitting a sparse implicit model to its
//! hidden states row by row, then fine-tuning end to end with distillation.
//!
//! 1. **Load** ([`load`]): the ONNX multilayer perceptron is imported as an implicit model with a block-triangular
//!    `A` ([`crate::onnx::import`]); its hidden state stacks all hidden layers. ONNX Runtime runs the original graph
//!    on a few inputs and must agree with the imported weights, and measures the teacher's test accuracy.
//! 2. **States** ([`states`]): on the training set, the teacher's hidden pre-activations `s_k`, hidden states
//!    `h_k = relu(s_k)` and logits `z_k`.
//! 3. **Row-wise fit** ([`fit`], [`rowfit`], [`normal`]; a layered teacher is first rescaled layer by layer into the
//!    student's well-posed set, [`balance`]; optionally only its most important units are kept): for each hidden
//!    unit `i`, `min mean_k (a_i . h_k + b_i . u_k + beta_i - s_ik)^2` over a weighted L1 ball (an L1 ball on
//!    standardised weights whose hidden coordinates are capped so that `||a_i||_1 <= kappa`, see [`fit`]): a
//!    student whose `A` has row L1 norms at most `kappa < 1`, so it is well-posed, and whose fixed point on a
//!    training input is within `residual / (1 - kappa)` of the teacher's state (the teacher's state is an
//!    approximate fixed point of the student's map, which is a `kappa`-contraction). The rows are independent
//!    least-squares problems on the same design `[h, u]`: a finite sum over training examples, solved by
//!    Frank-Wolfe from zero, so each row holds at most the Frank-Wolfe steps' atoms (sparse by construction). Rows
//!    of `C` are fitted to the teacher's logits the same way from `h`. The default solver takes exact gradients from
//!    the Gram matrix shared by all rows; Négiar et al.'s stochastic Frank-Wolfe (ICML 2020) is the alternative
//!    ([`negiar`]), measured 67 times slower and far less accurate once cut to the budget (docs/BENCHMARKS.md).
//! 4. **Fine-tuning** ([`start`]): the fitted model and the teacher (for soft targets, Hinton, Vinyals & Dean 2015)
//!    become the first [`Checkpoint`](crate::train::Checkpoint) of the usual training recipe, which then runs
//!    without its Frank-Wolfe start, selects the budget by magnitude (the fit holds 2.5 times it by default), and
//!    quantises.
//!
//! The teacher reads the data set's inputs as the data set scales them (`[0, 1]`, e.g. pixels / 255 for
//! Fashion-MNIST, / 16 for the embedded digits), and its output units are the data set's classes in order.

pub mod balance;
pub mod fit;
pub mod load;
pub mod negiar;
pub mod normal;
pub mod rowfit;
pub mod start;
pub mod states;

pub use fit::{fit_student, FitOptions, FitReport, RowSolver};
pub use load::{load, OrtCheck, Teacher};
pub use start::{prepare, Prepared, TeacherReport, TeacherSettings};
pub use states::States;

use std::path::PathBuf;

/// Why a teacher could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    /// The teacher file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The teacher file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The ONNX graph cannot be imported (names the node) or ONNX Runtime disagrees with the import.
    #[error("{}: {problem}", path.display())]
    Onnx {
        /// The teacher file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The teacher does not fit the data set (inputs, classes).
    #[error("{}: {problem}", path.display())]
    Data {
        /// The teacher file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A fit setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
}
