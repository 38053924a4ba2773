# frugal serve end to end: a real server on 127.0.0.1 driven by the official openai npm client
# (tests/server/api_test.mjs; its Responses API: responses_test.mjs), Anthropic's Messages API
# by @anthropic-ai/sdk (anthropic_test.mjs) and Ollama's API by the ollama client (ollama_test.mjs): chat (plain, streaming, reasoning, tools, json_schema, n, seed,
# logprobs, prefix completion), completions (stop, FIM), caches (memory, then disk after a
# restart), keys, limits, errors, disconnects, /metrics, and graceful shutdown on SIGTERM.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
M=$BUILD/default-model.gguf
V=$W/tiny-qwen-vocab.gguf
"$FRUGAL" make-test-model --preset tiny-qwen-vocab --type Q8_0 -o "$V" 2>/dev/null || bad "make tiny-qwen-vocab"
KEY=test-key-$$

serve() { start_server "$@"; }
# The three-model server most checks use; extra arguments go to frugal serve.
start() {
  serve -m "$M" -m "$V" -m "$M" --alias default-model --alias tiny-qwen-vocab --alias tiny-r1 \
    --chat-template "" --chat-template "" --chat-template "$SRC/tests/data/templates/deepseek-r1.jinja" \
    --port 0 ${KEYARGS:---api-key "$KEY"} -c 1024 --max-seqs 4 -t 2 --cache-dir "$W/cache" "$@"
}
# stop: SIGTERM, and the exit status must be 0 within the grace period.
stop() {
  kill -TERM $PID
  for _ in $(seq 1 200); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
  if kill -0 $PID 2>/dev/null; then bad "SIGTERM: still running after 20 s"; kill -9 $PID; return; fi
  wait $PID; local rc=$?
  check "SIGTERM: clean exit (rc=$rc)" test $rc -eq 0
}

# Fixtures: what `frugal run` prints at temperature 0, the rendered chat prompt, long texts.
RUN_PROMPT="Once upon a time"
"$FRUGAL" run -m "$M" -p "$RUN_PROMPT" -n 24 --temp 0 >"$W/run.out" 2>/dev/null
printf '[{"role": "user", "content": "Hello, who are you?"}]' >"$W/hi.json"
"$FRUGAL" template -m "$M" --messages "$W/hi.json" --add-generation-prompt >"$W/hi.txt"
$PY - "$W" "$RUN_PROMPT" <<'EOF'
import json, sys
w, prompt = sys.argv[1], sys.argv[2]
run = open(w + '/run.out', encoding='utf-8').read()
assert run.startswith(prompt) and run.endswith('\n'), run
words = ' '.join(f'word{i} and more' for i in range(200))
json.dump({'model': 'default-model', 'vocab_model': 'tiny-qwen-vocab', 'r1_model': 'tiny-r1',
           'run_prompt': prompt, 'run_n': 24, 'run_text': run[len(prompt):-1],
           'rendered_hi': open(w + '/hi.txt', encoding='utf-8').read(),
           'long_text': words[:600], 'too_long_text': words * 3}, open(w + '/fx.json', 'w'))
EOF

start
node "$SRC/tests/server/api_test.mjs" main "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "openai client checks (main)" test $rc -eq 0
check "request log: one line per request with tokens and latency" \
  grep -qE '^POST /v1/chat/completions 200 prompt=[0-9]+ cached=[0-9]+ completion=[0-9]+ [0-9]+ ms$' "$W/serve.err"
stop
check "shutdown wrote the prefix cache to disk" test -n "$(ls "$W/cache/default-model" 2>/dev/null)"
# Keys, right or wrong, never reach the log (the checks above sent both).
check "API keys never logged" bash -c "! grep -qF -e '$KEY' -e 'wrong-key' '$W/serve.err' '$W/serve.out'"

start
node "$SRC/tests/server/api_test.mjs" restart "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "openai client checks (after restart)" test $rc -eq 0
stop

