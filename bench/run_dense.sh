#!/usr/bin/env bash
# The README's dense-model benchmark: R1-Distill-Qwen-1.5B-shaped random-weight files (made
# once by `frugal make-test-model`, ~1.1 GB at Q4_K_M, ~1.9 GB at Q8_0), compared side by side
# with the peers named in the environment by bench/compare.sh (see there: LLAMA_BENCH,
# IK_LLAMA_BENCH, rounds and sizes).
# Usage: bench/run_dense.sh [BUILD_DIR] [MODEL_DIR] [compare.sh options]   TYPES="Q4_K_M Q8_0"
#   run the timed part under the machine's lock: flock /tmp/frugal-cpu.lock bench/run_dense.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
if [ $# -gt 0 ] && [[ $1 != -* ]]; then B=$1; shift; fi
M=$B/bench-models
if [ $# -gt 0 ] && [[ $1 != -* ]]; then M=$1; shift; fi
mkdir -p "$M"
files=()
for t in ${TYPES:-Q4_K_M Q8_0}; do
  f=$M/r1-distill-qwen-1.5b-$t.gguf
  [ -f "$f" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type "$t" -o "$f" >&2
  files+=("$f")
done
FRUGAL=${FRUGAL:-$B/frugal} exec bench/compare.sh "$@" "${files[@]}"
