#!/usr/bin/env bash
# Sets wolfpack up, builds it in release mode, then runs the main job.
#
#   scripts/run.sh             the main job (below)
#   scripts/run.sh ARGS...     `wolfpack ARGS...` instead, e.g. `scripts/run.sh inspect out/sample.wpk`
#
# Output goes to out/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
bash scripts/setup.sh
# shellcheck source=scripts/env.sh
. "${ROOT}/scripts/env.sh"

echo "run.sh: building release"
cargo build --release -p wolfpack
export PATH="${ROOT}/target/release:${PATH}"
mkdir -p out

if [ $# -gt 0 ]; then
    exec wolfpack "$@"
fi

# ---- MAIN JOB: one line. For now: write the sample model and inspect it.
# ---- Later: `wolfpack compress` on the embedded default data set.
main_job() { cargo run --release -q -p wolfpack-format --example sample -- out/sample.wpk && wolfpack inspect out/sample.wpk; }

echo "run.sh: main job"
main_job
