#!/usr/bin/env bash
# Measures what scripts/train-default.sh produced, for the model card (models/README.md):
# greedy accuracy per bucket with 95 % intervals after SFT, GRPO, the SFT control, RS and for
# the student; sampled pass@k; then the plots. Writes models/frugal-r1-tiny.train/eval-*.json.
# Then the MTP draft head of the shipped model on real prompts: acceptance and one-stream speed-up.
# usage: scripts/eval-default.sh    (N=problems per trained bucket, default 2000; N_HELD=the same
#        for the held-out 3x3 / 4x2 buckets, default N; PASS_PROBLEMS=problems per pass@k bucket;
#        MTP_PROBLEMS=problems per bucket for the MTP figures; MODELS='sft grpo control rs distill' to
#        evaluate some of them)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FRUGAL=${FRUGAL:-$ROOT/build/frugal}
WORK=${WORK:-$ROOT/build/train-default}
LOGS=$ROOT/models/frugal-r1-tiny.train
N=${N:-2000}
N_HELD=${N_HELD:-$N}
PASS_PROBLEMS=${PASS_PROBLEMS:-100}
MTP_PROBLEMS=${MTP_PROBLEMS:-20}
MODELS=${MODELS:-sft grpo control rs distill}
TRAINED='add 1x1,add 2x1,add 2x2,add 3x1,add 3x2,sub 1x1,sub 2x1,sub 2x2,sub 3x1,sub 3x2,mul 1x1,mul 2x1,mul 2x2,mul 3x1,mul 3x2'
HELD='add 3x3,add 4x2,sub 3x3,sub 4x2,mul 3x3,mul 4x2'
HARD='add 3x2,sub 3x2,mul 3x2,mul 3x3,mul 4x2'
for m in $MODELS; do
  [[ -f $WORK/$m.gguf ]] || { echo "eval-default: $WORK/$m.gguf missing (scripts/train-default.sh)" >&2; exit 1; }
  echo "== eval $m"
  "$FRUGAL" eval -m "$WORK/$m.gguf" -n "$N" --buckets "$TRAINED" --max-tokens 600 --seed 11 --json "$LOGS/eval-$m.json" --quiet
  "$FRUGAL" eval -m "$WORK/$m.gguf" -n "$N_HELD" --buckets "$HELD" --max-tokens 900 --seed 11 --json "$WORK/held-$m.json" --quiet
  /usr/bin/python3 - "$LOGS/eval-$m.json" "$WORK/held-$m.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a['buckets'] += b['buckets']
a['n_held_out'] = b['n']
json.dump(a, open(sys.argv[1], 'w'), indent=1)
PY
  echo "== pass@k $m"
  "$FRUGAL" eval -m "$WORK/$m.gguf" -n 1 --buckets "$HARD" --pass-problems "$PASS_PROBLEMS" --samples 8 --k 1,2,4,8 \
    --temperature 0.7 --max-tokens 900 --seed 12 --json "$LOGS/passk-$m.json" --quiet
done
[[ " $MODELS " == *" rs "* ]] && echo "== MTP on the shipped model (rs)" && "$FRUGAL" eval -m "$WORK/rs.gguf" -n "$MTP_PROBLEMS" --buckets "$TRAINED" --mtp-problems "$MTP_PROBLEMS" --max-tokens 600 \
  --seed 13 -t 1 --json "$LOGS/mtp-rs.json" --quiet
/usr/bin/python3 "$ROOT/tools/plot_training.py" --dir "$LOGS"
