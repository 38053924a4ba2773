# The model shelf end to end (tests/server/shelf_test.mjs): a models folder with three small
# models and a corrupt one, a models.toml (aliases, DeepSeek's two names, a pinned model, a
# context), served with --max-loaded 1, then with a byte budget that holds one model, then with
# one that holds none; and the command-line mistakes around them.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
D=$W/models
mkdir -p "$D"
for p in tiny-qwen2 tiny-llama; do
  "$FRUGAL" make-test-model --preset $p --type Q8_0 -o "$D/$p.gguf" 2>/dev/null || bad "make $p"
done
cp "$D/tiny-qwen2.gguf" "$W/keeper.gguf"
head -c 100000 "$D/tiny-qwen2.gguf" >"$D/broken.gguf"
cat >"$W/models.toml" <<TOML
deepseek_aliases = "r1"
[models.r1]
path = "$BUILD/default-model.gguf"
chat_template = "$SRC/tests/data/templates/deepseek-r1.jinja"
aliases = ["r1-distill"]
ctx = 256
# Greedy unless a request says otherwise: the AI SDK's DeepSeek provider drops temperature (and
# seed) for deepseek-reasoner, as DeepSeek's API ignores them while thinking; sampled at the
# default 1.0, this random-weight model sometimes closed its thinking at once (sdk_test.mjs).
sampling = { temperature = 0 }
[models.keeper]
path = "keeper.gguf"
pin = true
TOML

serve() { start_server "$@" --port 0 --max-seqs 2 -c 4096 --cache-ram-mb 8 --no-disk-cache -t 2; }
stop() {
  kill -TERM $PID
  wait $PID; local rc=$?
  check "SIGTERM: clean exit (rc=$rc)" test $rc -eq 0
}
client() {
  node "$SRC/tests/server/shelf_test.mjs" "$1" "$URL" >"$W/node.out" 2>&1
  local rc=$?
  cat "$W/node.out"
  check "shelf checks ($1)" test $rc -eq 0
}

serve --models-dir "$D" --config "$W/models.toml" --max-loaded 1
client count
# A request's model name is looked up among the served names, never joined to a path: names
# that climb out of the models folder or name a file elsewhere are unknown models.
cp "$D/tiny-llama.gguf" "$W/outside.gguf"
escapes=0
for name in "../outside" "../outside.gguf" "$W/outside.gguf" ".." "tiny-llama/../../outside" "./../outside" "%2e%2e/outside"; do
  body=$(printf '{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}' "$name")
  code=$(curl -s -o "$W/esc.out" -w '%{http_code}' "$URL/v1/chat/completions" -H 'Content-Type: application/json' -d "$body")
  ocode=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/show" -d "{\"model\": \"$name\"}")
  [ "$code" = 404 ] && [ "$ocode" = 404 ] || { escapes=$((escapes + 1)); echo "model '$name': $code / $ocode $(head -c 200 "$W/esc.out")"; }
done
check "model names outside the folder (../, absolute paths, encoded dots): 404, nothing loaded" \
  bash -c "[ $escapes -eq 0 ] && ! grep -q 'outside.gguf' '$W/serve.err'"
# Application SDKs as apps use them: the AI SDK's DeepSeek provider (deepseek-reasoner /
# deepseek-chat) and LangChain's ChatOpenAI.
node "$SRC/tests/server/sdk_test.mjs" "$URL" >"$W/node.out" 2>&1
rc=$?
cat "$W/node.out"
check "AI SDK (@ai-sdk/deepseek) and LangChain (@langchain/openai) checks" test $rc -eq 0
# The shelf from the command line: frugal load / ps / unload against this server.
"$FRUGAL" load tiny-llama --url "$URL/v1" >"$W/cli.out" 2>&1
check "frugal load" grep -qE "^tiny-llama: loaded \([0-9.]+ s\)$" "$W/cli.out"
"$FRUGAL" ps --url "$URL" >"$W/cli.out" 2>&1
check "frugal ps: the loaded model, its memory, requests, idle time, expiry" \
  grep -qE "^tiny-llama +loaded +[0-9]+ MiB +0 +[0-9]+ s +never$" "$W/cli.out"
