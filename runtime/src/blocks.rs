//! The block-triangular structure of `A`: the strongly connected components of its sparsity graph, in
//! topological order, computed once when a model is loaded.
//!
//! Unit `i` depends on unit `j` when `A_ij != 0`. Ordering the strongly connected components of this graph so
//! that every component comes after the components it depends on makes `A` block lower-triangular (the
//! Dulmage-Mendelsohn / Tarjan block triangularisation of sparse direct solvers: Duff & Reid, "An
//! implementation of Tarjan's algorithm for the block triangularization of a matrix", ACM TOMS 4(2), 1978).
//! The fixed point `x = relu(A x + z)` then splits into one small problem per component, each solved once its
//! inputs are final:
//!
//! * an **empty row** (no nonzero): `x_i = relu(z_i)`, exact, for all such rows in one vectorised pass;
//! * a **singleton without a self-loop**: `x_i = relu(z_i + A_i x)` over final values, exact in one row
//!   evaluation (consecutive ones form one *exact run*, evaluated in a single sweep);
//! * a **self-loop** alone: `x_i = relu(r_i) / (1 - A_ii)` in closed form (`r_i` the rest of the row);
//! * a **cyclic component** (several units, or a self-loop without a usable closed form): 2 units in closed form
//!   (the consistent one of their four activation patterns), 3 to [`SMALL_MAX`] units on a dense copy of their
//!   block by the exact solution of the activation pattern with Gauss-Seidel as safeguard (single inputs;
//!   `small_component`; up to 5 units, the solution operator of each pattern is computed once per session and
//!   cached, `kernels/pattern_cache.rs`), larger ones and batches by Gauss-Seidel restricted to their rows until their own update
//!   is at most the tolerance. Their rows have L1 norm at most `kappa < 1`, so the restricted map is a
//!   contraction of rate `kappa` in the infinity norm, and since its inputs are final the result is the global
//!   fixed point restricted to the component, to tolerance.
//!
//! A feed-forward model is all exact runs (one sweep, whatever the stored order); the compressed Fashion-MNIST
//! model, whose `A` has 200 weights on 256 rows, is mostly empty rows and exact runs.
//!
//! Tarjan's algorithm runs iteratively (an explicit stack): an adversarial file with a chain of a million units
//! cannot overflow the call stack.

use core::ops::Range;

use crate::error::Error;
use crate::kernels::{
    larger, Indices, Kernels, MatRef, PatternCache, RowList, ShortRows, Storage, Values,
};
use crate::stop::{norm_inf, norm_inf_rows, Lanes, Stop};

/// What the block-triangular analysis found in `A` (see [`crate::Model::blocks`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BlockStructure {
    /// Rows of `A` without a nonzero: `x_i = relu(z_i)`.
    pub empty_rows: usize,
    /// Non-empty rows outside any cycle: exact in one evaluation.
    pub exact_rows: usize,
    /// Units whose only cycle is a self-loop, `x_i = relu(A_ii x_i + r_i)`: exact in closed form,
    /// `x_i = relu(r_i) / (1 - A_ii)`.
    pub self_loops: usize,
    /// Strongly connected components of several units: iterated.
    pub cyclic_blocks: usize,
    /// Rows in those components.
    pub cyclic_rows: usize,
    /// Rows of the largest of them (0 when there is none).
    pub largest_block: usize,
    /// Nonzeros of `A` in their rows (the work of one iteration).
    pub cyclic_nnz: usize,
    /// Those components of two units, solved for single inputs in closed form (one linear 2 x 2 solve per
    /// activation pattern) instead of iterated.
    pub pairs: usize,
    /// The most levels of any exact run: its longest chain of rows that each read the previous one (rows of one
    /// level are independent and are evaluated one after the other, so the core overlaps them).
    pub levels: usize,
    /// Whether the plan was read off the stored order in one pass instead of searched for: the file stores its
    /// hidden units in a dependency order with every strongly connected component contiguous and of at most 32
    /// units (what `wolfpack compress` writes, in evaluation order, exact runs by level: see
    /// [`crate::Model::evaluation_order`]; the level order is taken as stored, not checked).
    pub in_stored_order: bool,
}

/// A stretch of [`Blocks::units`]: an exact run (one sweep) or one cyclic component (iterated).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Segment {
    pub(crate) range: Range<usize>,
    pub(crate) cyclic: bool,
    /// For a 2-unit component of a contraction: `[A_aa, A_ab, A_ba, A_bb]`, its closed form for single inputs.
    pub(crate) pair: Option<[f32; 4]>,
    /// For a component of 3 to [`SMALL_MAX`] units: where its dense `m x m` block of `A` starts in
    /// [`Blocks::small`], iterated on its own for single inputs (see [`Blocks::solve`]).
    pub(crate) small: Option<usize>,
}

/// The largest cyclic component whose block of `A` is copied dense for single inputs: its iteration then runs on
/// a few registers' worth of values instead of re-reading the component's sparse rows (with their inputs from
/// outside the component) in every sweep.
pub(crate) const SMALL_MAX: usize = 8;

/// The evaluation plan of `x = relu(A x + z)` for a dense or CSR `A`.
#[derive(Clone, Debug)]
pub(crate) struct Blocks {
    /// Every non-empty row, dependencies first, checked against `n` (the kernels index with it unchecked).
    pub(crate) units: RowList,
    /// Per unit: `1 / (1 - A_ii)` for a self-loop solved in closed form, else 1.
    pub(crate) gains: Vec<f32>,
    /// Consecutive stretches of `units`, in evaluation order.
    pub(crate) segments: Vec<Segment>,
    /// The rows whose fixed point is not exact by construction (self-loops, cyclic components): where the
    /// final residual is measured.
    pub(crate) checked: RowList,
    pub(crate) summary: BlockStructure,
    /// `units` packed for the exact solve of single inputs, when all their rows are of one or two weights
    /// (`kernels/short_rows.rs`).
    pub(crate) short: Option<ShortRows>,
    /// The dense blocks of the small cyclic components (`Segment::small`), row-major, one after the other.
    pub(crate) small: Vec<f32>,
}

/// The sparsity graph of `A` in CSR form: `targets[start[i]..start[i + 1]]` are the units row `i` reads
/// (nonzero weights only: an explicitly stored zero does not make a dependency). A CSR `A` that stores no zero is
/// its own graph, borrowed with its index type `T`; otherwise the nonzeros are copied out (see [`Blocks::new`]).
struct Graph<'g, T> {
    start: &'g [u32],
    targets: &'g [T],
}

impl<T: Copy + Into<u32>> Graph<'_, T> {
    fn edges(&self, v: usize) -> &[T] {
        &self.targets[self.start[v] as usize..self.start[v + 1] as usize]
    }
}

/// The row starts and targets of the graph of a dense or CSR `A`'s nonzeros; `None` for low-rank storage.
fn nonzero_graph(a: &MatRef) -> Option<(Vec<u32>, Vec<u32>)> {
    let n = a.rows();
    let mut start = Vec::with_capacity(n + 1);
    start.push(0);
    let targets = match *a.storage() {
        Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } => {
            let mut targets = Vec::with_capacity(values.len());
            for (i, row) in row_ptr.windows(2).enumerate() {
                for k in row[0] as usize..row[1] as usize {
                    if values.is_nonzero(k, i) {
                        targets.push(col_idx.get(k) as u32);
                    }
                }
                start.push(targets.len() as u32);
            }
            targets
        }
        Storage::Dense { values } => {
            let mut targets = Vec::new();
            for i in 0..n {
                let nonzero = (0..n).filter(|&j| values.is_nonzero(i * n + j, i));
                targets.extend(nonzero.map(|j| j as u32));
                start.push(targets.len() as u32);
            }
            targets
        }
        Storage::LowRank { .. } => return None,
    };
    Some((start, targets))
}

/// Whether no stored weight is zero, in one pass that vectorises (read on the bits, folded without an early exit,
/// which would keep the loop scalar; for i8, a zero scale counts as a zero, even that of a row without weights:
/// the answer may only err towards `false`).
fn stores_no_zero(values: &Values) -> bool {
    let half = |v: &[u16]| v.iter().fold(true, |ok, &x| ok & (x & 0x7fff != 0));
    match values {
        Values::F32(v) => !v.contains(&0.0),
        Values::F16(v) => half(bytemuck::cast_slice(v)),
        Values::Bf16(v) => half(bytemuck::cast_slice(v)),
        Values::I8 { q, scales } => !(q.contains(&0) || scales.contains(&0.0)),
    }
}

/// Scratch words per unit of a plan: [`tarjan`]'s five (DFS number, low link, component stack, two per DFS frame)
/// and the [`Builder`]'s four (level key, level count, two for the level sort), one allocation for the whole plan.
const WORK_PER_UNIT: usize = 9;

