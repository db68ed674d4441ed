#!/usr/bin/env bash
# Installs everything wolfpack needs on a Debian bookworm machine with rustup,
# Python 3.11, Java 17 and node/npm, reaching only crates.io, PyPI, Debian apt
# and npm. Idempotent: a second run only checks, in a few seconds.
#
# One status line per step. Environment knobs:
#   WOLFPACK_SETUP_VERIFY=1  also run the slow checks (kotlinc -version) when
#                            nothing was installed; on by default when CI=true.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"

KOTLIN_COMPILER_VERSION=2.4.20
CARGO_FUZZ_VERSION=0.13.2
RUST_TARGETS=(aarch64-unknown-linux-gnu aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
RUST_COMPONENTS=(rustfmt clippy)
APT_PACKAGES=(dataset-fashion-mnist gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user pkg-config)

VERIFY="${WOLFPACK_SETUP_VERIFY:-${CI:-}}"
[ "${VERIFY}" = true ] && VERIFY=1
START=${SECONDS}
mkdir -p .cache

say() { printf 'setup: %-14s %s\n' "$1:" "$2"; }
die() {
    say "$1" "FAILED: $2"
    exit 1
}
# Runs a command quietly; on failure shows its output and the step that failed.
quiet() {
    local step=$1 log
    shift
    log="$(mktemp)"
    if ! "$@" >"${log}" 2>&1; then
        cat "${log}" >&2
        rm -f "${log}"
        die "${step}" "$*"
    fi
    rm -f "${log}"
}
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

# Two setups at once (run.sh and test.sh in two shells) would race on
# apt/pip/npm: take turns.
exec 9>"${ROOT}/.cache/setup.lock"
flock 9

setup_apt() {
    local missing=() p
    command -v cc >/dev/null || missing+=(gcc)
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${p}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say apt "installing ${missing[*]}"
        quiet apt as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=300
        quiet apt as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}"
    fi
    qemu-aarch64 --version >/dev/null 2>&1 || die apt "qemu-aarch64 does not run"
    aarch64-linux-gnu-gcc --version >/dev/null 2>&1 || die apt "aarch64-linux-gnu-gcc does not run"
    [ -f "${WOLFPACK_FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz" ] ||
        die apt "Fashion-MNIST not found in ${WOLFPACK_FASHION_MNIST_DIR}"
    say apt "ok (${#APT_PACKAGES[@]} packages; $(qemu-aarch64 --version | head -n1 | sed 's/ (.*//'))"
}

