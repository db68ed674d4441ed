# shellcheck shell=bash
# Environment of the wolfpack tools. Source it, do not run it:
#
#     . scripts/env.sh
#
# It only sets variables (no installs, no output), so it is cheap and safe to
# source from any script or shell, under `set -euo pipefail` too. What it
# points at is installed by scripts/setup.sh.

# The project root: the folder above this file.
WOLFPACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WOLFPACK_ROOT

# Project-local tools come first: cargo-fuzz (cargo install --root .cache/cargo),
# kotlinc (npm package kotlin-compiler under .cache/npm) and the Python venv.
_wp_prepend_path() {
    case ":${PATH}:" in
        *":$1:"*) ;;
        *) PATH="$1:${PATH}" ;;
    esac
}
_wp_prepend_path "${WOLFPACK_ROOT}/.venv/bin"
_wp_prepend_path "${WOLFPACK_ROOT}/.cache/npm/node_modules/kotlin-compiler/bin"
_wp_prepend_path "${WOLFPACK_ROOT}/.cache/cargo/bin"
unset -f _wp_prepend_path
export PATH

# aarch64 Linux: cross-link with Debian's gcc-aarch64-linux-gnu and run the
# test binaries under qemu-user with the cross libc as the sysroot.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER:-qemu-aarch64 -L /usr/aarch64-linux-gnu}"

# ONNX Runtime for the `ort` crate (feature load-dynamic): the shared library
# shipped inside the onnxruntime wheel in .venv. A caller's own valid
# ORT_DYLIB_PATH wins.
if [ -z "${ORT_DYLIB_PATH:-}" ] || [ ! -f "${ORT_DYLIB_PATH}" ]; then
    for _wp_lib in "${WOLFPACK_ROOT}"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*; do
        if [ -f "${_wp_lib}" ]; then
            export ORT_DYLIB_PATH="${_wp_lib}"
            break
        fi
    done
    unset _wp_lib
fi

# Fashion-MNIST as shipped by Debian's dataset-fashion-mnist (idx files, gzip).
export WOLFPACK_FASHION_MNIST_DIR="${WOLFPACK_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
