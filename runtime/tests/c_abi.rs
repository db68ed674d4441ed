//! The C ABI: the checked-in header matches the Rust definitions, the functions behave on bad handles and
//! arguments, and the C example compiles with the system C compiler, links the static library and runs on
//! the sample model, agreeing with the Rust API.

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::process::Command;

use wolfpack_runtime::ffi::*;
use wolfpack_runtime::{Method, Model, SolveOptions};

const HEADER: &str = include_str!("../include/wolfpack.h");

/// Every C prototype of the header, whitespace-normalised, with the Rust function it must describe coerced to
/// the matching Rust type (a signature change on the Rust side fails to compile here; on the C side, the
/// string comparison fails).
fn expected_prototypes() -> Vec<&'static str> {
    type M = WolfpackModel;
    let _: unsafe extern "C" fn(*const c_char, *mut *mut M) -> i32 = wolfpack_open;
    let _: unsafe extern "C" fn(*const u8, usize, *mut *mut M) -> i32 = wolfpack_open_memory;
    let _: extern "C" fn(*const M) -> usize = wolfpack_input_size;
    let _: extern "C" fn(*const M) -> usize = wolfpack_output_size;
    let _: unsafe extern "C" fn(
        *mut M,
        *const f32,
        usize,
        *mut f32,
        usize,
        *mut WolfpackStats,
    ) -> i32 = wolfpack_predict;
    let _: unsafe extern "C" fn(
        *mut M,
        *const f32,
        usize,
        usize,
        *mut f32,
        usize,
        *mut WolfpackStats,
    ) -> i32 = wolfpack_predict_batch;
    let _: unsafe extern "C" fn(
        *mut M,
        *const f32,
        usize,
        usize,
        *mut f32,
        usize,
        *const WolfpackOptions,
        *mut WolfpackStats,
    ) -> i32 = wolfpack_predict_batch_with;
    let _: extern "C" fn() -> *const c_char = wolfpack_last_error;
    let _: extern "C" fn(*mut M) -> i32 = wolfpack_close;
    vec![
        "int32_t wolfpack_open(const char *path, wolfpack_model **out);",
        "int32_t wolfpack_open_memory(const uint8_t *data, size_t len, wolfpack_model **out);",
        "size_t wolfpack_input_size(const wolfpack_model *model);",
        "size_t wolfpack_output_size(const wolfpack_model *model);",
        "int32_t wolfpack_predict(wolfpack_model *model, const float *input, size_t input_len, float *output, size_t output_len, wolfpack_stats *stats);",
        "int32_t wolfpack_predict_batch(wolfpack_model *model, const float *inputs, size_t inputs_len, size_t batch, float *outputs, size_t outputs_len, wolfpack_stats *stats);",
        "int32_t wolfpack_predict_batch_with(wolfpack_model *model, const float *inputs, size_t inputs_len, size_t batch, float *outputs, size_t outputs_len, const wolfpack_options *options, wolfpack_stats *stats);",
        "const char *wolfpack_last_error(void);",
        "int32_t wolfpack_close(wolfpack_model *model);",
    ]
}

#[test]
fn header_declares_exactly_the_rust_functions() {
    let normalise = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    // Prototypes: statements outside comments that mention `wolfpack_` and a parenthesis.
    let mut code = String::new();
    let mut rest = HEADER;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = &rest[start + rest[start..].find("*/").expect("closed comment") + 2..];
    }
    code.push_str(rest);
    let found: Vec<String> = code
        .split(';')
        .map(|s| {
            normalise(
                s.lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .as_str(),
            )
        })
        .filter(|s| s.contains("wolfpack_") && s.contains('(') && !s.starts_with("typedef"))
        .map(|s| format!("{s};"))
        .collect();
    let want: Vec<String> = expected_prototypes().into_iter().map(normalise).collect();
    assert_eq!(found, want);
    assert!(normalise(&code).contains(
        "typedef struct wolfpack_stats { uint32_t iterations; float residual; } wolfpack_stats;"
    ));
    assert_eq!(std::mem::size_of::<WolfpackStats>(), 8);
    assert!(normalise(&code).contains(
        "typedef struct wolfpack_options { float tolerance; uint32_t max_iterations; int32_t method; uint32_t anderson_depth; } wolfpack_options;"
    ));
    assert_eq!(std::mem::size_of::<WolfpackOptions>(), 16);
}

