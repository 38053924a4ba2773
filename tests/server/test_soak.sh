# Soak (tests/server/soak_test.mjs): 64 streaming clients for SOAK_SECONDS (default 20; set it
# for a longer run by hand) on the default test model. The prefix cache
# gets 4 MiB of RAM so that it is full early: its growth up to --cache-ram-mb is by design.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
start_server -m "$BUILD/default-model.gguf" --port 0 --max-seqs 8 --max-queue 64 -c 2048 --cache-ram-mb 4 --no-disk-cache -t 2 --quiet
# Sanitizer builds hold freed memory in quarantine and shadow it: no RSS bound there.
case $(basename "$BUILD") in build-asan | build-tsan) RSS_BOUND=off ;; *) RSS_BOUND=on ;; esac
run_client "soak checks" node "$SRC/tests/server/soak_test.mjs" "$URL" "$PID" "${SOAK_SECONDS:-20}" "$RSS_BOUND"
stop_server
finish