/// Strongly connected components of `graph` (Tarjan 1972), iteratively: calls `component(units)` for each, as soon
/// as it is complete, in reverse topological order of the edges: a component after every component it has an edge
/// to (for `i -> j` meaning "i reads j": dependencies first). A component's units come in the order they leave
/// Tarjan's stack (its root last). Units without edges (empty rows) are components of their own that nothing
/// needs to place: they are not reported.
///
/// `work` holds at least `5 n` words (`n` units): the DFS numbers, low links, component stack and DFS frames,
/// each at most `n` deep since a unit is pushed at most once, so nothing grows while the search runs.
fn tarjan<T: Copy + Into<u32>>(
    graph: &Graph<T>,
    work: &mut [u32],
    mut component: impl FnMut(&[u32]),
) {
    const UNSEEN: u32 = u32::MAX;
    /// `low[v]` of a unit whose component has been reported: no longer on the stack, and never the minimum.
    const DONE: u32 = u32::MAX;
    let n = graph.start.len() - 1;
    let (index, rest) = work.split_at_mut(n);
    let (low, rest) = rest.split_at_mut(n);
    let (stack, rest) = rest.split_at_mut(n);
    // DFS frames: (unit, position of its next edge), flattened.
    let frames = &mut rest[..2 * n];
    index.fill(UNSEEN);
    low.fill(0);
    let (mut next, mut top, mut depth) = (0u32, 0usize, 0usize);
    // Numbers `v`, pushes it on the component stack and opens its DFS frame. A unit that reads only units of
    // finished components (or itself, or nothing: the empty rows, a third of the compressed Fashion-MNIST model's)
    // is its own component at once: what Tarjan's steps would conclude, in the same order, without them.
    macro_rules! visit {
        ($v:expr) => {{
            let v: usize = $v;
            index[v] = next;
            next += 1;
            let edges = graph.edges(v);
            if edges.is_empty() {
                low[v] = DONE;
            } else if edges
                .iter()
                .all(|&w| w.into() as usize == v || low[w.into() as usize] == DONE)
            {
                low[v] = DONE;
                component(&[v as u32]);
            } else {
                low[v] = index[v];
                stack[top] = v as u32;
                top += 1;
                frames[2 * depth] = v as u32;
                frames[2 * depth + 1] = graph.start[v];
                depth += 1;
            }
        }};
    }
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        visit!(root);
        while depth > 0 {
            let f = 2 * (depth - 1);
            let v = frames[f] as usize;
            let at = frames[f + 1];
            if at < graph.start[v + 1] {
                let w = graph.targets[at as usize].into() as usize;
                frames[f + 1] = at + 1;
                if index[w] == UNSEEN {
                    visit!(w);
                } else if low[w] != DONE {
                    // Seen and not in a reported component: on the stack.
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            depth -= 1;
            if depth > 0 {
                let parent = frames[2 * (depth - 1)] as usize;
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let at = stack[..top]
                    .iter()
                    .rposition(|&w| w as usize == v)
                    .expect("a root is on the stack");
                let members = &mut stack[at..top];
                members.reverse();
                for &w in members.iter() {
                    low[w as usize] = DONE;
                }
                component(members);
                top = at;
            }
        }
    }
}

/// The largest strongly connected component [`Blocks::in_stored_order`] reads off the stored order; a larger one
/// sends the plan to [`tarjan`].
const STORED_BLOCK_MAX: usize = 32;

/// Whether the rows `block` (at most 32, reading nothing after the block) form one strongly connected
/// component: every row is reached from the first and reaches it, by closure of the adjacency bit masks.
fn strongly_connected<T: Copy + Into<u32>>(graph: &Graph<T>, block: Range<usize>) -> bool {
    let m = block.len();
    debug_assert!(m <= 32);
    // `out[k]`: the rows of the block that row `block.start + k` reads; `into[k]`: the rows that read it.
    let (mut out, mut into) = ([0u32; 32], [0u32; 32]);
    for (k, i) in block.clone().enumerate() {
        for &w in graph.edges(i) {
            let w = w.into() as usize;
            if w >= block.end {
                // Only rows whose targets do not increase could get here (see `Blocks::in_stored_order`):
                // refuse rather than shift out of range.
                return false;
            }
            if w >= block.start {
                out[k] |= 1 << (w - block.start);
                into[w - block.start] |= 1 << k;
            }
        }
    }
    let all = if m == 32 { u32::MAX } else { (1u32 << m) - 1 };
    let closure = |adjacent: &[u32; 32]| {
        let mut seen = 1u32;
        loop {
            let mut next = seen;
            for (k, &mask) in adjacent[..m].iter().enumerate() {
                if seen >> k & 1 == 1 {
                    next |= mask;
                }
            }
            if next == seen {
                return seen;
            }
            seen = next;
        }
    };
    closure(&out) == all && closure(&into) == all
}

/// `A_ij` (dequantised; the sum if the row stores column `j` more than once).
fn entry(a: &MatRef, i: usize, j: usize) -> f32 {
    match *a.storage() {
        Storage::Csr {
            row_ptr,
            col_idx,
            values,
        } => (row_ptr[i] as usize..row_ptr[i + 1] as usize)
            .filter(|&k| col_idx.get(k) == j)
            .map(|k| values.get(k, i))
            .sum(),
        Storage::Dense { values } => values.get(i * a.cols() + j, i),
        Storage::LowRank { .. } => f32::NAN,
    }
}

/// The closed form's gain `1 / (1 - A_ii)` of a unit whose only cycle is its self-loop; `None` when it is not
/// finite and positive (`|A_ii| <= kappa < 1` in a contraction; anything else is iterated).
fn self_loop_gain(a: &MatRef, i: usize) -> Option<f32> {
    Some(1.0 / (1.0 - entry(a, i, i))).filter(|g| g.is_finite() && *g > 0.0)
}

/// The fixed point of a 2-unit component `x_a = relu(b x_a + c x_b + r_a)`, `x_b = relu(d x_a + e x_b + r_b)`
/// (`coef = [b, c, d, e]`, rows of L1 norm below 1) in closed form: the one activation pattern (neither, `a`
/// only, `b` only, both active) whose solution is consistent. `None` if rounding leaves none consistent (the
/// caller then iterates).
fn solve_pair(coef: [f32; 4], ra: f32, rb: f32) -> Option<(f32, f32)> {
    let [b, c, d, e] = coef.map(f64::from);
    let (ra, rb) = (f64::from(ra), f64::from(rb));
    if ra <= 0.0 && rb <= 0.0 {
        return Some((0.0, 0.0));
    }
    if ra > 0.0 {
        let xa = ra / (1.0 - b);
        if d * xa + rb <= 0.0 {
            return Some((xa as f32, 0.0));
        }
    }
    if rb > 0.0 {
        let xb = rb / (1.0 - e);
        if c * xb + ra <= 0.0 {
            return Some((0.0, xb as f32));
        }
    }
    let det = (1.0 - b) * (1.0 - e) - c * d;
    let xa = ((1.0 - e) * ra + c * rb) / det;
    let xb = ((1.0 - b) * rb + d * ra) / det;
    (det > 0.0 && xa >= 0.0 && xb >= 0.0).then_some((xa as f32, xb as f32))
}

/// [`Blocks::new`]'s state while Tarjan's algorithm reports the components in evaluation order.
///
/// Each exact run is ordered by level as it closes (1 + the highest level of the units it reads in the same run;
/// units it reads elsewhere are final before the run starts), keeping Tarjan's order within a level: still a
/// dependency order, but the rows of one level are independent, so the core overlaps their evaluations. Tarjan's
/// order puts each unit right after the chain it depends on, which made every row wait for the store of the
/// previous one.
struct Builder<'w> {
    units: Vec<u32>,
    gains: Vec<f32>,
    checked: Vec<u32>,
    segments: Vec<Segment>,
    small: Vec<f32>,
    summary: BlockStructure,
    /// Per unit: `base + level + 1` once placed in the exact run that starts at `units[base]`, else 0. Keys of
    /// earlier runs are at most their run's end, so a unit is in the current run exactly when its key is above the
    /// current `base`, and one word tells both the run and the level.
    key: &'w mut [u32],
    /// Whether an exact run is open: it starts at `units[base]` and runs to the end of `units`; `top` is its highest
    /// level.
    open: bool,
    base: u32,
    top: u32,
    /// Whether the open run's units came in non-decreasing level (then its level sort is the identity).
    in_level_order: bool,
    /// The level of the open run's last unit.
    last: u32,
    /// Scratch of the counting sort by level (`n + 1` counts; `n` units and `n` gains' bits).
    counts: &'w mut [u32],
    sorted: &'w mut [u32],
}

impl<'w> Builder<'w> {
    /// A builder for `n` units on `work`, at least `4 n + 1` words.
    fn new(n: usize, work: &'w mut [u32]) -> Builder<'w> {
        let (key, rest) = work.split_at_mut(n);
        let (counts, sorted) = rest.split_at_mut(n + 1);
        key.fill(0);
        Builder::with_scratch(n, key, counts, &mut sorted[..2 * n])
    }

    /// A builder for `n` units placed in an order already known to be a level order (no level keys, no sort:
    /// [`Blocks::in_stored_order`]).
    fn in_level_order(n: usize) -> Builder<'static> {
        Builder::with_scratch(n, &mut [], &mut [], &mut [])
    }

