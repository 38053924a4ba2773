# Embeddings end to end, checked against the model's own output head: for a causal LM the
# logits at position k are W_out · h_k, with h_k the final hidden state after the final norm.
# `frugal logits` (checked against llama.cpp by the golden tests) gives the logits of every
# position of a prompt; W_out is read from the Hugging Face checkpoint the GGUF was converted
# from (numpy, not frugal), so h_k = lstsq(W_out, logits_k) is an independent reference:
# /v1/embeddings with last-token pooling must be h_last / |h_last|, and with mean pooling
# (Σ h_k) / |Σ h_k|. Then the API surface: the official openai client (base64 by default) and
# ollama client, lists, token ids, limits and errors.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
G=$SRC/tests/data/golden
M=$G/gguf/qwen2-mini-f32.gguf
D=$G/gguf/v2lite-mini-f32.gguf   # DeepSeek-V2-Lite-shaped: MLA and MoE
IDS=5,17,99,200,3,3,411,64,128,7,250,33
cat >"$W/models.toml" <<TOML
[models.mean]
path = "$M"
pooling = "mean"
[models.last]
path = "$M"
pooling = "last"
[models.ds-mean]
path = "$D"
pooling = "mean"
[models.ds-last]
path = "$D"
pooling = "last"
TOML
"$FRUGAL" logits -m "$M" --ids "$IDS" -o "$W/logits.npy" --mode prefill 2>/dev/null || bad "frugal logits"
"$FRUGAL" logits -m "$D" --ids "$IDS" -o "$W/ds-logits.npy" --mode prefill 2>/dev/null || bad "frugal logits (v2lite)"

start_server --config "$W/models.toml" --port 0 -c 256 --max-seqs 2 --no-disk-cache -t 2

cat >"$W/oracle.py" <<'PYEOF'
import json, struct, sys, urllib.request
import numpy as np
url, ids, logits_path, st, prefix = sys.argv[1], [int(x) for x in sys.argv[2].split(',')], sys.argv[3], sys.argv[4], sys.argv[5]
def embed(model, inp):
    req = urllib.request.Request(url + '/v1/embeddings', json.dumps({'model': model, 'input': inp}).encode(), {'Content-Type': 'application/json'})
    return [np.array(d['embedding'], dtype=np.float64) for d in json.loads(urllib.request.urlopen(req).read())['data']]
f = open(st, 'rb'); n = struct.unpack('<Q', f.read(8))[0]; head = json.loads(f.read(n)); base = 8 + n
t = head['lm_head.weight']; a, b = t['data_offsets']; assert t['dtype'] == 'BF16'
f.seek(base + a); raw = np.frombuffer(f.read(b - a), dtype=np.uint16)
W = (raw.astype(np.uint32) << 16).view(np.float32).reshape(t['shape']).astype(np.float64)   # [V, E]
logits = np.load(logits_path).astype(np.float64)                                            # [n, V]
H = np.linalg.lstsq(W, logits.T, rcond=None)[0].T                                           # [n, E]
resid = np.abs(H @ W.T - logits).max() / np.abs(logits).max()
assert resid < 1e-4, f'logits are not W_out h: residual {resid}'
unit = lambda v: v / np.linalg.norm(v)
cos = lambda u, v: float(unit(u) @ unit(v))
last, = embed(prefix + 'last', ids)
mean, = embed(prefix + 'mean', ids)
assert abs(np.linalg.norm(last) - 1) < 1e-5 and abs(np.linalg.norm(mean) - 1) < 1e-5, 'normalized'
c_last, c_mean = cos(last, H[-1]), cos(mean, H.sum(0))
print(f'cos(last, h_last) = {c_last:.7f}, cos(mean, sum h) = {c_mean:.7f}, cos(mean, h_last) = {cos(mean, H[-1]):.4f}')
assert c_last > 0.99999 and c_mean > 0.99999, (c_last, c_mean)
assert cos(mean, H[-1]) < 0.999, 'mean pooling differs from the last token'
# A batch of inputs gives what each gives alone (the engine batches them together).
batch = embed(prefix + 'mean', [ids, ids[:5], ids[3:]])
for got, alone in zip(batch, [mean, embed(prefix + 'mean', ids[:5])[0], embed(prefix + 'mean', ids[3:])[0]]):
    assert cos(got, alone) > 0.99999, cos(got, alone)
