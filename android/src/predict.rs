//! Predictions through the per-thread scratch: the JVM-free core of the `predict*` natives.
//!
//! A native call passes two closures, one that copies the Java input array into the staging buffer and one
//! that copies the staged output back; everything in between (length checks, the runtime's
//! [`Session::predict_batch`](wolfpack_runtime::Session::predict_batch), statistics) lives here, so it is
//! tested in plain Rust (on aarch64 under qemu too) without a JVM.

use wolfpack_runtime::Error as RuntimeError;

use crate::error::{Error, Result};
use crate::handle::NativeModel;
use crate::scratch::{with_scratch, LastSolve};

/// `per * batch`, the length a buffer of `batch` samples must have, or an error naming `what`.
fn batch_len(what: &'static str, per: usize, batch: usize, found: usize) -> Result<usize> {
    let expected = per
        .checked_mul(batch)
        .ok_or_else(|| Error::InvalidArgument(format!("batch = {batch} makes {what} overflow")))?;
    if found == expected {
        Ok(expected)
    } else {
        Err(RuntimeError::Shape { what, expected, found }.into())
    }
}

impl NativeModel {
    /// Predicts `batch` outputs (sample-major, `batch x q`) for `batch` inputs (`batch x p`).
    ///
    /// `input_len` and `output_len` are the lengths of the caller's arrays, checked before anything is
    /// staged; `fill` writes the inputs into the staging slice and `emit` reads the outputs from it. The
    /// solve's iterations and residual are recorded for this thread and model, also when the solve stops
    /// at its iteration cap ([`RuntimeError::NotConverged`]), so that the caller can inspect a failure.
    pub fn predict_batch(
        &self,
        batch: usize,
        input_len: usize,
        output_len: usize,
        fill: impl FnOnce(&mut [f32]) -> Result<()>,
        emit: impl FnOnce(&[f32]) -> Result<()>,
    ) -> Result<LastSolve> {
        let model = self.model();
        let ni = batch_len("inputs", model.n_inputs(), batch, input_len)?;
        let no = batch_len("outputs", model.n_outputs(), batch, output_len)?;
        with_scratch(|s| {
            s.input.resize(ni, 0.0);
            s.output.resize(no, 0.0);
            fill(&mut s.input[..ni])?;
            match s.session.predict_batch(model, &s.input[..ni], batch, &mut s.output[..no]) {
                Ok(stats) => {
                    s.record(self.id(), stats.into());
                    emit(&s.output[..no])?;
                    Ok(stats.into())
                }
                Err(e) => {
                    if let RuntimeError::NotConverged { iterations, residual, .. } = e {
                        s.record(self.id(), LastSolve { iterations, residual });
                    }
                    Err(e.into())
                }
            }
        })
    }

    /// [`NativeModel::predict_batch`] for one input.
    pub fn predict(
        &self,
        input_len: usize,
        output_len: usize,
        fill: impl FnOnce(&mut [f32]) -> Result<()>,
        emit: impl FnOnce(&[f32]) -> Result<()>,
    ) -> Result<LastSolve> {
        self.predict_batch(1, input_len, output_len, fill, emit)
    }

    /// Index of the largest output for one input (the first one on ties): the class a classifier predicts.
    pub fn classify(&self, input_len: usize, fill: impl FnOnce(&mut [f32]) -> Result<()>) -> Result<usize> {
        let mut best = 0;
        self.predict(input_len, self.model().n_outputs(), fill, |y| {
            best = argmax(y);
            Ok(())
        })?;
        Ok(best)
    }

    /// Iterations and residual of this thread's last prediction with this model (`None` before the first).
    pub fn last_solve(&self) -> Result<Option<LastSolve>> {
        with_scratch(|s| Ok(s.last(self.id())))
    }

    /// The class name of output `index` from the model's metadata.
    pub fn label(&self, index: usize) -> Result<&str> {
        let labels = self.model().labels();
        labels.get(index).map(String::as_str).ok_or_else(|| {
            Error::InvalidArgument(format!("label index {index} is outside the model's {} labels", labels.len()))
        })
    }
}

