# shellcheck shell=bash
# The build recipe of libwolfpack_android.so, shared by android/build-aar.sh (the Android ABIs) and
# android/measure-size.sh (aarch64 Linux, the stand-in for arm64-v8a on a machine without the NDK), so that
# the library measured is the library shipped. Source it after scripts/env.sh, then call
#
#     wolfpack_android_build TARGET LINKER [VAR=VALUE ...]
#
# which builds `-p wolfpack-android --lib` for TARGET with the C linker LINKER (extra VAR=VALUE pairs go to
# the environment of cargo, e.g. CC_/AR_ variables) and sets WOLFPACK_ANDROID_LIB to the library's path.
#
# The recipe (sizes and their commands in docs/BENCHMARKS.md, "android"):
#   * the root `[profile.release-small]`: fat LTO, one codegen unit, symbols stripped; opt-level "z", the
#     smallest measured (CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL overrides it);
#   * panic = "unwind", so that the JNI layer catches a panic and throws WolfpackException instead of
#     aborting the app;
#   * by default (WOLFPACK_ANDROID_BUILD_STD=1) nightly `-Zbuild-std=std,panic_unwind` with the std features
#     `panic-unwind,optimize_for_size` only, i.e. without `backtrace`: std's DWARF symboliser (gimli,
#     addr2line, about 150 KB), which the default panic hook links and which prints nothing useful on a
#     phone; plus `-Zlocation-detail=none` (panic messages keep their text, lose file:line). Needs
#     `rustup toolchain install nightly --component rust-src`. WOLFPACK_ANDROID_BUILD_STD=0 builds with the
#     stable toolchain instead: same code, about 215 KB larger (over the 400 KB budget);
#   * linked for 16 KB pages (Android 15+).

WOLFPACK_ANDROID_BUILD_STD="${WOLFPACK_ANDROID_BUILD_STD:-1}"
export CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL="${CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL:-z}"

wolfpack_android_build() {
    local target="$1" linker="$2"
    shift 2
    local upper cargo=(cargo) rustflags="-C link-arg=-Wl,-z,max-page-size=16384"
    if [ "${WOLFPACK_ANDROID_BUILD_STD}" = 1 ]; then
        if ! cargo +nightly --version >/dev/null 2>&1; then
            echo "recipe.sh: WOLFPACK_ANDROID_BUILD_STD=1 (the default) needs a nightly toolchain with rust-src;" \
                "install it or set WOLFPACK_ANDROID_BUILD_STD=0 for the larger stable build" >&2
            return 1
        fi
        # shellcheck disable=SC2054 # the commas belong to the -Z arguments
        cargo=(cargo +nightly -Zbuild-std=std,panic_unwind -Zbuild-std-features=panic-unwind,optimize_for_size)
        rustflags="${rustflags} -Zlocation-detail=none"
    fi
    upper="$(tr '[:lower:]-' '[:upper:]_' <<<"${target}")"
    printf '+ %s\n' "CARGO_TARGET_${upper}_LINKER=${linker} CARGO_TARGET_${upper}_RUSTFLAGS=\"${rustflags}\"" \
        "CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL=${CARGO_PROFILE_RELEASE_SMALL_OPT_LEVEL} $*" \
        "${cargo[*]} build -p wolfpack-android --lib --profile release-small --target ${target}"
    env "CARGO_TARGET_${upper}_LINKER=${linker}" "CARGO_TARGET_${upper}_RUSTFLAGS=${rustflags}" "$@" \
        "${cargo[@]}" build -p wolfpack-android --lib --profile release-small --target "${target}"
    WOLFPACK_ANDROID_LIB="${CARGO_TARGET_DIR:-target}/${target}/release-small/libwolfpack_android.so"
    [ -f "${WOLFPACK_ANDROID_LIB}" ] || {
        echo "recipe.sh: ${WOLFPACK_ANDROID_LIB} was not built" >&2
        return 1
    }
}