PYEOF
check "qwen2: embeddings = the normalized final hidden states the output head reads (mean, last)" \
  $PY "$W/oracle.py" "$URL" "$IDS" "$W/logits.npy" "$G/models/qwen2-mini/model.safetensors" ""
check "deepseek-v2-lite: the same (MLA, MoE)" \
  $PY "$W/oracle.py" "$URL" "$IDS" "$W/ds-logits.npy" "$G/models/v2lite-mini/model.safetensors" "ds-"

cat >"$W/clients.mjs" <<'JSEOF'
import { createRequire } from 'node:module';
const require = createRequire(process.argv[3] + '/tests/oracle/package.json');
const { default: OpenAI } = require('openai');
const { Ollama } = require('ollama');
const base = process.argv[2];
const openai = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0 });
const ollama = new Ollama({ host: base });
const fail = (m) => { console.log('FAIL ' + m); process.exitCode = 1; };
const r = await openai.embeddings.create({ model: 'mean', input: ['Hello world', 'Goodbye'] });  // base64 on the wire
const f = await openai.embeddings.create({ model: 'mean', input: ['Hello world', 'Goodbye'], encoding_format: 'float' });
if (r.data.length !== 2 || r.data[0].embedding.length !== 64) fail('openai: shape ' + JSON.stringify(r).slice(0, 200));
for (let i = 0; i < 2; i++)
  for (let k = 0; k < 64; k++)
    if (Math.abs(r.data[i].embedding[k] - f.data[i].embedding[k]) > 1e-6) { fail('base64 != float'); break; }
if (r.usage.prompt_tokens !== f.usage.prompt_tokens || r.usage.prompt_tokens < 2) fail('usage ' + JSON.stringify(r.usage));
const o = await ollama.embed({ model: 'mean', input: ['Hello world', 'Goodbye'] });
if (o.embeddings.length !== 2 || Math.abs(o.embeddings[1][3] - f.data[1].embedding[3]) > 1e-6) fail('ollama embed != openai');
const legacy = await ollama.embeddings({ model: 'mean', prompt: 'Hello world' });
if (Math.abs(legacy.embedding[0] - f.data[0].embedding[0]) > 1e-6) fail('ollama embeddings (legacy)');
console.log('clients ok');
JSEOF
node "$W/clients.mjs" "$URL" "$SRC" >"$W/node.out" 2>&1
rc=$?; cat "$W/node.out"
check "official openai (base64) and ollama clients get the same vectors" test $rc -eq 0

code() { curl -s -o "$W/body" -w '%{http_code}' "$URL$1" -H 'Content-Type: application/json' -d "$2"; }
check "no input: 400" test "$(code /v1/embeddings '{"model":"mean"}')" = 400
check "empty list: 422" test "$(code /v1/embeddings '{"model":"mean","input":[]}')" = 422
check "a token id outside the vocabulary: 422 naming it" bash -c "[ \$(curl -s -o '$W/body' -w '%{http_code}' '$URL/v1/embeddings' -d '{\"model\":\"mean\",\"input\":[1,99999]}') = 422 ] && grep -q 99999 '$W/body'"
check "wrong dimensions: 422" test "$(code /v1/embeddings '{"model":"mean","input":"x","dimensions":32}')" = 422
check "unknown encoding_format: 422" test "$(code /v1/embeddings '{"model":"mean","input":"x","encoding_format":"hex"}')" = 422
long=$($PY -c "print(','.join(['5']*300))")
check "an input longer than the context: 400 with the counts" bash -c "[ \$(curl -s -o '$W/body' -w '%{http_code}' '$URL/v1/embeddings' -d '{\"model\":\"mean\",\"input\":[$long]}') = 400 ] && grep -q '300 tokens' '$W/body'"
check "100 inputs (more than the queue holds at once) all come back" $PY - "$URL" <<'PYEOF'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + '/v1/embeddings', json.dumps({'model': 'last', 'input': [f'text {i}' for i in range(100)]}).encode(), {'Content-Type': 'application/json'})
d = json.loads(urllib.request.urlopen(req).read())['data']
assert [x['index'] for x in d] == list(range(100)) and all(len(x['embedding']) == 64 for x in d)
PYEOF
kill -TERM $PID; wait $PID
finish
