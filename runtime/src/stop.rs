//! [`Stop`]: when a fixed-point iteration stops, the same test for every method, single inputs and batches.
//!
//! An iteration stops after the first sweep (or Picard / Anderson step) whose update `u_k = ||x_k - x_{k-1}||_inf`
//! meets
//!
//! ```text
//! u_k <= tol,   or   u_k <= RESOLUTION (1 - kappa) ||x_k||_inf  with  u_k >= min_{j < k-1} u_j  and  u_{k-1} >= min_{j < k-1} u_j
//! ```
//!
//! (`RESOLUTION = 4 f32::EPSILON = 2^-21`, `kappa` the model's certified bound on `||A||_inf`: the update is within
//! a few ulps of the state's largest value, scaled by the contraction margin, and the last two sweeps found no
//! smaller update than before them), and at the iteration cap it has converged if
//! `u <= max(tol, RESOLUTION (1 - kappa) ||x||_inf)`. The norms run over the units the iteration updates (all of `x`, or
//! the rows of one component of the block-triangular solve) and, for a batch, over each input's own lanes: a
//! batch stops when every input meets the test with its own state.
//!
//! Why the second clause: the states are `f32`, so near the fixed point each row evaluation is exact only to a
//! few units in the last place of its terms, and for `||A||_inf <= kappa < 1` those terms are within
//! `(1 + 2 kappa) ||x||_inf` for every active unit (`|z_i| <= x_i + kappa ||x||` when `x_i = z_i + A_i x > 0`).
//! An update below that resolution cannot be forced, so an absolute tolerance below it (1e-5 for states of a few
//! hundred, whose spacing is 1.5e-5 to 3e-5) failed on states that had converged as far as the arithmetic
//! allows: the iteration ends in a cycle of one or two ulps (on the random 10,000-weight stand-in with raw 0-255
//! images the update stalled at exactly 2^-16, `docs/BENCHMARKS.md`). In exact arithmetic the update of a
//! max-norm contraction shrinks by `kappa` every sweep, so two sweeps without a new smallest update mean that
//! rounding has taken over (for Picard and Gauss-Seidel sweeps; Anderson's extrapolated steps need not shrink
//! monotonically even in exact arithmetic, so for them a stall is only a hint, but what the floor accepts is
//! bounded the same way, below); the floor waits for that, so an iteration that still makes progress goes on to the
//! tolerance as it did with the absolute test alone, and one that cycles stops two sweeps into its cycle. It is
//! the relative part of the mixed test of numerical solvers (`atol + rtol |x|` in SciPy and SUNDIALS), set at
//! the arithmetic's floor instead of a second user setting; `tol = 0` asks for "as close as `f32` allows".
//!
//! Why `1 - kappa`: a stall is not proof that rounding has taken over. A slow contraction (kappa 0.9999) in `f32`
//! repeats the same quantised update of a few ulps for thousands of sweeps while every one still moves the state
//! the same way; with the floor at `RESOLUTION ||x||` alone it stopped there with an error of 0.5-5% of the state
//! (found in review, simulated step by step in `f32`). For a max-norm contraction the error after an update `u`
//! is at most `u kappa / (1 - kappa)`, so the floor `RESOLUTION (1 - kappa) ||x||` certifies an error within
//! `RESOLUTION ||x||`; when `1 - kappa` is so small that no `f32` update can reach it, only the tolerance stops
//! the iteration, and a model that cannot meet it is reported as not converged, as before the floor existed.
//!
//! The factor 4: with it (before the `1 - kappa` scaling), or even with 1 and no stall clause, each of 400 random
//! sparse contractions (48-256 units, kappa 0.5 to 0.97, inputs scaled to states in the hundreds to thousands,
//! tolerance 1e-5) converged under every method; on the first 48 of them the absolute test alone had failed 16
//! times, under every method 5 times. With the scaling, contractions with kappa well above 0.5 and large states
//! fall back to the absolute tolerance.

