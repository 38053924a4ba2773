# The shipped default model (models/frugal-r1-tiny.gguf) as users meet it: `frugal serve` with no
# -m, asked held-out problems through the official openai client. The accuracy must be what the
# model card states: the card's figure (n = 2,000 per bucket, models/frugal-r1-tiny.train/eval-rs.json)
# must lie inside the 95 % interval of the served result, and every reply must be shaped right
# (scratchpad in reasoning_content, the number alone in content). "Hello!" gets the
# self-introduction.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
CARD=$SRC/models/frugal-r1-tiny.train/eval-rs.json
[ -f "$SRC/models/frugal-r1-tiny.gguf" ] && [ -f "$CARD" ] || { bad "the shipped model or its eval figures are missing"; finish; exit 1; }
BUCKETS='add 2x2,sub 3x1,mul 2x2'   # trained buckets with a held-out quarter, easy to hard
"$FRUGAL" eval --problems-out "$W/problems.jsonl" --buckets "$BUCKETS" -n 80 --seed 11
check "eval --problems-out: 240 held-out problems" test "$(wc -l <"$W/problems.jsonl")" -eq 240

FRUGAL_DEFAULT_MODEL= "$FRUGAL" serve --port 0 --no-disk-cache -t 2 --max-seqs 4 >"$W/serve.out" 2>"$W/serve.err" &
PID=$!
URL=""
for _ in $(seq 1 300); do
  URL=$(grep -o 'http://[0-9.:]*' "$W/serve.out" 2>/dev/null | head -1); [ -n "$URL" ] && break
  kill -0 $PID 2>/dev/null || break; sleep 0.1
done
[ -n "$URL" ] || { bad "server did not start: $(tail -5 "$W/serve.err")"; finish; exit 1; }
check "serve with no -m: announces the default model" grep -q "using the default model .*frugal-r1-tiny.gguf" "$W/serve.err"
check "serve with no -m: serves it as frugal-r1-tiny" grep -q "(models: frugal-r1-tiny)" "$W/serve.out"
node "$SRC/tests/server/default_model_test.mjs" "$URL" frugal-r1-tiny "$W/problems.jsonl" "$W/served.json" >"$W/node.out" 2>&1
check "openai client: every problem answered ($(tail -c 300 "$W/node.out"))" test $? -eq 0
kill -TERM $PID; wait $PID
$PY - "$W/served.json" "$CARD" "$BUCKETS" <<'PY' && ok "served accuracy matches the model card, replies well shaped" || bad "served accuracy or reply shape"
import json, math, sys
served, card, buckets = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3].split(',')
def wilson(k, n, z=1.96):
    p = k / n; d = 1 + z * z / n; c = (p + z * z / (2 * n)) / d; h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h
ok = True
stated = {b['bucket']: b['accuracy'] for b in card['buckets']}
for b in buckets:
    s = served['per'][b]; lo, hi = wilson(s['correct'], s['n'])
    inside = lo <= stated[b] <= hi
    ok &= inside
    print(f"{b}: served {s['correct']}/{s['n']} = {s['correct'] / s['n']:.3f} [{lo:.3f}, {hi:.3f}], card {stated[b]:.3f} {'ok' if inside else 'OUTSIDE'}")
bad = served['shapeErrors']
print(f"{len(bad)} badly shaped replies", bad[:3])
ok &= len(bad) <= 0.02 * sum(s['n'] for s in served['per'].values())
am, ash = served['anthropicMismatches'], served['anthropicShape']
print(f"Anthropic Messages API: {len(ash)} badly shaped of {served['anthropicAsked']};",
      f"{served['anthropicAsked'] - len(am)} identical to chat completions (another batch may break a near-tie)", ash[:2], am[:2])
ok &= served['anthropicAsked'] >= 20 and len(ash) <= 1 and len(am) <= 2
h = served['hello']
print('Hello! ->', h)
ok &= 'frugal-r1-tiny' in (h.get('content') or '')
sys.exit(0 if ok else 1)
PY
finish
