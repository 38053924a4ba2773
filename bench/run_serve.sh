#!/usr/bin/env bash
# The README's server benchmark: `frugal serve` on the R1-Distill-Qwen-1.5B-shaped Q4_K_M file
# (random weights, real shape) with 2 threads, driven on loopback by bench/serve_load.mjs:
# aggregate generation tokens/s with 1, 4, 8 and 16 concurrent streaming clients (ratio to the
# single client), TTFT and inter-token percentiles, and time to first token for a 2,000-token
# prompt cold vs 1,900 tokens cached.
# Usage: bench/run_serve.sh [BUILD_DIR] [MODEL_DIR]   (CLIENTS=1,4,8,16 REQS=2 MAXTOK=128 PROMPT=16)
#
# With LLAMA_SERVER=/path/to/llama-server it compares instead: frugal and llama-server (-np 8,
# -t 2, same file) on two loads — this default one (PROMPT/MAXTOK) and a chat-shaped one
# (CHAT_PROMPT=30-token prompts, CHAT_MAXTOK=64-token answers) — with CMP_CLIENTS (1,8)
# clients, ROUNDS rounds (2) alternating which server goes first, each server started fresh
# per round; prints medians over the rounds. Raw results go to OUT_DIR (a temporary folder).
# Run it under the machine's lock (flock /tmp/frugal-cpu.lock ...).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; M=${2:-models}
mkdir -p "$M"
f=$M/r1-distill-qwen-1.5b-Q4_K_M.gguf
[ -f "$f" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type Q4_K_M -o "$f" >&2
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT

start_frugal() {
  "$B/frugal" serve -m "$f" --port 0 -t 2 --max-seqs 16 -c 4096 --no-disk-cache --quiet >"$W/out" 2>"$W/err" &
  PID=$!
  for _ in $(seq 1 600); do grep -q http "$W/out" && break; sleep 0.2; done
  URL=$(grep -o 'http://[0-9.:]*' "$W/out" | head -1)
  [ -n "$URL" ] || { cat "$W/err" >&2; exit 1; }
}
start_llama() {
  local port=$((20000 + RANDOM % 20000))
  "$LLAMA_SERVER" -m "$f" -np 8 -t 2 -c 8192 --host 127.0.0.1 --port $port >"$W/out" 2>"$W/err" &
  PID=$!
  URL=http://127.0.0.1:$port
  for _ in $(seq 1 600); do curl -sf "$URL/health" >/dev/null 2>&1 && return; sleep 0.2; done
  cat "$W/err" >&2; exit 1
}
stop_server() { kill $PID; wait $PID 2>/dev/null || true; PID=; }

if [ -z "${LLAMA_SERVER:-}" ]; then
  start_frugal
  j=$(node bench/serve_load.mjs "$URL" r1-distill-qwen-1.5b-Q4_K_M --clients "${CLIENTS:-1,4,8,16}" \
        --requests-per-client "${REQS:-2}" --max-tokens "${MAXTOK:-128}" --prompt-tokens "${PROMPT:-16}" --json)
  python3 - "$j" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); L = j["levels"]; one = L[0]["tokens_per_s"]
ms = lambda x: f"{x*1000:.0f}"
print(f"Each client sends {L[0]['max_tokens']}-token streaming completions of {L[0]['prompt_tokens']}-token prompts, one after another.\n")
print("| clients | aggregate t/s | vs 1 client | TTFT ms p50 / p90 / p99 | inter-token ms p50 / p90 / p99 |")
print("|---|---|---|---|---|")
for r in L:
    print(f"| {r['clients']} | {r['tokens_per_s']:.1f} | {r['tokens_per_s']/one:.2f}x | "
          f"{ms(r['ttft_p50_s'])} / {ms(r['ttft_p90_s'])} / {ms(r['ttft_p99_s'])} | "
          f"{r['itl_p50_s']*1000:.1f} / {r['itl_p90_s']*1000:.1f} / {r['itl_p99_s']*1000:.1f} |")