    fn with_scratch(
        n: usize,
        key: &'w mut [u32],
        counts: &'w mut [u32],
        sorted: &'w mut [u32],
    ) -> Builder<'w> {
        Builder {
            units: Vec::with_capacity(n),
            gains: Vec::with_capacity(n),
            checked: Vec::with_capacity(n),
            segments: Vec::with_capacity(16),
            small: Vec::new(),
            summary: BlockStructure::default(),
            key,
            open: false,
            base: 0,
            top: 0,
            in_level_order: true,
            last: 0,
            counts,
            sorted,
        }
    }

    /// Places row `u` as the next unit of the current exact run (opening one if needed), every unit it reads
    /// other than itself being placed or an empty row, and the run in level order: `self_loop` says whether it
    /// reads itself. A self-loop without a usable closed form is iterated instead.
    fn exact_in_level_order<T: Copy + Into<u32>>(
        &mut self,
        a: &MatRef,
        graph: &Graph<T>,
        u: usize,
        self_loop: bool,
    ) {
        let gain = match self_loop.then(|| self_loop_gain(a, u)) {
            Some(Some(gain)) => gain,
            Some(None) => return self.cyclic(a, graph, &[u as u32]),
            None => 1.0,
        };
        if !self.open {
            self.open = true;
            self.base = self.units.len() as u32;
        }
        self.push_exact(u, gain, self_loop);
    }

    /// Appends an exact unit and counts it.
    fn push_exact(&mut self, u: usize, gain: f32, self_loop: bool) {
        self.units.push(u as u32);
        self.gains.push(gain);
        if self_loop {
            self.summary.self_loops += 1;
            self.checked.push(u as u32);
        } else {
            self.summary.exact_rows += 1;
        }
    }

    /// Places one strongly connected component, all of whose dependencies have been placed.
    fn component<T: Copy + Into<u32>>(&mut self, a: &MatRef, graph: &Graph<T>, members: &[u32]) {
        let &[u] = members else {
            return self.cyclic(a, graph, members);
        };
        let u = u as usize;
        // One pass over the row: its self-loop, and its level in the run it would join (a new run, at the end
        // of `units`, holds nothing yet: every key is at most `units.len()`). The unit's own key is still 0.
        let base = if self.open {
            self.base
        } else {
            self.units.len() as u32
        };
        let (mut self_loop, mut highest) = (false, 0u32);
        for &w in graph.edges(u) {
            let w = w.into() as usize;
            self_loop |= w == u;
            highest = highest.max(self.key[w]);
        }
        let level = highest.max(base) - base;
        // |A_ii| <= kappa < 1 for a contraction (a triangular A has no self-loop); anything else is iterated.
        let gain = if self_loop {
            match self_loop_gain(a, u) {
                Some(gain) => gain,
                None => return self.cyclic(a, graph, members),
            }
        } else {
            1.0
        };
        // An exact unit at `level` of the current exact run (one sweep: each unit reads only units evaluated
        // before it), or the first of a new one. Its segment is written when the run closes.
        if !self.open {
            self.open = true;
            self.base = base;
            self.top = 0;
            self.in_level_order = true;
            self.last = 0;
        }
        self.key[u] = base + level + 1;
        self.top = self.top.max(level);
        self.in_level_order &= level >= self.last;
        self.last = level;
        self.push_exact(u, gain, self_loop);
    }

    /// A component iterated on its own (several units, or a self-loop without a usable closed form).
    fn cyclic<T: Copy + Into<u32>>(&mut self, a: &MatRef, graph: &Graph<T>, members: &[u32]) {
        self.close_run();
        let begin = self.units.len();
        self.units.extend_from_slice(members);
        self.gains.extend(members.iter().map(|_| 1.0f32));
        let pair = (members.len() == 2)
            .then(|| {
                let (p, q) = (members[0] as usize, members[1] as usize);
                [
                    entry(a, p, p),
                    entry(a, p, q),
                    entry(a, q, p),
                    entry(a, q, q),
                ]
            })
            // Rows of L1 norm below 1 (a contraction); anything else is iterated.
            .filter(|m| m[0].abs() + m[1].abs() < 1.0 && m[2].abs() + m[3].abs() < 1.0);
        let small = (3..=SMALL_MAX).contains(&members.len()).then(|| {
            let start = self.small.len();
            for &i in members {
                for &j in members {
                    self.small.push(entry(a, i as usize, j as usize));
                }
            }
            start
        });
        self.segments.push(Segment {
            range: begin..self.units.len(),
            cyclic: true,
            pair,
            small,
        });
        let s = &mut self.summary;
        s.pairs += usize::from(pair.is_some());
        s.cyclic_blocks += 1;
        s.cyclic_rows += members.len();
        s.largest_block = s.largest_block.max(members.len());
        s.cyclic_nnz += members
            .iter()
            .map(|&u| graph.edges(u as usize).len())
            .sum::<usize>();
        self.checked.extend_from_slice(members);
    }

    /// Closes the current exact run, if one is open: its segment, its units ordered by level (a stable counting
    /// sort).
    fn close_run(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        let range = self.base as usize..self.units.len();
        self.segments.push(Segment {
            range: range.clone(),
            cyclic: false,
            pair: None,
            small: None,
        });
        if self.in_level_order {
            return;
        }
        let top = self.top as usize;
        // Levels are below the run's length, so `top + 2 <= n + 1` counts.
        let counts = &mut self.counts[..top + 2];
        counts.fill(0);
        let level = |u: u32| (self.key[u as usize] - self.base - 1) as usize;
        for &u in &self.units[range.clone()] {
            counts[level(u) + 1] += 1;
        }
        for l in 1..counts.len() {
            counts[l] += counts[l - 1];
        }
        let (sorted_units, sorted_gains) = self.sorted.split_at_mut(range.len());
        for (&u, &g) in self.units[range.clone()]
            .iter()
            .zip(&self.gains[range.clone()])
        {
            let slot = &mut counts[level(u)];
            sorted_units[*slot as usize] = u;
            sorted_gains[*slot as usize] = g.to_bits();
            *slot += 1;
        }
        self.units[range.clone()].copy_from_slice(sorted_units);
        for (g, &bits) in self.gains[range].iter_mut().zip(sorted_gains.iter()) {
            *g = f32::from_bits(bits);
        }
    }

    fn finish(mut self, a: &MatRef) -> Option<Blocks> {
        let n = a.rows();
        self.close_run();
        let units = RowList::new(self.units, n).ok()?;
        // Solve-time packing of the units for single inputs (helper `gather`).
        let short = if crate::solve::PACKED {
            ShortRows::new(a, &units, &self.gains)
        } else {
            None
        };
        Some(Blocks {
            units,
            checked: RowList::new(self.checked, n).ok()?,
            gains: self.gains,
            segments: self.segments,
            summary: self.summary,
            short,
            small: self.small,
        })
    }
}

impl Blocks {
    /// The plan of `A`; `None` for low-rank `A` (its rows are dense in general and expensive one at a time), or
    /// when `A` is not square or has `u32::MAX` or more units or weights (the plan indexes them with `u32`).
    pub(crate) fn new(a: &MatRef) -> Option<Blocks> {
        let n = a.rows();
        if a.cols() != n || n >= u32::MAX as usize || a.stored() >= u32::MAX as usize {
            return None;
        }
        fn plan<T: Copy + Into<u32>>(a: &MatRef, graph: &Graph<T>) -> Option<Blocks> {
            Blocks::in_stored_order(a, graph).or_else(|| Blocks::searched(a, graph))
        }
        match *a.storage() {
            Storage::Csr {
                row_ptr,
                col_idx,
                values,
            } if stores_no_zero(&values) => match col_idx {
                Indices::U16(targets) => plan(
                    a,
                    &Graph {
                        start: row_ptr,
                        targets,
                    },
                ),
                Indices::U32(targets) => plan(
                    a,
                    &Graph {
                        start: row_ptr,
                        targets,
                    },
                ),
            },
            _ => {
                let (start, targets) = nonzero_graph(a)?;
                plan(
                    a,
                    &Graph {
                        start: &start,
                        targets: &targets,
                    },
                )
            }
        }
    }

    /// The plan read off the stored order, when that order already lists every strongly connected component
    /// contiguously and after the components it reads, each exact run in level order (the order `wolfpack
    /// compress` writes: [`crate::Model::evaluation_order`]); `None` otherwise (the caller searches).
    ///
    /// One pass over the rows, no search: a block opened at row `s` closes at the first row `e` such that no row
    /// of `s..=e` reads a row after `e` (a row's last target is its largest: targets increase within a row, as
    /// the format requires of CSR column indices and [`nonzero_graph`] produces). Such a block reads only itself
    /// and earlier blocks, so the blocks come in dependency order. A one-row block is an empty row, an exact unit
    /// or a self-loop (its last target is itself); a block of several rows is accepted only when it is strongly
    /// connected (then it is one component), checked on bit masks, which bounds it by [`STORED_BLOCK_MAX`] rows.
    /// Conversely, when the stored order lists the components contiguously in dependency order, every block
    /// closes at the end of a component and no earlier (a component split at `e` would need an edge from its
    /// part up to `e` into its part after `e`), so the blocks are exactly the components. The level order of
    /// the runs is taken as stored: it only decides how well the core overlaps rows, never what they compute.
    fn in_stored_order<T: Copy + Into<u32>>(a: &MatRef, graph: &Graph<T>) -> Option<Blocks> {
        let n = a.rows();
        let mut plan = Builder::in_level_order(n);
        let (mut start, mut reach) = (0usize, 0usize);
        for i in 0..n {
            let edges = graph.edges(i);
            debug_assert!(
                edges.windows(2).all(|t| t[0].into() < t[1].into()),
                "targets increase within a row"
            );
            let last = edges.last().map(|&w| w.into() as usize);
            reach = reach.max(last.unwrap_or(0));
            if reach > i {
                if i + 1 - start >= STORED_BLOCK_MAX {
                    return None;
                }
                continue;
            }
            if i > start {
                if !strongly_connected(graph, start..i + 1) {
                    return None;
                }
                let mut members = [0u32; STORED_BLOCK_MAX];
                let members = &mut members[..i + 1 - start];
                members
                    .iter_mut()
                    .zip(start as u32..)
                    .for_each(|(m, u)| *m = u);
                plan.cyclic(a, graph, members);
            } else if let Some(last) = last {
                plan.exact_in_level_order(a, graph, i, last == i);
            } else {
                plan.summary.empty_rows += 1;
            }
            start = i + 1;
        }
        plan.summary.in_stored_order = true;
        plan.finish(a)
    }

