# Golden logits of the DeepSeek models (tests/data/golden: v3-mini with q compression, sigmoid
# routing with expert bias, groups and an MTP layer; v2lite-mini with plain q, softmax routing):
# F32 GGUF against DeepSeek's official inference code with the fp32 limits, through both MLA
# paths (absorb, naive), token-by-token decode and chunked prefill at non-zero start
# positions; the Hugging Face folders (BF16 safetensors, attn_kv_b layout) the same way; Q8_0
# within the quantized limits, pooled over the 3 sequences as in lib.sh.
source "$(dirname "$0")/lib.sh"
SEQS=$G/sequences/sequences_deepseek_v3-512.json
for model in v3-mini v2lite-mini; do
  refs=(); q8=(); q8l=()
  for seq in short medium long; do
    $PY -c "import json; print(json.dumps(json.load(open('$SEQS'))['sequences']['$seq']['ids']))" > "$WORK/$seq.json"
    ref=$G/logits/$model/$seq.official.npy
    refs+=("$ref")
    for path in absorb naive; do
      FRUGAL_MLA=$path "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/o.npy" 2>/dev/null
      compare "$model f32 $seq prefill ($path) vs official" "$WORK/o.npy" "$ref"
    done
    "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/o.npy" --mode decode 2>/dev/null
    compare "$model f32 $seq decode vs official" "$WORK/o.npy" "$ref"
    for path in absorb naive; do
      FRUGAL_MLA=$path "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/o.npy" --chunk 3 2>/dev/null
      compare "$model f32 $seq prefill in chunks of 3 ($path) vs official" "$WORK/o.npy" "$ref"
    done
    for path in absorb naive; do
      FRUGAL_MLA=$path "$FRUGAL" logits -m "$G/models/$model" --ids-file "$WORK/$seq.json" -o "$WORK/o.npy" 2>/dev/null
      compare "$model HF folder $seq prefill ($path) vs official" "$WORK/o.npy" "$ref"
    done
    "$FRUGAL" logits -m "$G/models/$model" --ids-file "$WORK/$seq.json" -o "$WORK/o.npy" --mode decode 2>/dev/null
    compare "$model HF folder $seq decode vs official" "$WORK/o.npy" "$ref"
    "$FRUGAL" logits -m "$G/gguf/$model-q8_0.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/q8-$seq.npy" 2>/dev/null
    q8+=("$WORK/q8-$seq.npy")
    q8l+=("$G/logits/$model/$seq.llama-q8_0.npy")
  done
  # The attn_kv_b layout quantized (HF folder loaded as Q8_0): W_UK is transposed from Q8_0 rows.
  "$FRUGAL" logits -m "$G/models/$model" --load-as Q8_0 --ids-file "$WORK/long.json" -o "$WORK/hfq8.npy" 2>/dev/null
  compare "$model HF folder --load-as Q8_0 long vs official" "$WORK/hfq8.npy" "$G/logits/$model/long.official.npy" $Q8_REF
  pool "$WORK/ref.npy" "${refs[@]}"; pool "$WORK/q8.npy" "${q8[@]}"
  compare "$model q8_0 prefill vs official" "$WORK/q8.npy" "$WORK/ref.npy" $Q8_REF
  # The latent cached in f16 / bf16 (absorb: attention reads the cached rows; naive: it
  # decompresses them), decode so that every token reads the cache.
  for ct in f16 bf16; do  # (not q8_0: the minis' latent rows are not multiples of 32)
    lim=CACHE_${ct^^}
    for path in absorb naive; do
      FRUGAL_MLA=$path "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --cache-type $ct --ids-file "$WORK/long.json" -o "$WORK/ct.npy" --mode decode 2>/dev/null
      compare "$model f32 long decode, --cache-type $ct ($path) vs official" "$WORK/ct.npy" "$G/logits/$model/long.official.npy" ${!lim}
    done
  done
  if [ -f "${q8l[0]}" ]; then  # v2lite-mini's llama.cpp Q8_0 logits are not shipped (size)
    pool "$WORK/q8l.npy" "${q8l[@]}"
    compare "$model q8_0 prefill vs llama.cpp q8_0" "$WORK/q8.npy" "$WORK/q8l.npy" $Q8_LLAMA
  fi
done
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