# Anthropic's Messages API through the official @anthropic-ai/sdk (x-api-key authentication),
# and Ollama's API through the official ollama client.
start
node "$SRC/tests/server/anthropic_test.mjs" "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "anthropic client checks" test $rc -eq 0
node "$SRC/tests/server/ollama_test.mjs" "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "ollama client checks" test $rc -eq 0
node "$SRC/tests/server/responses_test.mjs" "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "openai responses checks" test $rc -eq 0
stop

# Finished prompts reach the disk while the server is idle: after a kill -9 (no flush), a new
# server still has them.
crash_req() {
  $PY - "$1" "$W/fx.json" <<'EOF2'
import json, sys, urllib.request
url, fx = sys.argv[1], json.load(open(sys.argv[2]))
body = {'model': 'default-model', 'messages': [{'role': 'user', 'content': 'crash ' + fx['long_text']}], 'max_tokens': 2}
r = urllib.request.urlopen(urllib.request.Request(url + '/v1/chat/completions', json.dumps(body).encode(), {'Content-Type': 'application/json'}))
print(json.loads(r.read())['usage']['prompt_cache_hit_tokens'])
EOF2
}
serve -m "$M" --port 0 -c 1024 --cache-dir "$W/cache2"
crash_req "$URL" >/dev/null
for _ in $(seq 1 50); do
  n=$(curl -s "$URL/metrics" | grep '^frugal_prefix_cache_disk_blocks' | awk '{print $2}')
  [ "${n:-0}" -gt 10 ] && break; sleep 0.1
done
kill -9 $PID; wait $PID 2>/dev/null
serve -m "$M" --port 0 -c 1024 --cache-dir "$W/cache2"
hits=$(crash_req "$URL")
check "kill -9 after an idle moment: the restarted server hits the disk cache ($hits tokens)" test "${hits:-0}" -gt 100
stop

# The cache disk fills: a file size limit below one block file's size makes every cache write
# fail (EFBIG, where a full disk gives ENOSPC: the same failed write). Serving goes on; the disk
# tier says so once in the log and counts the lost blocks in /metrics; no temporary file stays.
exec 7> >(cat >>"$W/full.err")
( ulimit -f 1; exec "$FRUGAL" serve -m "$M" --port 0 -c 1024 --cache-dir "$W/cache3" >"$W/full.out" 2>&7 ) &
PID=$!
URL=""
for _ in $(seq 1 300); do URL=$(grep -o 'http://[0-9.:]*' "$W/full.out" 2>/dev/null | head -1); [ -n "$URL" ] && break; sleep 0.1; done
check "disk full: the server starts" test -n "$URL"
first=$(crash_req "$URL")
errs=0
for _ in $(seq 1 50); do
  errs=$(curl -s "$URL/metrics" | grep '^frugal_prefix_cache_disk_write_errors' | awk '{print $2}')
  [ "${errs:-0}" -gt 0 ] && break; sleep 0.1
done
check "disk full: lost blocks counted in /metrics ($errs)" test "${errs:-0}" -gt 0
again=$(crash_req "$URL")
check "disk full: requests still served, from the RAM tier ($first then $again cached tokens)" test "${again:-0}" -gt 100
check "disk full: one log line says the disk tier degraded" test "$(grep -c 'disk tier degraded' "$W/full.err")" -eq 1
check "disk full: no temporary file left" test -z "$(find "$W/cache3" -name '*.tmp*' 2>/dev/null)"
stop
exec 7>&-

# Other weights under the same name and shapes never reuse that disk cache: the fingerprint
# hashes the weights, not just the name and size.
O=$W/other/default-model.gguf
mkdir -p "$W/other"
"$FRUGAL" make-test-model --preset tiny-qwen3 --type Q8_0 --seed 7 -o "$O" 2>/dev/null
serve -m "$O" --port 0 -c 1024 --cache-dir "$W/cache"
check "other weights, same name: no cache hit from the first model's files" $PY - "$URL" "$W/fx.json" <<'EOF2'
import json, sys, urllib.request
url, fx = sys.argv[1], json.load(open(sys.argv[2]))
body = {'model': 'default-model', 'messages': [{'role': 'user', 'content': fx['long_text']}], 'max_tokens': 2}
r = urllib.request.urlopen(urllib.request.Request(url + '/v1/chat/completions', json.dumps(body).encode(), {'Content-Type': 'application/json'}))
u = json.loads(r.read())['usage']
assert u['prompt_cache_hit_tokens'] == 0, u
EOF2
stop