use crate::kernels::{larger, Kernels};

/// Relative resolution of the stopping test: 4 units in the last place of 1, `2^-21`, about `4.8e-7`.
pub(crate) const RESOLUTION: f32 = 4.0 * f32::EPSILON;

/// The tolerance and iteration cap of one solve, after the caller's overrides, and the contraction bound that
/// scales the floor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Stop {
    /// Absolute tolerance on the update `||x_{k+1} - x_k||_inf` (finite, non-negative).
    pub(crate) tol: f32,
    /// Most sweeps or steps (at least 1).
    pub(crate) cap: u32,
    /// A bound on `||A||_inf` over the iterated rows (the model's certified kappa); the floor is
    /// `RESOLUTION (1 - kappa) ||x||_inf`, so 1 (or more) turns it off.
    pub(crate) kappa: f32,
    /// `RESOLUTION * (1 - kappa)`, clamped to `[0, RESOLUTION]`.
    floor: f32,
}

impl Stop {
    /// The test for tolerance `tol`, at most `cap` sweeps, on rows whose `||A||_inf` is at most `kappa`.
    pub(crate) fn new(tol: f32, cap: u32, kappa: f32) -> Stop {
        let margin = (1.0 - kappa).clamp(0.0, 1.0);
        Stop {
            tol,
            cap,
            kappa,
            floor: RESOLUTION * if margin.is_nan() { 0.0 } else { margin },
        }
    }

    /// The update a state of infinity norm `scale` must reach at the cap: `max(tol, RESOLUTION (1 - kappa) scale)`.
    pub(crate) fn threshold(self, scale: f32) -> f32 {
        larger(self.tol, self.floor * scale)
    }

    /// Whether `update` (or a true residual) is within [`Stop::threshold`] of the state whose infinity norm
    /// `scale` returns: the test at the cap, without the stagnation clause. `scale` runs only when the update is
    /// above the absolute tolerance; false for a NaN update.
    pub(crate) fn met(self, update: f32, scale: impl FnOnce() -> f32) -> bool {
        update <= self.tol || (update.is_finite() && update <= self.floor * scale())
    }

    /// The test over the successive updates of one iteration (see [`Running::met`]).
    pub(crate) fn running(self) -> Running {
        Running {
            stop: self,
            stall: Stall::default(),
            bound: f32::INFINITY,
            sweeps: 0,
        }
    }
}

/// The stall clause of one input: the smallest update before the last sweep and how many sweeps in a row have
/// not gone below it.
#[derive(Clone, Copy, Debug)]
struct Stall {
    best: f32,
    stalls: u32,
}

impl Default for Stall {
    fn default() -> Stall {
        Stall {
            best: f32::INFINITY,
            stalls: 0,
        }
    }
}

impl Stall {
    /// Whether `update`, the latest, makes two sweeps in a row without a new smallest update.
    fn stalled(self, update: f32) -> bool {
        self.stalls >= 1 && update >= self.best
    }

    /// Takes `update` into the history.
    fn push(&mut self, update: f32) {
        if update < self.best {
            self.best = update;
            self.stalls = 0;
        } else {
            self.stalls += 1;
        }
    }
}

/// The stopping test over the sweeps of one iteration: the stall clause's history, and an upper bound on
/// `||x||_inf` carried from sweep to sweep (`||x_{k+1}|| <= ||x_k|| + u_{k+1}`), so that the norm itself is
/// computed only when the update has stalled within `RESOLUTION` of that bound: a pass over the state per sweep
/// would cost about as much as a sweep's row updates on small models.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Running {
    stop: Stop,
    stall: Stall,
    bound: f32,
    /// Updates seen: at the cap the floor applies without the stall clause.
    sweeps: u32,
}

