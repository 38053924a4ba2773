# Slow clients (tests/server/slow_clients.py): tricklers, a silent half request and a stream
# nobody reads cannot hold `frugal serve`; --timeout 2 keeps the test short.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
start_server -m "$BUILD/default-model.gguf" --port 0 --max-seqs 2 -c 65536 --no-disk-cache -t 2 --quiet --timeout 2
run_client "slow-client checks" python3 "$SRC/tests/server/slow_clients.py" "$URL"
stop_server
finish
