//! The fixed-point solve `x = relu(A x + z)`, `z = B u + b`, for one input or a batch (columns x batch layout).
//!
//! * **Direct** (`A = 0`): `x = relu(z)`.
//! * **Block-triangular** (`Method::Auto` for dense and CSR `A`): the strongly connected components of `A`'s
//!   sparsity graph in dependency order (`blocks.rs`): empty rows, acyclic rows and self-loops exact in one
//!   pass, only the cyclic components iterated (Gauss-Seidel restricted to their rows).
//! * **Triangular sweep**: when `A` is strictly lower-triangular under the stored evaluation order (every
//!   feed-forward network is), unit `order[k]` depends only on units evaluated before it, so one Gauss-Seidel
//!   sweep in that order is exact.
//! * **Gauss-Seidel**: in-place sweeps `x_i <- relu(z_i + A_i x)` in the stored order (the order of the file,
//!   else `0..n`); each row update uses the newest values, and for `||A||_inf <= kappa < 1` each sweep contracts
//!   the error by at least `kappa` (the Gauss-Seidel operator of a contraction in the infinity norm is one).
//! * **Picard** (Jacobi): `x <- relu(A x + z)`, a contraction of rate `kappa` in the infinity norm
//!   (El Ghaoui et al., "Implicit Deep Learning", 2021, section 3), hence `||x_k - x*|| <= kappa^k ||x_0 - x*||`.
//! * **Grouped Gauss-Seidel**: the sweep in groups of eight rows, Jacobi inside a group and Gauss-Seidel
//!   between groups (`MatRef::iterate_groups`, or the slot-major copy of short rows, `kernels/groups.rs`): the
//!   same contraction bound per sweep, and a serial chain of `n / 8` steps instead of `n`.
//! * **Anderson**: Picard with Anderson extrapolation over the last iterates (see `anderson.rs`), for slow
//!   contractions; a batch keeps one history per input.
//!
//! Iterations stop when the update `||x_{k+1} - x_k||_inf` is at most the tolerance (the model's default unless
//! overridden), or has stalled within the resolution of the `f32` state (`stop.rs`), for a batch input by input,
//! and fail with [`Error::NotConverged`] at the iteration cap: never a hang, never a silently unconverged answer.
//! A non-finite update fails with [`Error::NotFinite`].

/// Whether the single-input speed-ups built at load are compiled in (the `packed` feature, on by default).
pub(crate) const PACKED: bool = cfg!(feature = "packed");

use crate::anderson::{Anderson, BatchAnderson, MAX_DEPTH};
use crate::error::Error;
use crate::kernels::groups::RowGroups;
use crate::kernels::{larger, Kernels, MatRef, Storage};
use crate::model::Plan;
use crate::stop::{norm_inf, Lanes, Stop};

/// Which iteration to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Method {
    /// Direct when `A = 0`. For dense and CSR `A`: the block-triangular solve (`Solver::TriangularSweep` when it
    /// has no cyclic component, else `Solver::BlockTriangular`) when its cyclic components hold at most a quarter
    /// of the units, or more but with long rows (mean `nnz / rows >= 8`), no case for Anderson, and a batch or
    /// a dense `A`. Otherwise, and for low-rank `A`: one exact sweep when `A` is triangular in the stored order,
    /// Anderson acceleration (depth 5; it cut iterations 10-80x in `docs/BENCHMARKS.md`) for single inputs when
    /// the certified `kappa >= 0.9`, grouped Gauss-Seidel for other single inputs with a CSR `A`, else
    /// Gauss-Seidel when `A` has long rows and Picard otherwise (short rows make a sweep's serial chain
    /// latency-bound; low-rank rows are expensive). See `prefers_gauss_seidel`.
    #[default]
    Auto,
    /// Picard (Jacobi) iteration, whole-vector products.
    Picard,
    /// In-place Gauss-Seidel sweeps in the stored order.
    GaussSeidel,
    /// Grouped Gauss-Seidel sweeps in the stored order (or, for a model without one whose short rows are packed
    /// at load, rows sorted by length: `kernels/groups.rs`): groups of eight consecutive rows, Jacobi inside a group
    /// and Gauss-Seidel between groups (`MatRef::iterate_groups`), for single inputs and CSR `A`; batches and
    /// other storage take plain Gauss-Seidel sweeps.
    GroupedGaussSeidel,
    /// The block-triangular solve (`blocks.rs`) whatever the size of its cyclic components: dense and CSR `A`
    /// only (an `InvalidOption` error for low-rank `A`).
    BlockTriangular,
    /// Picard with Anderson acceleration over the last `depth` (1 to 8) iterates: for contractions whose rate is
    /// close to 1. A batch keeps one history and one extrapolation per input (`anderson::BatchAnderson`).
    Anderson {
        /// History depth.
        depth: usize,
    },
}

