#!/usr/bin/env bash
# Sets wolfpack up and runs every check, in order, stopping at the first
# failure; this is what CI runs (.ci/run). Steps whose part of the project is
# not there yet, or whose tool cannot be had, are skipped and said so.
#
#   scripts/test.sh              all steps
#   scripts/test.sh fmt clippy   only the named steps (names: see STEPS below)
#
# Knobs (environment):
#   WOLFPACK_RELEASE_TEST_PACKAGES  packages whose tests run with --release (default: wolfpack,
#                                   whose tests train models); set it empty for all-debug
#   WOLFPACK_FUZZ_TARGETS           fuzz targets of formats/fuzz (default: reader runtime metadata)
#   WOLFPACK_FUZZ_SECONDS           libFuzzer time per target (default: 60)
#
# To add a step: write a function step_NAME and add NAME to STEPS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"

STEPS=(setup fmt clippy test c_abi aarch64 android fuzz jvm)

RELEASE_TEST_PACKAGES="${WOLFPACK_RELEASE_TEST_PACKAGES-wolfpack}"
CROSS_TEST_PACKAGES=(wolfpack-format wolfpack-runtime) # small crates only: qemu is ~30x slower
AARCH64_TARGET=aarch64-unknown-linux-gnu
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
FUZZ_TARGETS="${WOLFPACK_FUZZ_TARGETS:-reader runtime metadata}"
FUZZ_SECONDS="${WOLFPACK_FUZZ_SECONDS:-60}"

# ---------------------------------------------------------------- helpers ---

CURRENT=""
SKIPPED=""
SUMMARY=()
START=${SECONDS}

# Echo a command, then run it.
run() {
    printf '+ %s\n' "$*"
    "$@"
}
# Mark the current step skipped; the caller returns right after.
skip() {
    SKIPPED="$*"
    printf 'test.sh: skipping %s: %s\n' "${CURRENT}" "$*"
}
have_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

run_step() {
    CURRENT=$1
    SKIPPED=""
    local t0=${SECONDS}
    printf '\n==> %s\n' "${CURRENT}"
    "step_${CURRENT}"
    if [ -n "${SKIPPED}" ]; then
        SUMMARY+=("$(printf '  skip  %-8s %s' "${CURRENT}" "${SKIPPED}")")
    else
        SUMMARY+=("$(printf '  ok    %-8s %d s' "${CURRENT}" $((SECONDS - t0)))")
    fi
    CURRENT=""
}