check "frugal ps: only loaded models" test "$(wc -l <"$W/cli.out")" -eq 2
"$FRUGAL" unload tiny-llama --url "$URL" >"$W/cli.out" 2>&1
check "frugal unload" grep -q "^tiny-llama: unloads once its requests end$" "$W/cli.out"
for _ in $(seq 1 50); do "$FRUGAL" ps --url "$URL" 2>&1 | grep -q "no model loaded" && break; sleep 0.1; done
check "frugal ps: nothing loaded after unload" bash -c "'$FRUGAL' ps --url '$URL' | grep -q 'no model loaded'"
expect_error "frugal load: an unknown model is an error naming the models" "404 Model Not Exist: 'nope' \(served: .*tiny-llama" \
  "$FRUGAL" load nope --url "$URL"
stop
expect_error "frugal ps: no server" "is .frugal serve. running there" "$FRUGAL" ps --url http://127.0.0.1:9
"$FRUGAL" list "$D" >"$W/list.out" 2>&1
cat "$W/list.out"
check "frugal list: each model with size, architecture, quantization, context, needs, fits" \
  bash -c "grep -qE '^tiny-llama +[0-9]+ MiB +llama +Q8_0 +4096 +[0-9]+ MiB +yes$' '$W/list.out' && grep -qE '^tiny-qwen2 +[0-9]+ MiB +qwen2 +Q8_0 ' '$W/list.out'"
check "frugal list: a corrupt file says why" grep -qE "^broken +error: .*past the end of the file" "$W/list.out"
"$FRUGAL" list "$D" --max-memory 1MiB >"$W/list.out" 2>&1
check "frugal list: a model over the budget does not fit" grep -qE "^tiny-llama .* no \(budget 1 MiB\)$" "$W/list.out"
check "log: loads, evictions and the failure are reported" \
  bash -c "grep -q \"model 'tiny-llama': unloaded to make room for\" '$W/serve.err' && grep -q \"model 'broken': failed to load\" '$W/serve.err'"

# A budget of 1.5 models (each estimate is the same size here): the second evicts the first.
one=$(grep -o "model 'tiny-qwen2': loaded in [0-9.]* s (estimate [0-9]* MiB)" "$W/serve.err" | head -1 | grep -o '[0-9]* MiB' | grep -o '[0-9]*')
[ -n "$one" ] || bad "no estimate in the log"
serve --models-dir "$D" --max-memory "$((one * 3 / 2 + 1))MiB"
client budget
stop
serve --models-dir "$D" --max-memory 1MiB
client tiny-budget
stop
FRUGAL_LOAD_DELAY_MS=5000 serve --models-dir "$D" --config "$W/models.toml"
client slow-load
stop

printf 'max_loaded = 1\n[models.x]\npath = "x.gguf"\npinn = true\n' >"$W/bad.toml"
expect_error "serve: a typo in models.toml names file, line and key" "bad.toml:4: 'models.x.pinn' is not a model setting" \
  "$FRUGAL" serve --config "$W/bad.toml"
expect_error "serve: --max-memory that is not a size" "--max-memory: 'lots' is not a size" "$FRUGAL" serve --models-dir "$D" --max-memory lots
expect_error "serve: --keep-alive that is not a duration" "--keep-alive: 'soon' is not a duration" "$FRUGAL" serve --models-dir "$D" --keep-alive soon
expect_error "serve: a models dir that is not a folder" "not a folder" "$FRUGAL" serve --models-dir "$W/nowhere"
mkdir -p "$W/empty"
expect_error "serve: an empty models dir" "holds no .gguf file" "$FRUGAL" serve --models-dir "$W/empty"
expect_error "serve: an -m model too big for the budget" "more than the memory budget" "$FRUGAL" serve -m "$D/tiny-llama.gguf" --max-memory 1MiB --no-disk-cache
[ $FAIL -eq 0 ] || { echo "--- server log"; tail -40 "$W/serve.err"; }
finish
