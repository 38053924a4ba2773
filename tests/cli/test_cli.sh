# End-to-end checks of the `frugal` command: the test-model generator, run/logits/inspect/bench
# on the files it makes, prefill == decode, seeded reproducibility, and bad input that must
# give one clear error and a non-zero exit, never a crash.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"

for spec in tiny-qwen2:F32 tiny-qwen3:Q8_0 tiny-llama:Q4_K_M tiny-qwen2:Q4_0 tiny-qwen3:F16; do
  preset=${spec%%:*}; type=${spec##*:}
  f=$W/$preset-$type.gguf
  check "make-test-model $preset $type" bash -c "\"$FRUGAL\" make-test-model --preset $preset --type $type -o $f 2>$W/mk || { cat $W/mk; false; }"
  check "inspect $preset $type" bash -c "'$FRUGAL' inspect '$f' | grep -q 'KV cache'"
  "$FRUGAL" logits -m "$f" --ids 1,5,9,200,33,7,400,2 -o "$W/p.npy" --mode prefill 2>/dev/null
  "$FRUGAL" logits -m "$f" --ids 1,5,9,200,33,7,400,2 -o "$W/d.npy" --mode decode 2>/dev/null
  # Same weights, same math, different batching: agreement to fp32 rounding of the reductions.
  check "prefill == decode $preset $type" bash -c "$PY $SRC/tests/data/golden/compare_logits.py $W/d.npy $W/p.npy --max-abs 1e-4 --rms-rel 1e-5 >$W/cmp || { cat $W/cmp; false; }"
done

# --cache-type q8_0 (the golden minis' 16-wide heads cannot take its 32-value blocks): against
# the golden-checked f32 cache, the cache's rounding is the only difference.
f=$W/tiny-qwen3-F16.gguf
ids=$($PY -c "print(','.join(str((i * 37 + 11) % 500) for i in range(48)))")
"$FRUGAL" logits -m "$f" --ids "$ids" -o "$W/c32.npy" --mode decode --cache-type f32 2>/dev/null
"$FRUGAL" logits -m "$f" --ids "$ids" -o "$W/c8.npy" --mode decode --cache-type q8_0 2>/dev/null
check "--cache-type q8_0 within its limits of f32" bash -c "$PY $SRC/tests/data/golden/compare_logits.py $W/c8.npy $W/c32.npy --no-max-abs --rms-rel 0.02 --kl-mean 1e-3 --top1-min 0.97 --tie-gap 0.05 >$W/cmp || { cat $W/cmp; false; }"

f=$W/tiny-qwen3-Q8_0.gguf
a=$("$FRUGAL" run -m "$f" -p "Hello" -n 16 --temp 0 2>/dev/null)
b=$("$FRUGAL" run -m "$f" -p "Hello" -n 16 --temp 0 2>/dev/null)
check "greedy run is deterministic" test "$a" = "$b"
a=$("$FRUGAL" run -m "$f" -p "Hello" -n 16 --temp 1 --seed 5 2>/dev/null)
b=$("$FRUGAL" run -m "$f" -p "Hello" -n 16 --temp 1 --seed 5 2>/dev/null)
check "seeded run is reproducible" test "$a" = "$b"
check "run prints timings and the noise note" bash -c "'$FRUGAL' run -m '$f' -p 'Hi' -n 4 2>&1 >/dev/null | grep -q 'random weights' && '$FRUGAL' run -m '$f' -p 'Hi' -n 4 2>&1 >/dev/null | grep -qE 'generation [0-9]+ tokens .* tok/s'"
# A 64 MiB probe keeps the test quick (the default is 8x the last-level cache, >= 512 MiB).
check "bench --json has the fields" bash -c "'$FRUGAL' bench -m '$f' -p 16 -n 4 -r 1 -t 2 --membw-mb 64 --json | $PY -c '
import json, sys
j = json.load(sys.stdin)
assert all(k in j for k in (\"pp_tok_s\", \"tg_tok_s\", \"membw_gb_s\", \"roofline_frac\", \"roofline_tok_s\")) and j[\"tg_tok_s\"] > 0
assert j[\"membw_buffer_bytes\"] >= 63 << 20 and j[\"membw_gb_s\"] == j[\"membw_read_gb_s\"]
for k in (\"read_gb_s\", \"copy_gb_s\", \"triad_gb_s\"):
    assert 0.5 < j[\"membw_before\"][k] < 1000 and 0.5 < j[\"membw_after\"][k] < 1000, k
assert j[\"membw_read_gb_s\"] == max(j[\"membw_before\"][\"read_gb_s\"], j[\"membw_after\"][\"read_gb_s\"])
assert not j[\"roofline_impossible\"]  # a tiny model lives in the cache: no DRAM roofline to exceed
'"
check "bench --membw alone: read, copy, triad" bash -c "'$FRUGAL' bench --membw --membw-mb 64 -t 2 --json | $PY -c 'import json,sys; j=json.load(sys.stdin); assert all(0.5 < j[k] < 1000 for k in (\"read_gb_s\",\"copy_gb_s\",\"triad_gb_s\")) and j[\"threads\"] == 2'"
check "bench --membw-mb 0 skips the probe" bash -c "'$FRUGAL' bench -m '$f' -p 4 -n 2 -r 1 --membw-mb 0 --json | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j[\"membw_gb_s\"] == 0 and j[\"roofline_frac\"] == 0'"

# Bad input.
expect_error "run: no -m and no default model" "FRUGAL_DEFAULT_MODEL=.*no such file" env FRUGAL_DEFAULT_MODEL="$W/none.gguf" "$FRUGAL" run -p hi
expect_error "unknown option" "unknown option --bogus" "$FRUGAL" run -m "$f" -p x --bogus 1
expect_error "run: a stray argument (an unquoted prompt)" "unexpected argument .on.; a value with spaces needs quotes" "$FRUGAL" run -m "$f" -p Go on
expect_error "quantize: a fourth argument" "unexpected argument .extra." "$FRUGAL" quantize "$f" "$W/q.gguf" Q8_0 extra
expect_error "missing file" "nope.gguf.*(cannot open|No such)" "$FRUGAL" run -m "$W/nope.gguf" -p x
head -c 5000 /dev/urandom > "$W/random.gguf"
expect_error "not a GGUF file" "random.gguf" "$FRUGAL" inspect "$W/random.gguf"
head -c 3000 "$f" > "$W/trunc.gguf"
expect_error "truncated GGUF" "trunc.gguf.*byte" "$FRUGAL" run -m "$W/trunc.gguf" -p x
$PY - "$f" "$W/arch.gguf" "$W/tensor.gguf" <<'PYEOF'
import sys
data = open(sys.argv[1], 'rb').read()
# Same-length edits keep the file a valid GGUF: an unknown architecture, a renamed tensor.
open(sys.argv[2], 'wb').write(data.replace(b'qwen3', b'qwenX'))
open(sys.argv[3], 'wb').write(data.replace(b'blk.1.ffn_up.weight', b'blk.1.ffn_uq.weight', 1))
PYEOF
expect_error "unknown architecture" "unknown architecture 'qwenX'" "$FRUGAL" run -m "$W/arch.gguf" -p x
expect_error "missing tensor" "missing tensor 'blk.1.ffn_up.weight'" "$FRUGAL" run -m "$W/tensor.gguf" -p x
expect_error "token id out of range" "out of range" "$FRUGAL" logits -m "$f" --ids 1,99999 -o "$W/x.npy"
# A split plan for mpirun, printed without running anything.
check "inspect --split pipeline --ranks 2: two contiguous layer ranges" bash -c "'$FRUGAL' inspect '$f' --split pipeline --ranks 2 >'$W/plan' && grep -q 'pipeline over 2 ranks' '$W/plan' && grep -qE '^ +0  0-' '$W/plan' && grep -qE '^ +1  [0-9]+-' '$W/plan'"
expect_error "inspect --split without --ranks" "--split needs --ranks" "$FRUGAL" inspect "$f" --split pipeline
expect_error "inspect --split experts on a dense model" "no routed experts" "$FRUGAL" inspect "$f" --split experts --ranks 2
expect_error "inspect --split-layers that miss a layer" "split-layers '0-0,2-3'" "$FRUGAL" inspect "$f" --split pipeline --ranks 2 --split-layers 0-0,2-3
# JSON past 256 levels is refused: the JSON library copies and frees trees recursively, and a
# million levels overflow a thread's stack.
python3 -c 'print("[" * 300000 + "]" * 300000)' >"$W/deep.json"
expect_error "an ids file nested 300,000 deep" "deep.json: invalid JSON.*nested deeper than 256" "$FRUGAL" logits -m "$f" --ids-file "$W/deep.json" -o "$W/x.npy"
expect_error "a tokenize line nested 300,000 deep" "deep.json:1: not JSON .or nested deeper than 256" "$FRUGAL" tokenize -m "$f" --file "$W/deep.json"
expect_error "over-long prompt" "exceeds the context" "$FRUGAL" run -m "$f" -p "hello hello hello hello" -c 4 -n 8

finish
