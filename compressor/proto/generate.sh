#!/usr/bin/env bash
# Regenerates compressor/src/onnx/proto/onnx.rs from compressor/proto/onnx.proto (the official schema, copied
# from the `onnx` PyPI package, onnx/onnx.proto) with protox + prost-build: no system protoc needed.
# The generated file is checked in so that building wolfpack needs only the `prost` runtime crate.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${HERE}/../src/onnx/proto"
mkdir -p "${OUT}"
cargo run --quiet --release --manifest-path "${HERE}/generate/Cargo.toml" \
    --target-dir "${CARGO_TARGET_DIR:-${HERE}/../../target}/onnx-protogen" -- "${HERE}" "${OUT}"
echo "wrote ${OUT}/onnx.rs"