/// Index of the largest value (the first on ties; 0 for an empty slice). Outputs are finite: the runtime
/// rejects non-finite ones.
pub fn argmax(y: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in y.iter().enumerate() {
        if v > y[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use wolfpack_runtime::{Model, Session};

    use super::*;

    fn sample() -> NativeModel {
        let bytes = wolfpack_runtime::format::sample::sample_model().to_bytes().unwrap();
        NativeModel::from_bytes_copied(&bytes).unwrap()
    }

    fn input(k: usize, p: usize) -> Vec<f32> {
        (0..p).map(|j| ((k * 7 + j * 3) % 11) as f32 / 5.0 - 1.0).collect()
    }

    /// The runtime on its own: the reference the binding must reproduce exactly.
    fn reference(model: &Model, u: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; model.n_outputs()];
        Session::new(model).predict(model, u, &mut y).unwrap();
        y
    }

    #[test]
    fn predict_matches_the_runtime_bit_for_bit() {
        let m = sample();
        let (p, q) = (m.model().n_inputs(), m.model().n_outputs());
        for k in 0..5 {
            let u = input(k, p);
            let mut y = vec![f32::NAN; q];
            let solve = m
                .predict(
                    p,
                    q,
                    |dst| {
                        dst.copy_from_slice(&u);
                        Ok(())
                    },
                    |src| {
                        y.copy_from_slice(src);
                        Ok(())
                    },
                )
                .unwrap();
            assert_eq!(y, reference(m.model(), &u));
            assert_eq!(m.last_solve().unwrap(), Some(solve));
            assert!(solve.residual <= m.model().metadata().solver.tolerance);
        }
    }

    #[test]
    fn batch_equals_single_predictions() {
        let m = sample();
        let (p, q, batch) = (m.model().n_inputs(), m.model().n_outputs(), 5);
        let u: Vec<f32> = (0..batch).flat_map(|k| input(k, p)).collect();
        let mut y = vec![0.0; batch * q];
        m.predict_batch(
            batch,
            u.len(),
            y.len(),
            |dst| {
                dst.copy_from_slice(&u);
                Ok(())
            },
            |src| {
                y.copy_from_slice(src);
                Ok(())
            },
        )
        .unwrap();
        for k in 0..batch {
            let single = reference(m.model(), &u[k * p..(k + 1) * p]);
            for (a, b) in y[k * q..(k + 1) * q].iter().zip(&single) {
                assert!((a - b).abs() <= 1e-6, "sample {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn wrong_lengths_are_named_and_nothing_is_staged() {
        let m = sample();
        let (p, q) = (m.model().n_inputs(), m.model().n_outputs());
        let never = |_: &mut [f32]| -> Result<()> { panic!("fill must not run on a length error") };
        let err = m.predict(p - 1, q, never, |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), format!("inputs has {} values, expected {p}", p - 1));
        let err = m.predict(p, q + 1, never, |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), format!("outputs has {} values, expected {q}", q + 1));
        let err = m.predict_batch(usize::MAX, 0, 0, never, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
        // An empty batch is valid and predicts nothing.
        let mut emitted = None;
        let solve = m
            .predict_batch(
                0,
                0,
                0,
                |_| Ok(()),
                |y| {
                    emitted = Some(y.len());
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!((solve.iterations, emitted), (0, Some(0)));
    }

    #[test]
    fn errors_of_the_closures_and_the_runtime_pass_through() {
        let m = sample();
        let (p, q) = (m.model().n_inputs(), m.model().n_outputs());
        let err = m.predict(p, q, |_| Err(Error::InvalidArgument("from fill".into())), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("from fill"));
        let nan = |dst: &mut [f32]| {
            dst.fill(f32::NAN);
            Ok(())
        };
        let err = m.predict(p, q, nan, |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("not finite"), "{err}");
    }

    #[test]
    fn classify_is_the_argmax_and_labels_come_from_the_metadata() {
        let m = sample();
        let p = m.model().n_inputs();
        let u = input(3, p);
        let class = m
            .classify(p, |dst| {
                dst.copy_from_slice(&u);
                Ok(())
            })
            .unwrap();
        assert_eq!(class, argmax(&reference(m.model(), &u)));
        assert_eq!(m.label(0).unwrap(), "alpha");
        assert_eq!(m.label(2).unwrap(), "gamma");
        assert!(m.label(3).unwrap_err().to_string().contains("outside the model's 3 labels"));
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, -1.0]), 1);
        assert_eq!(argmax(&[-3.0]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn threads_share_a_model_with_their_own_statistics() {
        let m = std::sync::Arc::new(sample());
        let (p, q) = (m.model().n_inputs(), m.model().n_outputs());
        let expected: Vec<Vec<f32>> = (0..4).map(|k| reference(m.model(), &input(k, p))).collect();
        let workers: Vec<_> = (0..4)
            .map(|k| {
                let m = m.clone();
                std::thread::spawn(move || {
                    assert_eq!(m.last_solve().unwrap(), None, "a new thread has no last solve");
                    let u = input(k, p);
                    let mut y = vec![0.0; q];
                    for _ in 0..200 {
                        m.predict(
                            p,
                            q,
                            |d| {
                                d.copy_from_slice(&u);
                                Ok(())
                            },
                            |s| {
                                y.copy_from_slice(s);
                                Ok(())
                            },
                        )
                        .unwrap();
                    }
                    y
                })
            })
            .collect();
        for (k, w) in workers.into_iter().enumerate() {
            assert_eq!(w.join().unwrap(), expected[k]);
        }
    }
}
