//! The wolfpack runtime: loads `.wpk` implicit models and evaluates them on CPU SIMD.
//!
//! An implicit model maps an input `u` to `y = C x + D u + c`, where the hidden state `x` solves the fixed-point
//! equation `x = relu(A x + B u + b)` (El Ghaoui, Gu, Travacca, Askari, Tsai, "Implicit Deep Learning", SIAM
//! J. Math. Data Sci. 2021). When every row of `A` has L1 norm at most `kappa < 1`, the map is a contraction in
//! the infinity norm, so the fixed point is unique and Picard / Gauss-Seidel iteration converges geometrically;
//! feed-forward networks are the special case of a strictly (block-)triangular `A`, solved exactly in one sweep.

#![warn(missing_docs)]

pub mod kernels;