# Keys from a file (two), one sequence at a time with a queue of one.
printf '# keys\n%s\nsecond-%s\n' "$KEY" "$KEY" >"$W/keys.txt"
KEYARGS="--api-key-file $W/keys.txt" start --max-per-key 2 --max-seqs 1 --max-queue 1 --max-body-mb 1
node "$SRC/tests/server/api_test.mjs" limits "$URL" "$KEY" "$W/fx.json" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "openai client checks (limits)" test $rc -eq 0
stop

# One API key (the usual single-app set-up) and the default limits: 40 concurrent requests are
# queued, not refused (there is no per-key cap unless --max-per-key sets one).
serve -m "$M" --port 0 -c 512 --max-seqs 4 --api-key "$KEY" --no-disk-cache
check "one key, 40 concurrent requests, default limits: all answered" $PY - "$URL" "$KEY" <<'EOF2'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, key = sys.argv[1], sys.argv[2]
def ask(i):
    body = {'model': 'default-model', 'messages': [{'role': 'user', 'content': 'Hi %d' % i}], 'max_tokens': 4}
    req = urllib.request.Request(url + '/v1/chat/completions', json.dumps(body).encode(),
                                 {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + key})
    try:
        return urllib.request.urlopen(req, timeout=120).status
    except urllib.error.HTTPError as e:
        return e.code
with ThreadPoolExecutor(40) as ex:
    codes = list(ex.map(ask, range(40)))
assert codes == [200] * 40, codes
EOF2
stop

# CORS is off unless --cors names the origin; a non-loopback address without a key warns.
serve -m "$M" --port 0 -c 256 --no-disk-cache --host 0.0.0.0 --cors http://app.example
check "--host 0.0.0.0 without a key: a warning" grep -q "warning: listening on 0.0.0.0 without --api-key" "$W/serve.err"
check "--cors: the named origin may read replies" bash -c "curl -si -H 'Origin: http://app.example' '$URL/v1/models' | tr -d '\r' | grep -qx 'Access-Control-Allow-Origin: http://app.example'"
check "--cors: another origin gets no CORS header" bash -c "! curl -si -H 'Origin: http://evil.example' '$URL/v1/models' | grep -qi 'Access-Control-Allow'"
check "--cors: preflight answered" bash -c "curl -si -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: POST' '$URL/v1/chat/completions' | tr -d '\r' | grep -q '^HTTP/1.1 204' && curl -si -X OPTIONS -H 'Origin: http://app.example' '$URL/v1/messages' | grep -qi 'Access-Control-Allow-Headers: .*x-api-key'"
stop

# The start-up banner's curl and openai snippets work exactly as printed (no API key), and a
# stream in flight when SIGTERM arrives ends properly (finished, or cut at the grace deadline).
serve -m "$M" --port 0 -c 2048 --no-disk-cache --shutdown-grace 2
for _ in $(seq 1 100); do grep -q "console.log" "$W/serve.out" 2>/dev/null && break; sleep 0.1; done
sed -n '/^curl:/,/^$/p' "$W/serve.out" | sed '1d' >"$W/curl.sh"
check "banner: curl snippet answers" bash -c "bash '$W/curl.sh' | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j[\"choices\"][0][\"message\"][\"role\"] == \"assistant\"'"
mkdir -p "$W/snippet"; ln -s "$SRC/tests/oracle/node_modules" "$W/snippet/node_modules"
sed -n '/^openai (Node.js/,/^$/p' "$W/serve.out" | sed '1d' >"$W/snippet/s.mjs"
check "banner: openai snippet answers" bash -c "cd '$W/snippet' && node s.mjs >/dev/null"
check "no --cors: no CORS header for any origin" bash -c "! curl -si -H 'Origin: http://app.example' '$URL/v1/models' | grep -qi 'Access-Control-Allow'"
curl -sN "$URL/v1/completions" -H 'Content-Type: application/json' \
  -d '{"prompt": "Hi", "max_tokens": 2000, "ignore_eos": true, "stream": true}' >"$W/inflight.out" &