/// The solver that actually ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Solver {
    /// `A = 0`: `x = relu(B u + b)`.
    Direct,
    /// One exact sweep: `A` strictly triangular in the stored order, or the block-triangular solve of an `A` with
    /// no cycle other than self-loops (solved in closed form).
    TriangularSweep,
    /// Picard iteration.
    Picard,
    /// Gauss-Seidel sweeps.
    GaussSeidel,
    /// Grouped Gauss-Seidel sweeps (groups of eight rows).
    GroupedGaussSeidel,
    /// Anderson-accelerated Picard iteration.
    Anderson,
    /// The block-triangular solve with at least one cyclic component: everything else exact in one pass, each
    /// cyclic component iterated on its own rows. `SolveStats::iterations` is the most sweeps any component
    /// needed.
    BlockTriangular,
}

/// Overrides of the model's solver defaults; `None` keeps the default from the metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SolveOptions {
    /// Stop when the update `u = ||x_{k+1} - x_k||_inf <= tolerance`, or when `u <= 2^-21 (1 - kappa)
    /// ||x_{k+1}||_inf` (`kappa` the model's certified bound on `||A||_inf`; 2^-21 is 2 to 4 units in the last
    /// place of the state's largest value) and two sweeps in a row found no smaller update than before them:
    /// rounding has taken over, and for a contraction that update bounds the error by `2^-21 ||x||_inf`, so a
    /// tolerance finer than the `f32` state can resolve does not fail a converged solve (0 asks for that
    /// resolution). At the iteration cap the solve has converged if `u <= max(tolerance, 2^-21 (1 - kappa)
    /// ||x||_inf)`, else it is [`Error::NotConverged`]. The norms run over the units an iteration updates (all of
    /// `x`, or one component of the block-triangular solve) and, in a batch, over each input's own state: a batch
    /// stops when every input meets the test.
    pub tolerance: Option<f32>,
    /// Hard cap on iterations (sweeps).
    pub max_iterations: Option<u32>,
    /// The iteration to use.
    pub method: Method,
}

/// How a solve went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolveStats {
    /// Iterations (sweeps or Picard steps) run; 1 for the direct and triangular cases; for the block-triangular
    /// solve, the most sweeps any cyclic component needed.
    pub iterations: u32,
    /// Last update `||x_{k+1} - x_k||_inf` over the whole batch (0 for the direct and triangular cases, which
    /// are exact by structure). The block-triangular solve reports the true residual
    /// `max |x - relu(A x + z)|` of the returned state, measured where each part is solved: exact rows that read
    /// their own unit or carry a gain, self-loops, pairs and cyclic components (any other row is evaluated once
    /// from final values with the same arithmetic, so its residual is 0).
    pub residual: f32,
    /// The solver used.
    pub solver: Solver,
}

/// `Method::Auto` accelerates single inputs from this certified contraction bound on.
const AUTO_ANDERSON_KAPPA: f32 = 0.9;
/// History depth `Method::Auto` uses.
const AUTO_ANDERSON_DEPTH: usize = 5;

/// Scratch of one solve, all `n x batch` except `row` (`batch`) and `low_rank` (kernel scratch).
pub(crate) struct Work<'s> {
    pub x: &'s mut [f32],
    pub z: &'s mut [f32],
    pub prev: &'s mut [f32],
    pub low_rank: &'s mut [f32],
    /// Grown on demand (once) by solvers with extra state: Anderson's history, the grouped sweeps' scratch, the
    /// block plan's pattern cache (`kernels/pattern_cache.rs`, behind a tag word: whoever wrote last, the others
    /// see foreign values and start over).
    pub extra: &'s mut Vec<f32>,
    /// `Lanes::PER_INPUT x batch`: the per-input statistics of the stopping test of a batch (`stop::Lanes`).
    pub lanes: &'s mut [f32],
}

