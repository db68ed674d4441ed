//! Steady-state predictions allocate nothing: a counting global allocator watches the calling thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{random_input, random_model, AKind};
use wolfpack_format::ValueType;
use wolfpack_runtime::{Method, Model, Session, SolveOptions};

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts calls made on an armed thread
// (const-initialised thread-locals without destructors never allocate themselves).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn steady_state_predictions_allocate_nothing() {
    let kinds = [
        AKind::Contraction(0.8),
        AKind::Triangular,
        AKind::LowRank(0.5),
        AKind::Zero,
        AKind::DenseContraction(0.5),
        // The block plan with exact runs, self-loops and cyclic components.
        AKind::Sparse {
            kappa: 0.6,
            per_mille: 60,
        },
    ];
    for (seed, a) in kinds.into_iter().enumerate() {
        let bytes = random_model(seed as u64, 24, 16, 4, a, ValueType::F16, true)
            .to_bytes()
            .unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let (p, q) = (model.n_inputs(), model.n_outputs());
        let batch = 9usize;
        let inputs: Vec<f32> = (0..batch).flat_map(|b| random_input(p, b as u64)).collect();
        let (mut out, mut outs) = (vec![0.0; q], vec![0.0; q * batch]);
        let mut session = Session::new(&model);
        // Warm-up: the first batch call grows the session once, the first Anderson solve its history.
        session
            .predict_batch(&model, &inputs, batch, &mut outs)
            .unwrap();
        let anderson = SolveOptions {
            method: Method::Anderson { depth: 4 },
            ..SolveOptions::default()
        };
        session
            .predict_with(&model, &inputs[..p], &mut out, &anderson)
            .unwrap();
        session
            .predict_batch_with(&model, &inputs, batch, &mut outs, &anderson)
            .unwrap();
        let n = allocations(|| {
            let plan = [Method::BlockTriangular];
            let with_plan = (!matches!(a, AKind::LowRank(_))).then_some(&plan[..]);
            let methods = [
                Method::Auto,
                Method::Picard,
                Method::GaussSeidel,
                Method::GroupedGaussSeidel,
            ];
            for &method in methods.iter().chain(with_plan.into_iter().flatten()) {
                let options = SolveOptions {
                    method,
                    ..SolveOptions::default()
                };
                for _ in 0..10 {
                    session
                        .predict_with(&model, &inputs[..p], &mut out, &options)
                        .unwrap();
                    session
                        .predict_batch_with(&model, &inputs, batch, &mut outs, &options)
                        .unwrap();
                    session
                        .predict_batch_with(
                            &model,
                            &inputs[..3 * p],
                            3,
                            &mut outs[..3 * q],
                            &options,
                        )
                        .unwrap();
                }
            }
            for _ in 0..10 {
                session
                    .predict_with(&model, &inputs[..p], &mut out, &anderson)
                    .unwrap();
                session
                    .predict_batch_with(&model, &inputs, batch, &mut outs, &anderson)
                    .unwrap();
            }
        });
        assert_eq!(n, 0, "{a:?}: {n} allocations in steady state");
    }
}
