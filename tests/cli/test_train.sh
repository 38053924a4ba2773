# frugal train / eval from the command line: a micro DeepSeek-V3 model learns a narrow task to a
# set accuracy (and the untrained one does not), a resumed run ends bit-identical to an
# uninterrupted one, every stage's output loads in `frugal run`, and bad input (corrupt, foreign
# or wrong-architecture checkpoints, untrainable models, empty or malformed data, a disk that
# fills while a checkpoint is written) is a clear error that never replaces the last good
# checkpoint. Fixed seeds, one thread: the figures are deterministic.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"
TR=("$FRUGAL" train)
Q=(--quiet -t 1)
acc_of() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print(min(b['accuracy'] for b in j['buckets']))" "$1"; }

# 1. Learning: 200 steps of SFT on single-digit addition (its 100 distinct
# problems, empty think) take the micro model from chance to (almost) every answer right.
"${TR[@]}" sft --preset test-v3-micro --buckets 'add 1x1' --style-mix 1,0,0 --chat-fraction 0 \
  --steps 200 --batch-tokens 2048 --lr 3e-3 --seed 1 -o "$W/learn.gguf" --log "$W/learn.csv" "${Q[@]}" 2>"$W/learn.err"
check "sft: trains the micro model and writes its log" test -s "$W/learn.gguf" -a "$(wc -l <"$W/learn.csv")" -gt 200
"${TR[@]}" sft --preset test-v3-micro --buckets 'add 1x1' --steps 1 --batch-tokens 256 --lr 1e-9 -o "$W/untrained.gguf" "${Q[@]}"
"$FRUGAL" eval -m "$W/learn.gguf" --buckets 'add 1x1' -n 100 --json "$W/learn.json" "${Q[@]}" >/dev/null
"$FRUGAL" eval -m "$W/untrained.gguf" --buckets 'add 1x1' -n 100 --json "$W/untrained.json" "${Q[@]}" >/dev/null
check "eval: trained micro model answers >= 90 %" \
  $PY -c "import sys; sys.exit(not float('$(acc_of "$W/learn.json")') >= 0.9)"
check "eval: the untrained model answers < 20 %" $PY -c "import sys; sys.exit(not float('$(acc_of "$W/untrained.json")') < 0.2)"
# pass@k draws its own problems: -n (greedy) does not limit them.
"$FRUGAL" eval -m "$W/learn.gguf" --buckets 'add 1x1' -n 1 --pass-problems 20 --samples 4 --k 1,4 --temperature 0.7 \
  --json "$W/passk.json" "${Q[@]}" >/dev/null
check "eval: pass@k over --pass-problems problems, whatever -n is; pass@4 >= pass@1 > 0.5" $PY -c "
import json, sys; b = json.load(open('$W/passk.json'))['buckets'][0]
sys.exit(not (b['n'] == 1 and b['pass_n'] == 20 and b['pass_at_k'][1] >= b['pass_at_k'][0] > 0.5))"
"$FRUGAL" run -m "$W/learn.gguf" -p "3+4" -n 8 --temp 0 >"$W/run.out" 2>&1
check "run: loads the trained file" test $? -eq 0

# 2. Resume: 6 steps at once == 3 steps, stop, resume for the rest (model and optimizer state).
P=(pretrain --preset test-v3-micro --steps 6 --batch-tokens 1024 --micro-tokens 512 --lr 2e-3 --seed 7)
mkdir -p "$W/a" "$W/b"
"${TR[@]}" "${P[@]}" -o "$W/a/m.gguf" --checkpoint "$W/a/c.ckpt" --checkpoint-every 2 "${Q[@]}"
"${TR[@]}" "${P[@]}" -o "$W/b/m.gguf" --checkpoint "$W/b/c.ckpt" --checkpoint-every 2 --stop-after 3 "${Q[@]}"
check "--stop-after: leaves a checkpoint and no model" test -s "$W/b/c.ckpt" -a ! -e "$W/b/m.gguf"
"${TR[@]}" "${P[@]}" -o "$W/b/m.gguf" --checkpoint "$W/b/c.ckpt" --checkpoint-every 2 --resume "${Q[@]}"
check "--resume: the model equals the uninterrupted run's, bit for bit" cmp -s "$W/a/m.gguf" "$W/b/m.gguf"
check "--resume: so does the final checkpoint" cmp -s "$W/a/c.ckpt" "$W/b/c.ckpt"
expect_error "--resume with other options" "other options" \
  "${TR[@]}" pretrain --preset test-v3-micro --steps 6 --batch-tokens 1024 --micro-tokens 512 --lr 1e-3 --seed 7 \
  -o "$W/b/m2.gguf" --checkpoint "$W/b/c.ckpt" --resume "${Q[@]}"

# 3. Bad checkpoints: a clear error naming the file.
head -c 5000 "$W/a/c.ckpt" >"$W/trunc.ckpt"
expect_error "corrupt (truncated) checkpoint" "trunc.ckpt" "${TR[@]}" "${P[@]}" -o "$W/x.gguf" --checkpoint "$W/trunc.ckpt" --resume "${Q[@]}"
expect_error "a model file given as checkpoint" "learn.gguf: not a training checkpoint" \
  "${TR[@]}" "${P[@]}" -o "$W/x.gguf" --checkpoint "$W/learn.gguf" --resume "${Q[@]}"
