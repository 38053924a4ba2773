# Golden logits of the qwen2-mini model (tests/data/golden): F32, Q8_0 and Q4_K_M GGUFs,
# prefill and decode, against llama.cpp and the fp32 reference.
source "$(dirname "$0")/lib.sh"
CACHE_TYPES="f16 bf16"  # its 16-wide heads cannot hold q8_0's 32-value blocks
golden_check qwen2-mini "$G/sequences/sequences_qwen3-512.json"