t = j["ttft_2000"]
print(f"\nTTFT, 2,000-token prompt: cold {t['cold_s']*1000:.0f} ms; first 1,900 tokens cached ({t['cached_tokens']} hit) "
      f"{t['cached_s']*1000:.0f} ms: {t['speedup']:.1f}x faster")
PY
  exit 0
fi

OUT=${OUT_DIR:-$W}
mkdir -p "$OUT"
: >"$OUT/serve_raw.jsonl"
loads=("default ${PROMPT:-16} ${MAXTOK:-128}" "chat ${CHAT_PROMPT:-30} ${CHAT_MAXTOK:-64}")
for r in $(seq 1 "${ROUNDS:-2}"); do
  order="frugal llama"; [ $((r % 2)) -eq 0 ] && order="llama frugal"
  for e in $order; do
    "start_$e"
    for l in "${loads[@]}"; do
      set -- $l
      echo "round $r: $e, $1 load ($2-token prompts, $3 tokens)" >&2
      j=$(node bench/serve_load.mjs "$URL" r1-distill-qwen-1.5b-Q4_K_M --clients "${CMP_CLIENTS:-1,8}" \
            --requests-per-client "${REQS:-2}" --max-tokens "$3" --prompt-tokens "$2" --no-long-prompt --json)
      echo "{\"round\": $r, \"engine\": \"$e\", \"load\": \"$1\", \"prompt\": $2, \"max_tokens\": $3, \"result\": $j}" \
        >>"$OUT/serve_raw.jsonl"
    done
    stop_server
  done
done
python3 - "$OUT/serve_raw.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
cell = {}
for r in rows:
    for lv in r["result"]["levels"]:
        cell.setdefault((r["load"], r["engine"], lv["clients"]), []).append((r["round"], lv))
loads = sorted({r["load"] for r in rows}, key=lambda x: x != "default")
shape = {r["load"]: (r["prompt"], r["max_tokens"]) for r in rows}
clients = sorted({k[2] for k in cell})
print(f"{len({r['round'] for r in rows})} rounds, servers alternating; medians over the rounds (min-max).\n")
print("| load | clients | engine | aggregate t/s | vs 1 client | frugal / llama-server | TTFT ms p50 / p90 / p99 | inter-token ms p50 / p90 / p99 |")
print("|---|---|---|---|---|---|---|---|")
for load in loads:
    for c in clients:
        for e in ("frugal", "llama"):
            v = cell.get((load, e, c))
            if not v: continue
            tps = [lv["tokens_per_s"] for _, lv in v]
            one = {rd: lv["tokens_per_s"] for rd, lv in cell.get((load, e, clients[0]), [])}
            vs1 = [lv["tokens_per_s"] / one[rd] for rd, lv in v if rd in one]
            other = {rd: lv["tokens_per_s"] for rd, lv in cell.get((load, "llama", c), [])}
            ratio = [lv["tokens_per_s"] / other[rd] for rd, lv in v if rd in other] if e == "frugal" else []
            m = lambda k: med([lv[k] for _, lv in v]) * 1000
            name = "frugal" if e == "frugal" else "llama-server"
            print(f"| {load} ({shape[load][0]}/{shape[load][1]}) | {c} | {name} | {med(tps):.1f} ({min(tps):.1f}-{max(tps):.1f}) | "
                  f"{med(vs1):.2f}x ({min(vs1):.2f}-{max(vs1):.2f}) | "
                  + (f"{med(ratio):.2f}x ({min(ratio):.2f}-{max(ratio):.2f})" if ratio else "-") + " | "
                  f"{m('ttft_p50_s'):.0f} / {m('ttft_p90_s'):.0f} / {m('ttft_p99_s'):.0f} | "
                  f"{m('itl_p50_s'):.1f} / {m('itl_p90_s'):.1f} / {m('itl_p99_s'):.1f} |")
PY