#[test]
fn header_status_codes_match() {
    let codes = [
        ("WOLFPACK_OK", WOLFPACK_OK),
        ("WOLFPACK_ERR_HANDLE", WOLFPACK_ERR_HANDLE),
        ("WOLFPACK_ERR_ARGUMENT", WOLFPACK_ERR_ARGUMENT),
        ("WOLFPACK_ERR_IO", WOLFPACK_ERR_IO),
        ("WOLFPACK_ERR_FORMAT", WOLFPACK_ERR_FORMAT),
        ("WOLFPACK_ERR_NOT_CONVERGED", WOLFPACK_ERR_NOT_CONVERGED),
        ("WOLFPACK_ERR_NOT_FINITE", WOLFPACK_ERR_NOT_FINITE),
        ("WOLFPACK_ERR_PANIC", WOLFPACK_ERR_PANIC),
        ("WOLFPACK_METHOD_AUTO", WOLFPACK_METHOD_AUTO),
        ("WOLFPACK_METHOD_PICARD", WOLFPACK_METHOD_PICARD),
        ("WOLFPACK_METHOD_GAUSS_SEIDEL", WOLFPACK_METHOD_GAUSS_SEIDEL),
        ("WOLFPACK_METHOD_ANDERSON", WOLFPACK_METHOD_ANDERSON),
        (
            "WOLFPACK_METHOD_BLOCK_TRIANGULAR",
            WOLFPACK_METHOD_BLOCK_TRIANGULAR,
        ),
        (
            "WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL",
            WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL,
        ),
    ];
    let defines: Vec<(String, i32)> = HEADER
        .lines()
        .filter_map(|l| l.strip_prefix("#define WOLFPACK_"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((format!("WOLFPACK_{}", it.next()?), it.next()?.parse().ok()?))
        })
        .collect();
    assert_eq!(
        defines,
        codes
            .iter()
            .map(|(n, c)| (n.to_string(), *c))
            .collect::<Vec<_>>()
    );
}

