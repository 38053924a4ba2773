#!/usr/bin/env bash
# Quick start, command 2: install, build, and run every test (unit, golden logits,
# tokenizer oracle, CLI, bounded fuzzing). CI runs this, then the sanitizer runs below.
#
#   scripts/test.sh [CTEST_ARGS...]                      Release build in build/, every test
#   scripts/test.sh --sanitize=address,undefined [ARGS]  ASan + UBSan build in build-asan/
#   scripts/test.sh --sanitize=thread [ARGS]             TSan build in build-tsan/
#
# A sanitizer build has every target instrumented (the CLI the script tests run included),
# recovery off: the first report fails its test. The fuzz tests are left out of sanitizer
# runs unless CTEST_ARGS select tests themselves: they build their own ASan + UBSan targets
# (scripts/fuzz.sh) in every run. With no CTEST_ARGS, TSan runs the tests with threads in
# them (pools, matmul, prefix cache, generator, engine, server), where a race can live;
# tests/tsan.supp says what it does not check and why.
set -euo pipefail
cd "$(dirname "$0")/.."
san=
if [[ ${1:-} == --sanitize=* ]]; then
  san=${1#--sanitize=}
  shift
fi
scripts/install-deps.sh --npm
if [ -z "$san" ]; then
  scripts/build.sh build
  cd build
  exec ctest --output-on-failure -j 2 "$@"
fi

case $san in
  thread) B=build-tsan ;;
  address | undefined | address,undefined | undefined,address) B=build-asan ;;
  *) echo "scripts/test.sh: --sanitize takes address,undefined or thread (got '$san')" >&2; exit 2 ;;
esac
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
# -O1 -g1: line tables for the reports, and ~40 % less compile time than -O2 -g under UBSan.
[ -f "$B/CMakeCache.txt" ] || cmake -S . -B "$B" "${GEN[@]}" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g1" -DFRUGAL_SANITIZE="$san" -DFRUGAL_BUILD_BENCH=OFF
if [ "$san" = thread ] && [ $# -eq 0 ]; then
  # The default TSan selection (below) needs the CLI, the test model and these unit tests only;
  # the other test programs take minutes to build under TSan and would not run.
  cmake --build "$B" -j "$(nproc)" --target frugal default_model test_thread_pool test_connection_pool test_matmul \
    test_prefix_cache test_generator test_batch test_model_shelf test_quant test_engine_passes
else
  cmake --build "$B" -j "$(nproc)"
fi
# abort_on_error: a report ends the process with a signal CTest counts as a failure, even in
# a child the test script started in the background.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
cd "$B"
if [ $# -eq 0 ]; then
  if [ "$san" = thread ]; then
    # (server.test_default_model asks 240 questions: ~8 minutes under TSan, and its server
    # paths are the ones test_serve_api runs; test_overload's 256 clients take two minutes
    # under TSan for the paths test_soak and test_serve_api run too; test_model_file_changes
    # kills a server with SIGBUS on purpose.)
    set -- -R 'ThreadPool|ConnectionPool|Matmul|PrefixCache|Generator|BatchTest|ModelShelf|EnginePasses|server\.' \
      -E '^server\.test_default_model$|^server\.test_overload$|^server\.test_model_file_changes$'
  else
    set -- -E '^fuzz\.'
  fi
fi
exec ctest --output-on-failure -j 2 "$@"