CURL=$!
for _ in $(seq 1 100); do [ -s "$W/inflight.out" ] && break; sleep 0.05; done
stop
wait $CURL
check "SIGTERM: the stream in flight ends with a finish_reason and [DONE]" $PY -c "
ev = [e for e in open('$W/inflight.out').read().split('\n\n') if e.startswith('data: ')]
import json
assert ev[-1] == 'data: [DONE]', ev[-1:]
fr = [c['finish_reason'] for e in ev[:-1] for c in json.loads(e[6:])['choices'] if c['finish_reason']]
assert fr and fr[-1] in ('length', 'insufficient_system_resource'), fr"

# DeepSeek (MLA latent cache, MoE) through the server: temperature 0 equals `frugal run`, and
# the prefix cache (latent rows only) serves a repeated prompt.
D=$W/v3tiny.gguf
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type Q8_0 -o "$D" 2>/dev/null
"$FRUGAL" run -m "$D" -p "$RUN_PROMPT" -n 16 --temp 0 >"$W/drun.out" 2>/dev/null
serve -m "$D" --chat-template "$SRC/tests/data/templates/deepseek-r1.jinja" --port 0 -c 1024 \
  --cache-dir "$W/dcache"
check "deepseek: temperature 0 equals frugal run" $PY - "$URL" "$W/drun.out" "$RUN_PROMPT" <<'EOF2'
import json, sys, urllib.request
url, run, prompt = sys.argv[1], open(sys.argv[2], encoding='utf-8').read(), sys.argv[3]
def post(path, body):
    r = urllib.request.urlopen(urllib.request.Request(url + path, json.dumps(body).encode(), {'Content-Type': 'application/json'}))
    return json.loads(r.read())
r = post('/v1/completions', {'prompt': prompt, 'max_tokens': 16, 'temperature': 0})
assert r['choices'][0]['text'] == run[len(prompt):-1], (r['choices'][0]['text'], run)
msgs = [{'role': 'user', 'content': ' '.join(f'item {i}' for i in range(150))}]
a = post('/v1/chat/completions', {'messages': msgs, 'max_tokens': 2})
b = post('/v1/chat/completions', {'messages': msgs, 'max_tokens': 2})
assert b['usage']['prompt_cache_hit_tokens'] >= 0.8 * b['usage']['prompt_tokens'], b['usage']
assert b['choices'][0]['message'].get('reasoning_content') is not None or b['choices'][0]['finish_reason'] == 'length', b
EOF2
stop

# The README's main command: scripts/run-default.sh serves the default model and says where.
if [ "$BUILD" = "$SRC/build" ]; then
  PORT=0 bash "$SRC/scripts/run-default.sh" --no-disk-cache >"$W/default.out" 2>"$W/default.err" &
  PID=$!
  for _ in $(seq 1 600); do grep -q "console.log" "$W/default.out" 2>/dev/null && break; sleep 0.1; done
  check "run-default.sh: serves frugal-r1-tiny and prints the snippets" \
    bash -c "grep -q 'listening on http://127.0.0.1:[0-9]*/v1 (models: frugal-r1-tiny)' '$W/default.out' && grep -q '\"model\": \"frugal-r1-tiny\"' '$W/default.out'"
  stop
fi

# Bad command lines are errors, not crashes.
expect_error "serve: no -m and no default model" "FRUGAL_DEFAULT_MODEL=.*no such file" env FRUGAL_DEFAULT_MODEL="$W/none.gguf" "$FRUGAL" serve
expect_error "serve: missing model file" "no-such.gguf" "$FRUGAL" serve -m "$W/no-such.gguf"
expect_error "serve: duplicate names" "two models or aliases are named" "$FRUGAL" serve -m "$M" -m "$M" --no-disk-cache
[ $FAIL -eq 0 ] || { echo "--- server log"; tail -40 "$W/serve.err"; }
finish
