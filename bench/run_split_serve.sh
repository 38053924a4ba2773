#!/usr/bin/env bash
# The README's pipeline serving figure: aggregate generation tokens/s of `frugal serve` with
# CLIENTS concurrent streaming clients (bench/serve_load.mjs), one rank on one core against
# `mpirun -np 2 ... --split pipeline` with one core per rank (TCP over loopback, ranks bound
# to cores), the same file and load, alternating for ROUNDS rounds in one run; prints each
# round, the medians and their ratio. The load generator is pinned to core 1 in both cases:
# beside the one rank's core (which it leaves alone), and on rank 1's core under the split, so
# any cost it has falls on the split.
# Usage: bench/run_split_serve.sh [BUILD_DIR] [MODEL.gguf]   ROUNDS=3 CLIENTS=8 MAXTOK=96 PROMPT=16
#   (default model: the 1.5B Q4_K_M of bench/run_dense.sh, made once if missing)
# Run it under the machine's lock (flock /tmp/frugal-cpu.lock ...).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
M=${2:-$B/bench-models/r1-distill-qwen-1.5b-Q4_K_M.gguf}
ROUNDS=${ROUNDS:-3} CLIENTS=${CLIENTS:-8} MAXTOK=${MAXTOK:-96} PROMPT=${PROMPT:-16}
mkdir -p "$(dirname "$M")"
[ -f "$M" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type Q4_K_M -o "$M" >&2
NAME=$(basename "$M" .gguf)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
ARGS=(serve -m "$M" --port 0 -t 1 --max-seqs 16 -c 2048 --no-disk-cache --quiet)

run() {  # run one|two ROUND
  rm -f "$W/out"
  if [ "$1" = one ]; then
    taskset -c 0 "$B/frugal" "${ARGS[@]}" >"$W/out" 2>"$W/err" &
  else
    mpirun --oversubscribe --mca btl self,tcp --bind-to core -np 2 "$B/frugal" "${ARGS[@]}" --split pipeline \
      >"$W/out" 2>"$W/err" &
  fi
  PID=$!
  for _ in $(seq 600); do grep -q 'listening on http' "$W/out" 2>/dev/null && break; sleep 0.2; done
  local url
  url=$(grep -o 'http://[0-9.:]*' "$W/out" | head -1)
  [ -n "$url" ] || { cat "$W/err" >&2; exit 1; }
  taskset -c 1 node bench/serve_load.mjs "$url" "$NAME" --clients 1,"$CLIENTS" --requests-per-client 1 \
    --max-tokens "$MAXTOK" --prompt-tokens "$PROMPT" --no-long-prompt --json >"$W/$1$2.json"
  curl -s "$url/metrics" >"$W/$1$2.metrics" || true
  kill $PID; wait $PID 2>/dev/null || true; PID=
}

for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run one "$r"; run two "$r"; else run two "$r"; run one "$r"; fi
done
python3 - "$W" "$ROUNDS" "$CLIENTS" <<'PY'
import json, statistics, sys
w, rounds, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
get = lambda kind, r: {lv["clients"]: lv for lv in json.load(open(f"{w}/{kind}{r}.json"))["levels"]}
def overlapped(r):
    for l in open(f"{w}/two{r}.metrics"):
        if l.startswith("frugal_split_overlapped_passes_total"): return int(float(l.split()[1]))
    return 0
rows = []
print(f"pipeline split serving, two ranks (one core each) against one rank on one core; {clients} clients")
for r in range(1, rounds + 1):
    a, b = get("one", r), get("two", r)
    rows.append((a[1]["tokens_per_s"], a[clients]["tokens_per_s"], b[1]["tokens_per_s"], b[clients]["tokens_per_s"],
                 a[clients]["itl_p50_s"], b[clients]["itl_p50_s"]))
    print(f"round {r}: 1 client {a[1]['tokens_per_s']:.1f} / {b[1]['tokens_per_s']:.1f} t/s, "
          f"{clients} clients {a[clients]['tokens_per_s']:.1f} / {b[clients]['tokens_per_s']:.1f} t/s "
          f"(one rank / two ranks; inter-token p50 {1000 * a[clients]['itl_p50_s']:.0f} / {1000 * b[clients]['itl_p50_s']:.0f} ms; "
          f"{overlapped(r)} passes overlapped)")
med = lambda i: statistics.median(x[i] for x in rows)
print(f"median: {clients} clients {med(3) / med(1):.2f}x (two ranks / one rank, aggregate t/s {med(3):.1f} / {med(1):.1f}); "
      f"1 client {med(2) / med(0):.2f}x; inter-token p50 {1000 * med(4):.0f} -> {1000 * med(5):.0f} ms")
PY
