//! Threat models: a norm ball of radius `eps` around the clean input, intersected with the valid input box
//! `[0, 1]^p` (the data sets' inputs are scaled to `[0, 1]`), and a batch of them as one product set.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use wolfpack_optim::fullbatch::SteepestNorm;
use wolfpack_optim::sets::{L2BallBox, LinfBallBox, Product};
use wolfpack_optim::{ConstraintSet, Vertex};

use super::RobustError;

/// The norm of the perturbation ball.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// `||delta||_inf <= eps`: every pixel moves by at most `eps`.
    Linf,
    /// `||delta||_2 <= eps`.
    L2,
}

impl Norm {
    /// The steepest-descent direction of this norm, for the PGD attack.
    pub fn steepest(self) -> SteepestNorm {
        match self {
            Norm::Linf => SteepestNorm::Linf,
            Norm::L2 => SteepestNorm::L2,
        }
    }

    /// `||v||` in this norm.
    pub fn of(self, v: impl IntoIterator<Item = f32>) -> f32 {
        match self {
            Norm::Linf => v.into_iter().fold(0.0, |m, x| m.max(x.abs())),
            Norm::L2 => v.into_iter().map(|x| x * x).sum::<f32>().sqrt(),
        }
    }

    /// `||a - b||` in this norm.
    pub fn dist(self, a: &[f32], b: &[f32]) -> f32 {
        self.of(a.iter().zip(b).map(|(x, y)| x - y))
    }
}

impl FromStr for Norm {
    type Err = RobustError;
    fn from_str(s: &str) -> Result<Norm, RobustError> {
        match s.to_ascii_lowercase().as_str() {
            "linf" | "l-inf" | "inf" => Ok(Norm::Linf),
            "l2" => Ok(Norm::L2),
            _ => Err(RobustError::Config(format!(
                "unknown norm {s:?}: use linf or l2"
            ))),
        }
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        })
    }
}

/// A threat model `{u' : ||u' - u|| <= eps, 0 <= u' <= 1}`, written `linf:EPS` or `l2:EPS` on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threat {
    /// The ball's norm.
    pub norm: Norm,
    /// The ball's radius, `>= 0`.
    pub eps: f32,
}

/// The valid input box: inputs are scaled to `[0, 1]`.
pub const BOX: (f32, f32) = (0.0, 1.0);

impl Threat {
    /// A threat model, checking the radius.
    pub fn new(norm: Norm, eps: f32) -> Result<Threat, RobustError> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(RobustError::Config(format!(
                "eps = {eps} must be finite and >= 0"
            )));
        }
        Ok(Threat { norm, eps })
    }

    /// Whether `x` lies in the threat set around `center`, up to `tol` on each inequality.
    pub fn contains(&self, center: &[f32], x: &[f32], tol: f32) -> bool {
        x.len() == center.len()
            && x.iter().all(|&v| v >= BOX.0 - tol && v <= BOX.1 + tol)
            && self.norm.dist(x, center) <= self.eps + tol
    }

    /// The threat set around one clean input; the input is first clipped into the box (test sets scaled with the
    /// training set's map may leave it slightly).
    pub fn set(&self, center: &[f32]) -> Result<BallBox, RobustError> {
        let c: Vec<f32> = center.iter().map(|v| v.clamp(BOX.0, BOX.1)).collect();
        Ok(match self.norm {
            Norm::Linf => BallBox::Linf(LinfBallBox::new(c, self.eps, BOX.0, BOX.1)?),
            Norm::L2 => BallBox::L2(L2BallBox::new(c, self.eps, BOX.0, BOX.1)?),
        })
    }

    /// The product of the threat sets around the `m = centers.len() / p` inputs of a batch.
    pub fn batch_set(&self, centers: &[f32], p: usize) -> Result<Product<BallBox>, RobustError> {
        if p == 0 || !centers.len().is_multiple_of(p) {
            return Err(RobustError::Data(format!(
                "a batch of {} values is not a whole number of {p}-feature inputs",
                centers.len()
            )));
        }
        let sets = centers
            .chunks(p)
            .map(|c| self.set(c))
            .collect::<Result<_, _>>()?;
        Ok(Product::new(p, sets)?)
    }
}

impl FromStr for Threat {
    type Err = RobustError;
    /// Parses `linf:0.1` or `l2:1.5`.
    fn from_str(s: &str) -> Result<Threat, RobustError> {
        let (n, e) = s.split_once(':').ok_or_else(|| {
            RobustError::Config(format!("{s:?}: expected NORM:EPS, e.g. linf:0.1"))
        })?;
        let eps: f32 = e
            .trim()
            .parse()
            .map_err(|_| RobustError::Config(format!("{s:?}: eps {e:?} is not a number")))?;
        Threat::new(n.trim().parse()?, eps)
    }
}

impl fmt::Display for Threat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.norm, self.eps)
    }
}

/// One input's threat set: the L-infinity or L2 ball intersected with the box (`wolfpack-optim`'s sets).
#[derive(Clone, Debug)]
pub enum BallBox {
    /// L-infinity ball ∩ box (itself a box).
    Linf(LinfBallBox<f32>),
    /// L2 ball ∩ box.
    L2(L2BallBox<f32>),
}

impl ConstraintSet<f32> for BallBox {
    fn lmo(&self, grad: &[f32], out: &mut Vertex<f32>) -> wolfpack_optim::Result<()> {
        match self {
            BallBox::Linf(s) => s.lmo(grad, out),
            BallBox::L2(s) => s.lmo(grad, out),
        }
    }
    fn project(&self, x: &mut [f32]) -> wolfpack_optim::Result<()> {
        match self {
            BallBox::Linf(s) => s.project(x),
            BallBox::L2(s) => s.project(x),
        }
    }
    fn contains(&self, x: &[f32], tol: f32) -> bool {
        match self {
            BallBox::Linf(s) => s.contains(x, tol),
            BallBox::L2(s) => s.contains(x, tol),
        }
    }
    fn dim(&self) -> Option<usize> {
        match self {
            BallBox::Linf(s) => s.dim(),
            BallBox::L2(s) => s.dim(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let t: Threat = "linf:0.1".parse().unwrap();
        assert_eq!((t.norm, t.eps), (Norm::Linf, 0.1));
        let t: Threat = "L2:1.5".parse().unwrap();
        assert_eq!((t.norm, t.eps), (Norm::L2, 1.5));
        for bad in ["linf", "l3:0.1", "linf:x", "linf:-1", "l2:nan"] {
            assert!(bad.parse::<Threat>().is_err(), "{bad}");
        }
    }

    #[test]
    fn product_set_acts_blockwise() {
        let t = Threat::new(Norm::L2, 0.5).unwrap();
        let c = [0.5f32, 0.5, 0.0, 1.0];
        let set = t.batch_set(&c, 2).unwrap();
        let mut x = vec![3.0f32, 0.5, 0.0, -3.0];
        set.project(&mut x).unwrap();
        assert!(set.contains(&x, 1e-5));
        assert!((x[0] - 1.0).abs() < 1e-4 && (x[1] - 0.5).abs() < 1e-4);
        assert!((x[2]).abs() < 1e-5 && (x[3] - 0.5).abs() < 1e-3);
        let mut v = Vertex::new();
        set.lmo(&[-1.0, 0.0, 0.0, 1.0], &mut v).unwrap();
        let mut s = vec![0.0; 4];
        v.to_dense(&mut s);
        assert!((s[0] - 1.0).abs() < 1e-4 && (s[3] - 0.5).abs() < 1e-3);
        assert!(t.batch_set(&c, 3).is_err());
    }
}