    /// The plan found by Tarjan's search of the graph, exact runs sorted by level.
    fn searched<T: Copy + Into<u32>>(a: &MatRef, graph: &Graph<T>) -> Option<Blocks> {
        let n = a.rows();
        // One allocation for every per-unit scratch array (they were a dozen, some grown by doubling).
        let mut work = vec![0u32; WORK_PER_UNIT * n + 1];
        let (search, build) = work.split_at_mut(5 * n);
        let mut plan = Builder::new(n, build);
        plan.summary.empty_rows = graph.start.windows(2).filter(|w| w[0] == w[1]).count();
        tarjan(graph, search, |members| plan.component(a, graph, members));
        plan.finish(a)
    }

    /// The summary with [`BlockStructure::levels`] (not needed to solve, so counted on demand): in each exact
    /// run, a unit's level is 1 + the highest level of the units of the same run it reads (0 when none).
    pub(crate) fn summary(&self, a: &MatRef) -> BlockStructure {
        let Some((start, targets)) = nonzero_graph(a) else {
            return self.summary;
        };
        let graph = Graph {
            start: &start,
            targets: &targets,
        };
        // Per unit: 1 + the index of its exact run, and its level there.
        let (mut run, mut level) = (vec![0u32; a.rows()], vec![0u32; a.rows()]);
        let mut levels = 0;
        let units = self.units.as_slice();
        for (r, segment) in self.segments.iter().enumerate().filter(|(_, s)| !s.cyclic) {
            let r = r as u32 + 1;
            for &u in &units[segment.range.clone()] {
                let u = u as usize;
                let l = graph
                    .edges(u)
                    .iter()
                    .map(|&w| w as usize)
                    .filter(|&w| w != u && run[w] == r)
                    .map(|w| level[w] + 1)
                    .max()
                    .unwrap_or(0);
                (run[u], level[u]) = (r, l);
                levels = levels.max(l as usize + 1);
            }
        }
        BlockStructure {
            levels,
            ..self.summary
        }
    }

    /// The `n` hidden units in evaluation order: the empty rows (ascending), then [`Blocks::units`] (see
    /// [`crate::Model::evaluation_order`]).
    pub(crate) fn evaluation_order(&self, n: usize) -> Vec<u32> {
        let units = self.units.as_slice();
        let mut placed = vec![false; n];
        units.iter().for_each(|&u| placed[u as usize] = true);
        let empty = (0..n as u32).filter(|&i| !placed[i as usize]);
        empty.chain(units.iter().copied()).collect()
    }

    /// Solves `x = relu(A x + z)` for one vector (`z`, `x`: length `n`): `x = relu(z)` (exact for the empty rows,
    /// the start of the cyclic ones), then every segment in order, 2-unit components in closed form. Returns the
    /// iterations (the most sweeps any iterated component needed; 1 when none was iterated) and the residual
    /// `max_i |x_i - relu(z_i + A_i x)|` of the returned state: every segment measures it over its own rows as
    /// soon as they are final (their inputs are final before them, and nothing writes them afterwards), exact runs
    /// inside their one pass (`MatRef::solve_rows`), pairs from their closed form's coefficients, iterated
    /// components by one more evaluation of their rows; empty rows are `relu(z_i)` exactly.
    pub(crate) fn solve(
        &self,
        a: &MatRef,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        stop: Stop,
        cache: &mut Vec<f32>,
    ) -> Result<(u32, f32), Error> {
        k.relu_into(z, x);
        let mut iterations = 1;
        let mut residual = 0.0f32;
        let short = self.short.as_ref().filter(|_| crate::solve::PACKED);
        // The session's pattern cache (`kernels/pattern_cache.rs`): a tag, then one region per small component
        // of at most CACHE_MAX units, in segment order. Grown on the first call; cleared when the tag is missing
        // (the buffer held another solver's state).
        let need = if crate::solve::PACKED {
            let regions = self.segments.iter().filter(|s| s.small.is_some());
            1 + regions
                .map(|s| PatternCache::region_len(s.range.len()))
                .sum::<usize>()
        } else {
            0
        };
        if need > 1 {
            if cache.len() < need {
                cache.resize(need, 0.0);
            }
            if cache[0].to_bits() != CACHE_TAG {
                cache[..need].fill(0.0);
                cache[0] = f32::from_bits(CACHE_TAG);
            }
        }
        let mut region_at = 1;
        let units = self.units.as_slice();
        // `z_u + A_u x` of the unit at position `at` of the plan (the caller zeroes what must not count): its
        // packed record when the rows are short, else the CSR row.
        let outside = |x: &[f32], at: usize| -> Result<f32, Error> {
            match short.and_then(|s| s.outside(z, x, at)) {
                Some(r) => Ok(r),
                None => {
                    let u = units[at] as usize;
                    Ok(z[u] + a.row_dot(k, u, x)?)
                }
            }
        };
        for seg in &self.segments {
            let range = seg.range.clone();
            if !seg.cyclic {
                let r = match short {
                    Some(short) => short.solve(z, x, range)?,
                    None => a
                        .solve_rows(k, z, x, &self.units, range.clone(), &self.gains[range])?
                        .ok_or(NOT_PLANNED)?,
                };
                residual = larger(residual, r);
                continue;
            }
            if let Some(coef) = seg.pair {
                // Inputs of the pair with its own two units read as 0: r = z + A x over final values.
                let (p, q) = (units[range.start] as usize, units[range.start + 1] as usize);
                x[p] = 0.0;
                x[q] = 0.0;
                let (rp, rq) = (outside(x, range.start)?, outside(x, range.start + 1)?);
                if let Some((xp, xq)) = solve_pair(coef, rp, rq) {
                    x[p] = xp;
                    x[q] = xq;
                    // z + A x of both rows, their own terms added to the rest.
                    let [b, c, d, e] = coef;
                    let tp = rp + b * xp + c * xq;
                    let tq = rq + d * xp + e * xq;
                    residual = larger(residual, (larger(0.0, tp) - xp).abs());
                    residual = larger(residual, (larger(0.0, tq) - xq).abs());
                    continue;
                }
                // Rounding left no consistent pattern: iterate from relu(z).
                x[p] = larger(0.0, z[p]);
                x[q] = larger(0.0, z[q]);
            }
            if let Some(start) = seg.small {
                let members = &self.units.as_slice()[range.clone()];
                let m = members.len();
                let block = &self.small[start..start + m * m];
                let len = PatternCache::region_len(m);
                let region = match cache.get_mut(region_at..region_at + len) {
                    Some(region) if need > 1 && len > 0 => Some(region),
                    _ => None,
                };
                region_at += len;
                // The component's own units read as 0, so the row products give only what comes from outside it.
                for &u in members {
                    x[u as usize] = 0.0;
                }
                let mut r = [0.0f32; SMALL_MAX];
                for (i, ri) in r[..m].iter_mut().enumerate() {
                    *ri = outside(x, range.start + i)?;
                }
                // The cached solution operator of the pattern that relu(r) shows (right on 94% of the test
                // images for the default model), kept when its true residual is within the tolerance; else the
                // elimination and its safeguard.
                let cached = region
                    .and_then(|region| PatternCache::bind(block, m, region))
                    .and_then(|mut c| {
                        let y = c.solve(&r, &c.pre(&r, &r.map(|v| larger(0.0, v))))?;
                        let res = residual_of(&c.pre(&r, &y), &y);
                        stop.met(res, || norm_inf(&y[..m])).then_some((1, res, y))
                    });
                let (sweeps, res, y) = match cached {
                    Some(answer) => answer,
                    None => small_component(block, &r, m, stop)?,
                };
                for (&u, &v) in members.iter().zip(&y) {
                    x[u as usize] = v;
                }
                iterations = iterations.max(sweeps);
                residual = larger(residual, res);
                continue;
            }
            let (sweeps, update) = a
                .iterate_rows(
                    k,
                    z,
                    x,
                    &self.units,
                    range.clone(),
                    stop.tol,
                    stop.cap,
                    stop.kappa,
                )?
                .ok_or(NOT_PLANNED)?;
            let members = &self.units.as_slice()[range.clone()];
            let scale = || norm_inf_rows(x, members);
            iterations = iterations.max(checked_update(sweeps, update, stop, scale)?);
            let r = a
                .sweep_rows(k, z, x, &self.units, range, false)?
                .ok_or(NOT_PLANNED)?;
            residual = larger(residual, r);
        }
        Ok((iterations, residual))
    }

