# Overload (tests/server/overload_test.mjs): 256 concurrent clients against --max-seqs 4
# --max-queue 32 on the default test model; the surplus gets 429 + Retry-After, never a 500 or
# a reset, and the server is idle and healthy afterwards.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
start_server -m "$BUILD/default-model.gguf" --port 0 --max-seqs 4 --max-queue 32 -c 512 --no-disk-cache -t 2 --quiet
run_client "overload checks" node "$SRC/tests/server/overload_test.mjs" "$URL"
stop_server
finish
