//! Where the time of loading a model goes: `Model::open` (path: open + mmap + validation + plan) against its
//! parts, each the median of many repetitions on a warm page cache.
//!
//! `cargo run --release -p wolfpack-runtime --example load_profile -- MODEL.wpk [repeats] [only-row]`
//!
//! Each time excludes dropping the result, as `wolfpack bench`'s `load_us` does. Rows: `open+map` (open, mmap
//! with MAP_POPULATE, close: no validation), `open+read` (open, fstat, one read into an aligned buffer: the
//! copying alternative, for comparison), `metadata` (the JSON of the metadata section alone, as the writer
//! writes it today), `stored-meta` (the same metadata as this file stores it: pretty JSON in files written before
//! session 5), `parse` (the format crate's whole `ModelView::parse` of the bytes in memory), `from_bytes` (parse +
//! the runtime's plan, bytes in memory) and `open` (everything). `from_bytes - parse` is the runtime's plan;
//! `open - from_bytes` the system calls and page mapping. With `only-row`, only that row runs (for `perf record`).
//! Each row also reports the heap allocations (and reallocations) of one call, counted by the global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use wolfpack_format::{AlignedBytes, Metadata, ModelView};
use wolfpack_runtime::Model;

/// The system allocator, counting allocations and reallocations (one relaxed atomic add each: the same small
/// cost in every row and every build compared).
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) made by one call of `f`, its result dropped.
fn allocations<T>(f: impl FnOnce() -> T) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let kept = f();
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    drop(kept);
    after - before
}

/// Median time of `repeats` calls of `f`, in microseconds; each result is dropped after the clock is read.
fn median_us<T>(repeats: usize, mut f: impl FnMut() -> T) -> f64 {
    // Warm-up: page cache, allocator, branch predictors.
    for _ in 0..repeats.min(100) {
        drop(f());
    }
    let mut t: Vec<f64> = (0..repeats)
        .map(|_| {
            let s = Instant::now();
            let kept = f();
            let t = s.elapsed().as_secs_f64() * 1e6;
            drop(kept);
            t
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// The METADATA section's bytes as the file stores them (docs/FORMAT.md: `section_count` at byte 24, 32-byte
/// entries from byte 64 of `kind, role, offset, length`; kind 1 is the metadata), for a file that parsed.
fn stored_metadata(bytes: &[u8]) -> Option<&[u8]> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    (0..u32_at(24)? as usize)
        .map(|k| 64 + 32 * k)
        .find(|&e| u32_at(e) == Some(1))
        .and_then(|e| {
            let (at, len) = (u64_at(e + 8)? as usize, u64_at(e + 16)? as usize);
            bytes.get(at..at.checked_add(len)?)
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: load_profile MODEL.wpk [repeats] [only-row]")?;
    let repeats: usize = args.next().map_or(Ok(2000), |r| r.parse())?;
    let only = args.next();
    let bytes = AlignedBytes::copy_from(&std::fs::read(&path)?);
    let json = ModelView::parse(&bytes)?.meta.to_json();
    let stored = stored_metadata(&bytes).ok_or("no metadata section")?;
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let row = |name: &str, us: f64, allocs: usize| {
        println!("{name:>12} {us:8.2} us {allocs:6} allocations")
    };
    println!("{path}: {} bytes, median of {repeats}", bytes.len());
    if runs("open+map") {
        let map = || {
            let f = std::fs::File::open(&path).expect("the file opened before");
            // SAFETY: a read-only map of a file nobody modifies during the run.
            unsafe { memmap2::MmapOptions::new().populate().map(&f) }.expect("the file mapped")
        };
        row("open+map", median_us(repeats, map), allocations(map));
    }
    if runs("open+read") {
        // The alternative to the map for small files: one aligned buffer and one read (a copy of the file).
        let read = || {
            use std::io::Read;
            let mut f = std::fs::File::open(&path).expect("the file opened before");
            let len = f.metadata().expect("the file has metadata").len() as usize;
            let mut buf = AlignedBytes::zeroed(len);
            f.read_exact(buf.as_mut_slice()).expect("the file read");
            buf
        };
        row("open+read", median_us(repeats, read), allocations(read));
    }
    if runs("metadata") {
        let f = || Metadata::from_json(&json).expect("it parsed before");
        row("metadata", median_us(repeats, f), allocations(f));
    }
    if runs("stored-meta") {
        let f = || Metadata::from_json(stored).expect("it parsed before");
        row("stored-meta", median_us(repeats, f), allocations(f));
    }
    if runs("parse") {
        let f = || ModelView::parse(&bytes).expect("it parsed before");
        row("parse", median_us(repeats, f), allocations(f));
    }
    if runs("from_bytes") {
        let f = || Model::from_bytes(&bytes).expect("it parsed before");
        row("from_bytes", median_us(repeats, f), allocations(f));
    }
    if runs("open") {
        let f = || Model::open(&path).expect("it parsed before");
        row("open", median_us(repeats, f), allocations(f));
    }
    Ok(())
}
