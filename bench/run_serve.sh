#!/usr/bin/env bash
# The README's server benchmark: `frugal serve` on the R1-Distill-Qwen-1.5B-shaped Q4_K_M file
# (random weights, real shape) with 2 threads, driven on loopback by bench/serve_load.mjs:
# aggregate generation tokens/s with 1, 4, 8 and 16 concurrent streaming clients (ratio to the
# single client, and to llama-server's figures from the issue: 11.0 t/s with one client, 16.3
# with four), and time to first token for a 2,000-token prompt cold vs 1,900 tokens cached.
# Usage: bench/run_serve.sh [BUILD_DIR] [MODEL_DIR]   (CLIENTS=1,4,8,16 REQS=2 MAXTOK=128 PROMPT=16)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; M=${2:-models}
mkdir -p "$M"
f=$M/r1-distill-qwen-1.5b-Q4_K_M.gguf
[ -f "$f" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type Q4_K_M -o "$f" >&2
W=$(mktemp -d)
"$B/frugal" serve -m "$f" --port 0 -t 2 --max-seqs 16 -c 4096 --no-disk-cache --quiet >"$W/out" 2>"$W/err" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 600); do grep -q http "$W/out" && break; sleep 0.2; done
URL=$(grep -o 'http://[0-9.:]*' "$W/out" | head -1)
[ -n "$URL" ] || { cat "$W/err"; exit 1; }
j=$(node bench/serve_load.mjs "$URL" r1-distill-qwen-1.5b-Q4_K_M --clients "${CLIENTS:-1,4,8,16}" \
      --requests-per-client "${REQS:-2}" --max-tokens "${MAXTOK:-128}" --prompt-tokens "${PROMPT:-16}" --json)
python3 - "$j" <<'PY'
import json, sys
j = json.loads(sys.argv[1]); L = j["levels"]; one = L[0]["tokens_per_s"]
llama = {1: 11.0, 4: 16.3}
print(f"Each client sends {L[0]['max_tokens']}-token streaming completions of {L[0]['prompt_tokens']}-token prompts, one after another.\n")
print("| clients | aggregate t/s | vs 1 client | vs llama-server | mean TTFT ms | mean inter-token ms |")
print("|---|---|---|---|---|---|")
for r in L:
    ls = f"{r['tokens_per_s']/llama[r['clients']]:.2f}x" if r["clients"] in llama else "-"
    print(f"| {r['clients']} | {r['tokens_per_s']:.1f} | {r['tokens_per_s']/one:.2f}x | {ls} | {r['mean_ttft_s']*1000:.0f} | {r['mean_itl_s']*1000:.1f} |")
t = j["ttft_2000"]
print(f"\nTTFT, 2,000-token prompt: cold {t['cold_s']*1000:.0f} ms; first 1,900 tokens cached ({t['cached_tokens']} hit) "
      f"{t['cached_s']*1000:.0f} ms: {t['speedup']:.1f}x faster")
PY
