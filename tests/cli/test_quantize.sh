# frugal quantize: the golden F32 models quantized by frugal run within the tolerances that
# tests/data/golden/README.md gives for llama.cpp-made files (logits pooled over the three
# golden sequences, as tests/golden does), the summary it prints, and bad input: one clear
# error, exit 1.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"
compare() {  # NAME ENGINE.npy REF.npy FLAGS...
  local name=$1 eng=$2 ref=$3; shift 3
  if out=$($PY "$G/compare_logits.py" "$eng" "$ref" "$@" 2>&1); then
    ok "$name: $(echo "$out" | grep -E 'rms_rel|kl_mean' | tr -s ' ' | tr '\n' ' ')"
  else
    bad "$name"; echo "$out" | sed 's/^/     /'
  fi
}
source "$SRC/tests/golden/limits.sh"

# logits_pooled MODEL.gguf SEQFILE OUT.npy: frugal's logits for short+medium+long, pooled.
logits_pooled() {
  local m=$1 seqs=$2 out=$3 parts=() seq
  for seq in short medium long; do
    $PY -c "import json,sys; print(json.dumps(json.load(open('$seqs'))['sequences']['$seq']['ids']))" >"$W/$seq.json"
    "$FRUGAL" logits -m "$m" --ids-file "$W/$seq.json" -o "$W/part-$seq.npy" 2>/dev/null || return 1
    parts+=("$W/part-$seq.npy")
  done
  pool "$out" "${parts[@]}"
}
ref_pooled() {  # MODEL KIND OUT.npy: the golden logits of llama.cpp (KIND = f32, q8_0, q4_k_m)
  pool "$3" "$G/logits/$1/short.llama-$2.npy" "$G/logits/$1/medium.llama-$2.npy" "$G/logits/$1/long.llama-$2.npy"
}

