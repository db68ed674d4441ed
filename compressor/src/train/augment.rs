//! Light data augmentation for image inputs: random translations by a few pixels.
//!
//! A translated garment is still the same garment, so training on shifted copies asks the model for some translation
//! tolerance it cannot learn from the centred originals alone (Simard, Steinkraus, Platt 2003, "Best practices for
//! convolutional neural networks applied to visual document analysis", for the same idea on MNIST).

use rand::Rng;

/// Copies the `side x side` row-major image `src` into `dst` translated by `dx` columns and `dy` rows (positive: right
/// and down); pixels shifted in from outside are 0 (the background of the data sets it is meant for).
pub fn shift_image(src: &[f32], dst: &mut [f32], side: usize, dx: isize, dy: isize) {
    debug_assert_eq!(src.len(), side * side);
    debug_assert_eq!(dst.len(), side * side);
    dst.iter_mut().for_each(|v| *v = 0.0);
    let s = side as isize;
    if dx.abs() >= s || dy.abs() >= s {
        return;
    }
    let (c0, c1) = (dx.max(0) as usize, (s + dx.min(0)) as usize);
    for r in dy.max(0)..(s + dy.min(0)) {
        let from = ((r - dy) * s + c0 as isize - dx) as usize;
        let to = r as usize * side;
        dst[to + c0..to + c1].copy_from_slice(&src[from..from + (c1 - c0)]);
    }
}

/// Writes into `dst` the image `src` shifted by independent uniform offsets in `-max..=max` along each axis.
pub fn random_shift(src: &[f32], dst: &mut [f32], side: usize, max: usize, rng: &mut impl Rng) {
    let m = max as i64;
    let (dx, dy) = (rng.random_range(-m..=m), rng.random_range(-m..=m));
    shift_image(src, dst, side, dx as isize, dy as isize);
}

/// The side of a square image of `p` pixels, if `p` is a perfect square.
pub fn square_side(p: usize) -> Option<usize> {
    let s = (p as f64).sqrt().round() as usize;
    (s * s == p).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive definition: `dst[r][c] = src[r - dy][c - dx]` when inside, else 0.
    fn naive(src: &[f32], side: usize, dx: isize, dy: isize) -> Vec<f32> {
        let s = side as isize;
        let mut out = vec![0.0; side * side];
        for r in 0..s {
            for c in 0..s {
                let (sr, sc) = (r - dy, c - dx);
                if (0..s).contains(&sr) && (0..s).contains(&sc) {
                    out[(r * s + c) as usize] = src[(sr * s + sc) as usize];
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn shift_matches_the_naive_definition(side in 1usize..7, dx in -8isize..8, dy in -8isize..8, seed in 0u32..1000) {
            let src: Vec<f32> = (0..side * side).map(|i| (i as u32 * 7 + seed) as f32).collect();
            let mut dst = vec![f32::NAN; side * side];
            shift_image(&src, &mut dst, side, dx, dy);
            prop_assert_eq!(dst, naive(&src, side, dx, dy));
        }
    }

    #[test]
    fn zero_shift_is_a_copy_and_side_is_found() {
        let src: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let mut dst = vec![0.0; 9];
        shift_image(&src, &mut dst, 3, 0, 0);
        assert_eq!(dst, src);
        assert_eq!(square_side(784), Some(28));
        assert_eq!(square_side(785), None);
    }
}
