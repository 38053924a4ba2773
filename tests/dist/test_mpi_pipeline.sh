# The pipeline split under mpirun (TCP over loopback, ranks oversubscribed on this machine):
# logits with 2 and 3 ranks are bit-identical to one process (dense and DeepSeek models,
# prefill, decode and chunked prefill; the split changes where layers run, not the order of any
# reduction), `run` writes the same text, and a rank that cannot open its file, a plan that
# cannot be made or a rank killed mid-run ends the whole job with a message and a non-zero
# exit instead of a hang. Registered only in builds with MPI.
source "$2/tests/dist/lib.sh" "$@"

for m in "$G/qwen2-mini-f32.gguf" "$G/qwen3-mini-q8_0.gguf" "$G/llama3-mini-q4_k_m.gguf" "$G/v2lite-mini-f32.gguf" "$W/v3.gguf"; do
  name=$(basename "$m" .gguf)
  for mode in "prefill" "decode" "prefill --chunk 5"; do
    tag=${mode// /}
    "$FRUGAL" logits -m "$m" --ids "$IDS" -o "$W/one.npy" -t 1 --mode $mode 2>/dev/null
    for np in 2 3; do
      "$FRUGAL" inspect "$m" --split pipeline --ranks $np >/dev/null 2>&1 || continue  # fewer layers than ranks
      rm -f "$W/split.npy"
      "${MPI[@]}" -np $np "$FRUGAL" logits -m "$m" --ids "$IDS" -o "$W/split.npy" -t 1 --mode $mode --split pipeline \
        >/dev/null 2>"$W/err"
      check "$name $tag, $np ranks: logits bit-identical to one process" \
        bash -c "cmp -s '$W/one.npy' '$W/split.npy' || { tail -5 '$W/err'; false; }"
    done
  done
done
check "rank 0 reports the plan and the wire" bash -c "grep -q 'pipeline split: 3 ranks over' '$W/err' && grep -q 'rank 0 of 3: .* messages, .* MiB sent' '$W/err'"

# Explicit ranges give the same logits as the balanced ones.
"$FRUGAL" logits -m "$W/v3.gguf" --ids "$IDS" -o "$W/one.npy" -t 1 2>/dev/null
"${MPI[@]}" -np 2 "$FRUGAL" logits -m "$W/v3.gguf" --ids "$IDS" -o "$W/split.npy" -t 1 --split pipeline --split-layers 0-0,1-3 \
  >/dev/null 2>"$W/err"
check "--split-layers 0-0,1-3: the same logits, the ranges reported" \
  bash -c "cmp -s '$W/one.npy' '$W/split.npy' && grep -q 'rank 0 layers 0-0 .*rank 1 layers 1-3' '$W/err'"

# Generation through the split: the same text at temperature 0.
M=$SRC/models/frugal-r1-tiny.gguf
"$FRUGAL" run -m "$M" -p "What is 12+7?" -n 40 --ignore-eos --temp 0 -t 1 >"$W/one.txt" 2>/dev/null
"${MPI[@]}" -np 2 "$FRUGAL" run -m "$M" -p "What is 12+7?" -n 40 --ignore-eos --temp 0 -t 1 --split pipeline >"$W/split.txt" 2>"$W/err"
check "run: the same text through 2 ranks" bash -c "[ -s '$W/one.txt' ] && cmp -s '$W/one.txt' '$W/split.txt'"

# bench --json under the split reports the ranks and the wire's share of a decode step.
"${MPI[@]}" -np 2 "$FRUGAL" bench -m "$M" -p 8 -n 8 -r 1 -t 1 --json --split pipeline >"$W/bench.json" 2>"$W/err"
check "bench --json: ranks, the wire's and the other stages' shares of a decode step" $PY -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d['ranks'] == 2 and d['tg_tok_s'] > 0, d
assert 0 <= d['tg_wire_share'] < 1 and 0 <= d['tg_other_stages_share'] < 1, d
assert d['tg_wire_share'] + d['tg_other_stages_share'] <= 1.001, d
assert d['tg_wire_bytes_per_token'] >= 4 * 512, d  # a row of logits at least" "$W/bench.json"

# Failures end the job: no rank is left waiting for a message that will not come.
expect_mpi_error() {  # NAME PATTERN MPIRUN-ARGS...
  local name=$1 pat=$2; shift 2
  "${MPI[@]}" "$@" >"$W/out" 2>"$W/err"; local rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qE -e "$pat" "$W/err"; then ok "$name"; else bad "$name (rc=$rc): $(grep -v '^-*$' "$W/err" | head -c 400)"; fi
}
expect_mpi_error "more ranks than layers: every rank says why and the job ends" "cannot split 2 layers over 3 ranks" \
  -np 3 "$FRUGAL" logits -m "$G/llama3-mini-q4_k_m.gguf" --ids 1,2 -o "$W/x.npy" -t 1 --split pipeline
expect_mpi_error "a rank that cannot open its file ends the job, naming the rank and file" \
  "rank 1 of 2: error: .*no-such.gguf" \
  -np 1 "$FRUGAL" logits -m "$G/qwen2-mini-f32.gguf" --ids 1,2 -o "$W/x.npy" -t 1 --split pipeline : \
  -np 1 "$FRUGAL" logits -m "$W/no-such.gguf" --ids 1,2 -o "$W/x.npy" -t 1 --split pipeline
expect_mpi_error "an error on rank 0 after the split is up ends the job" "exceeds the context" \
  -np 2 "$FRUGAL" run -m "$M" -p hi -n 100000 -c 256 -t 1 --split pipeline

# A rank killed in the middle of generating: mpirun ends the job with a non-zero status.
("${MPI[@]}" -np 2 "$FRUGAL" run -m "$M" -p hi -n 4000 --ignore-eos -c 4096 -t 1 --split pipeline >/dev/null 2>"$W/kill.err"
 echo $? >"$W/kill.rc") &
killed=
for _ in $(seq 50); do
  sleep 0.2
  for p in $(pgrep -f "frugal run -m $M -p hi -n 4000"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then kill -9 "$p"; killed=$p; fi
  done
  [ -n "$killed" ] && break
done
wait
check "rank 1 killed mid-run: the job ends with a non-zero status, no hang" \
  bash -c "[ -n '$killed' ] && rc=\$(cat '$W/kill.rc') && [ \"\$rc\" -ne 0 ] && [ \"\$rc\" -ne 124 ]"

finish
