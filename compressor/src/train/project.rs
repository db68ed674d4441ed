//! Euclidean projection onto the L1 ball, row by row: how `A` is kept well-posed by steps that are not
//! Frank-Wolfe steps (Duchi, Shalev-Shwartz, Singer, Chandra 2008, "Efficient projections onto the l1-ball").

/// Projects every row of `w` (`cols` wide) onto `{x : ||x||_1 <= r}`. Rows already inside are untouched; others are
/// soft-thresholded at the `theta` that lands exactly on the sphere, which only shrinks entries (zeros stay zero).
pub fn rows_onto_l1_ball(w: &mut [f32], cols: usize, r: f32) {
    for row in w.chunks_mut(cols.max(1)) {
        let norm: f32 = row.iter().map(|v| v.abs()).sum();
        if norm <= r {
            continue;
        }
        let mut mags: Vec<f32> = row.iter().map(|v| v.abs()).filter(|v| *v > 0.0).collect();
        mags.sort_by(|a, b| b.total_cmp(a));
        let (mut cum, mut theta) = (0.0f32, 0.0f32);
        for (i, &m) in mags.iter().enumerate() {
            cum += m;
            let t = (cum - r) / (i + 1) as f32;
            if m > t {
                theta = t;
            } else {
                break;
            }
        }
        for v in row.iter_mut() {
            *v = v.signum() * (v.abs() - theta).max(0.0);
        }
        // Rounding may leave the row a hair outside; scale it in so that kappa < 1 holds exactly.
        let after: f32 = row.iter().map(|v| v.abs()).sum();
        if after > r {
            let s = r / after * (1.0 - f32::EPSILON);
            row.iter_mut().for_each(|v| *v *= s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Oracle: the projection is inside the ball and no other point of the ball that we try is closer.
        #[test]
        fn projection_is_feasible_and_nearest(x in proptest::collection::vec(-3.0f32..3.0, 6), r in 0.1f32..2.0,
                                              probe in proptest::collection::vec(-1.0f32..1.0, 6)) {
            let mut y = x.clone();
            rows_onto_l1_ball(&mut y, 6, r);
            prop_assert!(y.iter().map(|v| v.abs()).sum::<f32>() <= r);
            let s: f32 = probe.iter().map(|v| v.abs()).sum();
            let z: Vec<f32> = probe.iter().map(|v| v * r / s.max(r)).collect();
            let d = |a: &[f32]| a.iter().zip(&x).map(|(p, q)| (p - q) * (p - q)).sum::<f32>();
            prop_assert!(d(&y) <= d(&z) + 1e-4);
        }
    }

    #[test]
    fn inside_rows_are_untouched_and_zeros_stay_zero() {
        let mut w = vec![0.1, 0.0, -0.2, 3.0, 0.0, -1.0];
        rows_onto_l1_ball(&mut w, 3, 0.5);
        assert_eq!(&w[..3], &[0.1, 0.0, -0.2]);
        assert_eq!(w[4], 0.0);
        assert!((w[3] - 0.5).abs() < 1e-6 && w[5] == 0.0);
    }
}