setup_rust() {
    command -v rustup >/dev/null || die rust "rustup not found (install Rust stable with rustup first)"
    local have c t added=() missing=()
    have="$(rustup component list --installed 2>/dev/null)"
    for c in "${RUST_COMPONENTS[@]}"; do
        grep -q "^${c}" <<<"${have}" || { quiet rust rustup component add "${c}"; added+=("${c}"); }
    done
    { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1 || die rust "cargo fmt/clippy do not run"
    # rustup's own downloads may be out of reach: a cross target that cannot be
    # added makes test.sh skip its step (and say so) rather than fail here.
    have="$(rustup target list --installed 2>/dev/null)"
    for t in "${RUST_TARGETS[@]}"; do
        grep -qx "${t}" <<<"${have}" && continue
        if rustup target add "${t}" >/dev/null 2>&1; then added+=("${t}"); else missing+=("${t}"); fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say rust "MISSING targets ${missing[*]}: rustup cannot install them here; test.sh will skip their steps"
    fi
    say rust "ok ($(rustc --version | cut -d' ' -f1-2); $((${#RUST_TARGETS[@]} - ${#missing[@]})) of ${#RUST_TARGETS[@]} cross targets${added:+; added ${added[*]}})"
}

# cargo-fuzz needs a nightly toolchain (-Zsanitizer). Without one, fuzzing is
# skipped by test.sh, and said so; it is not a failure of the set-up.
HAVE_NIGHTLY=0
setup_nightly() {
    if ! cargo +nightly --version >/dev/null 2>&1; then
        if ! rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
            say nightly "MISSING: no nightly toolchain and it cannot be installed; fuzzing will be skipped"
            return 0
        fi
    fi
    HAVE_NIGHTLY=1
    # The Android library is built with -Zbuild-std (android/recipe.sh), which needs the standard library's source.
    if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
        rustup component add rust-src --toolchain nightly >/dev/null 2>&1 ||
            say nightly "rust-src cannot be installed: the Android library will be built with stable std (larger)"
    fi
    say nightly "ok ($(cargo +nightly --version | cut -d' ' -f1-2))"
}

setup_cargo_fuzz() {
    if [ "${HAVE_NIGHTLY}" != 1 ]; then
        say cargo-fuzz "skipped: no nightly toolchain"
        return 0
    fi
    if ! command -v cargo-fuzz >/dev/null; then
        say cargo-fuzz "installing ${CARGO_FUZZ_VERSION} into .cache/cargo (about a minute)"
        quiet cargo-fuzz cargo install cargo-fuzz --version "${CARGO_FUZZ_VERSION}" --locked --root "${ROOT}/.cache/cargo"
    fi
    say cargo-fuzz "ok ($(cargo fuzz --version))"
}

setup_python() {
    local stamp=.venv/.wolfpack-requirements py=.venv/bin/python
    if [ ! -x "${py}" ] || ! cmp -s scripts/requirements.txt "${stamp}"; then
        say python "installing .venv from scripts/requirements.txt"
        [ -x "${py}" ] || quiet python python3 -m venv .venv
        quiet python "${py}" -m pip install --quiet --disable-pip-version-check --no-input -r scripts/requirements.txt
        cp scripts/requirements.txt "${stamp}"
        # The library path is only known now that the wheel is there.
        unset ORT_DYLIB_PATH
        . "${ROOT}/scripts/env.sh"
    fi
    local ver
    ver="$("${py}" -c 'import onnxruntime, numpy; print(onnxruntime.__version__, numpy.__version__)' 2>&1)" ||
        die python "import onnxruntime, numpy: ${ver}"
    { [ -n "${ORT_DYLIB_PATH:-}" ] && [ -f "${ORT_DYLIB_PATH}" ]; } ||
        die python "libonnxruntime.so not found in the onnxruntime wheel"
    say python "ok (onnxruntime ${ver% *}, numpy ${ver#* }; ORT_DYLIB_PATH=${ORT_DYLIB_PATH#"${ROOT}"/})"
}

setup_kotlin() {
    local kotlinc=.cache/npm/node_modules/kotlin-compiler/bin/kotlinc installed=0
    command -v java >/dev/null || die kotlin "java not found"
    if [ ! -x "${kotlinc}" ] || ! grep -q "\"version\": \"${KOTLIN_COMPILER_VERSION}\"" .cache/npm/node_modules/kotlin-compiler/package.json; then
        command -v npm >/dev/null || die kotlin "npm not found"
        say kotlin "installing kotlin-compiler ${KOTLIN_COMPILER_VERSION} into .cache/npm"
        quiet kotlin npm install --prefix .cache/npm --no-audit --no-fund --no-update-notifier --silent "kotlin-compiler@${KOTLIN_COMPILER_VERSION}"
        installed=1
    fi
    if [ "${installed}" = 1 ] || [ "${VERIFY}" = 1 ]; then
        # kotlinc -version starts a JVM (~3 s): only after an install or when asked.
        local v
        v="$(kotlinc -version 2>&1)" || die kotlin "kotlinc -version: ${v}"
        say kotlin "ok (${v#info: })"
    else
        say kotlin "ok (kotlinc ${KOTLIN_COMPILER_VERSION}, $(java -version 2>&1 | head -n1 | cut -d'"' -f2))"
    fi
}

setup_apt
setup_rust
setup_nightly
setup_cargo_fuzz
setup_python
setup_kotlin
say "done" "in $((SECONDS - START)) s"