/// Tolerance and iteration cap after applying the overrides, checked.
fn limits(plan: &Plan, options: &SolveOptions) -> Result<Stop, Error> {
    let defaults = plan.view.meta.solver;
    let tol = options.tolerance.unwrap_or(defaults.tolerance);
    let cap = options.max_iterations.unwrap_or(defaults.max_iterations);
    if !(tol.is_finite() && tol >= 0.0) {
        return Err(Error::InvalidOption(
            "tolerance must be finite and non-negative",
        ));
    }
    if cap == 0 {
        return Err(Error::InvalidOption("max_iterations must be at least 1"));
    }
    Ok(Stop::new(tol, cap, plan.view.structure.kappa))
}

/// `dst[i, :] = v[i]` (or 0) for an `len x batch` buffer.
pub(crate) fn broadcast(v: Option<&[f32]>, batch: usize, dst: &mut [f32]) {
    match v {
        // One lane per row: a plain copy (the loop below does not vectorise for batch 1, and cost 0.3 us per
        // prediction of the compressed Fashion-MNIST model in a profile).
        Some(v) if batch == 1 => {
            let m = dst.len().min(v.len());
            dst[..m].copy_from_slice(&v[..m]);
        }
        Some(v) => {
            for (row, &vi) in dst.chunks_exact_mut(batch).zip(v) {
                row.fill(vi);
            }
        }
        None => dst.fill(0.0),
    }
}

