#!/usr/bin/env bash
# Prints the stripped size of libwolfpack_android.so built with the recipe of android/build-aar.sh
# (android/recipe.sh) for aarch64-unknown-linux-gnu: the stand-in for Android's arm64-v8a where the NDK is
# not installed (same instruction set, same Rust code and flags; Debian's aarch64-linux-gnu-gcc and GNU ld
# link it instead of the NDK's clang and lld, so the layout, hence the size, differs slightly).
#
#   android/measure-size.sh           the shipped recipe (nightly -Zbuild-std); last line: "size: N bytes"
#   WOLFPACK_ANDROID_BUILD_STD=0 android/measure-size.sh     the stable-toolchain build, for comparison
#
# Also prints the section sizes (aarch64-linux-gnu-size -A) and, with --budget N, fails if the size exceeds N
# bytes (400000 is issue 8's goal).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"
# shellcheck source=android/recipe.sh
. "${ROOT}/android/recipe.sh"

BUDGET=""
while [ $# -gt 0 ]; do
    case "$1" in
        --budget) BUDGET="$2"; shift 2 ;;
        *) echo "usage: android/measure-size.sh [--budget BYTES]" >&2; exit 2 ;;
    esac
done

wolfpack_android_build aarch64-unknown-linux-gnu "${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER}"
if command -v aarch64-linux-gnu-size >/dev/null; then
    aarch64-linux-gnu-size -A "${WOLFPACK_ANDROID_LIB}" | sort -k2 -n -r | head -n 8
fi
size="$(wc -c <"${WOLFPACK_ANDROID_LIB}")"
toolchain=stable
[ "${WOLFPACK_ANDROID_BUILD_STD}" = 1 ] && toolchain="nightly build-std"
echo "measure-size.sh: ${WOLFPACK_ANDROID_LIB} (${toolchain}, opt-level ${CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL})"
echo "size: ${size} bytes"
if [ -n "${BUDGET}" ] && [ "${size}" -gt "${BUDGET}" ]; then
    echo "measure-size.sh: ${size} bytes exceed the budget of ${BUDGET}" >&2
    exit 1
fi
