#!/usr/bin/env bash
# Measures what scripts/train-default.sh produced, for the model card (models/README.md):
# greedy accuracy per bucket with 95 % intervals after SFT, GRPO, the SFT control, RS and for
# the student; sampled pass@k; then the plots. Writes models/frugal-r1-tiny.train/eval-*.json.
# usage: scripts/eval-default.sh    (N=problems per bucket, default 2000; BUCKETS='a,b' to narrow)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FRUGAL=${FRUGAL:-$ROOT/build/frugal}
WORK=${WORK:-$ROOT/build/train-default}
LOGS=$ROOT/models/frugal-r1-tiny.train
N=${N:-2000}
B=()
[[ -n ${BUCKETS:-} ]] && B=(--buckets "$BUCKETS")
HARD='add 3x2,sub 3x2,mul 3x2,mul 3x3,mul 4x2'
for m in sft grpo control rs distill; do
  [[ -f $WORK/$m.gguf ]] || { echo "eval-default: $WORK/$m.gguf missing (scripts/train-default.sh)" >&2; exit 1; }
  echo "== eval $m"
  "$FRUGAL" eval -m "$WORK/$m.gguf" -n "$N" "${B[@]}" --max-tokens 400 --seed 11 --json "$LOGS/eval-$m.json" --quiet
  echo "== pass@k $m"
  "$FRUGAL" eval -m "$WORK/$m.gguf" -n 1 --buckets "$HARD" --pass-problems 100 --samples 8 --k 1,2,4,8 \
    --temperature 0.7 --max-tokens 400 --seed 12 --json "$LOGS/passk-$m.json" --quiet
done
/usr/bin/python3 "$ROOT/tools/plot_training.py" --dir "$LOGS"
