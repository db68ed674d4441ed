//! # wolfpack-optim
//!
//! Constrained and unconstrained, full-batch and stochastic first-order optimisation, in the
//! spirit of `scipy.optimize`, copt (Pedregosa et al.) and chop (Négiar, Pedregosa,
//! El Ghaoui): one call per method, one [`OptimizeResult`] with a convergence certificate.
//!
//! * [`sets`]: constraint sets with their linear minimisation oracle (LMO) and projection
//!   (L1, L2, L-inf balls, simplex, box, group-L1, K-sparse polytope, nuclear-norm ball, the
//!   row-wise wrapper, and the adversarial threat models L-inf/L2 ball ∩ box).
//! * [`prox`]: penalties with a proximal operator (L1, group L1).
//! * [`fullbatch`]: Frank-Wolfe (three step rules), away-step and pairwise Frank-Wolfe,
//!   projected gradient and FISTA, proximal gradient, gradient descent, L-BFGS.
//! * [`stochastic`]: SGD with momentum, Adam, stochastic Frank-Wolfe with momentum,
//!   stochastic projected gradient (all usable one step at a time), and the variance-reduced
//!   stochastic Frank-Wolfe of Négiar et al. (2020) for finite sums of generalised linear models.
//! * [`problem`] and [`glm`]: the traits describing objectives, and ready-made GLM losses.
//!
//! Everything is generic over [`Float`] (`f32`, `f64`).
//!
//! ```
//! use wolfpack_optim::fullbatch::{AwayPairwiseFw, FwVariant};
//! use wolfpack_optim::glm::{Glm, Logistic};
//! use wolfpack_optim::sets::L1Ball;
//! use wolfpack_optim::Certificate;
//!
//! // Four samples, two features, labels in {-1, +1}.
//! let a = [1.0, 0.5, -0.3, 1.0, 0.8, -1.0, -1.2, 0.1];
//! let y = [1.0, -1.0, 1.0, -1.0];
//! let f = Glm::new(&a, &y, 2, Logistic)?;
//! let ball = L1Ball::new(1.0)?;
//! let res = AwayPairwiseFw::new(FwVariant::Pairwise).minimize(&f, &ball, vec![0.0; 2])?;
//! assert!(res.success);
//! // The Frank-Wolfe gap bounds f(x) - min f.
//! assert!(matches!(res.certificate, Certificate::FrankWolfeGap(g) if g <= 1e-6));
//! # Ok::<(), wolfpack_optim::OptimError>(())
//! ```

#![warn(missing_docs)]
// Index loops over several parallel slices read like the maths they implement.
#![allow(clippy::needless_range_loop)]

pub mod error;
pub mod float;
pub mod fullbatch;
pub mod glm;
pub mod linalg;
pub mod problem;
pub mod prox;
pub mod result;
pub mod rng;
pub mod sets;
pub mod stochastic;
pub mod vertex;

pub use error::{OptimError, Result};
pub use float::Float;
pub use problem::{FiniteSumGlm, Objective, StochasticObjective};
pub use result::{Certificate, Control, IterInfo, OptimizeResult};
pub use sets::ConstraintSet;
pub use vertex::{Vertex, VertexIter};