fn last_error() -> String {
    let p = wolfpack_last_error();
    assert!(!p.is_null());
    // SAFETY: non-null pointers from wolfpack_last_error are NUL-terminated and live until the next failure.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[test]
fn bad_handles_and_arguments_are_status_codes() {
    let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
    let mut m: *mut WolfpackModel = std::ptr::null_mut();
    // SAFETY (all calls below): pointers are null, valid, or deliberately stale handles, which the ABI checks.
    unsafe {
        assert_eq!(
            wolfpack_open_memory(bytes.as_ptr(), bytes.len(), &mut m),
            WOLFPACK_OK
        );
        let (p, q) = (wolfpack_input_size(m), wolfpack_output_size(m));
        assert_eq!((p, q), (6, 3));
        let input = vec![0.5f32; p];
        let mut out = vec![0.0f32; q];
        let mut stats = WolfpackStats::default();
        assert_eq!(
            wolfpack_predict(m, input.as_ptr(), p, out.as_mut_ptr(), q, &mut stats),
            WOLFPACK_OK
        );
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(
            out,
            model.predict(&input, &SolveOptions::default()).unwrap().0
        );
        assert!(stats.iterations >= 1);
        assert_eq!(
            wolfpack_predict(
                m,
                input.as_ptr(),
                p - 1,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_ARGUMENT
        );
        assert!(last_error().contains("inputs"), "{}", last_error());
        assert_eq!(
            wolfpack_predict(
                m,
                std::ptr::null(),
                p,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_ARGUMENT
        );
        let nan = vec![f32::NAN; p];
        assert_eq!(
            wolfpack_predict(
                m,
                nan.as_ptr(),
                p,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_NOT_FINITE
        );
        assert_eq!(
            wolfpack_predict(
                std::ptr::null_mut(),
                input.as_ptr(),
                p,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_HANDLE
        );
        let fake = 0x1234 as *mut WolfpackModel;
        assert_eq!(
            wolfpack_predict(
                fake,
                input.as_ptr(),
                p,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_HANDLE
        );
        assert_eq!(wolfpack_input_size(fake), 0);
        assert_eq!(wolfpack_close(m), WOLFPACK_OK);
        assert_eq!(wolfpack_close(m), WOLFPACK_ERR_HANDLE);
        assert_eq!(
            wolfpack_predict(
                m,
                input.as_ptr(),
                p,
                out.as_mut_ptr(),
                q,
                std::ptr::null_mut()
            ),
            WOLFPACK_ERR_HANDLE
        );
        assert_eq!(wolfpack_close(std::ptr::null_mut()), WOLFPACK_OK);
        let mut bad: *mut WolfpackModel = std::ptr::null_mut();
        assert_eq!(
            wolfpack_open_memory(b"junk".as_ptr(), 4, &mut bad),
            WOLFPACK_ERR_FORMAT
        );
        assert!(bad.is_null());
        assert_eq!(
            wolfpack_open(std::ptr::null(), &mut bad),
            WOLFPACK_ERR_ARGUMENT
        );
        assert_eq!(
            wolfpack_open(c"/nonexistent/x.wpk".as_ptr(), &mut bad),
            WOLFPACK_ERR_IO
        );
        assert!(last_error().contains("/nonexistent/x.wpk"));
    }
}

#[test]
fn solver_options_reach_the_solver() {
    let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut m: *mut WolfpackModel = std::ptr::null_mut();
    let options = |method, tolerance, max_iterations| WolfpackOptions {
        tolerance,
        max_iterations,
        method,
        anderson_depth: 0,
    };
    // SAFETY (all calls below): valid handle and arrays of the stated lengths, options on the stack.
    unsafe {
        assert_eq!(
            wolfpack_open_memory(bytes.as_ptr(), bytes.len(), &mut m),
            WOLFPACK_OK
        );
        let (p, q) = (6, 3);
        let inputs = vec![0.5f32; 2 * p];
        let mut out = vec![0.0f32; 2 * q];
        let mut stats = WolfpackStats::default();
        let run = |o: *const WolfpackOptions,
                   batch: usize,
                   out: &mut [f32],
                   stats: &mut WolfpackStats| {
            wolfpack_predict_batch_with(
                m,
                inputs.as_ptr(),
                batch * p,
                batch,
                out.as_mut_ptr(),
                batch * q,
                o,
                stats,
            )
        };
        // Each method gives what the Rust API gives with the same options, iterations included.
        for (c, rust) in [
            (WOLFPACK_METHOD_PICARD, Method::Picard),
            (WOLFPACK_METHOD_GAUSS_SEIDEL, Method::GaussSeidel),
            (WOLFPACK_METHOD_ANDERSON, Method::Anderson { depth: 5 }),
            (WOLFPACK_METHOD_BLOCK_TRIANGULAR, Method::BlockTriangular),
            (
                WOLFPACK_METHOD_GROUPED_GAUSS_SEIDEL,
                Method::GroupedGaussSeidel,
            ),
        ] {
            let o = options(c, 1e-7, 0);
            assert_eq!(
                run(&o, 1, &mut out[..q], &mut stats),
                WOLFPACK_OK,
                "{}",
                last_error()
            );
            let want = SolveOptions {
                tolerance: Some(1e-7),
                method: rust,
                ..SolveOptions::default()
            };
            let (y, s) = model.predict(&inputs[..p], &want).unwrap();
            assert_eq!(
                (&out[..q], stats.iterations),
                (&y[..], s.iterations),
                "{rust:?}"
            );
        }
        // A cap of 1 with a tight tolerance does not converge; null options are the defaults.
        assert_eq!(
            run(
                &options(WOLFPACK_METHOD_PICARD, 1e-9, 1),
                1,
                &mut out[..q],
                &mut stats
            ),
            WOLFPACK_ERR_NOT_CONVERGED
        );
        assert_eq!(run(std::ptr::null(), 2, &mut out, &mut stats), WOLFPACK_OK);
        assert_eq!(
            run(
                &options(WOLFPACK_METHOD_AUTO, -1.0, 0),
                2,
                &mut out,
                &mut stats
            ),
            WOLFPACK_OK
        );
        // Unknown methods are argument errors; Anderson takes batches (one history per input).
        assert_eq!(
            run(&options(9, -1.0, 0), 1, &mut out[..q], &mut stats),
            WOLFPACK_ERR_ARGUMENT
        );
        assert!(last_error().contains("unknown method 9"));
        assert_eq!(
            run(
                &options(WOLFPACK_METHOD_ANDERSON, -1.0, 0),
                2,
                &mut out,
                &mut stats
            ),
            WOLFPACK_OK
        );
        assert_eq!(wolfpack_close(m), WOLFPACK_OK);
    }
}

/// The directory holding the library artifacts of this build (`target/<profile>`).
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

#[test]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    ignore = "compiles C with the host compiler"
)]
fn c_example_compiles_links_and_runs_on_the_sample_model() {
    let lib = artifact_dir().join("libwolfpack_runtime.a");
    assert!(
        lib.exists(),
        "{} missing: build the package first",
        lib.display()
    );
    let dir = std::env::temp_dir().join(format!("wolfpack-c-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("sample.wpk");
    wolfpack_format::sample::sample_model()
        .write(&model_path)
        .unwrap();
    let exe = dir.join("wolfpack-example");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/main.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(status.success(), "C compilation failed");
    let out = Command::new(&exe).arg(&model_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "example failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    // The C outputs equal the Rust API's on the same inputs.
    let model = Model::open(&model_path).unwrap();
    let p = model.n_inputs();
    for (b, line) in stdout
        .lines()
        .filter(|l| l.starts_with("output "))
        .enumerate()
    {
        let input: Vec<f32> = (b * p..(b + 1) * p)
            .map(|i| ((i % 7) as i32 - 3) as f32 * 0.25)
            .collect();
        let want = model.predict(&input, &SolveOptions::default()).unwrap().0;
        let got: Vec<f32> = line
            .split(':')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(got, want, "sample {b}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
