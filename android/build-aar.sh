#!/usr/bin/env bash
# Builds the Android library archive of wolfpack without Gradle:
#
#   target/android-aar/wolfpack-android-VERSION.aar
#     AndroidManifest.xml        android/aar/AndroidManifest.xml (minSdk 24)
#     classes.jar                the Kotlin API (android/kotlin/src), JVM 1.8 bytecode
#     jni/arm64-v8a/libwolfpack_android.so
#     jni/armeabi-v7a/libwolfpack_android.so
#     jni/x86_64/libwolfpack_android.so
#     proguard.txt               keeps the JNI names (android/aar/proguard.txt)
#     R.txt                      empty (no resources)
#
# The native libraries need the Android NDK (r25 or newer): set ANDROID_NDK_HOME. Without it, this script
# builds and checks classes.jar, says plainly that the NDK is missing, and exits 0.
#
# Knobs (environment):
#   ANDROID_NDK_HOME       the NDK (its toolchains/llvm/prebuilt/<host>/bin holds the clang linkers)
#   WOLFPACK_ANDROID_API   minimum API level the libraries are linked for (default 24)
#   WOLFPACK_ANDROID_ABIS  subset of "arm64-v8a armeabi-v7a x86_64" (default: all three)
#   WOLFPACK_ANDROID_BUILD_STD
#                          1 (default): nightly `-Zbuild-std` without std's backtrace symboliser, the build that
#                          meets the 400 KB budget; needs `rustup toolchain install nightly --component rust-src`.
#                          0: the stable toolchain (same code, about 215 KB larger per library)
#
# The build recipe itself (profile, opt-level, panic strategy, flags) is android/recipe.sh, shared with
# android/measure-size.sh, which measures it for aarch64 Linux where no NDK is installed: fat LTO, one codegen
# unit, stripped, opt-level "z"; panic = unwind, so that the JNI layer can catch a panic and throw
# WolfpackException; linked for 16 KB pages (Android 15+).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"
# shellcheck source=android/recipe.sh
. "${ROOT}/android/recipe.sh"

API="${WOLFPACK_ANDROID_API:-24}"
ABIS="${WOLFPACK_ANDROID_ABIS:-arm64-v8a armeabi-v7a x86_64}"
OUT="${ROOT}/target/android-aar"
STAGE="${OUT}/stage"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
AAR="${OUT}/wolfpack-android-${VERSION}.aar"

say() { printf 'build-aar.sh: %s\n' "$*"; }
run() {
    printf '+ %s\n' "$*"
    "$@"
}
die() {
    say "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- classes.jar (needs no NDK) ---

for tool in kotlinc jar zip; do
    command -v "${tool}" >/dev/null || die "${tool} not found (scripts/setup.sh installs kotlinc; jar comes with the JDK)"
done
rm -rf "${STAGE}"
mkdir -p "${STAGE}/classes" "${STAGE}/aar"
mapfile -t SOURCES < <(find android/kotlin/src -name '*.kt' | sort)
run kotlinc -nowarn -jvm-target 1.8 -d "${STAGE}/classes" "${SOURCES[@]}"
# Kotlin's own module metadata belongs in the jar; the stdlib does not (apps bring their own).
run jar --create --file "${STAGE}/aar/classes.jar" -C "${STAGE}/classes" .
for class in dev/wolfpack/WolfpackModel.class 'dev/wolfpack/WolfpackModel$Companion.class' \
    dev/wolfpack/WolfpackNative.class dev/wolfpack/WolfpackException.class; do
    jar --list --file "${STAGE}/aar/classes.jar" | grep -qxF "${class}" || die "classes.jar lacks ${class}"
done
# Bytecode major version 52 = Java 8, what every Android toolchain accepts.
major="$(cd "${STAGE}/classes" && od -An -j6 -N2 -tu1 dev/wolfpack/WolfpackModel.class | awk '{print $1 * 256 + $2}')"
[ "${major}" = 52 ] || die "WolfpackModel.class has bytecode version ${major}, expected 52 (Java 8)"
say "classes.jar ok ($(jar --list --file "${STAGE}/aar/classes.jar" | grep -c '\.class$') classes, Java 8 bytecode)"

if [ -z "${ANDROID_NDK_HOME:-}" ]; then
    say "ANDROID_NDK_HOME is not set: the native libraries (libwolfpack_android.so for ${ABIS}) need the"
    say "Android NDK, so no .aar was assembled. Install an NDK (r25+) and run"
    say "    ANDROID_NDK_HOME=/path/to/ndk android/build-aar.sh"
    say "Checked without an NDK: classes.jar above; 'scripts/test.sh android' type-checks the crate for the"
    say "three Android targets."
    exit 0
fi

# ------------------------------------------------------------------------ native libraries ---

host="$(uname -s | tr '[:upper:]' '[:lower:]')-x86_64"
BIN="${ANDROID_NDK_HOME}/toolchains/llvm/prebuilt/${host}/bin"
[ -d "${BIN}" ] || die "${BIN} not found: is ANDROID_NDK_HOME (${ANDROID_NDK_HOME}) an NDK r25+?"
[ -x "${BIN}/llvm-ar" ] || die "${BIN}/llvm-ar not found"

# Android ABI -> Rust target and NDK clang prefix.
declare -A TARGET=([arm64-v8a]=aarch64-linux-android [armeabi-v7a]=armv7-linux-androideabi [x86_64]=x86_64-linux-android)
declare -A CLANG=([arm64-v8a]=aarch64-linux-android [armeabi-v7a]=armv7a-linux-androideabi [x86_64]=x86_64-linux-android)

for abi in ${ABIS}; do
    target="${TARGET[${abi}]:-}"
    [ -n "${target}" ] || die "unknown ABI '${abi}' (known: ${!TARGET[*]})"
    linker="${BIN}/${CLANG[${abi}]}${API}-clang"
    [ -x "${linker}" ] || die "${linker} not found (is API ${API} in this NDK?)"
    # The recipe, with the NDK's clang as linker, and cc/ar for any C a dependency might build.
    wolfpack_android_build "${target}" "${linker}" "CC_${target//-/_}=${linker}" "AR_${target//-/_}=${BIN}/llvm-ar"
    lib="${WOLFPACK_ANDROID_LIB}"
    mkdir -p "${STAGE}/aar/jni/${abi}"
    cp "${lib}" "${STAGE}/aar/jni/${abi}/"
    say "${abi}: $(wc -c <"${lib}") bytes (${target}, API ${API})"
done

# ------------------------------------------------------------------------------------- .aar ---

cp android/aar/AndroidManifest.xml android/aar/proguard.txt "${STAGE}/aar/"
: >"${STAGE}/aar/R.txt"
rm -f "${AAR}"
(cd "${STAGE}/aar" && run zip -q -r -X "${AAR}" AndroidManifest.xml classes.jar proguard.txt R.txt jni)
say "wrote ${AAR#"${ROOT}"/} ($(wc -c <"${AAR}") bytes):"
unzip -l "${AAR}"
