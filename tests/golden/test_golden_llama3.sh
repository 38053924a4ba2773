# Golden logits of the llama3-mini model (tests/data/golden): F32, Q8_0 and Q4_K_M GGUFs,
# prefill and decode, against llama.cpp and the fp32 reference.
source "$(dirname "$0")/lib.sh"
golden_check llama3-mini "$G/sequences/sequences_llama3-512.json"