    /// [`Blocks::solve`] for a batch (`z`, `x`: `n x batch`; `row`: `batch` lanes of scratch). Every component
    /// iterates until every input meets the stopping test with its own state (`lanes`: `batch` inputs).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn solve_batch(
        &self,
        a: &MatRef,
        k: Kernels,
        z: &[f32],
        x: &mut [f32],
        batch: usize,
        row: &mut [f32],
        mut lanes: Lanes,
        stop: Stop,
    ) -> Result<(u32, f32), Error> {
        k.relu_into(z, x);
        let units = self.units.as_slice();
        let mut iterations = 1;
        for seg in &self.segments {
            let members = &units[seg.range.clone()];
            if !seg.cyclic {
                for (&i, &g) in members.iter().zip(&self.gains[seg.range.clone()]) {
                    let lanes = i as usize * batch..(i as usize + 1) * batch;
                    // The row's own weight must read 0 (closed form of a self-loop; no-op elsewhere).
                    x[lanes.clone()].fill(0.0);
                    row.copy_from_slice(&z[lanes.clone()]);
                    a.row_batch_add(k, i as usize, x, batch, row)?;
                    for (xi, &t) in x[lanes].iter_mut().zip(row.iter()) {
                        *xi = g * larger(0.0, t);
                    }
                }
                continue;
            }
            let lanes_of = |i: u32| i as usize * batch..(i as usize + 1) * batch;
            let sweep = |lanes: &mut Lanes, x: &mut [f32]| {
                for &i in members {
                    row.copy_from_slice(&z[lanes_of(i)]);
                    a.row_batch_add(k, i as usize, x, batch, row)?;
                    lanes.relu_step(k, row, &mut x[lanes_of(i)]);
                }
                Ok(())
            };
            let norm = |x: &[f32]| norm_inf_members(x, members, batch);
            let sweeps = iterate(stop, &mut lanes, x, sweep, norm)?;
            iterations = iterations.max(sweeps);
        }
        let mut residual = 0.0f32;
        for &i in self.checked.as_slice() {
            let lanes = i as usize * batch..(i as usize + 1) * batch;
            row.copy_from_slice(&z[lanes.clone()]);
            a.row_batch_add(k, i as usize, x, batch, row)?;
            for (&xi, &t) in x[lanes].iter().zip(row.iter()) {
                residual = larger(residual, (larger(0.0, t) - xi).abs());
            }
        }
        Ok((iterations, residual))
    }
}

/// `max_i |relu(t_i) - v_i|` over the lanes: the residual of a small component's state `v` for `t = r + M v`.
fn residual_of(t: &[f32; SMALL_MAX], v: &[f32; SMALL_MAX]) -> f32 {
    t.iter().zip(v).fold(0.0f32, |acc, (&ti, &vi)| {
        larger(acc, (larger(0.0, ti) - vi).abs())
    })
}

/// Solves one small cyclic component `x_c = relu(M x_c + r)` for a single input, where `M` (`block`, `m x m`
/// row-major, `3 <= m <= SMALL_MAX`) is `A` restricted to the component and `r = z_c + A_{c,rest} x_rest` (the
/// first `m` lanes of `r`) is read once from the final values outside it. Returns the iterations, the true
/// residual `max_i |y_i - relu(r_i + M_i y)|` of the answer `y` and `y` itself (lanes `m..` are 0).
///
/// Each iteration first tries the exact solution of the current activation pattern (semismooth Newton on the
/// piecewise-linear equation `x = relu(M x + r)`): with `S = {i : (M x + r)_i > 0}`, `(I - M_SS) y_S = r_S`,
/// `y = 0` elsewhere. `I - M_SS` is strictly diagonally dominant (the rows of `M` have L1 norm below 1), so
/// elimination without pivoting is stable. The candidate is kept only if its true residual
/// `max_i |y_i - relu(r_i + M_i y)|` meets the stopping test (`stop.rs`, over the component);
/// otherwise it replaces `x` if its residual is smaller, and one Gauss-Seidel sweep updates `x` and the pattern.
/// The sweeps alone converge (a max-norm contraction from any start), so the loop ends either way. From
/// `x = relu(r)` the first pattern was right on 94% of the Fashion-MNIST test images for the three components of
/// the default model (3, 5 and 3 units), so the common case is one elimination and two products by `M`.
///
/// `M` is held by columns in eight lanes (zeros past `m`, which keep the padding lanes at 0 through every
/// product), so that `r + M v` is `m` multiply-adds of whole lane arrays, which the compiler vectorises.
fn small_component(
    block: &[f32],
    r: &[f32; SMALL_MAX],
    m: usize,
    stop: Stop,
) -> Result<(u32, f32, [f32; SMALL_MAX]), Error> {
    let cap = stop.cap;
    debug_assert!(block.len() == m * m && m <= SMALL_MAX);
    let mut cols = [[0.0f32; SMALL_MAX]; SMALL_MAX];
    for (i, row) in block.chunks_exact(m).enumerate() {
        for (col, &w) in cols.iter_mut().zip(row) {
            col[i] = w;
        }
    }
    // r + M v, all lanes.
    let pre = |v: &[f32; SMALL_MAX]| -> [f32; SMALL_MAX] {
        let mut t = *r;
        for (col, &vj) in cols[..m].iter().zip(v) {
            for (ti, &w) in t.iter_mut().zip(col) {
                *ti += w * vj;
            }
        }
        t
    };
    let mut xs = r.map(|ri| larger(0.0, ri));
    let mut t = pre(&xs);
    let mut update = f32::INFINITY;
    let mut test = stop.running();
    for iteration in 1..=cap {
        if let Some(y) = pattern_solution(&cols, r, &t, m) {
            let ty = pre(&y);
            let res = residual_of(&ty, &y);
            if stop.met(res, || norm_inf(&y[..m])) {
                return Ok((iteration, res, y));
            }
            // A closer pattern solution is a better start for the sweep (a Newton step, safeguarded).
            if res < residual_of(&t, &xs) {
                xs = y;
            }
        }
        update = 0.0;
        for i in 0..m {
            let v = larger(0.0, r[i] + (0..m).map(|j| cols[j][i] * xs[j]).sum::<f32>());
            update = larger(update, (v - xs[i]).abs());
            xs[i] = v;
        }
        if !update.is_finite() {
            return Err(Error::NotFinite {
                what: "hidden state",
            });
        }
        t = pre(&xs);
        if test.met(update, || norm_inf(&xs[..m])) {
            return Ok((iteration, residual_of(&t, &xs), xs));
        }
    }
    // The cap reached (or 0: no iteration allowed).
    Err(Error::NotConverged {
        iterations: cap,
        residual: update,
        tolerance: if cap == 0 {
            stop.tol
        } else {
            stop.threshold(norm_inf(&xs[..m]))
        },
    })
}

/// The solution of the activation pattern `S = {i < m : t_i > 0}` (see [`small_component`]) in f64: `y_S` solves
/// `(I - M_SS) y_S = r_S` (`cols`: `M` by columns), `y = 0` elsewhere. `None` if a pivot vanishes (impossible for
/// a contraction, kept for safety) or the answer is not finite.
fn pattern_solution(
    cols: &[[f32; SMALL_MAX]; SMALL_MAX],
    r: &[f32; SMALL_MAX],
    t: &[f32; SMALL_MAX],
    m: usize,
) -> Option<[f32; SMALL_MAX]> {
    let mut active = [0usize; SMALL_MAX];
    let mut s = 0;
    for (i, &ti) in t[..m].iter().enumerate() {
        active[s] = i;
        s += usize::from(ti > 0.0);
    }
    let active = &active[..s];
    // (I - M_SS) y = r_S, row-major s x (s + 1) with the right-hand side last. I - M_SS is strictly diagonally
    // dominant by rows (each row of M has L1 norm below 1), so elimination without pivoting is stable.
    let mut g = [[0.0f64; SMALL_MAX + 1]; SMALL_MAX];
    for (row, &i) in g.iter_mut().zip(active) {
        for (c, &j) in active.iter().enumerate() {
            row[c] = f64::from(u8::from(i == j)) - f64::from(cols[j][i]);
        }
        row[s] = f64::from(r[i]);
    }
    // One division per pivot (divisions are the slow part at these sizes), its reciprocal used by every row.
    let mut inv = [0.0f64; SMALL_MAX];
    for p in 0..s {
        let pivot = g[p][p];
        if pivot == 0.0 {
            return None;
        }
        inv[p] = 1.0 / pivot;
        let (top, rest) = g.split_at_mut(p + 1);
        let pivot_row = &top[p];
        for row in &mut rest[..s - p - 1] {
            let f = row[p] * inv[p];
            for (v, &w) in row[p..=s].iter_mut().zip(&pivot_row[p..=s]) {
                *v -= f * w;
            }
        }
    }
    let mut y = [0.0f32; SMALL_MAX];
    let mut ys = [0.0f64; SMALL_MAX];
    for p in (0..s).rev() {
        let tail: f64 = (p + 1..s).map(|c| g[p][c] * ys[c]).sum();
        ys[p] = (g[p][s] - tail) * inv[p];
    }
    for (&i, &v) in active.iter().zip(&ys) {
        if !v.is_finite() {
            return None;
        }
        // A negative value is an inconsistent pattern; clamped, the residual test rejects it.
        y[i] = (v as f32).max(0.0);
    }
    Some(y)
}

/// The first float of a session's pattern cache (a NaN payload that no arithmetic on the checked, finite inputs
/// and weights produces): the rest of the buffer is the cache's own.
const CACHE_TAG: u32 = 0x7fc5_a5a5;

