//! Per-thread scratch: one runtime [`Session`] and the input/output staging buffers of every native call
//! made on a thread, plus the solver statistics of that thread's last prediction with each model.
//!
//! A `Session` resizes to whatever model it is given, so one per thread serves every model the thread uses;
//! after the first call of a given shape, predictions allocate nothing. Keeping it in Rust thread-local
//! storage (instead of a Java `ThreadLocal` of native handles) means no session can outlive or race its
//! owner: it is freed when the thread exits.

use std::cell::RefCell;

use wolfpack_runtime::{Session, SolveStats};

use crate::error::{Error, Result};

/// How many models' last statistics a thread remembers (oldest forgotten first); apps use one or two.
const REMEMBERED_MODELS: usize = 8;

/// Iterations and final update of one solve, as reported to Java.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LastSolve {
    /// Fixed-point iterations (sweeps) run; 1 for direct and triangular (feed-forward) solves.
    pub iterations: u32,
    /// Last update `||x_{k+1} - x_k||_inf` (0 for the exact direct and triangular solves).
    pub residual: f32,
}

impl From<SolveStats> for LastSolve {
    fn from(s: SolveStats) -> LastSolve {
        LastSolve { iterations: s.iterations, residual: s.residual }
    }
}

/// The scratch of one thread.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The runtime's solver scratch.
    pub session: Session,
    /// Staging for inputs copied out of Java arrays.
    pub input: Vec<f32>,
    /// Staging for outputs copied into Java arrays.
    pub output: Vec<f32>,
    last: Vec<(u64, LastSolve)>,
}

impl Scratch {
    /// Records the last solve of model `id` on this thread.
    pub fn record(&mut self, id: u64, solve: LastSolve) {
        if let Some(i) = self.last.iter().position(|&(m, _)| m == id) {
            self.last.remove(i);
        } else if self.last.len() == REMEMBERED_MODELS {
            self.last.remove(0);
        }
        self.last.push((id, solve));
    }

    /// The last solve of model `id` on this thread, if any.
    pub fn last(&self, id: u64) -> Option<LastSolve> {
        self.last.iter().rev().find(|&&(m, _)| m == id).map(|&(_, s)| s)
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch.
///
/// Fails (instead of panicking) if the thread is being torn down or if `f` re-enters (neither happens from a
/// JNI call, which cannot call back into Java while it holds the scratch).
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> Result<R>) -> Result<R> {
    SCRATCH
        .try_with(|cell| {
            let mut scratch =
                cell.try_borrow_mut().map_err(|_| Error::InvalidArgument("re-entrant call on one thread".into()))?;
            f(&mut scratch)
        })
        .unwrap_or_else(|_| Err(Error::InvalidArgument("thread-local scratch is gone (thread exiting)".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(iterations: u32) -> LastSolve {
        LastSolve { iterations, residual: iterations as f32 * 0.5 }
    }

    #[test]
    fn last_solve_is_per_model_and_bounded() {
        let mut s = Scratch::default();
        assert_eq!(s.last(1), None);
        s.record(1, solve(3));
        s.record(2, solve(4));
        s.record(1, solve(5));
        assert_eq!(s.last(1), Some(solve(5)));
        assert_eq!(s.last(2), Some(solve(4)));
        for id in 10..10 + REMEMBERED_MODELS as u64 {
            s.record(id, solve(1));
        }
        assert_eq!(s.last.len(), REMEMBERED_MODELS);
        assert_eq!(s.last(1), None, "the oldest model is forgotten first");
        assert_eq!(s.last(10), Some(solve(1)));
    }

    #[test]
    fn scratch_is_per_thread() {
        with_scratch(|s| {
            s.record(7, solve(2));
            Ok(())
        })
        .unwrap();
        let other = std::thread::spawn(|| with_scratch(|s| Ok(s.last(7)))).join().unwrap().unwrap();
        assert_eq!(other, None);
        assert_eq!(with_scratch(|s| Ok(s.last(7))).unwrap(), Some(solve(2)));
    }

    #[test]
    fn re_entry_is_an_error_not_a_panic() {
        let err = with_scratch(|_| with_scratch(|_| Ok(()))).unwrap_err();
        assert!(err.to_string().contains("re-entrant"), "{err}");
    }
}