for spec in qwen3-mini:qwen3 llama3-mini:llama3 qwen2-mini:qwen3; do
  model=${spec%%:*}; seqs=$G/sequences/sequences_${spec##*:}-512.json
  ref_pooled "$model" f32 "$W/ref.npy"
  ref_pooled "$model" q8_0 "$W/ref-q8.npy"
  for type in Q8_0 Q4_K_M; do
    q=$W/$model-$type.gguf
    if ! "$FRUGAL" quantize "$G/gguf/$model-f32.gguf" "$q" $type >"$W/summary" 2>"$W/err"; then
      bad "quantize $model $type: $(head -c 400 "$W/err")"; continue
    fi
    check "summary $model $type" grep -qE "^total .* 32.00 -> [0-9.]+ bits/weight" "$W/summary"
    if ! logits_pooled "$q" "$seqs" "$W/eng.npy"; then bad "logits on $model $type"; continue; fi
    if [ $type = Q8_0 ]; then
      compare "$model Q8_0 by frugal vs f32 reference" "$W/eng.npy" "$W/ref.npy" $Q8_REF
      compare "$model Q8_0 by frugal vs llama.cpp on its Q8_0" "$W/eng.npy" "$W/ref-q8.npy" $Q8_LLAMA
    else
      compare "$model Q4_K_M by frugal vs f32 reference (sanity)" "$W/eng.npy" "$W/ref.npy" $Q4_REF
      # 64-wide rows make these Q5_0/Q8_0, whose encoders agree with ggml's to one step, so the
      # file is llama.cpp's. llama3-mini's are real K-quants, which frugal's encoder rounds
      # differently (as accurate against F32: about 20% rms either way, but not the same file).
      if [ $model != llama3-mini ]; then
        ref_pooled "$model" q4_k_m "$W/ref-q4.npy"
        compare "$model Q4_K_M by frugal vs llama.cpp on its Q4_K_M" "$W/eng.npy" "$W/ref-q4.npy" $Q4_LLAMA
      fi
    fi
  done
done

# DeepSeek: the
# file is written with llama.cpp's types even before frugal can run deepseek2.
"$FRUGAL" quantize "$G/gguf/v3-mini-f32.gguf" "$W/v3.gguf" Q8_0 >"$W/summary" 2>/dev/null
check "v3-mini Q8_0: 62 Q8_0 + 32 F32 tensors, as llama-quantize" bash -c \
  "grep -qE '^Q8_0 +62 ' '$W/summary' && grep -qE '^F32 +32 ' '$W/summary'"
check "v3-mini Q8_0 is readable" bash -c "'$FRUGAL' inspect '$W/v3.gguf' | grep -qE 'general.file_type +7'"
# make-test-model and quantize share the type policy and the encoders: quantizing the F32 file
# of a preset gives the preset's own Q4_K_M tensors, byte for byte (3-D experts, K-quants).
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type F32 -o "$W/t-f32.gguf" 2>/dev/null
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type Q4_K_M -o "$W/t-q4.gguf" 2>/dev/null
"$FRUGAL" quantize "$W/t-f32.gguf" "$W/t-q4-quantized.gguf" Q4_K_M >/dev/null 2>&1
check "deepseek-v3-tiny: quantize F32 -> Q4_K_M = make-test-model Q4_K_M" $PY - "$W/t-q4.gguf" "$W/t-q4-quantized.gguf" <<'PYEOF'
import struct, sys
def tensors(path):  # name -> (type, ne, data bytes); data runs to the next tensor (aligned) or the end
    b = open(path, 'rb').read(); p = 8
    nt, nkv = struct.unpack_from('<QQ', b, p); p += 16
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def skip(t):
        nonlocal p
        if t == 8: p += 8 + struct.unpack_from('<Q', b, p)[0]
        elif t == 9:
            et, n = struct.unpack_from('<IQ', b, p); p += 12
            for _ in range(n): skip(et)
        else: p += sizes[t]
    for _ in range(nkv):
        p += 8 + struct.unpack_from('<Q', b, p)[0]; t = struct.unpack_from('<I', b, p)[0]; p += 4; skip(t)
    info = []
    for _ in range(nt):
        n = struct.unpack_from('<Q', b, p)[0]; name = b[p + 8:p + 8 + n].decode(); p += 8 + n
        nd = struct.unpack_from('<I', b, p)[0]; ne = struct.unpack_from('<%dQ' % nd, b, p + 4); p += 4 + 8 * nd
        t, off = struct.unpack_from('<IQ', b, p); p += 12; info.append((name, t, ne, off))
    d0 = (p + 31) // 32 * 32
    ends = [o for _, _, _, o in info[1:]] + [len(b) - d0]
    return {name: (t, ne, b[d0 + off:d0 + end]) for (name, t, ne, off), end in zip(info, ends)}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys()
diff = [n for n in a if a[n] != b[n]]
assert not diff, diff[:5]
PYEOF
# A quantized source is decoded and re-encoded (here back to F32).
"$FRUGAL" quantize "$W/qwen3-mini-Q8_0.gguf" "$W/back.gguf" F32 >/dev/null 2>&1
ref_pooled qwen3-mini f32 "$W/ref.npy"
logits_pooled "$W/back.gguf" "$G/sequences/sequences_qwen3-512.json" "$W/back.npy" &&
  compare "qwen3-mini Q8_0 -> F32 vs f32 reference" "$W/back.npy" "$W/ref.npy" $Q8_REF 2>/dev/null ||
  bad "qwen3-mini Q8_0 -> F32"

# Bad input.
f=$G/gguf/qwen3-mini-f32.gguf
expect_error "no arguments" "usage: frugal quantize" "$FRUGAL" quantize
expect_error "two arguments" "usage: frugal quantize" "$FRUGAL" quantize "$f" "$W/x.gguf"
expect_error "unknown type" "unknown type 'Q3_K': expected one of .*Q4_K_M" "$FRUGAL" quantize "$f" "$W/x.gguf" Q3_K
expect_error "unknown option" "unknown option --bogus" "$FRUGAL" quantize "$f" "$W/x.gguf" Q8_0 --bogus 1
expect_error "missing input" "nope.gguf: cannot open" "$FRUGAL" quantize "$W/nope.gguf" "$W/x.gguf" Q8_0
head -c 5000 /dev/urandom >"$W/random.gguf"
expect_error "not a GGUF file" "random.gguf" "$FRUGAL" quantize "$W/random.gguf" "$W/x.gguf" Q8_0
expect_error "unwritable output" "nodir/x.gguf.tmp: cannot create" "$FRUGAL" quantize "$f" "$W/nodir/x.gguf" Q8_0
cp "$f" "$W/self.gguf"
expect_error "output is the input" "overwrite the input" "$FRUGAL" quantize "$W/self.gguf" "$W/self.gguf" Q8_0
check "no partial output left behind" test ! -e "$W/x.gguf" -a ! -e "$W/x.gguf.tmp"

finish