/// `y += M x` when `M` is stored.
pub(crate) fn add_product(
    m: Option<MatRef>,
    k: Kernels,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<(), Error> {
    if let Some(m) = m {
        m.gemm_add(k, x, batch, y, scratch)?;
    }
    Ok(())
}

/// Solves for the hidden state of a batch of preprocessed inputs `u` (`p x batch`) into `work.x` (`n x batch`);
/// with `folded`, `u` is one raw input and the model's fold of its preprocessing into `B` is used.
pub(crate) fn solve_hidden(
    plan: &Plan,
    k: Kernels,
    options: &SolveOptions,
    u: &[f32],
    batch: usize,
    work: Work,
    folded: bool,
) -> Result<SolveStats, Error> {
    let stop = limits(plan, options)?;
    let cap = stop.cap;
    let Work {
        x,
        z,
        prev,
        low_rank,
        extra,
        lanes,
    } = work;
    match plan.fold.as_ref().filter(|_| folded).zip(plan.b) {
        // `u` is the raw input; the preprocessing is folded into the bias (fold.rs).
        Some((fold, b)) => fold.pre_activation(b, k, u, z, low_rank)?,
        None => {
            broadcast(plan.view.bias_x, batch, z);
            // Single inputs multiply B's column-major copy when it has one (cheaper than its gathers).
            match &plan.b_dense {
                Some(dense) if PACKED && batch == 1 => dense.gemv_add(k, u, z)?,
                _ => add_product(plan.b, k, u, batch, z, low_rank)?,
            }
        }
    }
    // Finite inputs and weights can still overflow here; relu would turn a NaN into 0 and hide it.
    if !k.all_finite(z) {
        return Err(Error::NotFinite {
            what: "pre-activation B u + b",
        });
    }
    let Some(a) = plan.a.filter(|a| a.stored() > 0) else {
        k.relu_into(z, x);
        return Ok(SolveStats {
            iterations: 1,
            residual: 0.0,
            solver: Solver::Direct,
        });
    };
    let order = plan.view.order;
    let mut depth = 0;
    let anderson_pays = batch == 1 && plan.view.structure.kappa >= AUTO_ANDERSON_KAPPA;
    if let Some(blocks) = plan.blocks.as_ref() {
        let b = &blocks.summary;
        let cyclic = b.cyclic_blocks > 0;
        // The plan iterates its cyclic components by Gauss-Seidel; whole-matrix iterations win when those
        // components are a large part of A: Anderson on slow contractions, and Picard when their rows are short
        // (a sweep's serial chain; see `prefers_gauss_seidel`). Measured: the random 10,000-weight stand-in
        // (one component of all 256 units, 3.9 weights per row) took 21.6 us with the plan, 9.5 us with Picard.
        let small = 4 * b.cyclic_rows <= plan.n;
        let long_rows = b.cyclic_nnz >= AUTO_GAUSS_SEIDEL_ROW_NNZ.saturating_mul(b.cyclic_rows);
        // For single inputs the grouped sweeps over the whole matrix beat the plan on one big component (the
        // random 50,000-weight model: 24 vs 42 us, `docs/BENCHMARKS.md`, session 3), so long rows keep the plan
        // only for batches and dense A (not measured there).
        let plan_pays = small || (long_rows && !anderson_pays && !(batch == 1 && is_csr(a)));
        let wanted = match options.method {
            Method::Auto => plan_pays,
            Method::BlockTriangular => true,
            _ => false,
        };
        if wanted {
            let (iterations, residual) = if batch == 1 {
                // `extra` holds the plan's pattern cache for single inputs (`blocks.rs`).
                blocks.solve(&a, k, z, x, stop, extra)?
            } else {
                let lanes = Lanes::new(lanes, batch);
                blocks.solve_batch(&a, k, z, x, batch, &mut prev[..batch], lanes, stop)?
            };
            if !(residual.is_finite() && k.all_finite(x)) {
                return Err(Error::NotFinite {
                    what: "hidden state",
                });
            }
            let solver = if cyclic {
                Solver::BlockTriangular
            } else {
                Solver::TriangularSweep
            };
            return Ok(SolveStats {
                iterations,
                residual,
                solver,
            });
        }
    }
    let solver = match options.method {
        Method::Auto if plan.view.structure.triangular && a.has_cheap_rows() => {
            Solver::TriangularSweep
        }
        Method::Auto if anderson_pays => {
            depth = AUTO_ANDERSON_DEPTH;
            Solver::Anderson
        }
        // One input, CSR: grouped sweeps, at least as fast as Picard and plain Gauss-Seidel on every model of the
        // roofline example (1k-200k weights; `docs/BENCHMARKS.md`, session 3).
        Method::Auto if PACKED && batch == 1 && is_csr(a) => Solver::GroupedGaussSeidel,
        Method::Auto if prefers_gauss_seidel(a, plan.n) => Solver::GaussSeidel,
        Method::Auto | Method::Picard => Solver::Picard,
        Method::GaussSeidel => Solver::GaussSeidel,
        Method::GroupedGaussSeidel if PACKED && batch == 1 && is_csr(a) => {
            Solver::GroupedGaussSeidel
        }
        Method::GroupedGaussSeidel => Solver::GaussSeidel,
        // No plan for a non-empty A: low-rank storage, or too large for the plan's u32 indices (`Graph::of`).
        Method::BlockTriangular => {
            return Err(Error::InvalidOption(if a.has_cheap_rows() {
                "the block-triangular solve indexes A with u32: this A has 2^32 - 1 or more units or stored weights"
            } else {
                "the block-triangular solve needs a dense or CSR A (this A is low-rank)"
            }))
        }
        Method::Anderson { depth: d } => {
            if !(1..=MAX_DEPTH).contains(&d) {
                return Err(Error::InvalidOption("Anderson depth must be 1 to 8"));
            }
            depth = d;
            Solver::Anderson
        }
    };
    if solver == Solver::TriangularSweep {
        // Units evaluated later are never read (A is strictly lower-triangular in this order); zero them anyway
        // so the state is defined whatever the caller left in the buffer.
        x.fill(0.0);
        let mut lanes = Lanes::new(lanes, batch);
        lanes.next_sweep();
        gauss_seidel_sweep(a, k, z, x, &mut prev[..batch], &mut lanes, order, plan.n)?;
        return Ok(SolveStats {
            iterations: 1,
            residual: 0.0,
            solver,
        });
    }
    // x_0 = relu(z), the first Picard iterate from 0: exact when A x* happens to vanish.
    k.relu_into(z, x);
    if PACKED && solver == Solver::GroupedGaussSeidel {
        // The whole iteration in one kernel call (the residual is each sweep's update, computed in the sweep).
        // The slot-major copy of short rows when the model has one (same iteration, fewer gathers), else CSR.
        let (iterations, residual) = match plan.groups.as_ref() {
            Some(g) => {
                if extra.len() < g.scratch_len() {
                    extra.resize(g.scratch_len(), 0.0);
                }
                g.iterate(k, z, x, stop, extra)
            }
            None => None,
        }
        .map_or_else(
            || {
                a.iterate_groups(k, z, x, order, stop.tol, stop.cap, stop.kappa)?
                    .ok_or(Error::InvalidOption("grouped Gauss-Seidel needs a CSR A"))
            },
            Ok,
        )?;
        if !(residual.is_finite() && k.all_finite(x)) {
            return Err(Error::NotFinite {
                what: "hidden state",
            });
        }
        if !stop.met(residual, || norm_inf(x)) {
            return Err(Error::NotConverged {
                iterations,
                residual,
                tolerance: stop.threshold(norm_inf(x)),
            });
        }
        return Ok(SolveStats {
            iterations,
            residual,
            solver,
        });
    }
    let n = plan.n;
    let (mut anderson, mut batched) = (None, None);
    if solver == Solver::Anderson {
        // One input: its history. A batch: one history per input, which mixes sample-major copies of g(x) and
        // x (`gt`, `xt`: the kernels' layout is units x batch).
        let history = if batch == 1 {
            Anderson::scratch_len(depth, n)
        } else {
            BatchAnderson::scratch_len(depth, n, batch)
        };
        let need = history + if batch == 1 { 0 } else { 2 * n * batch };
        if extra.len() < need {
            extra.resize(need, 0.0);
        }
        if batch == 1 {
            anderson = Some(Anderson::new(depth, n, extra));
        } else {
            let (h, t) = extra.split_at_mut(history);
            let (gt, xt) = t[..2 * n * batch].split_at_mut(n * batch);
            batched = Some((BatchAnderson::new(depth, n, batch, h), gt, xt));
        }
    }
    // Single inputs: the stopping test on the whole state; batches: input by input (`stop.rs`).
    let mut running = stop.running();
    let mut lanes = Lanes::new(lanes, batch);
    let mut residual = f32::INFINITY;
    let mut best = f32::INFINITY;
    for iteration in 1..=cap {
        lanes.next_sweep();
        let met = match solver {
            Solver::Anderson => {
                // prev <- g(x) = relu(A x + z); the residual is ||g(x) - x||, the Picard update (per input).
                prev.copy_from_slice(z);
                a.gemm_add(k, x, batch, prev, low_rank)?;
                if lanes.active() {
                    for (gr, xr) in prev.chunks_exact_mut(batch).zip(x.chunks_exact(batch)) {
                        for (b, (g, &xi)) in gr.iter_mut().zip(xr).enumerate() {
                            *g = larger(0.0, *g);
                            lanes.record(b, (*g - xi).abs(), *g);
                        }
                    }
                } else {
                    let mut r = 0.0f32;
                    for (g, &xi) in prev.iter_mut().zip(x.iter()) {
                        *g = larger(0.0, *g);
                        r = larger(r, (*g - xi).abs());
                    }
                    lanes.add_update(r);
                }
                let r = lanes.largest_update();
                let met = if batch == 1 {
                    running.met(r, || norm_inf(prev))
                } else {
                    lanes.met(stop, || norm_inf(prev))
                };
                if met || !r.is_finite() {
                    x.copy_from_slice(prev);
                } else {
                    // Safeguard: an extrapolation that made the residual much worse is forgotten.
                    let restart = r > 10.0 * best;
                    best = best.min(r);
                    if let Some(aa) = anderson.as_mut() {
                        if restart {
                            aa.restart();
                        }
                        aa.step(prev, x);
                    } else if let Some((aa, gt, xt)) = batched.as_mut() {
                        if restart {
                            aa.restart();
                        }
                        k.transpose(prev, n, batch, gt)?;
                        k.transpose(x, n, batch, xt)?;
                        aa.step(gt, xt);
                        k.transpose(xt, batch, n, x)?;
                    }
                }
                residual = r;
                met
            }
            Solver::Picard => {
                // prev <- z + A x (x is the old state), then x <- relu(prev).
                prev.copy_from_slice(z);
                a.gemm_add(k, x, batch, prev, low_rank)?;
                if batch == 1 {
                    residual = k.relu_step(prev, x);
                    running.met(residual, || norm_inf(x))
                } else {
                    lanes.relu_step(k, prev, x);
                    residual = lanes.largest_update();
                    lanes.met(stop, || norm_inf(x))
                }
            }
            _ => {
                residual =
                    gauss_seidel_sweep(a, k, z, x, &mut prev[..batch], &mut lanes, order, plan.n)?;
                if batch == 1 {
                    running.met(residual, || norm_inf(x))
                } else {
                    lanes.met(stop, || norm_inf(x))
                }
            }
        };
        // An infinite update means the state overflowed (relu maps NaN to 0, so NaN shows up as overflow or
        // in the final check below).
        if !residual.is_finite() {
            return Err(Error::NotFinite {
                what: "hidden state",
            });
        }
        if met {
            if !k.all_finite(x) {
                return Err(Error::NotFinite {
                    what: "hidden state",
                });
            }
            return Ok(SolveStats {
                iterations: iteration,
                residual,
                solver,
            });
        }
    }
    let tolerance = if batch == 1 {
        stop.threshold(norm_inf(x))
    } else {
        lanes.missed_threshold(stop, || norm_inf(x))
    };
    Err(Error::NotConverged {
        iterations: cap,
        residual,
        tolerance,
    })
}

/// Mean stored entries per row of `A` from which `Method::Auto` prefers Gauss-Seidel sweeps to Picard steps:
/// one full 8-lane gather (the AVX2 kernels' width).
const AUTO_GAUSS_SEIDEL_ROW_NNZ: usize = 8;

/// The cost model behind `Method::Auto` for a non-triangular contraction (single inputs and batches alike).
///
/// Both iterations do the same work per step, about `nnz(A) + n` operations, and Gauss-Seidel usually needs fewer
/// steps (each sweep uses the newest values). But a sweep is one serial chain: row `i` may gather the value
/// row `i - 1` has just stored, so every row pays the latency of its gather, product, activation and store,
/// whereas the rows of a Picard step are independent and pipeline. With long rows (`nnz / n >= 8`, at least
/// one full gather vector per row) the dot products dominate and Gauss-Seidel's fewer sweeps win; with short
/// rows the per-row latency dominates and Picard wins. Measured on the compressed Fashion-MNIST model
/// (n = 256, nnz(A) = 200, kappa 0.5; `docs/BENCHMARKS.md`, "Solver choice"). Low-rank `A` has expensive single
/// rows and always takes Picard.
pub(crate) fn prefers_gauss_seidel(a: MatRef, n: usize) -> bool {
    a.has_cheap_rows() && a.stored() >= AUTO_GAUSS_SEIDEL_ROW_NNZ.saturating_mul(n)
}

/// One in-place sweep `x[i, :] <- relu(z[i, :] + A[i, :] x)` over units `order` (default `0..n`) for a batch of
/// `lanes.batch()` inputs; returns the largest update, and for a batch records each input's in `lanes` (which
/// the caller clears). Single vectors on dense/CSR `A` run the kernels' fused sweep.
#[allow(clippy::too_many_arguments)]
fn gauss_seidel_sweep(
    a: MatRef,
    k: Kernels,
    z: &[f32],
    x: &mut [f32],
    row: &mut [f32],
    lanes: &mut Lanes,
    order: Option<&[u32]>,
    n: usize,
) -> Result<f32, Error> {
    let batch = lanes.batch();
    let unit = |pos: usize| order.map_or(pos, |o| o[pos] as usize);
    let mut r = 0.0f32;
    if batch == 1 {
        if let Some(r) = a.gauss_seidel_sweep(k, z, x, order)? {
            return Ok(r);
        }
        for pos in 0..n {
            let i = unit(pos);
            let new = (z[i] + a.row_dot(k, i, x)?).max(0.0);
            r = larger(r, (new - x[i]).abs());
            x[i] = new;
        }
        return Ok(r);
    }
    for pos in 0..n {
        let i = unit(pos);
        let range = i * batch..(i + 1) * batch;
        row.copy_from_slice(&z[range.clone()]);
        a.row_batch_add(k, i, x, batch, row)?;
        lanes.relu_step(k, row, &mut x[range]);
    }
    Ok(lanes.largest_update())
}

/// The slot-major copy of `A` (`kernels/groups.rs`) for a model whose single inputs `Method::Auto` solves by
/// grouped sweeps over the whole matrix (a CSR `A` whose cyclic components are not small, kappa below the
/// Anderson threshold), when `A`'s rows are short enough for it to pay (`RowGroups::new`). Built at load.
pub(crate) fn row_groups(plan: &Plan) -> Option<RowGroups> {
    if !PACKED {
        return None;
    }
    let a = plan.a.filter(|a| a.stored() > 0)?;
    let s = plan.view.structure;
    let plan_small = plan
        .blocks
        .as_ref()
        .is_some_and(|b| 4 * b.summary.cyclic_rows <= plan.n);
    if plan_small || s.triangular || s.kappa >= AUTO_ANDERSON_KAPPA {
        return None;
    }
    RowGroups::new(&a, plan.view.order)
}

/// Whether `A` is stored CSR (the storage of the grouped sweep kernels).
fn is_csr(a: MatRef) -> bool {
    matches!(a.storage(), Storage::Csr { .. })
}
