#!/usr/bin/env bash
# Quick start, command 1: install, build, and serve the default model on 127.0.0.1:8080
# (OpenAI-compatible; the server prints a curl and an openai snippet that work as printed).
# The default model is models/frugal-r1-tiny.gguf, the tiny DeepSeek-V3-architecture reasoner
# trained by scripts/train-default.sh (see models/README.md): `frugal serve` with no -m uses it.
# `scripts/run-default.sh --run "question"` asks it once in the terminal instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
if [[ "${1:-}" == "--run" ]]; then
  printf '%s\n' "${2:-What is 347 times 86?}" | exec build/frugal chat --temp 0 -n "${3:-512}"
fi
exec build/frugal serve --port "${PORT:-8080}" "$@"
