# Shared by the server test scripts (after tests/cli/lib.sh): start_server ARGS... starts
# `frugal serve ARGS` in the background (stdout to $W/serve.out, stderr appended to
# $W/serve.err) and sets PID and URL once it listens; a server that does not start fails the
# script with the end of its log.
start_server() {
  "$FRUGAL" serve "$@" >"$W/serve.out" 2>>"$W/serve.err" &
  PID=$!
  URL=""
  for _ in $(seq 1 300); do
    URL=$(grep -o 'http://[0-9.:]*' "$W/serve.out" 2>/dev/null | head -1)
    [ -n "$URL" ] && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$URL" ] || { bad "server did not start: $(tail -5 "$W/serve.err")"; finish; exit 1; }
}
# run_client NAME CMD...: runs a client script against the server, shows its output, and
# counts one check NAME that passes when the client exits 0.
run_client() {
  local name=$1; shift
  "$@" >"$W/client.out" 2>&1
  local rc=$?
  cat "$W/client.out"
  check "$name" test $rc -eq 0
}
# stop_server: SIGTERM; the server must exit 0 and have logged no internal error.
stop_server() {
  kill -TERM $PID; wait $PID; local rc=$?
  check "SIGTERM: clean exit (rc=$rc)" test $rc -eq 0
  check "no internal error logged" bash -c "! grep -qi 'internal error' '$W/serve.err'"
}