/// A plan only exists for dense and CSR `A`, whose row kernels never answer `None`.
const NOT_PLANNED: Error = Error::InvalidOption("block plan on a low-rank matrix");

/// Runs `sweep` over a batch until every input meets the stopping test (`lanes`, restarted first, which `sweep`
/// fills; `norm`: the infinity norm of the rows it updates, computed only near the resolution); returns the sweeps
/// run. Fails after `stop.cap` sweeps, or on an infinite update (relu maps NaN to 0, so a NaN shows up as overflow
/// or in the caller's final check).
fn iterate(
    stop: Stop,
    lanes: &mut Lanes,
    x: &mut [f32],
    mut sweep: impl FnMut(&mut Lanes, &mut [f32]) -> Result<(), Error>,
    norm: impl Fn(&[f32]) -> f32,
) -> Result<u32, Error> {
    lanes.restart();
    for sweeps in 1..=stop.cap {
        lanes.next_sweep();
        sweep(lanes, x)?;
        let update = lanes.largest_update();
        if !update.is_finite() {
            return Err(Error::NotFinite {
                what: "hidden state",
            });
        }
        if lanes.met(stop, || norm(x)) {
            return Ok(sweeps);
        }
    }
    Err(Error::NotConverged {
        iterations: stop.cap,
        residual: lanes.largest_update(),
        tolerance: lanes.missed_threshold(stop, || norm(x)),
    })
}

/// `max |x|` over the lanes of the units `members` (`x`: units x `batch`).
fn norm_inf_members(x: &[f32], members: &[u32], batch: usize) -> f32 {
    members.iter().fold(0.0, |m, &i| {
        larger(
            m,
            norm_inf(&x[i as usize * batch..(i as usize + 1) * batch]),
        )
    })
}

