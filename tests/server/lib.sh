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
