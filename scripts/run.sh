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

# ---- MAIN JOB: one line. Train a sparse implicit model within 10,000 stored weights on the default data set
# ---- (Fashion-MNIST, installed by setup.sh; the embedded 8x8 digits when it is absent), then inspect it.
main_job() { wolfpack compress --max-nnz 10000 --out out/model.wpk && wolfpack inspect out/model.wpk; }

echo "run.sh: main job"
main_job
