#!/usr/bin/env bash
# Quick start, command 1: install, build, and run the default model.
# Until the trained default model ships (a later issue), the default model is a tiny
# random-weight model generated at build time: its output is noise, and frugal says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/frugal run -m build/default-model.gguf -p "${1:-Why is the sky blue?}" -n "${2:-48}" --temp 0.7
