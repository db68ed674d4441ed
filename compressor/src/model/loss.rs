//! Softmax cross-entropy with hard labels, soft (teacher) targets, or a mix of both.

/// Index of the largest value (the first one on ties).
pub fn argmax(y: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in y.iter().enumerate() {
        if *v > y[best] {
            best = i;
        }
    }
    best as u32
}

/// Writes `softmax(y / t)` row by row into `out` (`q` classes per row), computed stably by shifting by the row max.
pub fn softmax(y: &[f32], q: usize, t: f32, out: &mut [f32]) {
    for (yr, or) in y.chunks(q).zip(out.chunks_mut(q)) {
        let mx = yr.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut s = 0.0;
        for (o, v) in or.iter_mut().zip(yr) {
            *o = ((v - mx) / t).exp();
            s += *o;
        }
        or.iter_mut().for_each(|o| *o /= s);
    }
}

/// Mean cross-entropy of logits `y` (`m x q`) against labels, and its gradient `dL/dy` written to `grad`.
///
/// `L = (1/m) sum_i [ (1 - w) CE(softmax(y_i), e_{label_i}) + w T^2 CE(softmax(y_i / T), s_i) ]`, the distillation
/// loss of Hinton, Vinyals, Dean (2015) when `soft = Some((s, w, T))` holds teacher probabilities `s` at temperature
/// `T`; the `T^2` keeps the soft gradient's scale independent of `T`. Returns the hard-label loss part's mean.
pub fn cross_entropy(
    y: &[f32],
    q: usize,
    labels: &[u32],
    soft: Option<(&[f32], f32, f32)>,
    grad: &mut [f32],
) -> f32 {
    let m = labels.len();
    softmax(y, q, 1.0, grad);
    let mut total = 0.0f64;
    let hard_w = soft.map_or(1.0, |(_, w, _)| 1.0 - w);
    for (gr, &t) in grad.chunks_mut(q).zip(labels) {
        total -= f64::from(gr[t as usize].max(1e-30).ln());
        gr[t as usize] -= 1.0;
        gr.iter_mut().for_each(|g| *g *= hard_w / m as f32);
    }
    if let Some((s, w, temp)) = soft {
        let mut ps = vec![0.0; y.len()];
        softmax(y, q, temp, &mut ps);
        let k = w * temp / m as f32; // d/dy of T^2 CE(softmax(y/T), s) = T (softmax(y/T) - s)
        for ((g, p), s) in grad.iter_mut().zip(&ps).zip(s) {
            *g += k * (p - s);
        }
    }
    (total / m.max(1) as f64) as f32
}

/// Turns the hard-label gradient written by [`cross_entropy`] (without soft targets) into that of label smoothing
/// (Szegedy et al. 2016, "Rethinking the Inception architecture"): the target of example `i` becomes
/// `(1 - eps) e_{label_i} + eps / q`, so `dL/dy_i = softmax(y_i) - target_i` gains `(eps / m) (e_{label_i} - 1 / q)`.
pub fn smooth_labels(grad: &mut [f32], q: usize, labels: &[u32], eps: f32) {
    let k = eps / labels.len().max(1) as f32;
    for (gr, &t) in grad.chunks_mut(q).zip(labels) {
        gr.iter_mut().for_each(|g| *g -= k / q as f32);
        gr[t as usize] += k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let y = [0.3f32, -1.2, 2.0, 0.1, 0.5, -0.4];
        let labels = [2u32, 0];
        let teacher = [0.1f32, 0.2, 0.7, 0.5, 0.25, 0.25];
        let loss = |y: &[f32]| {
            let mut g = vec![0.0; 6];
            let hard = cross_entropy(y, 3, &labels, None, &mut g);
            let mut ps = vec![0.0; 6];
            softmax(y, 3, 2.0, &mut ps);
            let soft: f32 = ps
                .iter()
                .zip(&teacher)
                .map(|(p, s)| -s * p.ln())
                .sum::<f32>()
                / 2.0;
            0.7 * hard + 0.3 * 4.0 * soft
        };
        let mut g = vec![0.0; 6];
        cross_entropy(&y, 3, &labels, Some((&teacher, 0.3, 2.0)), &mut g);
        for i in 0..6 {
            let (mut a, mut b) = (y, y);
            a[i] += 1e-2;
            b[i] -= 1e-2;
            let fd = (loss(&a) - loss(&b)) / 2e-2;
            assert!((fd - g[i]).abs() < 1e-3, "{i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn smoothing_matches_the_gradient_of_smoothed_targets() {
        let y = [0.3f32, -1.2, 2.0, 0.1, 0.5, -0.4];
        let labels = [2u32, 0];
        let eps = 0.1;
        let mut g = vec![0.0; 6];
        cross_entropy(&y, 3, &labels, None, &mut g);
        smooth_labels(&mut g, 3, &labels, eps);
        let mut p = vec![0.0; 6];
        softmax(&y, 3, 1.0, &mut p);
        for (i, (gi, pi)) in g.iter().zip(&p).enumerate() {
            let hot = if labels[i / 3] as usize == i % 3 {
                1.0
            } else {
                0.0
            };
            let target = (1.0 - eps) * hot + eps / 3.0;
            assert!((gi - (pi - target) / 2.0).abs() < 1e-6, "{i}: {gi}");
        }
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
