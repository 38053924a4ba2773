#!/usr/bin/env bash
# Trains the shipped default model end to end, DeepSeek-R1's recipe in miniature:
#   pretrain -> SFT cold start -> GRPO (rule-checked rewards) -> rejection sampling + SFT
#   -> distillation into a dense Qwen2-architecture student,
# plus the control run that spends GRPO's wall-clock time on more SFT instead.
# Fixed seeds; every stage is one `frugal train` command. Output:
#   models/frugal-r1-tiny.gguf            the default model of frugal run / chat / serve
#   models/frugal-r1-distill-tiny.gguf    the dense student
#   models/frugal-r1-tiny.train/          CSV logs of every stage, eval JSON, plots, timings
# Intermediate GGUFs go to $WORK (default build/train-default); a stage whose output exists
# there is skipped, so an interrupted run continues where it stopped.
# usage: scripts/train-default.sh [--no-eval]    (FRUGAL=path/to/frugal, WORK=dir, THREADS=N)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FRUGAL=${FRUGAL:-$ROOT/build/frugal}
WORK=${WORK:-$ROOT/build/train-default}
MODELS=$ROOT/models
LOGS=$MODELS/frugal-r1-tiny.train
T=(-t "${THREADS:-2}")
mkdir -p "$WORK" "$LOGS"
[[ -x $FRUGAL ]] || { echo "train-default: $FRUGAL not built (scripts/build.sh build)" >&2; exit 1; }

# stage NAME ARGS...: one `frugal train` command, timed, skipped when its output exists.
stage() {
  local name=$1
  shift
  if [[ -f $WORK/$name.gguf ]]; then
    echo "== $name: $WORK/$name.gguf exists, skipped"
    return
  fi
  echo "== $name: frugal train $*"
  local t0=$SECONDS
  "$FRUGAL" train "$@" -o "$WORK/$name.gguf" --log "$LOGS/$name.csv" "${T[@]}"
  echo "$name $((SECONDS - t0))" >> "$LOGS/seconds.txt"
}
# A fresh run (nothing in $WORK yet) starts a fresh timing record.
[[ -f $WORK/pretrain.gguf ]] || rm -f "$LOGS/seconds.txt"
seconds_of() { awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }' "$LOGS/seconds.txt"; }

# Batches of 8k tokens: at this size a tiny model learns per token about twice as fast as with
# 16k (more updates), which matters more than the larger batch's smoother gradient.
B=(--batch-tokens 8192)
# 1. Pretraining: next-token prediction on worked problems of every style and bucket.
stage pretrain pretrain --preset frugal-r1-tiny --steps 900 "${B[@]}" --lr 2e-3 --seed 1
# 2. Cold start: chat-formatted reasoning in a mix of styles: 40 % answer at once (empty think),
# 35 % a short scratchpad, 25 % the detailed digit-by-digit one. Greedy decoding of this model
# answers at once (the most frequent style), which is wrong for most multi-digit problems;
# sampled, it sometimes works the problem through. That gap (pass@8 >> pass@1) is what RL can
# turn into accuracy.
stage sft sft -m "$WORK/pretrain.gguf" --steps 60 "${B[@]}" --lr 5e-4 --style-mix 0.4,0.35,0.25 --seed 2
# 3. GRPO on every trained bucket, sampled at T = 0.7 (the ratios are taken under the same
# tempered policy), rewards = exact answer + well-formed think/answer.
stage grpo grpo -m "$WORK/sft.gguf" --steps 60 --prompts 16 --group 8 --max-tokens 600 --temperature 0.7 \
  --lr 5e-5 --loss dr_grpo --eps-high 0.28 --beta 0.01 --dynamic-sampling --seed 3
# 3b. Control: GRPO's wall-clock time spent on more SFT (same data and options as stage 2).
# CONTROL_STEPS=N fixes the count instead, for a run whose GRPO time was inflated by other work
# on the machine (the shipped run: see the model card).
if [[ ! -f $WORK/control.gguf ]]; then
  sft_steps=60 sft_s=$(seconds_of sft) grpo_s=$(seconds_of grpo)
  steps=${CONTROL_STEPS:-$(( (sft_steps + sft_steps * grpo_s / (sft_s > 0 ? sft_s : 1)) ))}
  echo "== control: SFT for $steps steps in total (GRPO took ${grpo_s}s, SFT ${sft_s}s for $sft_steps steps)"
  stage control sft -m "$WORK/pretrain.gguf" --steps "$steps" "${B[@]}" --lr 5e-4 --style-mix 0.4,0.35,0.25 --seed 2
fi
# 4. Rejection sampling: the GRPO policy's correct traces, SFT on them (R1's third stage).
stage rs rs -m "$WORK/grpo.gguf" --problems 1500 --samples 2 --temperature 0.7 --max-tokens 600 \
  --steps 40 "${B[@]}" --lr 1e-4 --seed 4
# 5. Distillation: a dense Qwen2-architecture student, from scratch, SFT'd on the teacher's
# filtered traces (R1-Distill started from pretrained bases; here the traces are all it sees).
stage distill distill --teacher "$WORK/rs.gguf" --preset frugal-r1-distill-tiny --problems 3000 --samples 2 \
  --temperature 0.7 --max-tokens 600 --steps 400 "${B[@]}" --lr 2e-3 --seed 5

cp "$WORK/rs.gguf" "$MODELS/frugal-r1-tiny.gguf"
cp "$WORK/distill.gguf" "$MODELS/frugal-r1-distill-tiny.gguf"
echo "== shipped: $MODELS/frugal-r1-tiny.gguf, $MODELS/frugal-r1-distill-tiny.gguf ($(awk '{ s += $2 } END { print s }' "$LOGS/seconds.txt") s of training)"
[[ "${1:-}" == "--no-eval" ]] || "$ROOT/scripts/eval-default.sh"
