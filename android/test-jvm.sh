#!/usr/bin/env bash
# Host-JVM tests of the Android binding: builds libwolfpack_android.so for this machine, writes the test
# models and the Rust runtime's reference outputs, compiles the Kotlin API with its tests (one kotlinc run,
# skipped when the sources have not changed) and runs them on the JVM.
#
#   android/test-jvm.sh           the tests (last line: "jvm: N passed, M failed")
#   android/test-jvm.sh --bench   also the per-call JNI overhead: Kotlin predict(input, output) on the
#                                 JVM versus the Rust runtime's own loop, same model and input
#
# Needs kotlinc (scripts/setup.sh installs it under .cache/npm; scripts/env.sh puts it on PATH) and a JDK.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"

BENCH=0
for arg in "$@"; do
    case "${arg}" in
        --bench) BENCH=1 ;;
        *) echo "usage: android/test-jvm.sh [--bench]" >&2; exit 2 ;;
    esac
done

OUT="${ROOT}/target/android-jvm"
CLASSES="${OUT}/classes"
LIB_DIR="${ROOT}/target/release"

run() {
    printf '+ %s\n' "$*"
    "$@"
}

for tool in kotlinc java javac; do
    command -v "${tool}" >/dev/null || { echo "test-jvm.sh: ${tool} not found (run scripts/setup.sh)" >&2; exit 1; }
done
KOTLIN_HOME="$(cd "$(dirname "$(readlink -f "$(command -v kotlinc)")")/.." && pwd)"
STDLIB="${KOTLIN_HOME}/lib/kotlin-stdlib.jar"
[ -f "${STDLIB}" ] || { echo "test-jvm.sh: ${STDLIB} not found" >&2; exit 1; }

# Release build: the 4 x 10,000-prediction test and the benchmark need the optimised runtime.
run cargo build -q --release -p wolfpack-android --lib --example reference
run "${LIB_DIR}/examples/reference" "${OUT}"

# kotlinc takes ~10 s to start: compile API and tests in one run, and only when a source changed.
mapfile -t KT < <(find android/kotlin/src android/kotlin/test -name '*.kt' | sort)
mapfile -t JAVA < <(find android/kotlin/test -name '*.java' | sort)
STAMP="${OUT}/classes.sha256"
SUM="$(cat "${KT[@]}" "${JAVA[@]}" | sha256sum | cut -d' ' -f1) $(kotlinc -version 2>&1 | tr -d '\n' || true)"
if [ ! -f "${STAMP}" ] || [ "$(cat "${STAMP}")" != "${SUM}" ] || [ ! -d "${CLASSES}" ]; then
    rm -rf "${CLASSES}" "${STAMP}"
    mkdir -p "${CLASSES}"
    # Java sources are given to kotlinc for their symbols (the tests call JavaUsage), then compiled by javac.
    run kotlinc -nowarn -jvm-target 1.8 -d "${CLASSES}" "${KT[@]}" "${JAVA[@]}"
    run javac -nowarn -source 8 -target 8 -Xlint:-options -cp "${CLASSES}:${STDLIB}" -d "${CLASSES}" "${JAVA[@]}"
    echo "${SUM}" >"${STAMP}"
else
    echo "test-jvm.sh: Kotlin classes up to date (${CLASSES#"${ROOT}"/})"
fi

JAVA_RUN=(java -Xss4m -Djava.library.path="${LIB_DIR}" -cp "${CLASSES}:${STDLIB}")
run "${JAVA_RUN[@]}" dev.wolfpack.JvmTestsKt "${OUT}"

if [ "${BENCH}" = 1 ]; then
    run cargo build -q --release -p wolfpack-android --example rust_loop
    run "${LIB_DIR}/examples/rust_loop" "${OUT}/compressed.wpk" "${OUT}/compressed.ref"
    run "${JAVA_RUN[@]}" dev.wolfpack.JvmBenchKt "${OUT}/compressed.wpk" "${OUT}/compressed.ref"
fi