"${TR[@]}" pretrain --preset test-qwen2-micro --steps 1 --batch-tokens 256 -o "$W/q.gguf" --checkpoint "$W/q.ckpt" "${Q[@]}"
expect_error "a checkpoint of another architecture" "q.ckpt: a qwen2 checkpoint, not deepseek2" \
  "${TR[@]}" "${P[@]}" -o "$W/x.gguf" --checkpoint "$W/q.ckpt" --resume "${Q[@]}"
expect_error "--resume without a checkpoint file" "no checkpoint at" \
  "${TR[@]}" "${P[@]}" -o "$W/x.gguf" --checkpoint "$W/none.ckpt" --resume "${Q[@]}"

# 4. Models a stage cannot train, and bad data files.
"$FRUGAL" make-test-model --preset tiny-qwen3 --type F32 -o "$W/qwen3.gguf" 2>/dev/null
expect_error "an architecture the trainer lacks" "qwen3.gguf: architecture 'qwen3' cannot be trained" \
  "${TR[@]}" sft -m "$W/qwen3.gguf" --steps 1 -o "$W/x.gguf" "${Q[@]}"
"$FRUGAL" quantize "$W/learn.gguf" "$W/learn-q8.gguf" Q8_0 >/dev/null 2>&1
expect_error "a quantized model (training needs F32 weights)" "learn-q8.gguf" \
  "${TR[@]}" sft -m "$W/learn-q8.gguf" --steps 1 -o "$W/x.gguf" "${Q[@]}"
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type F32 -o "$W/v3yarn.gguf" 2>/dev/null
expect_error "a model with YaRN scaling" "v3yarn.gguf: YaRN" "${TR[@]}" sft -m "$W/v3yarn.gguf" --steps 1 -o "$W/x.gguf" "${Q[@]}"
expect_error "rs from a model of another architecture" "qwen3.gguf" \
  "${TR[@]}" rs -m "$W/qwen3.gguf" --problems 2 --steps 1 -o "$W/x.gguf" "${Q[@]}"
: >"$W/empty.jsonl"
expect_error "empty data file" "empty.jsonl" "${TR[@]}" sft -m "$W/learn.gguf" --data "$W/empty.jsonl" --steps 1 -o "$W/x.gguf" "${Q[@]}"
printf '{"messages": [{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}]}\n{"messages": [\n' >"$W/bad.jsonl"
expect_error "malformed data file (names the line)" "bad.jsonl:2: not JSON" \
  "${TR[@]}" sft -m "$W/learn.gguf" --data "$W/bad.jsonl" --steps 1 -o "$W/x.gguf" "${Q[@]}"
python3 -c 'print("[" * 300000 + "]" * 300000)' >"$W/deep.jsonl"  # past the 256-level bound on JSON
expect_error "a data line nested 300,000 deep" "deep.jsonl:1: not JSON .or nested deeper than 256 levels" \
  "${TR[@]}" sft -m "$W/learn.gguf" --data "$W/deep.jsonl" --steps 1 -o "$W/x.gguf" "${Q[@]}"
printf '{"messages": [{"role": "user", "content": "1+1"}]}\n' >"$W/noanswer.jsonl"
expect_error "data without an assistant turn" "noanswer.jsonl:1: expected one user turn and one assistant turn" \
  "${TR[@]}" sft -m "$W/learn.gguf" --data "$W/noanswer.jsonl" --steps 1 -o "$W/x.gguf" "${Q[@]}"
expect_error "missing model file" "no-such.gguf" "${TR[@]}" sft -m "$W/no-such.gguf" --steps 1 -o "$W/x.gguf" "${Q[@]}"
expect_error "unknown stage" "usage: frugal train" "${TR[@]}" dance
expect_error "unknown bucket" "unknown bucket 'div 2x2'" "${TR[@]}" sft --preset test-v3-micro --buckets 'div 2x2' -o "$W/x.gguf" "${Q[@]}"

# 5. A disk that fills while a checkpoint is written (a file-size limit: writes fail with
# EFBIG): the run fails naming the file, and the good checkpoint from before is untouched.
cp "$W/a/c.ckpt" "$W/good.ckpt"; cp "$W/a/c.ckpt" "$W/full.ckpt"
limit_kb=$(( $(stat -c %s "$W/good.ckpt") / 1024 / 2 ))
( trap '' XFSZ; ulimit -f "$limit_kb"
  exec "${TR[@]}" pretrain --preset test-v3-micro --steps 8 --batch-tokens 1024 --micro-tokens 512 --lr 2e-3 --seed 7 \
    -o "$W/full.gguf" --checkpoint "$W/full.ckpt" --checkpoint-every 1 "${Q[@]}" ) >"$W/out" 2>"$W/err"
rc=$?
check "disk full: exit 1 naming the checkpoint ($(head -c 200 "$W/err"))" bash -c "[ $rc -eq 1 ] && grep -q 'full.ckpt' '$W/err'"
check "disk full: the previous checkpoint is intact" cmp -s "$W/good.ckpt" "$W/full.ckpt"
check "disk full: no partial file left behind" bash -c "! ls '$W' | grep -q 'full.ckpt.'"
finish
