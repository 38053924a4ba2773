#!/usr/bin/env bash
# The model shelf's costs (issue 12, "fast means"): two R1-Distill-Qwen-1.5B-shaped files
# (Q4_K_M and Q8_0, random weights, real shapes) behind one `frugal serve --models-dir`, -t 2:
#   - cold: time to the first token of a request for a model that is not loaded (load + prompt),
#     against the same request once it is loaded (the files are in the page cache: this is
#     frugal's load cost, not the disk's);
#   - switch: requests alternating between the two models (30-token prompts, 16-token answers,
#     every prompt different so that no prefix cache helps), with --max-loaded 1 (every request
#     swaps the model in) against --max-loaded 2 (both resident).
# Usage: bench/run_shelf.sh [BUILD_DIR] [MODEL_DIR]   (ROUNDS=5)
# Run it under the machine's lock (flock /tmp/frugal-cpu.lock ...).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; M=${2:-models}; ROUNDS=${ROUNDS:-5}
mkdir -p "$M"
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
mkdir "$W/models"
for t in Q4_K_M Q8_0; do
  f=$M/r1-distill-qwen-1.5b-$t.gguf
  [ -f "$f" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type $t -o "$f" >&2
  ln -s "$(realpath "$f")" "$W/models/$t.gguf"
  cat "$f" >/dev/null  # into the page cache
done

start() {
  "$B/frugal" serve --models-dir "$W/models" "$@" --port 0 -t 2 --max-seqs 4 -c 1024 --cache-ram-mb 64 --no-disk-cache \
    --quiet >"$W/out" 2>"$W/err" &
  PID=$!
  for _ in $(seq 1 300); do grep -q http "$W/out" && break; sleep 0.1; done
  URL=$(grep -o 'http://[0-9.:]*' "$W/out" | head -1)
  [ -n "$URL" ] || { cat "$W/err" >&2; exit 1; }
}
stop() { kill $PID; wait $PID 2>/dev/null || true; PID=; }

# client.py MODE URL ROUNDS: prints one JSON line of timings (seconds).
cat >"$W/client.py" <<'EOF'
import json, sys, time, urllib.request
mode, url, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 0
def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {'Content-Type': 'application/json'})
    return urllib.request.urlopen(req, timeout=600)
def ttft(model, max_tokens):
    # Streams a chat request; returns (seconds to the first generated text, seconds to the end).
    global n
    n += 1
    words = ' '.join(f'w{n}x{i}' for i in range(12))  # ~30 tokens, different every time
    t0 = time.perf_counter(); first = None
    with post('/v1/chat/completions', {'model': model, 'messages': [{'role': 'user', 'content': words}],
                                       'max_tokens': max_tokens, 'temperature': 0, 'stream': True,
                                       'ignore_eos': True}) as r:
        for line in r:
            if first is None and line.startswith(b'data: {') and (b'"content":"' in line or b'"reasoning_content":"' in line) \
                    and b'"content":""' not in line:
                first = time.perf_counter() - t0
    return first if first is not None else time.perf_counter() - t0, time.perf_counter() - t0
out = {}
if mode == 'cold':
    cold, warm = [], []
    for _ in range(rounds):
        post('/models/unload', {'model': 'Q4_K_M'}).read()
        for _ in range(100):
            ms = {m['id']: m for m in json.load(urllib.request.urlopen(url + '/v1/models'))['data']}
            if ms['Q4_K_M']['state'] != 'loaded': break
            time.sleep(0.05)
        cold.append(ttft('Q4_K_M', 1)[0])
        warm.append(ttft('Q4_K_M', 1)[0])
    out = {'cold': cold, 'warm': warm}
else:
    ttft('Q4_K_M', 1); ttft('Q8_0', 1)  # both seen once (and, with --max-loaded 2, loaded)
    lat = []
    for i in range(rounds * 2):
        lat.append(ttft('Q4_K_M' if i % 2 == 0 else 'Q8_0', 16)[1])
    out = {'alternating': lat}
print(json.dumps(out))
EOF

start --max-loaded 1
python3 "$W/client.py" cold "$URL" "$ROUNDS" >"$W/cold.json"
python3 "$W/client.py" switch "$URL" "$ROUNDS" >"$W/swap.json"
stop
start --max-loaded 2
python3 "$W/client.py" switch "$URL" "$ROUNDS" >"$W/resident.json"
stop

python3 - "$W" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" <<'EOF'
import json, statistics, sys
w, when, cpu = sys.argv[1:4]
cold = json.load(open(w + '/cold.json'))
swap = json.load(open(w + '/swap.json'))['alternating']
res = json.load(open(w + '/resident.json'))['alternating']
med = statistics.median
print(f'model shelf, {when}, {cpu}, -t 2; medians of {len(cold["cold"])} / {len(swap)} requests (seconds)')
print()
print('| | first token | |')
print('|---|---|---|')
print(f'| Q4_K_M not loaded (load + prompt) | {med(cold["cold"]):.3f} | {med(cold["cold"]) / med(cold["warm"]):.1f}x |')
print(f'| Q4_K_M loaded | {med(cold["warm"]):.3f} | 1x |')
print()
print('| alternating Q4_K_M / Q8_0, 16-token answers | request | |')
print('|---|---|---|')
print(f'| --max-loaded 1 (a swap per request) | {med(swap):.3f} | {med(swap) / med(res):.1f}x |')
print(f'| --max-loaded 2 (both resident) | {med(res):.3f} | 1x |')
print(f'\nswitch cost: {med(swap) - med(res):.3f} s per request')
EOF