/// The outcome of an iteration that stopped after `sweeps` with this last update (`scale`: the norm of the state
/// it iterated): the sweeps when it converged, else the error (a non-finite update, or the cap reached above the
/// stopping test).
fn checked_update(
    sweeps: u32,
    update: f32,
    stop: Stop,
    scale: impl Fn() -> f32,
) -> Result<u32, Error> {
    if !update.is_finite() {
        return Err(Error::NotFinite {
            what: "hidden state",
        });
    }
    if stop.met(update, &scale) {
        return Ok(sweeps);
    }
    Err(Error::NotConverged {
        iterations: stop.cap,
        residual: update,
        tolerance: stop.threshold(scale()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use wolfpack_format::{Indices, Values};

    use super::*;

    fn csr(n: usize, dense: &[f32]) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let (mut ptr, mut idx, mut val) = (vec![0u32], vec![], vec![]);
        for i in 0..n {
            for j in 0..n {
                let v = dense[i * n + j];
                if v != 0.0 {
                    idx.push(j as u32);
                    val.push(v);
                }
            }
            ptr.push(idx.len() as u32);
        }
        (ptr, idx, val)
    }

    /// Naive reachability: `reach[i][j]` when a path of one or more edges leads from `i` to `j`.
    fn reachability(n: usize, dense: &[f32]) -> Vec<Vec<bool>> {
        let mut r: Vec<Vec<bool>> = (0..n)
            .map(|i| (0..n).map(|j| dense[i * n + j] != 0.0).collect())
            .collect();
        for k in 0..n {
            for i in 0..n {
                if r[i][k] {
                    let via_k = r[k].clone();
                    r[i].iter_mut().zip(via_k).for_each(|(ij, kj)| *ij |= kj);
                }
            }
        }
        r
    }

    /// Checks the plan against the definition: every unit appears once, components are the classes of mutual
    /// reachability, every edge points to an empty row or to a unit evaluated no later (earlier outside its
    /// own cyclic component), and the summary counts add up.
    fn check(n: usize, dense: &[f32]) -> Result<(), TestCaseError> {
        let blocks = blocks_of(n, dense);
        let reach = reachability(n, dense);
        let units = blocks.units.as_slice();
        let empty = |i: usize| (0..n).all(|j| dense[i * n + j] == 0.0);
        let mut position = vec![usize::MAX; n];
        for (pos, &u) in units.iter().enumerate() {
            prop_assert_eq!(position[u as usize], usize::MAX, "unit {} twice", u);
            position[u as usize] = pos;
        }
        for (i, &pos) in position.iter().enumerate() {
            prop_assert_eq!(pos == usize::MAX, empty(i), "row {}", i);
        }
        let segment_of = |pos: usize| {
            blocks
                .segments
                .iter()
                .position(|s| s.range.contains(&pos))
                .unwrap()
        };
        prop_assert_eq!(blocks.segments.first().map_or(0, |s| s.range.start), 0);
        prop_assert_eq!(
            blocks.segments.last().map_or(0, |s| s.range.end),
            units.len()
        );
        for w in blocks.segments.windows(2) {
            prop_assert_eq!(w[0].range.end, w[1].range.start);
        }
        let (mut cyclic_rows, mut cyclic_blocks, mut cyclic_nnz) = (0, 0, 0);
        let mutual = |a: usize, b: usize| reach[a][b] && reach[b][a];
        for s in &blocks.segments {
            let members = &units[s.range.clone()];
            if s.cyclic {
                cyclic_rows += members.len();
                cyclic_blocks += 1;
                prop_assert!(members.len() > 1);
                // One strongly connected component.
                for &a in members {
                    cyclic_nnz += (0..n).filter(|&j| dense[a as usize * n + j] != 0.0).count();
                    for &b in members {
                        prop_assert!(mutual(a as usize, b as usize), "{} and {}", a, b);
                    }
                }
            } else {
                for (&a, &g) in members.iter().zip(&blocks.gains[s.range.clone()]) {
                    let a = a as usize;
                    // Off cycles, or on a self-loop only (solved in closed form with gain 1 / (1 - A_aa)).
                    prop_assert!(
                        (0..n).all(|b| b == a || !mutual(a, b)),
                        "{} is on a cycle",
                        a
                    );
                    let d = dense[a * n + a];
                    prop_assert_eq!(g, 1.0 / (1.0 - d));
                }
            }
        }
        for i in 0..n {
            for j in 0..n {
                if dense[i * n + j] == 0.0 || empty(j) || i == j {
                    continue;
                }
                let (pi, pj) = (position[i], position[j]);
                let same_cycle =
                    segment_of(pi) == segment_of(pj) && blocks.segments[segment_of(pi)].cyclic;
                prop_assert!(pj < pi || same_cycle, "{} reads {} evaluated later", i, j);
            }
        }
        let s = blocks.summary;
        let self_loops = (0..n)
            .filter(|&i| dense[i * n + i] != 0.0 && (0..n).all(|b| b == i || !mutual(i, b)))
            .count();
        prop_assert_eq!(
            s.empty_rows + s.exact_rows + s.self_loops + s.cyclic_rows,
            n
        );
        prop_assert_eq!(
            (s.cyclic_rows, s.cyclic_blocks, s.cyclic_nnz, s.self_loops),
            (cyclic_rows, cyclic_blocks, cyclic_nnz, self_loops)
        );
        prop_assert_eq!(blocks.checked.as_slice().len(), cyclic_rows + self_loops);
        Ok(())
    }

    proptest! {
        #[test]
        fn components_match_reachability(n in 1usize..24, density in 0u32..5, seed in any::<u64>()) {
            let mut s = seed | 1;
            let dense: Vec<f32> = (0..n * n).map(|_| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                if (s % 16) < u64::from(density) { 0.1 } else { 0.0 }
            }).collect();
            check(n, &dense)?;
        }
    }

    proptest! {
        /// The closed form of a 2-unit component equals its fixed point found by f64 iteration.
        #[test]
        fn pairs_match_their_fixed_point(c in proptest::array::uniform4(-1.0f32..1.0), scale in 0.0f32..0.999, ra in -2.0f32..2.0, rb in -2.0f32..2.0) {
            let l1 = |x: f32, y: f32| x.abs() + y.abs();
            let norm = l1(c[0], c[1]).max(l1(c[2], c[3])).max(1e-6);
            let c = c.map(|v| v * scale / norm);
            let (xa, xb) = solve_pair(c, ra, rb).expect("a consistent pattern");
            let [b, cc, d, e] = c.map(f64::from);
            let (mut ya, mut yb) = (0.0f64, 0.0f64);
            for _ in 0..100_000 {
                ya = (b * ya + cc * yb + f64::from(ra)).max(0.0);
                yb = (d * ya + e * yb + f64::from(rb)).max(0.0);
            }
            prop_assert!((f64::from(xa) - ya).abs() <= 1e-4 * (1.0 + ya), "{} vs {}", xa, ya);
            prop_assert!((f64::from(xb) - yb).abs() <= 1e-4 * (1.0 + yb), "{} vs {}", xb, yb);
        }
    }

    proptest! {
        /// The residual `solve` reports is the true `max_i |relu(z_i + A_i x) - x_i|` of the state it returns over
        /// all rows, recomputed here row by row with the same kernels: exact runs (rows of one, two and more
        /// weights), self-loops, closed-form pairs and iterated components alike, converged or stopped at a loose
        /// tolerance.
        #[test]
        fn solve_reports_the_true_residual(n in 1usize..30, density in 1u32..10, seed in any::<u64>(), loose in any::<bool>(), half in any::<bool>()) {
            let mut s = seed | 1;
            let mut next = || {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                s
            };
            let mut dense: Vec<f32> = (0..n * n)
                .map(|_| if next() % 16 < u64::from(density) { (next() % 2000) as f32 / 1000.0 - 1.0 } else { 0.0 })
                .collect();
            for row in dense.chunks_mut(n) {
                let l1: f32 = row.iter().map(|v| v.abs()).sum();
                if l1 > 0.0 {
                    row.iter_mut().for_each(|v| *v *= 0.9 / l1);
                }
            }
            let (ptr, idx, val) = csr(n, &dense);
            let halves: Vec<half::f16> = val.iter().map(|&v| half::f16::from_f32(v)).collect();
            let values = if half { Values::F16(&halves) } else { Values::F32(&val) };
            let a = MatRef::csr(n, n, &ptr, Indices::U32(&idx), values).unwrap();
            let Some(blocks) = Blocks::new(&a) else { return Ok(()) };
            let z: Vec<f32> = (0..n).map(|_| (next() % 2000) as f32 / 1000.0 - 1.0).collect();
            let tol = if loose { 1e-2 } else { 1e-6 };
            for k in Kernels::all_available() {
                let mut x = vec![0.0f32; n];
                let (_, reported) = blocks.solve(&a, k, &z, &mut x, Stop::new(tol, 10_000, 0.0), &mut Vec::new()).unwrap();
                let truth = (0..n)
                    .map(|i| (larger(0.0, z[i] + a.row_dot(k, i, &x).unwrap()) - x[i]).abs())
                    .fold(0.0f32, larger);
                prop_assert!((reported - truth).abs() <= 1e-6, "{:?}: reported {} vs {}", k.isa(), reported, truth);
                if !loose {
                    prop_assert!(reported <= 1e-5, "{:?}: {}", k.isa(), reported);
                }
            }
        }
    }

    /// Rows of one or two weights (packed as `ShortRows`), half of them self-loops: the reported residual is their
    /// evaluation with the final state, what `row_dot` gives up to the order of the sums, and not 0 (the closed
    /// form of a self-loop is exact only up to rounding), so a solve that skipped it would be caught.
    #[test]
    fn short_self_loop_rows_report_their_rounding_residual() {
        let n = 64;
        let mut dense = vec![0.0f32; n * n];
        for i in 0..n {
            if i % 2 == 0 {
                dense[i * n + i] = 0.3 + 0.4 * (i as f32 / n as f32);
            }
            if i > 0 {
                dense[i * n + (i * 7) % i] = 0.45 - 0.9 * ((i % 5) as f32 / 5.0);
            }
        }
        let (ptr, idx, val) = csr(n, &dense);
        let a = MatRef::csr(n, n, &ptr, Indices::U32(&idx), Values::F32(&val)).unwrap();
        let blocks = Blocks::new(&a).unwrap();
        assert_eq!(blocks.summary.cyclic_blocks, 0);
        assert_eq!(
            blocks.short.is_some(),
            crate::solve::PACKED,
            "the rows are packed as ShortRows"
        );
        let z: Vec<f32> = (0..n).map(|i| ((i * 37) % 19) as f32 / 9.0 - 0.7).collect();
        for k in Kernels::all_available() {
            let mut x = vec![0.0f32; n];
            let (_, reported) = blocks
                .solve(
                    &a,
                    k,
                    &z,
                    &mut x,
                    Stop::new(1e-6, 100, 0.0),
                    &mut Vec::new(),
                )
                .unwrap();
            let truth = (0..n)
                .map(|i| (larger(0.0, z[i] + a.row_dot(k, i, &x).unwrap()) - x[i]).abs())
                .fold(0.0f32, larger);
            assert!(
                (reported - truth).abs() <= 1e-6,
                "{:?}: {reported} vs {truth}",
                k.isa()
            );
            assert!(reported > 0.0, "{:?}", k.isa());
        }
    }

    /// Small cyclic components (3 to `SMALL_MAX` units, each reading the next around a cycle, plus a dense
    /// inner block and inputs from an exact unit outside): the answer is the f64 fixed point within the tolerance,
    /// whatever the sign pattern, and the exact solution of the activation pattern ends the iteration early.
    #[test]
    fn small_components_reach_the_fixed_point() {
        for m in 3..=SMALL_MAX {
            for pattern in 0..6u32 {
                let n = m + 1;
                let mut dense = vec![0.0f32; n * n];
                for i in 0..m {
                    for j in 0..m {
                        let sign = if (i * 3 + j + pattern as usize).is_multiple_of(3) {
                            -1.0
                        } else {
                            1.0
                        };
                        dense[i * n + j] =
                            sign * (0.05 + 0.1 * ((i + 2 * j + pattern as usize) % 4) as f32);
                    }
                    dense[i * n + m] = 0.3 - 0.2 * (i % 3) as f32;
                    let l1: f32 = dense[i * n..(i + 1) * n].iter().map(|v| v.abs()).sum();
                    dense[i * n..(i + 1) * n]
                        .iter_mut()
                        .for_each(|v| *v *= 0.9 / l1);
                }
                let (ptr, idx, val) = csr(n, &dense);
                let a = MatRef::csr(n, n, &ptr, Indices::U32(&idx), Values::F32(&val)).unwrap();
                let blocks = Blocks::new(&a).unwrap();
                assert_eq!(blocks.summary.largest_block, m);
                assert!(blocks.segments.iter().any(|s| s.small.is_some()));
                let z: Vec<f32> = (0..n)
                    .map(|i| ((i as u32 * 7 + pattern * 5) % 11) as f32 / 5.0 - 1.0)
                    .collect();
                // The f64 reference: Picard to convergence.
                let mut want = vec![0.0f64; n];
                for _ in 0..2000 {
                    want = (0..n)
                        .map(|i| {
                            let t: f64 =
                                (0..n).map(|j| f64::from(dense[i * n + j]) * want[j]).sum();
                            (t + f64::from(z[i])).max(0.0)
                        })
                        .collect();
                }
                for k in Kernels::all_available() {
                    let mut x = vec![0.0f32; n];
                    let (iterations, residual) = blocks
                        .solve(
                            &a,
                            k,
                            &z,
                            &mut x,
                            Stop::new(1e-6, 100, 0.0),
                            &mut Vec::new(),
                        )
                        .unwrap();
                    for (got, want) in x.iter().zip(&want) {
                        assert!(
                            (f64::from(*got) - want).abs() <= 1e-5,
                            "m {m} pattern {pattern}: {x:?} vs {want:?}"
                        );
                    }
                    assert!(
                        residual <= 1e-6,
                        "m {m} pattern {pattern}: residual {residual}"
                    );
                    assert!(
                        iterations <= 4,
                        "m {m} pattern {pattern}: {iterations} iterations"
                    );
                }
            }
        }
    }

    /// The session's pattern cache never changes an answer: solving many inputs with one cache (filled,
    /// reused, handed over from a buffer of foreign values, moved between two plans) gives bit for bit the states
    /// and residuals of a fresh cache per call.
    #[test]
    fn the_pattern_cache_does_not_change_answers() {
        let plan = |n: usize, seed: usize| {
            // Two 3-cycles and a 5-unit component reading each other, plus an exact unit.
            let mut dense = vec![0.0f32; n * n];
            let mut put = |i: usize, j: usize, v: f32| dense[i * n + j] = v;
            let s = 0.1 * seed as f32;
            for (a, b, w) in [
                (0, 1, -0.3),
                (1, 2, 0.25 + s),
                (2, 0, -0.35),
                (3, 4, 0.3 - s),
                (4, 5, -0.2),
            ] {
                put(a, b, w);
            }
            for (a, b, w) in [
                (5, 3, 0.3),
                (5, 6, -0.1),
                (6, 7, 0.2),
                (7, 3, -0.3),
                (3, 7, 0.1),
            ] {
                put(a, b, w);
            }
            put(0, 8, 0.2);
            put(3, 0, -0.15);
            put(9, 5, 0.4);
            let (ptr, idx, val) = csr(n, &dense);
            (ptr, idx, val)
        };
        let n = 10;
        let (p1, i1, v1) = plan(n, 0);
        let (p2, i2, v2) = plan(n, 1);
        let a1 = MatRef::csr(n, n, &p1, Indices::U32(&i1), Values::F32(&v1)).unwrap();
        let a2 = MatRef::csr(n, n, &p2, Indices::U32(&i2), Values::F32(&v2)).unwrap();
        let (b1, b2) = (Blocks::new(&a1).unwrap(), Blocks::new(&a2).unwrap());
        assert!(b1.segments.iter().any(|s| s.small.is_some()));
        let k = Kernels::detect();
        let mut shared: Vec<f32> = (0..2000).map(|i| (i % 13) as f32 - 6.0).collect();
        for call in 0..200u32 {
            let z: Vec<f32> = (0..n as u32)
                .map(|i| ((i * 7 + call * 13) % 17) as f32 / 8.0 - 1.0)
                .collect();
            let (a, b) = if call % 3 == 2 {
                (&a2, &b2)
            } else {
                (&a1, &b1)
            };
            let mut x_shared = vec![0.0f32; n];
            let got = b
                .solve(
                    a,
                    k,
                    &z,
                    &mut x_shared,
                    Stop::new(1e-6, 100, 0.0),
                    &mut shared,
                )
                .unwrap();
            // The cache is in use (packed builds): its tag replaced the foreign values.
            assert_eq!(shared[0].to_bits() == CACHE_TAG, crate::solve::PACKED);
            let mut x_fresh = vec![0.0f32; n];
            let want = b
                .solve(
                    a,
                    k,
                    &z,
                    &mut x_fresh,
                    Stop::new(1e-6, 100, 0.0),
                    &mut Vec::new(),
                )
                .unwrap();
            assert_eq!(got.1.to_bits(), want.1.to_bits(), "call {call}");
            assert_eq!(got.0, want.0, "call {call}");
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x_shared), bits(&x_fresh), "call {call}");
        }
    }

    #[test]
    fn edge_cases() {
        // n = 1: empty, self-loop.
        check(1, &[0.0]).unwrap();
        check(1, &[0.5]).unwrap();
        check(1, &[-0.5]).unwrap();
        // A chain 0 <- 1 <- 2 <- 3 (row i reads i - 1) and its reverse: exact, one segment.
        let n = 4;
        let chain: Vec<f32> = (0..n * n)
            .map(|k| if k / n == k % n + 1 { 0.5 } else { 0.0 })
            .collect();
        check(n, &chain).unwrap();
        let b = blocks_of(n, &chain);
        assert_eq!(b.summary.empty_rows, 1);
        assert_eq!(b.segments.len(), 1);
        assert_eq!(b.units.as_slice(), &[1, 2, 3]);
        // Units 1, 2, 3 read their predecessor in the same run: three levels, stored order or searched.
        assert_eq!(plan_of(n, &chain).1.levels, 3);
        let reversed = renumbered(n, &chain, &[3, 2, 1, 0]);
        assert!(!blocks_of(n, &reversed).summary.in_stored_order);
        assert_eq!(plan_of(n, &reversed).1.levels, 3);
        // One big cycle 0 -> 1 -> ... -> n-1 -> 0.
        let n = 50;
        let ring: Vec<f32> = (0..n * n)
            .map(|k| if (k / n + 1) % n == k % n { 0.5 } else { 0.0 })
            .collect();
        let b = blocks_of(n, &ring);
        assert_eq!(b.summary.largest_block, n);
        assert_eq!(b.summary.cyclic_blocks, 1);
        check(n, &ring).unwrap();
        // Explicitly stored zeros are not dependencies.
        let a = MatRef::csr(
            2,
            2,
            &[0, 1, 2],
            Indices::U16(&[1, 0]),
            Values::F32(&[0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(Blocks::new(&a).unwrap().summary.empty_rows, 2);
    }

    /// `dense` (n x n) renumbered by `order` (`order[k]` is the old index of new unit `k`): `P A P^T`.
    fn renumbered(n: usize, dense: &[f32], order: &[u32]) -> Vec<f32> {
        let mut out = vec![0.0; n * n];
        for (i, &oi) in order.iter().enumerate() {
            for (j, &oj) in order.iter().enumerate() {
                out[i * n + j] = dense[oi as usize * n + oj as usize];
            }
        }
        out
    }

    fn blocks_of(n: usize, dense: &[f32]) -> Blocks {
        plan_of(n, dense).0
    }

    /// The plan of `dense` and its summary with the levels counted.
    fn plan_of(n: usize, dense: &[f32]) -> (Blocks, BlockStructure) {
        let (ptr, idx, val) = csr(n, dense);
        let a = MatRef::csr(n, n, &ptr, Indices::U32(&idx), Values::F32(&val)).unwrap();
        let blocks = Blocks::new(&a).unwrap();
        let summary = blocks.summary(&a);
        (blocks, summary)
    }

    proptest! {
        /// Renumbering the units in evaluation order gives the same plan, renumbered, read off the stored order;
        /// renumbering again changes nothing.
        #[test]
        fn the_evaluation_order_is_read_back_without_a_search(n in 1usize..40, density in 0u32..6, seed in any::<u64>()) {
            let mut s = seed | 1;
            let dense: Vec<f32> = (0..n * n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    // Rows of L1 norm below 0.9 (a contraction, as the format requires), both signs.
                    let v = ((s >> 20) % 7 + 1) as f32 / 7.0 * 0.9 / n as f32;
                    if (s % 100) >= u64::from(density) * 4 { 0.0 } else if s >> 40 & 1 == 1 { v } else { -v }
                })
                .collect();
            let (before, before_summary) = plan_of(n, &dense);
            let order = before.evaluation_order(n);
            let mut new_of = vec![0u32; n];
            order.iter().enumerate().for_each(|(k, &o)| new_of[o as usize] = k as u32);
            let moved = renumbered(n, &dense, &order);
            check(n, &moved)?;
            let (after, after_summary) = plan_of(n, &moved);
            // Components of more than STORED_BLOCK_MAX units are searched for (`check` above holds either way).
            prop_assert_eq!(after.summary.in_stored_order, before.summary.largest_block <= STORED_BLOCK_MAX);
            if !after.summary.in_stored_order {
                return Ok(());
            }
            prop_assert_eq!(
                BlockStructure { in_stored_order: false, ..after_summary },
                BlockStructure { in_stored_order: false, ..before_summary }
            );
            let renamed: Vec<u32> = before.units.as_slice().iter().map(|&u| new_of[u as usize]).collect();
            prop_assert_eq!(after.units.as_slice(), &renamed[..]);
            prop_assert_eq!(&after.segments, &before.segments);
            let bits = |g: &[f32]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&after.gains), bits(&before.gains));
            prop_assert_eq!(bits(&after.small), bits(&before.small));
            let identity: Vec<u32> = (0..n as u32).collect();
            prop_assert_eq!(after.evaluation_order(n), identity);
        }
    }

    #[test]
    fn a_block_reading_past_its_end_is_not_strongly_connected() {
        // Only rows whose targets do not increase could present one; the check refuses it, in range.
        let (start, targets) = (vec![0u32, 2, 3], vec![1u32, 5, 0]);
        let graph = Graph {
            start: &start,
            targets: &targets,
        };
        assert!(!strongly_connected(&graph, 0..2));
        let targets = vec![0u32, 1, 0];
        let graph = Graph {
            start: &start,
            targets: &targets,
        };
        assert!(strongly_connected(&graph, 0..2));
    }

    #[test]
    fn zeros_of_every_value_type_are_found() {
        use half::{bf16, f16};
        let h = |bits: &[u16]| bits.iter().map(|&b| f16::from_bits(b)).collect::<Vec<_>>();
        // The smallest subnormal is not zero; +0 and -0 are, wherever they are.
        assert!(stores_no_zero(&Values::F16(&h(&[0x0001, 0x3c00, 0x8001]))));
        for zero in [0x0000, 0x8000] {
            for at in 0..40 {
                let mut bits = vec![0x3c00u16; 40];
                bits[at] = zero;
                assert!(
                    !stores_no_zero(&Values::F16(&h(&bits))),
                    "{zero:#x} at {at}"
                );
                let b: Vec<bf16> = bits.iter().map(|&x| bf16::from_bits(x)).collect();
                assert!(!stores_no_zero(&Values::Bf16(&b)), "{zero:#x} at {at}");
            }
        }
        assert!(!stores_no_zero(&Values::F32(&[1.0, -0.0])));
    }

    #[test]
    fn stored_orders_that_are_not_evaluation_orders_are_searched() {
        // Row 0 reads row 1, which reads nothing: rows 0..2 close together but are not a cycle.
        let b = blocks_of(2, &[0.0, 0.5, 0.0, 0.0]);
        assert!(!b.summary.in_stored_order);
        assert_eq!((b.summary.exact_rows, b.summary.cyclic_blocks), (1, 0));
        check(2, &[0.0, 0.5, 0.0, 0.0]).unwrap();
        // Rings of 32 and 33 units stored in order: one component, read off the stored order up to 32 units.
        for n in [32, 33] {
            let ring: Vec<f32> = (0..n * n)
                .map(|k| if (k / n + 1) % n == k % n { 0.5 } else { 0.0 })
                .collect();
            let b = blocks_of(n, &ring);
            assert_eq!(b.summary.in_stored_order, n <= STORED_BLOCK_MAX, "{n}");
            assert_eq!((b.summary.cyclic_blocks, b.summary.largest_block), (1, n));
            check(n, &ring).unwrap();
        }
        // A feed-forward chain stored in dependency order: read off; stored backwards: searched.
        let n = 6;
        let forward: Vec<f32> = (0..n * n)
            .map(|k| if k / n == k % n + 1 { 0.5 } else { 0.0 })
            .collect();
        assert!(blocks_of(n, &forward).summary.in_stored_order);
        let backward: Vec<f32> = (0..n * n)
            .map(|k| if k % n == k / n + 1 { 0.5 } else { 0.0 })
            .collect();
        assert!(!blocks_of(n, &backward).summary.in_stored_order);
        check(n, &backward).unwrap();
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        // Row i reads i + 1: the depth-first search goes a million units deep.
        let n = 1_000_000usize;
        let ptr: Vec<u32> = (0..=n as u32).map(|i| i.min(n as u32 - 1)).collect();
        let idx: Vec<u32> = (1..n as u32).collect();
        let val = vec![0.5f32; n - 1];
        let a = MatRef::csr(n, n, &ptr, Indices::U32(&idx), Values::F32(&val)).unwrap();
        let b = Blocks::new(&a).unwrap();
        assert_eq!((b.summary.exact_rows, b.summary.empty_rows), (n - 1, 1));
        assert_eq!(b.units.as_slice()[0], n as u32 - 2);
    }
}
