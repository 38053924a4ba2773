#!/usr/bin/env bash
# Quick start, command 2: install, build, and run every test (unit, golden logits,
# tokenizer oracle, CLI, bounded fuzzing). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --npm
scripts/build.sh build
cd build
ctest --output-on-failure -j 2 "$@"
