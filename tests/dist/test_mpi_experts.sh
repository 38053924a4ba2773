# The expert split under mpirun (TCP over loopback, ranks oversubscribed on this machine):
# DeepSeekMoE's routed experts spread over the ranks, the rest on rank 0. Logits with 2 and 3
# ranks are bit-identical to one process (rank 0 adds the other ranks' unweighted expert rows
# in the order one process adds its own), for float and Q8_0 V2-Lite / V3 test models, prefill,
# decode and chunked prefill, other thread counts too; `run` (with the MTP draft head too)
# writes the same text; `auto` picks the expert split for a MoE model; a dense model asked for
# it ends the job with the reason. Registered only in builds with MPI.
source "$2/tests/dist/lib.sh" "$@"

same_logits() {  # NAME MODEL NP THREADS MODE...
  local name=$1 m=$2 np=$3 t=$4; shift 4
  rm -f "$W/split.npy"
  "${MPI[@]}" -np $np "$FRUGAL" logits -m "$m" --ids "$IDS" -o "$W/split.npy" -t $t --mode "$@" --split experts \
    >/dev/null 2>"$W/err"
  check "$name" bash -c "cmp -s '$W/one.npy' '$W/split.npy' || { tail -5 '$W/err'; false; }"
}
for m in "$G/v2lite-mini-f32.gguf" "$G/v3-mini-q8_0.gguf" "$W/v3.gguf"; do
  name=$(basename "$m" .gguf)
  for mode in "prefill" "decode" "prefill --chunk 5"; do
    "$FRUGAL" logits -m "$m" --ids "$IDS" -o "$W/one.npy" -t 1 --mode $mode 2>/dev/null
    for np in 2 3; do same_logits "$name ${mode// /}, $np ranks: logits bit-identical to one process" "$m" $np 1 $mode; done
  done
done
"$FRUGAL" logits -m "$W/v3.gguf" --ids "$IDS" -o "$W/one.npy" -t 1 --mode decode 2>/dev/null
same_logits "v3 decode, 2 ranks of 2 threads against one process of 1: bit-identical" "$W/v3.gguf" 2 2 decode
check "rank 0 reports the plan and the wire" bash -c "grep -q 'expert split: 2 ranks over .* rank 0 experts 0-' '$W/err' && grep -q 'rank 0 of 2: .* messages, .* MiB sent' '$W/err'"

# The shipped default model is a DeepSeekMoE: generation through the split, with and without
# the MTP draft head, writes the same text as one process.
M=$SRC/models/frugal-r1-tiny.gguf
for mtp in "" "--mtp"; do
  "$FRUGAL" run -m "$M" -p "What is 12+7?" -n 40 --ignore-eos --temp 0 -t 1 $mtp >"$W/one.txt" 2>/dev/null
  "${MPI[@]}" -np 2 "$FRUGAL" run -m "$M" -p "What is 12+7?" -n 40 --ignore-eos --temp 0 -t 1 $mtp --split experts \
    >"$W/split.txt" 2>"$W/err"
  check "run $mtp: the same text through 2 ranks" bash -c "[ -s '$W/one.txt' ] && cmp -s '$W/one.txt' '$W/split.txt'"
done

# auto: the expert split for a MoE model, the pipeline for a dense one.
"${MPI[@]}" -np 2 "$FRUGAL" logits -m "$M" --ids 1,2,3 -o "$W/x.npy" -t 1 --split auto >/dev/null 2>"$W/err"
check "--split auto on a MoE model: the expert split" grep -q 'expert split: 2 ranks' "$W/err"
"${MPI[@]}" -np 2 "$FRUGAL" logits -m "$G/qwen2-mini-f32.gguf" --ids 1,2,3 -o "$W/x.npy" -t 1 --split auto >/dev/null 2>"$W/err"
check "--split auto on a dense model: the pipeline" grep -q 'pipeline split: 2 ranks' "$W/err"

# bench --json: the ranks and the wire's share of a decode step.
"${MPI[@]}" -np 2 "$FRUGAL" bench -m "$M" -p 8 -n 8 -r 1 -t 1 --json --split experts >"$W/bench.json" 2>"$W/err"
check "bench --json: ranks, the wire's and the other ranks' shares of a decode step" $PY -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d['ranks'] == 2 and d['tg_tok_s'] > 0, d
assert 0 <= d['tg_wire_share'] < 1 and 0 <= d['tg_other_stages_share'] < 1, d
assert d['tg_wire_bytes_per_token'] > 0, d" "$W/bench.json"

"${MPI[@]}" -np 2 "$FRUGAL" logits -m "$G/qwen2-mini-f32.gguf" --ids 1,2 -o "$W/x.npy" -t 1 --split experts >/dev/null 2>"$W/err"
rc=$?
check "--split experts on a dense model: the job ends with the reason" \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'no routed experts' '$W/err'"
finish