impl Running {
    /// Whether the sweep that changed the state by `update` stops the iteration (the module's test); `scale`
    /// returns the state's infinity norm now. False for a NaN update, which the loops stop on anyway.
    pub(crate) fn met(&mut self, update: f32, scale: impl FnOnce() -> f32) -> bool {
        self.sweeps += 1;
        if update <= self.stop.tol {
            return true;
        }
        let stalled = self.stall.stalled(update) || self.sweeps >= self.stop.cap;
        self.stall.push(update);
        let bound = self.bound + update;
        if stalled && update <= self.stop.floor * bound {
            self.bound = scale();
            update <= self.stop.floor * self.bound
        } else {
            self.bound = bound;
            false
        }
    }
}

/// `max_i |x_i|` (0 when empty).
pub(crate) fn norm_inf(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, &v| larger(m, v.abs()))
}

/// `max_{i in rows} |x_i|`; every entry of `rows` must be below `x.len()`.
pub(crate) fn norm_inf_rows(x: &[f32], rows: &[u32]) -> f32 {
    rows.iter()
        .fold(0.0, |m, &i| larger(m, x[i as usize].abs()))
}

/// The stopping test of a batch (`batch` lanes per row), input by input.
///
/// Recording every input's change and value costs a pass over the state with three extra arrays per sweep, which
/// made batch-64 Picard steps on the random 1k model 35-55% slower; so the test starts with the batch's largest
/// change alone (the kernels' `relu_step`), which decides as long as it keeps decreasing or is above the
/// resolution of the batch's largest state: at most the tolerance, every input is; while it still finds new
/// minima, or above `2^-21` of the largest state, the input it belongs to cannot meet the stall clause. From the
/// first sweep where it could (the largest change stalled within that resolution: the only time the batch's norm
/// is computed), the per-input changes, values and stall histories are recorded, so an input's stall clause counts
/// from there: it may stop a few sweeps later than with a full history, never earlier.
pub(crate) struct Lanes<'s> {
    update: &'s mut [f32],
    scale: &'s mut [f32],
    /// The stall histories: each input's smallest recorded update before the last sweep, and the sweeps in a row
    /// that have not gone below it (a count kept as `f32` so that all the statistics share one scratch buffer).
    best: &'s mut [f32],
    stalls: &'s mut [f32],
    /// Sweeps started: at the cap the floor applies without the stall clause.
    sweeps: u32,
    /// Per-input statistics are recorded (see the type's documentation), and for how many sweeps.
    active: bool,
    recorded: u32,
    /// While not active: the sweep's largest change, and its stall history.
    largest: f32,
    global: Stall,
}

impl<'s> Lanes<'s> {
    /// Floats of scratch [`Lanes::new`] takes per input.
    pub(crate) const PER_INPUT: usize = 4;