on_exit() {
    local rc=$?
    printf '\ntest.sh: summary\n'
    [ ${#SUMMARY[@]} -gt 0 ] && printf '%s\n' "${SUMMARY[@]}"
    if [ "${rc}" != 0 ]; then
        printf '  FAIL  %s (exit code %d)\n' "${CURRENT:-?}" "${rc}"
        printf 'test.sh: FAILED in step %s after %d s\n' "${CURRENT:-?}" $((SECONDS - START))
    else
        printf 'test.sh: all steps done in %d s\n' $((SECONDS - START))
    fi
}

# ------------------------------------------------------------------ steps ---

step_setup() {
    run bash scripts/setup.sh
    # Again: what env.sh finds (ORT_DYLIB_PATH) may only exist now.
    . "${ROOT}/scripts/env.sh"
}

step_fmt() {
    run cargo fmt --all -- --check
}

step_clippy() {
    run cargo clippy --workspace --all-targets -- -D warnings
}

step_test() {
    # The C-ABI test links target/debug/libwolfpack_runtime.a, which `cargo test` alone does not produce.
    run cargo build -p wolfpack-runtime
    if [ -z "${RELEASE_TEST_PACKAGES}" ]; then
        run cargo test --workspace
        return 0
    fi
    local p excludes=() release=()
    for p in ${RELEASE_TEST_PACKAGES}; do
        excludes+=(--exclude "${p}")
        release+=(-p "${p}")
    done
    run cargo test --workspace "${excludes[@]}"
    run cargo test --release "${release[@]}"
}

# The C ABI example: runtime/examples/c/*.c linked against the runtime's
# library, run on the sample model.
step_c_abi() {
    local dir=runtime/examples/c
    if [ ! -d "${dir}" ] || ! compgen -G "${dir}/*.c" >/dev/null; then
        skip "${dir}/ not present yet"
        return 0
    fi
    command -v cc >/dev/null || { echo "cc not found" >&2; return 1; }
    run cargo build -p wolfpack-runtime --release
    run cargo run -q -p wolfpack-format --example sample -- target/sample.wpk
    local lib
    if [ -f target/release/libwolfpack_runtime.a ]; then
        lib=(target/release/libwolfpack_runtime.a -lpthread -ldl -lm)
    elif [ -f target/release/libwolfpack_runtime.so ]; then
        lib=(-Ltarget/release -lwolfpack_runtime "-Wl,-rpath,${ROOT}/target/release")
    else
        echo "runtime built no staticlib or cdylib: add crate-type = [\"lib\", \"staticlib\", \"cdylib\"]" >&2
        return 1
    fi
    run cc -std=c11 -O2 -Wall -Wextra -Werror -Iruntime/include "${dir}"/*.c "${lib[@]}" -o target/c-example
    run target/c-example target/sample.wpk
}

# Tests of the small crates on aarch64 through qemu-user (linker and runner
# come from scripts/env.sh).
step_aarch64() {
    if ! have_target "${AARCH64_TARGET}"; then
        skip "rust target ${AARCH64_TARGET} not installed"
        return 0
    fi
    if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
        skip "qemu-aarch64 or aarch64-linux-gnu-gcc missing"
        return 0
    fi
    local p args=()
    for p in "${CROSS_TEST_PACKAGES[@]}"; do args+=(-p "${p}"); done
    run cargo test --target "${AARCH64_TARGET}" "${args[@]}"
}

# Android: type-check for the three Android targets (linking needs the NDK, which no registry here has),
# the JNI crate's tests on aarch64 under qemu, and the AAR's classes.jar (the whole .aar with an NDK).
step_android() {
    local t targets=() missing=()
    for t in "${ANDROID_TARGETS[@]}"; do
        if have_target "${t}"; then targets+=(--target "${t}"); else missing+=("${t}"); fi
    done
    if [ ${#targets[@]} -eq 0 ]; then
        skip "no Android rust target installed"
        return 0
    fi
    [ ${#missing[@]} -eq 0 ] || echo "test.sh: android: targets not installed, not checked: ${missing[*]}"
    local packages=(-p wolfpack-runtime)
    if [ -f android/Cargo.toml ]; then
        packages+=(-p wolfpack-android)
    else
        echo "test.sh: android: android/ not present yet, checking the runtime only"
    fi
    run cargo check "${targets[@]}" "${packages[@]}"
    [ -f android/Cargo.toml ] || return 0
    # The JNI crate's JVM-free logic (handles, per-thread scratch, predictions) on aarch64 under qemu.
    if have_target "${AARCH64_TARGET}" && command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null; then
        run cargo test --target "${AARCH64_TARGET}" -p wolfpack-android
    else
        echo "test.sh: android: ${AARCH64_TARGET} target, qemu-aarch64 or aarch64-linux-gnu-gcc missing: JNI crate not tested on aarch64"
    fi
    # classes.jar always; the native libraries and the .aar only when ANDROID_NDK_HOME points at an NDK.
    run bash android/build-aar.sh
}

# Bounded libFuzzer runs of the .wpk reader, seeded with the checked-in corpus.
step_fuzz() {
    if [ ! -d formats/fuzz ]; then
        skip "formats/fuzz/ not present yet"
        return 0
    fi
    if ! cargo +nightly --version >/dev/null 2>&1; then
        skip "no nightly toolchain (cargo-fuzz needs one)"
        return 0
    fi
    if ! command -v cargo-fuzz >/dev/null; then
        skip "cargo-fuzz not installed"
        return 0
    fi
    local t log seeds
    mkdir -p target
    for t in ${FUZZ_TARGETS}; do
        log="${ROOT}/target/fuzz-${t}.log"
        mkdir -p "formats/fuzz/corpus/${t}"
        seeds=()
        if [ -d "formats/fuzz/seeds/${t}" ]; then
            # Targets with their own seeds (the metadata JSON reader starts from real metadata documents).
            seeds=("fuzz/seeds/${t}")
        else
            [ -d formats/tests/corpus ] && seeds=(tests/corpus)
            # A valid model among the seeds, so mutations start from deep inside the format too.
            run cargo run -q -p wolfpack-format --example sample -- "formats/fuzz/corpus/${t}/sample.wpk"
        fi
        printf '+ (cd formats && cargo +nightly fuzz run %s fuzz/corpus/%s %s -- -max_total_time=%s -timeout=10) > %s\n' \
            "${t}" "${t}" "${seeds[*]}" "${FUZZ_SECONDS}" "${log#"${ROOT}"/}"
        if ! (cd formats && cargo +nightly fuzz run "${t}" "fuzz/corpus/${t}" "${seeds[@]}" \
            -- -max_total_time="${FUZZ_SECONDS}" -timeout=10) >"${log}" 2>&1; then
            tail -n 60 "${log}"
            echo "test.sh: fuzz target ${t} failed; full log: ${log}" >&2
            return 1
        fi
        tail -n 3 "${log}"
        echo "test.sh: fuzz ${t}: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "${log}" | tail -n 1 |
            sed -E 's/Done ([0-9]+) runs in ([0-9]+) second/\1 executions in \2 s/')"
    done
}

# The Kotlin/JVM side of the Android binding, on the host JVM.
step_jvm() {
    if [ ! -d android/kotlin ] || [ ! -f android/test-jvm.sh ]; then
        skip "android/kotlin/ or android/test-jvm.sh not present yet"
        return 0
    fi
    run bash android/test-jvm.sh
}

# ------------------------------------------------------------------- main ---

if [ $# -gt 0 ]; then
    for s in "$@"; do
        declare -F "step_${s}" >/dev/null || { echo "test.sh: no step '${s}' (steps: ${STEPS[*]})" >&2; exit 2; }
    done
    STEPS=("$@")
fi
trap on_exit EXIT
for s in "${STEPS[@]}"; do
    run_step "${s}"
done
