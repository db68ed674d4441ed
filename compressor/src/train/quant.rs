//! Storage precision of the final weights: what the `.wpk` file will hold, evaluated before it is reported.

use crate::model::{Params, Which};
use half::{bf16, f16};

/// Value type of the stored weight matrices (biases stay f32: they are few): the format's own type, so that the
/// rounding simulated here is the one the writer applies.
pub use wolfpack_format::ValueType as Quant;

fn round_row(row: &mut [f32], q: Quant) {
    match q {
        Quant::F32 => {}
        Quant::F16 => row.iter_mut().for_each(|v| *v = f16::from_f32(*v).to_f32()),
        Quant::Bf16 => row
            .iter_mut()
            .for_each(|v| *v = bf16::from_f32(*v).to_f32()),
        Quant::I8 => {
            let s = row.iter().fold(0.0f32, |a, v| a.max(v.abs())) / 127.0;
            if s > 0.0 {
                row.iter_mut()
                    .for_each(|v| *v = (*v / s).round().clamp(-127.0, 127.0) * s);
            }
        }
    }
}

/// The model as stored with value type `q` (returned dequantised, in f32, for evaluation). Rows of `A` whose rounded
/// L1 norm would exceed `kappa` are first shrunk so that the stored model is exactly as well-posed as the trained one.
/// Rounding may turn tiny weights into zeros; it never creates nonzeros.
pub fn quantise(p: &Params, q: Quant, kappa: f32) -> Params {
    let mut out = p.clone();
    for w in Which::ALL {
        let (_, cols) = out.shape(w);
        let orig = p.mat(w);
        for (r, row) in out.mat_mut(w).chunks_mut(cols.max(1)).enumerate() {
            round_row(row, q);
            if w != Which::A {
                continue;
            }
            let mut shrink = 1.0f32;
            while row.iter().map(|v| v.abs()).sum::<f32>() > kappa && shrink > 0.5 {
                shrink *= 0.999;
                row.copy_from_slice(&orig[r * cols..(r + 1) * cols]);
                row.iter_mut().for_each(|v| *v *= shrink);
                round_row(row, q);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_error_is_within_each_types_precision() {
        let mut p = Params::zeros(4, 3, 2);
        p.b = vec![
            0.1234567, -1.0e-3, 3.3, 0.0, 1.0, -0.5, 0.25, 0.7, -0.07, 0.9, 2.0, -2.0,
        ];
        for (q, rel) in [(Quant::F32, 0.0), (Quant::F16, 1e-3), (Quant::Bf16, 8e-3)] {
            let r = quantise(&p, q, 0.5);
            for (a, b) in p.b.iter().zip(&r.b) {
                assert!((a - b).abs() <= rel * a.abs(), "{q:?}: {a} -> {b}");
            }
        }
        let r = quantise(&p, Quant::I8, 0.5);
        for (row, rrow) in p.b.chunks(4).zip(r.b.chunks(4)) {
            let s = row.iter().fold(0.0f32, |a, v| a.max(v.abs())) / 127.0;
            for (a, b) in row.iter().zip(rrow) {
                assert!((a - b).abs() <= 0.5 * s + 1e-7);
            }
        }
        assert_eq!(r.b[3], 0.0);
    }

    #[test]
    fn stored_a_stays_inside_the_ball() {
        let mut p = Params::zeros(1, 3, 1);
        // Each row sums to 0.9 in f32, but rounding up in bf16 or i8 would leave the ball.
        p.a = vec![0.30078, 0.30078, 0.29844, 0.45, 0.44999, 0.0, 0.9, 0.0, 0.0];
        for q in [Quant::F16, Quant::Bf16, Quant::I8] {
            let r = quantise(&p, q, 0.9);
            assert!(r.kappa() <= 0.9, "{q:?}: {}", r.kappa());
        }
    }
}
