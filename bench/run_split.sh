#!/usr/bin/env bash
# The README's split figures: one rank against two ranks of a split (mpirun, TCP over
# loopback, ranks bound to cores), the same file, one thread per rank, alternating for ROUNDS
# rounds in one run; prints each round, the medians and their ratio, the wire's share of a
# decode step, and bench/scaling_model.py's check of the median pair.
# Usage: bench/run_split.sh [BUILD_DIR] [MODEL.gguf]   SPLIT=pipeline|experts ROUNDS=3 P=64 N=32
#   (default model: the 1.5B Q4_K_M of bench/run_dense.sh for the pipeline, the V2-Lite
#   Q4_K_M of bench/run_deepseek.sh for the experts; made once if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
SPLIT=${SPLIT:-pipeline}
case $SPLIT in
  pipeline) preset=r1-distill-qwen-1.5b; M=${2:-$B/bench-models/r1-distill-qwen-1.5b-Q4_K_M.gguf} ;;
  experts) preset=deepseek-v2-lite; M=${2:-$B/bench-models/deepseek-v2-lite-Q4_K_M.gguf} ;;
  *) echo "SPLIT=$SPLIT: expected pipeline or experts" >&2; exit 2 ;;
esac
ROUNDS=${ROUNDS:-3} P=${P:-64} N=${N:-32}
mkdir -p "$(dirname "$M")"
[ -f "$M" ] || "$B/frugal" make-test-model --preset $preset --type Q4_K_M -o "$M" >&2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
for r in $(seq "$ROUNDS"); do
  "$B/frugal" bench -m "$M" -p "$P" -n "$N" -r 3 -t 1 --membw-mb 0 --json 2>/dev/null >"$OUT/one$r.json"
  mpirun --oversubscribe --mca btl self,tcp --bind-to core -np 2 "$B/frugal" bench -m "$M" -p "$P" -n "$N" -r 3 -t 1 \
    --split "$SPLIT" --json 2>/dev/null >"$OUT/two$r.json"
done
python3 - "$OUT" "$ROUNDS" "$P" "$N" "$SPLIT" <<'PY'
import json, statistics, sys
out, rounds, p, n, split = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
other = 'other stage' if split == 'pipeline' else 'waiting for rank 1'
print(f"{split} split, two ranks against one, one thread each")
one = [json.load(open(f'{out}/one{r}.json')) for r in range(1, rounds + 1)]
two = [json.load(open(f'{out}/two{r}.json')) for r in range(1, rounds + 1)]
for r, (a, b) in enumerate(zip(one, two), 1):
    print(f"round {r}: one rank pp{p} {a['pp_tok_s']:.2f} tg{n} {a['tg_tok_s']:.2f} | two ranks pp{p} {b['pp_tok_s']:.2f} "
          f"tg{n} {b['tg_tok_s']:.2f} (wire {100 * b['tg_wire_share']:.1f} %, {other} {100 * b['tg_other_stages_share']:.1f} %, "
          f"rank 1 computing {100 * b['tg_other_ranks_compute_share']:.1f} %)")
med = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"median: pp{p} {med(two, 'pp_tok_s') / med(one, 'pp_tok_s'):.2f}x, tg{n} {med(two, 'tg_tok_s') / med(one, 'tg_tok_s'):.2f}x "
      f"(two ranks / one rank); wire {100 * med(two, 'tg_wire_share'):.1f} % of a decode step, "
      f"{med(two, 'tg_wire_bytes_per_token') / 1e3:.0f} KB per token")
mid = sorted(range(rounds), key=lambda i: two[i]['tg_tok_s'])[rounds // 2]
json.dump(one[mid], open(f'{out}/one.json', 'w'))
json.dump(two[mid], open(f'{out}/two.json', 'w'))
PY
python3 bench/scaling_model.py --check "$OUT/one.json" "$OUT/two.json" --split "$SPLIT"
