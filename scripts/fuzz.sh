#!/usr/bin/env bash
# Builds a libFuzzer target with ASan + UBSan and runs it for a bounded time.
#
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
#
# TARGET names tests/fuzz/fuzz_TARGET.cpp; the table below lists the library sources it
# needs, its seed corpus and its input size cap. The binary, the growing corpus and any
# crash files live in $FUZZ_BUILD_DIR (default build-fuzz/). Exit status is non-zero on a
# crash, sanitizer report, timeout or oversized allocation; the input is kept as
# $FUZZ_BUILD_DIR/TARGET-artifacts/crash-* (replay: build-fuzz/fuzz_TARGET FILE).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${1:?usage: fuzz.sh TARGET SECONDS [libFuzzer flags...]}
SECONDS_TO_RUN=${2:?usage: fuzz.sh TARGET SECONDS [libFuzzer flags...]}
shift 2
OUT=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
CXX=${FUZZ_CXX:-clang++}

# Per target: SOURCES (library .cpp files), make_seeds (fills a directory), MAX_LEN, DICT, and
# LIBS (extra link flags, may stay empty).
LIBS=()
FLAGS=()
case $TARGET in
  gguf)
    SOURCES=("$ROOT"/src/formats/gguf*.cpp "$ROOT"/src/core/*.cpp)
    MAX_LEN=65536
    DICT=$ROOT/tests/fuzz/gguf.dict
    make_seeds() {
      python3 "$ROOT/tests/fuzz/make_gguf_seeds.py" "$1"
      # Golden model headers (tokenizer arrays, real key sets), cut to the size cap.
      for f in "$ROOT"/tests/data/golden/gguf/*-mini-q8_0.gguf; do
        head -c "$MAX_LEN" "$f" >"$1/golden-$(basename "$f")"
      done
    }
    ;;
  safetensors)
    SOURCES=("$ROOT"/src/formats/safetensors.cpp "$ROOT"/src/formats/json_file.cpp "$ROOT"/src/core/*.cpp)
    MAX_LEN=16384
    DICT=$ROOT/tests/fuzz/safetensors.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_safetensors_seeds.py" "$1"; }
    ;;
  jinja)
    SOURCES=("$ROOT"/src/template/*.cpp)
    LIBS=(-lutf8proc)
    MAX_LEN=16384
    DICT=$ROOT/tests/fuzz/jinja.dict
    make_seeds() {
      for f in "$ROOT"/tests/data/templates/*.jinja; do head -c "$MAX_LEN" "$f" >"$1/$(basename "$f")"; done
    }
    ;;
  output_parser)
    SOURCES=("$ROOT"/src/chat/output_parser.cpp "$ROOT"/src/chat/tool_call_syntax.cpp "$ROOT"/src/core/*.cpp)
    MAX_LEN=4096
    DICT=$ROOT/tests/fuzz/output_parser.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" output_parser "$1"; }
    ;;
  json_schema)
    SOURCES=("$ROOT"/src/runtime/json_constraint.cpp "$ROOT"/src/core/*.cpp)
    MAX_LEN=4096
    DICT=$ROOT/tests/fuzz/json_schema.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" json_schema "$1"; }
    ;;
  models_toml)
    # toml++ header-only here, so that the fuzzer instruments the TOML parser too; with NDEBUG,
    # as Debian builds the library frugal links (its internal asserts off; its "unreachable"
    # points still trap under UBSan). parse_registry_config screens out what reaches them.
    FLAGS=(-DNDEBUG)
    SOURCES=("$ROOT"/src/server/model_registry.cpp "$ROOT"/src/server/keep_alive.cpp "$ROOT"/src/formats/json_file.cpp
             "$ROOT"/src/core/*.cpp)
    MAX_LEN=4096
    DICT=$ROOT/tests/fuzz/models_toml.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" models_toml "$1"; }
    ;;
  request)
    SOURCES=("$ROOT"/src/server/chat_spec*.cpp "$ROOT"/src/server/completion_spec.cpp "$ROOT"/src/server/request_fields.cpp "$ROOT"/src/chat/messages.cpp
             "$ROOT"/src/core/*.cpp)
    LIBS=(-lutf8proc)
    MAX_LEN=8192
    DICT=$ROOT/tests/fuzz/request.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" request "$1"; }
    ;;
  tokenizer)
    # Real tokenizers are loaded once from tests/data (and the oracle's npm folder next to it).
    FLAGS=("-DFRUGAL_TEST_DATA=\"$ROOT/tests/data\"")
    SOURCES=("$ROOT"/src/tokenizer/*.cpp "$ROOT"/src/core/*.cpp)
    LIBS=(-lpcre2-8 -lutf8proc)
    MAX_LEN=4096
    DICT=$ROOT/tests/fuzz/tokenizer.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" tokenizer "$1"; }
    ;;
  kv_block)
    SOURCES=("$ROOT"/src/runtime/disk_cache.cpp "$ROOT"/src/core/*.cpp)
    MAX_LEN=1024
    DICT=$ROOT/tests/fuzz/kv_block.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_kv_block_seeds.py" "$1"; }
    ;;
  hf_config)
    SOURCES=("$ROOT"/src/model/hf_config.cpp "$ROOT"/src/model/vocab_gguf.cpp "$ROOT"/src/formats/json_file.cpp
             "$ROOT"/src/formats/gguf*.cpp "$ROOT"/src/tokenizer/*.cpp "$ROOT"/src/core/*.cpp)
    LIBS=(-lpcre2-8 -lutf8proc)
    MAX_LEN=16384
    DICT=$ROOT/tests/fuzz/hf_config.dict
    make_seeds() { python3 "$ROOT/tests/fuzz/make_text_seeds.py" hf_config "$1"; }
    ;;
  *)
    echo "fuzz.sh: unknown target '$TARGET' (known: gguf, safetensors, jinja, output_parser, json_schema, models_toml," \
      "request, tokenizer, kv_block, hf_config)" >&2
    exit 2
    ;;
esac

MAIN=$ROOT/tests/fuzz/fuzz_$TARGET.cpp
BIN=$OUT/fuzz_$TARGET
mkdir -p "$OUT"
command -v "$CXX" >/dev/null || { echo "fuzz.sh: $CXX not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }

# Rebuild only when a source or header is newer than the binary.
stale=0
if [[ ! -x $BIN ]]; then
  stale=1
else
  newer=$(find "$ROOT/src" "$MAIN" -newer "$BIN" \( -name '*.cpp' -o -name '*.h' \) -print -quit)
  [[ -n $newer ]] && stale=1
fi
if ((stale)); then
  # One compiler per source file, FUZZ_JOBS (default: the cores) at a time, then one link: the
  # library sources dominate the build, and CI builds every target from scratch.
  echo "fuzz.sh: building $BIN"
  SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
  OBJS=$OUT/fuzz_$TARGET-obj
  rm -rf "$OBJS"
  mkdir -p "$OBJS"
  objs=() pids=() failed=0
  for src in "$MAIN" "${SOURCES[@]}"; do
    while (($(jobs -rp | wc -l) >= ${FUZZ_JOBS:-$(nproc)})); do sleep 0.1; done
    objs+=("$OBJS/${#objs[@]}-$(basename "$src" .cpp).o")
    "$CXX" -std=c++20 -g -O1 -fsanitize=fuzzer-no-link "${SAN[@]}" "${FLAGS[@]}" -I"$ROOT/src" -c "$src" \
      -o "${objs[-1]}" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || { echo "fuzz.sh: compiling $TARGET failed" >&2; exit 1; }
  "$CXX" -fsanitize=fuzzer "${SAN[@]}" "${objs[@]}" -pthread "${LIBS[@]}" -o "$BIN.new"
  mv "$BIN.new" "$BIN"
  rm -rf "$OBJS"
fi

# The corpus persists between runs so coverage keeps growing; seeds are refreshed each time.
CORPUS=$OUT/$TARGET-corpus
SEEDS=$OUT/$TARGET-seeds
ARTIFACTS=$OUT/$TARGET-artifacts
rm -rf "$SEEDS"
mkdir -p "$CORPUS" "$SEEDS" "$ARTIFACTS"
make_seeds "$SEEDS"

# -malloc_limit_mb turns any single huge allocation into a failure: a lying length field
# must be rejected before it is allocated. -timeout catches hangs on one input.
echo "fuzz.sh: running $TARGET for ${SECONDS_TO_RUN}s"
exec "$BIN" "$CORPUS" "$SEEDS" \
  -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" -dict="$DICT" \
  -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 "$@"
