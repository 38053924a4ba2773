#!/usr/bin/env bash
# Quick start, command 1: install, build, and serve the default model on 127.0.0.1:8080
# (OpenAI-compatible; the server prints a curl and an openai snippet that work as printed).
# `scripts/run-default.sh --run "prompt"` generates once in the terminal instead.
# Until the trained default model ships (a later issue), the default model is a tiny
# random-weight model generated at build time: its output is noise, and frugal says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
if [[ "${1:-}" == "--run" ]]; then
  exec build/frugal run -m build/default-model.gguf -p "${2:-Why is the sky blue?}" -n "${3:-48}" --temp 0.7
fi
exec build/frugal serve -m build/default-model.gguf --alias default-model --port "${PORT:-8080}" "$@"
