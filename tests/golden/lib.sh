# Shared by the golden-logit tests. Usage from a test: source lib.sh; golden_check MODEL SEQFILE
# Compares `frugal logits` (prefill and token-by-token decode) with the independent references
# in tests/data/golden, with the tolerances that tests/data/golden/README.md gives.
#
# fp32 paths are checked per sequence with the strict limits (max abs 1e-4). Quantized paths
# are checked on the three sequences pooled (208 positions): their limits are rates (top-1
# agreement >= 0.99, mean KL), and one sequence of 8 or 40 positions cannot measure a 1% rate
# (a single near-tie flip is 2.5% of 40).
set -euo pipefail
FRUGAL=$1; SRC=$2; BUILD=$3
G=$SRC/tests/data/golden
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || PY=python3
$PY -c 'import numpy' || { echo "numpy missing: run scripts/install-deps.sh"; exit 1; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
FAILS=0; PASSES=0

compare() {  # compare NAME ENGINE.npy REF.npy [flags...]
  local name=$1 eng=$2 ref=$3; shift 3
  if out=$($PY "$G/compare_logits.py" "$eng" "$ref" "$@" 2>&1); then
    PASSES=$((PASSES + 1)); echo "ok   $name: $(echo "$out" | grep -E 'max_abs |rms_rel|top1_agree|kl_mean' | tr -s ' ' | tr '\n' ' ')"
  else
    FAILS=$((FAILS + 1)); echo "FAIL $name"; echo "$out" | sed 's/^/     /'
  fi
}

source "$SRC/tests/golden/limits.sh"

golden_check() {  # golden_check MODEL SEQFILE
  local model=$1 seqs=$2 seq mode
  local refs=() q8=() q8l=() q4=() q4l=()
  for seq in short medium long; do
    $PY -c "import json,sys; print(json.dumps(json.load(open('$seqs'))['sequences']['$seq']['ids']))" > "$WORK/$seq.json"
    local ref=$G/logits/$model/$seq.llama-f32.npy
    refs+=("$ref"); q8l+=("$G/logits/$model/$seq.llama-q8_0.npy"); q4l+=("$G/logits/$model/$seq.llama-q4_k_m.npy")
    for mode in prefill decode; do
      "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/f32.npy" --mode $mode 2>/dev/null
      compare "$model f32 $seq $mode vs llama.cpp f32" "$WORK/f32.npy" "$ref"
    done
    for ct in ${CACHE_TYPES:-f16 bf16 q8_0}; do
      local lim=CACHE_${ct^^}
      "$FRUGAL" logits -m "$G/gguf/$model-f32.gguf" --cache-type $ct --ids-file "$WORK/$seq.json" -o "$WORK/ct.npy" --mode decode 2>/dev/null
      compare "$model f32 $seq decode, --cache-type $ct vs llama.cpp f32" "$WORK/ct.npy" "$ref" ${!lim}
    done
    "$FRUGAL" logits -m "$G/gguf/$model-q8_0.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/q8-$seq.npy" 2>/dev/null
    "$FRUGAL" logits -m "$G/gguf/$model-q4_k_m.gguf" --ids-file "$WORK/$seq.json" -o "$WORK/q4-$seq.npy" --mode decode 2>/dev/null
    q8+=("$WORK/q8-$seq.npy"); q4+=("$WORK/q4-$seq.npy")
  done
  pool "$WORK/ref.npy" "${refs[@]}"; pool "$WORK/q8l.npy" "${q8l[@]}"; pool "$WORK/q4l.npy" "${q4l[@]}"
  pool "$WORK/q8.npy" "${q8[@]}"; pool "$WORK/q4.npy" "${q4[@]}"
  compare "$model q8_0 prefill vs llama.cpp q8_0" "$WORK/q8.npy" "$WORK/q8l.npy" $Q8_LLAMA
  compare "$model q8_0 prefill vs f32 reference" "$WORK/q8.npy" "$WORK/ref.npy" $Q8_REF
  compare "$model q4_k_m decode vs llama.cpp q4_k_m" "$WORK/q4.npy" "$WORK/q4l.npy" $Q4_LLAMA
  compare "$model q4_k_m decode vs f32 reference (sanity)" "$WORK/q4.npy" "$WORK/ref.npy" $Q4_REF
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
