# SIGKILL in the middle of a write (issue 13, item 4): `frugal quantize`, `convert`,
# `make-test-model` and the trainer's checkpoints write to OUT.tmp, fsync and rename, so a kill at any moment leaves OUT
# either the old file or the whole new one, never a torn mix. Each command is killed after
# increasing delays (some kills land before the write, some during it, the last ones after it
# finished); after every kill OUT must equal one of the two complete files, byte for byte, and
# the next run must succeed over whatever temporary file the kill left.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"

# kill_at_delays NAME OLD NEW CMD...: OUT (the command's output) starts as a copy of OLD; NEW is
# the complete output the command writes.
kill_at_delays() {
  local name=$1 old=$2 new=$3 out=$4; shift 4
  local torn=0 old_kept=0 new_done=0 d
  for d in 0.01 0.03 0.06 0.1 0.15 0.2 0.3 0.45 0.7 1.0 1.5 3; do
    cp "$old" "$out"
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$d"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if cmp -s "$out" "$old"; then old_kept=$((old_kept + 1))
    elif cmp -s "$out" "$new"; then new_done=$((new_done + 1))
    else torn=$((torn + 1)); fi
  done
  check "$name: no kill leaves a torn file ($old_kept old, $new_done new, $torn torn)" test $torn -eq 0
  check "$name: some kills landed before the rename" test $old_kept -gt 0
  "$@" >/dev/null 2>&1
  check "$name: a run after the kills succeeds over their leftovers" cmp -s "$out" "$new"
}

M=$W/vocab-f32.gguf
"$FRUGAL" make-test-model --preset tiny-qwen-vocab --type F32 -o "$M" 2>/dev/null || bad "make the input model"
"$FRUGAL" quantize "$M" "$W/q4.gguf" Q4_K_M >/dev/null 2>&1 || bad "quantize Q4_K_M"
"$FRUGAL" quantize "$M" "$W/q8.gguf" Q8_0 >/dev/null 2>&1 || bad "quantize Q8_0"
kill_at_delays "quantize" "$W/q4.gguf" "$W/q8.gguf" "$W/out.gguf" "$FRUGAL" quantize "$M" "$W/out.gguf" Q8_0

"$FRUGAL" make-test-model --preset deepseek-v3-tiny --format hf -o "$W/hf" 2>/dev/null || bad "make the HF folder"
"$FRUGAL" convert "$W/hf" -o "$W/conv-new.gguf" --type Q8_0 >/dev/null 2>&1 || bad "convert"
kill_at_delays "convert" "$W/q4.gguf" "$W/conv-new.gguf" "$W/conv.gguf" "$FRUGAL" convert "$W/hf" -o "$W/conv.gguf" --type Q8_0

"$FRUGAL" make-test-model --preset tiny-qwen-vocab --type F32 --seed 3 -o "$W/made-new.gguf" 2>/dev/null || bad "make-test-model"
kill_at_delays "make-test-model" "$W/q4.gguf" "$W/made-new.gguf" "$W/made.gguf" \
  "$FRUGAL" make-test-model --preset tiny-qwen-vocab --type F32 --seed 3 -o "$W/made.gguf"

# Training checkpoints, written after every step here: a kill at any moment leaves no checkpoint
# yet or a whole one, from which --resume reaches the uninterrupted run's model bit for bit (a
# torn one would fail to load or resume elsewhere).
P=(train pretrain --preset test-v3-micro --steps 20 --batch-tokens 1024 --micro-tokens 512 --lr 2e-3 --seed 7
   --checkpoint-every 1 --quiet -t 1)
mkdir -p "$W/ref" "$W/k"
"$FRUGAL" "${P[@]}" -o "$W/ref/m.gguf" --checkpoint "$W/ref/c.ckpt" || bad "the uninterrupted training run"
none=0 mid=0 resumed=0 broken=0
for d in 0.05 0.15 0.3 0.45 0.6 0.8 1.0 1.3; do
  rm -f "$W/k/c.ckpt" "$W/k/m.gguf"
  "$FRUGAL" "${P[@]}" -o "$W/k/m.gguf" --checkpoint "$W/k/c.ckpt" >/dev/null 2>&1 &
  pid=$!
  sleep "$d"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  [ -e "$W/k/c.ckpt" ] || { none=$((none + 1)); continue; }
  [ -e "$W/k/m.gguf" ] || mid=$((mid + 1))
  if "$FRUGAL" "${P[@]}" -o "$W/k/m.gguf" --checkpoint "$W/k/c.ckpt" --resume >/dev/null 2>&1 &&
    cmp -s "$W/k/m.gguf" "$W/ref/m.gguf"; then resumed=$((resumed + 1)); else broken=$((broken + 1)); fi
done
check "checkpoints: no kill leaves a broken one ($none none yet, $resumed resumed to the same model, $broken broken)" \
  test $broken -eq 0
check "checkpoints: some kills landed in the middle of the run ($mid)" test $mid -gt 0
finish
