#!/usr/bin/env bash
# Configures and builds frugal (Release) into build/. Usage: scripts/build.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
[ -f "$B/CMakeCache.txt" ] || cmake -S . -B "$B" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$B" -j "$(nproc)"
