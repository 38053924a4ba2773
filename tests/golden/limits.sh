# The limits tests/data/golden/README.md gives for quantized logits, and pooling of logits
# over the golden sequences: shared by tests/golden/lib.sh and tests/cli/test_quantize.sh.
# Sourced after PY (a numpy-capable python) is set; defines nothing else.
Q8_LLAMA="--no-max-abs --rms-rel 0.05 --kl-mean 3e-3 --top1-min 0.99 --tie-gap 0.25"
Q8_REF="--no-max-abs --rms-rel 0.06 --kl-mean 6e-3 --top1-min 0.99 --tie-gap 0.25"
Q4_LLAMA="--no-max-abs --rms-rel 0.05 --kl-mean 4e-3 --top1-min 0.99 --tie-gap 0.25"
Q4_REF="--no-max-abs --rms-rel 0.4 --kl-mean 0.4 --top1-min 0 --tie-gap 0"
# KV cache types (--cache-type) on the F32 models against the fp32 references: the cache's
# rounding is the only new error (measured: f16 rms_rel 2e-4, bf16 1.8e-3 on v3-mini long).
CACHE_F16="--no-max-abs --rms-rel 1e-3 --kl-mean 1e-5 --top1-min 0.99 --tie-gap 0.05"
CACHE_BF16="--no-max-abs --rms-rel 6e-3 --kl-mean 1e-4 --top1-min 0.99 --tie-gap 0.05"
# q8_0 also rounds the queries to Q8_0 (kernels/attention.h; measured on llama3-mini /
# qwen3-mini medium and long: rms_rel 0.0065-0.0135, kl_mean 8.6e-5-3.5e-4, every top-1
# mismatch at a reference gap below 0.07). Heads must be multiples of 32 (not qwen2-mini's
# 16, nor the MLA minis' latent rows of 32 + 16).
CACHE_Q8_0="--no-max-abs --rms-rel 0.03 --kl-mean 1e-3 --top1-min 0.99 --tie-gap 0.25"

pool() {  # pool OUT.npy IN.npy...: rows of all inputs, in order
  local out=$1; shift
  $PY -c "import numpy as np, sys; np.save(sys.argv[1], np.concatenate([np.load(f) for f in sys.argv[2:]]).astype(np.float32))" "$out" "$@"
}