    /// The test over `scratch` (at least `PER_INPUT * batch` floats), before the first sweep.
    pub(crate) fn new(scratch: &'s mut [f32], batch: usize) -> Lanes<'s> {
        let (update, rest) = scratch.split_at_mut(batch);
        let (scale, rest) = rest.split_at_mut(batch);
        let (best, rest) = rest.split_at_mut(batch);
        let stalls = &mut rest[..batch];
        let mut lanes = Lanes {
            update,
            scale,
            best,
            stalls,
            sweeps: 0,
            active: false,
            recorded: 0,
            largest: 0.0,
            global: Stall::default(),
        };
        lanes.restart();
        lanes
    }

    /// Forgets everything: a new iteration (the next component of the block plan) starts.
    pub(crate) fn restart(&mut self) {
        self.update.fill(0.0);
        self.scale.fill(0.0);
        self.best.fill(f32::INFINITY);
        self.stalls.fill(0.0);
        self.sweeps = 0;
        self.active = false;
        self.recorded = 0;
        self.largest = 0.0;
        self.global = Stall::default();
    }

    /// Inputs in the batch.
    pub(crate) fn batch(&self) -> usize {
        self.update.len()
    }

    /// Whether per-input statistics are recorded (callers that compute their own step use [`Lanes::record`] then,
    /// else [`Lanes::add_update`]).
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    /// The stall history of input `b`.
    fn stall(&self, b: usize) -> Stall {
        Stall {
            best: self.best[b],
            stalls: self.stalls[b] as u32,
        }
    }

    /// Starts a sweep: the last recorded sweep's changes go into the stall histories.
    pub(crate) fn next_sweep(&mut self) {
        self.sweeps += 1;
        self.largest = 0.0;
        if self.active {
            if self.recorded > 0 {
                for b in 0..self.batch() {
                    let mut h = self.stall(b);
                    h.push(self.update[b]);
                    self.best[b] = h.best;
                    self.stalls[b] = h.stalls as f32;
                }
            }
            self.recorded += 1;
            self.update.fill(0.0);
            self.scale.fill(0.0);
        }
    }

    /// `x <- relu(t)` over rows of `batch` lanes (`t`, `x`: one or more whole rows, unit-major), recording the
    /// changes (each lane's, and its largest value, when active). NaN entries of `t` become 0, as in
    /// `Kernels::relu_step`.
    pub(crate) fn relu_step(&mut self, k: Kernels, t: &[f32], x: &mut [f32]) {
        if !self.active {
            self.largest = larger(self.largest, k.relu_step(t, x));
            return;
        }
        let batch = self.update.len();
        for (tr, xr) in t.chunks_exact(batch).zip(x.chunks_exact_mut(batch)) {
            for (((&ti, xi), u), s) in tr
                .iter()
                .zip(xr.iter_mut())
                .zip(self.update.iter_mut())
                .zip(self.scale.iter_mut())
            {
                let new = larger(0.0, ti);
                *u = larger(*u, (new - *xi).abs());
                *s = larger(*s, new);
                *xi = new;
            }
        }
    }

    /// Records a change of `update` to a value `value` in lane `b` (when active, for callers that compute their
    /// own step).
    pub(crate) fn record(&mut self, b: usize, update: f32, value: f32) {
        self.update[b] = larger(self.update[b], update);
        self.scale[b] = larger(self.scale[b], value.abs());
    }

    /// Records a change of `update` somewhere in the batch (when not active).
    pub(crate) fn add_update(&mut self, update: f32) {
        self.largest = larger(self.largest, update);
    }

    /// The largest change over the batch in this sweep (what the statistics report as the update).
    pub(crate) fn largest_update(&self) -> f32 {
        if self.active {
            self.update.iter().copied().fold(0.0, larger)
        } else {
            self.largest
        }
    }

    /// Whether every input meets the module's test with its own state (at the cap: is within
    /// [`Stop::threshold`]); `norm` returns the batch's `||x||_inf` (needed only once the largest change stalls).
    pub(crate) fn met(&mut self, stop: Stop, norm: impl FnOnce() -> f32) -> bool {
        let at_cap = self.sweeps >= stop.cap;
        if self.active {
            return (0..self.batch()).all(|b| {
                let (u, s) = (self.update[b], self.scale[b]);
                u <= stop.tol || ((self.stall(b).stalled(u) || at_cap) && u <= stop.floor * s)
            });
        }
        let u = self.largest;
        if u <= stop.tol {
            return true;
        }
        let stalled = self.global.stalled(u);
        self.global.push(u);
        if stalled && u.is_finite() {
            // From the next sweep on, input by input (at the cap there is none: not converged).
            self.active = u <= stop.floor * norm();
        }
        false
    }

    /// The largest threshold ([`Stop::threshold`]) an input missed, for the error at the cap (`stop.tol` when
    /// none did); `norm` as for [`Lanes::met`].
    pub(crate) fn missed_threshold(&self, stop: Stop, norm: impl FnOnce() -> f32) -> f32 {
        if !self.active {
            return stop.threshold(norm());
        }
        self.update
            .iter()
            .zip(self.scale.iter())
            .filter(|(&u, &s)| u.is_nan() || u > stop.threshold(s))
            .map(|(_, &s)| stop.threshold(s))
            .fold(stop.tol, larger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_lifts_only_tolerances_below_the_resolution() {
        let stop = Stop::new(1e-5, 10, 0.0);
        // States of a few hundred: one ulp of 200 (2^-16) is above 1e-5 but within the resolution.
        assert!(stop.met(2f32.powi(-16), || 200.0));
        assert!(!stop.met(2f32.powi(-16), || 1.0));
        // States of about 1: the tolerance decides.
        assert!(stop.met(1e-5, || 1.0) && !stop.met(1.1e-5, || 1.0));
        assert_eq!(stop.threshold(1.0), 1e-5);
        assert_eq!(stop.threshold(1024.0), 1024.0 * RESOLUTION);
        // Not finite: never met, whatever the scale says.
        assert!(!stop.met(f32::NAN, || f32::INFINITY));
        assert!(!stop.met(f32::INFINITY, || f32::INFINITY));
        // Tolerance 0: the arithmetic's resolution.
        let exact = Stop::new(0.0, 10, 0.0);
        assert!(exact.met(0.0, || 0.0) && exact.met(1e-7, || 1.0) && !exact.met(1e-5, || 1.0));
    }

    #[test]
    fn the_running_test_waits_for_a_stall_and_computes_the_norm_only_then() {
        let stop = Stop::new(1e-5, 20, 0.0);
        let mut running = stop.running();
        let mut norms = 0;
        // A converging iteration on states of about 300 that ends in a cycle of one ulp (3.05e-5): large updates,
        // then the ulp; its first time is a new smallest update, the next two are not.
        let ulp = 300f32.next_up() - 300.0;
        for (update, want) in [
            (100.0, false),
            (1.0, false),
            (1e-2, false),
            (ulp, false),
            (ulp, false),
            (ulp, true),
        ] {
            let met = running.met(update, || {
                norms += 1;
                300.0
            });
            assert_eq!(met, want, "update {update}");
        }
        assert_eq!(norms, 1, "the norm is needed only for the stalled update");
        // Within the resolution but still finding smaller updates now and then: goes on to the tolerance.
        let mut running = stop.running();
        for (update, want) in [
            (1e-4, false),
            (5e-5, false),
            (6e-5, false),
            (4e-5, false),
            (1e-5, true),
        ] {
            assert_eq!(running.met(update, || 300.0), want, "update {update}");
        }
        // An update that stalls above the resolution is not converged.
        let mut running = stop.running();
        assert!((0..5).all(|_| !running.met(1.0, || 300.0)));
        assert!(!running.met(f32::NAN, || 1.0));
        assert!(running.met(0.0, || unreachable!("within the tolerance")));
    }

    /// A slow contraction in `f32` repeats the same quantised update for thousands of sweeps while it still moves
    /// the state the same way (kappa 0.9999 at states near 300: an update of a few ulps, an error 1e-4 times
    /// larger). The floor scales with `1 - kappa`, so the update it accepts bounds the error, `||x - x*|| <=
    /// u / (1 - kappa) <= RESOLUTION ||x||`: here nothing but the tolerance can stop it, as before the floor.
    #[test]
    fn the_floor_shrinks_with_the_contraction_margin() {
        let ulp = 300f32.next_up() - 300.0;
        let slow = Stop::new(1e-5, 1_000, 0.9999);
        assert!(!slow.met(4.0 * ulp, || 300.0));
        let mut running = slow.running();
        assert!((0..999).all(|_| !running.met(4.0 * ulp, || 300.0)));
        assert!(!running.met(4.0 * ulp, || 300.0), "not even at the cap");
        assert_eq!(slow.threshold(300.0), 1e-5);
        // kappa 1 (or a NaN) turns the floor off; kappa 0.5 halves it.
        assert_eq!(Stop::new(0.0, 1, 1.0).threshold(1e6), 0.0);
        assert_eq!(Stop::new(0.0, 1, f32::NAN).threshold(1e6), 0.0);
        assert_eq!(Stop::new(0.0, 1, 0.5).threshold(1024.0), 512.0 * RESOLUTION);
    }

    #[test]
    fn at_the_cap_the_floor_applies_without_a_stall() {
        let stop = Stop::new(1e-5, 2, 0.0);
        let ulp = 300f32.next_up() - 300.0;
        let mut running = stop.running();
        assert!(!running.met(1.0, || 300.0));
        assert!(running.met(ulp, || 300.0), "still decreasing, but the cap");
        let mut running = stop.running();
        assert!(!running.met(1.0, || 300.0) && !running.met(0.5, || 300.0));
    }

    #[test]
    fn lanes_test_every_input_with_its_own_state() {
        let stop = Stop::new(1e-5, 10, 0.0);
        let k = Kernels::detect();
        let mut scratch = vec![f32::NAN; 2 * Lanes::PER_INPUT];
        let mut lanes = Lanes::new(&mut scratch, 2);
        // Two units x two inputs: input 0 (300, 0.5) moved by an ulp of 300, input 1 (1, 0.25) by 0.25: far from
        // the resolution of the largest state, decided on the largest change alone.
        let mut x = [300.0, 1.0, 0.5, 0.25];
        let t = [300f32.next_up(), 1.00002, 0.5, -1.0];
        lanes.next_sweep();
        lanes.relu_step(k, &t, &mut x);
        assert_eq!(x, [300f32.next_up(), 1.00002, 0.5, 0.0]);
        assert_eq!(lanes.largest_update(), 0.25);
        // Decreasing: no norm needed.
        assert!(!lanes.met(stop, || unreachable!("still decreasing")));
        assert!(!lanes.active());
        // Before recording, the error names the threshold of the largest state.
        assert_eq!(
            lanes.missed_threshold(stop, || 300.0),
            stop.threshold(300.0)
        );
        lanes.next_sweep();
        lanes.add_update(0.1);
        assert!(!lanes.met(stop, || unreachable!("still decreasing")));
        // Within the tolerance everywhere: met without recording.
        lanes.next_sweep();
        lanes.add_update(1e-6);
        assert!(lanes.met(stop, || unreachable!("within the tolerance")));
        // The largest change stalls at an ulp of 300, within the resolution of the largest state: from the sweep
        // after its second repeat, input by input.
        let ulp = 300f32.next_up() - 300.0;
        for _ in 0..2 {
            lanes.next_sweep();
            lanes.add_update(ulp);
            assert!(!lanes.met(stop, || unreachable!("not stalled yet")) && !lanes.active());
        }
        lanes.next_sweep();
        lanes.add_update(ulp);
        assert!(!lanes.met(stop, || 300.0) && lanes.active());
        // Input 0 keeps moving by its ulp, input 1 meets the tolerance: the batch stops once input 0 has gone two
        // recorded sweeps without a smaller change.
        for want in [false, false, true] {
            lanes.next_sweep();
            lanes.record(0, ulp, 300.0);
            lanes.record(1, 1e-6, 1.0);
            assert_eq!(lanes.met(stop, || 300.0), want);
        }
        // Input 1 stalls above its threshold: not converged, and the error names its threshold.
        for _ in 0..3 {
            lanes.next_sweep();
            lanes.record(0, 0.0, 300.0);
            lanes.record(1, 1e-3, 1.0);
            assert!(!lanes.met(stop, || 300.0));
        }
        assert_eq!(lanes.missed_threshold(stop, || 300.0), 1e-5);
        // A restart forgets it all.
        lanes.restart();
        assert!(!lanes.active() && lanes.largest_update() == 0.0);
    }
}
