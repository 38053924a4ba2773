#!/usr/bin/env bash
# The README's DeepSeek benchmark: DeepSeek-V2-Lite-shaped random-weight files (15.7B total,
# ~2.4B active per token; ~10.4 GB at Q4_K_M, made once in about 10 minutes), compared side by
# side with the peers named in the environment by bench/compare.sh. For MoE the roofline
# counts the *active* bytes per token (frugal's weight_bytes_per_token: attention, router,
# the chosen and shared experts, the output head).
# Usage: bench/run_deepseek.sh [BUILD_DIR] [MODEL_DIR] [compare.sh options]   TYPES="Q4_K_M"
#   run the timed part under the machine's lock: flock /tmp/frugal-cpu.lock bench/run_deepseek.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
if [ $# -gt 0 ] && [[ $1 != -* ]]; then B=$1; shift; fi
M=$B/bench-models
if [ $# -gt 0 ] && [[ $1 != -* ]]; then M=$1; shift; fi
mkdir -p "$M"
files=()
for t in ${TYPES:-Q4_K_M}; do
  f=$M/deepseek-v2-lite-$t.gguf
  [ -f "$f" ] || "$B/frugal" make-test-model --preset deepseek-v2-lite --type "$t" -o "$f" >&2
  files+=("$f")
done
FRUGAL=${FRUGAL:-$B/frugal} exec bench/compare.sh "$@" "${files[@]}"
