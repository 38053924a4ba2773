# The web chat page (GET /) in headless chromium via playwright-core: see web_test.mjs.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
M=$BUILD/default-model.gguf
if [ ! -x /usr/bin/chromium ] || [ ! -d "$SRC/tests/oracle/node_modules/playwright-core" ]; then
  bad "chromium or playwright-core missing: run scripts/install-deps.sh --npm"; finish; exit 1
fi
"$FRUGAL" serve -m "$M" -m "$M" --alias default-model --alias tiny-r1 \
  --chat-template "" --chat-template "$SRC/tests/data/templates/deepseek-r1.jinja" \
  --port 0 -c 16384 --max-seqs 2 --no-disk-cache >"$W/serve.out" 2>"$W/serve.err" &
PID=$!
for _ in $(seq 1 300); do URL=$(grep -o 'http://[0-9.:]*' "$W/serve.out" 2>/dev/null | head -1); [ -n "$URL" ] && break; sleep 0.1; done
check "GET / serves the page" bash -c "curl -s '$URL/' | grep -q '<title>frugal chat</title>'"
node "$SRC/tests/server/web_test.mjs" "$URL" default-model tiny-r1 "$BUILD/web-chat.png" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "browser checks" test $rc -eq 0
kill -TERM $PID; wait $PID
check "server exits cleanly" test $? -eq 0
[ $FAIL -eq 0 ] || tail -20 "$W/serve.err"
finish
