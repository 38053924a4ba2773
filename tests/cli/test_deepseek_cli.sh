# The DeepSeek models through the command line: the KV cache holds only the MLA latent
# (inspect and bench report n_layer * (kv_lora_rank + rope) fp32 values per token, computed
# here from the file's metadata), MTP speculative decoding gives the same text as plain
# decoding, and bench reports its acceptance and speed-up; FP8 Hugging Face folders run,
# convert, and fail cleanly when broken.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"
GG=$SRC/tests/data/golden/gguf

# Latent size from the GGUF keys, read by a few lines of independent Python.
latent_bytes() {
  $PY - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'rb'); d = f.read(); o = 8
n_t, n_kv = struct.unpack_from('<QQ', d, o); o += 16
def s(o):
    n, = struct.unpack_from('<Q', d, o); return d[o+8:o+8+n].decode(), o + 8 + n
sizes = {0:1,1:1,2:2,3:2,4:4,5:4,6:4,7:1,10:8,11:8,12:8}
fmt = {4:'<I',5:'<i',10:'<Q',11:'<q',0:'<B',7:'<B'}
def val(t, o):
    if t == 8: return s(o)
    if t == 9:
        et, n = struct.unpack_from('<IQ', d, o); o += 12; out = []
        for _ in range(n): v, o = val(et, o); out.append(v)
        return out, o
    v = struct.unpack_from(fmt.get(t, '<f' if t == 6 else '<d'), d, o)[0]; return v, o + sizes[t]
kv = {}
for _ in range(n_kv):
    k, o = s(o); t, = struct.unpack_from('<I', d, o); o += 4; v, o = val(t, o); kv[k] = v
a = 'deepseek2.'
trunk = kv[a + 'block_count'] - kv.get(a + 'nextn_predict_layers', 0)
# The default cache type: f32 (4 bytes) for float weights, f16 (2) for quantized ones.
print(trunk * (kv[a + 'attention.kv_lora_rank'] + kv[a + 'rope.dimension_count']) * (2 if 'q8_0' in sys.argv[1] else 4))
PY
}

for m in v3-mini-f32 v2lite-mini-q8_0; do
  want=$(latent_bytes "$GG/$m.gguf")
  check "inspect $m: KV cache = latent only ($want bytes/token)" bash -c "'$FRUGAL' inspect '$GG/$m.gguf' | grep -q 'KV cache: $want bytes per token'"
  check "bench $m: kv_bytes_per_token = $want (the default cache type)" bash -c "'$FRUGAL' bench -m '$GG/$m.gguf' -p 8 -n 4 -r 1 --membw-mb 0 --json | $PY -c 'import json,sys; assert json.load(sys.stdin)[\"kv_bytes_per_token\"] == $want'"
done
want=$(( $(latent_bytes "$GG/v3-mini-f32.gguf") / 2 ))
check "bench --cache-type bf16: kv_bytes_per_token = $want" bash -c "'$FRUGAL' bench -m '$GG/v3-mini-f32.gguf' --cache-type bf16 -p 8 -n 4 -r 1 --membw-mb 0 --json | $PY -c 'import json,sys; assert json.load(sys.stdin)[\"kv_bytes_per_token\"] == $want'"
expect_error "q8_0 cache on 16-wide heads" "not a multiple of that" "$FRUGAL" bench -m "$GG/v3-mini-f32.gguf" --cache-type q8_0 -p 8 -n 4 -r 1 --membw-mb 0
expect_error "unknown cache type" "unknown type 'q4_k'" "$FRUGAL" bench -m "$GG/v3-mini-f32.gguf" --cache-type q4_k -p 8 -n 4

for temp in 0 0.8; do
  a=$("$FRUGAL" run -m "$GG/v3-mini-q8_0.gguf" -p "The capital of" -n 60 --temp $temp --seed 3 2>/dev/null)
  b=$("$FRUGAL" run -m "$GG/v3-mini-q8_0.gguf" -p "The capital of" -n 60 --temp $temp --seed 3 --mtp 2>"$W/err")
  check "run --mtp (temp $temp) prints the same text" test "$a" = "$b"
  check "run --mtp reports acceptance" grep -qE 'mtp: [0-9]+ drafted, [0-9]+ accepted' "$W/err"
done
check "bench --mtp reports acceptance and speed-up" bash -c "'$FRUGAL' bench -m '$GG/v3-mini-f32.gguf' -p 8 -n 16 -r 1 --mtp --membw-mb 0 --json | $PY -c 'import json,sys; j=json.load(sys.stdin); assert 0 <= j[\"mtp_acceptance\"] <= 1 and j[\"mtp_speedup\"] > 0'"
check "run --mtp on a model without MTP says so" bash -c "'$FRUGAL' run -m '$GG/v2lite-mini-f32.gguf' -p hi -n 2 --mtp 2>&1 >/dev/null | grep -q 'no MTP module'"

# Hugging Face folders as DeepSeek releases them (FP8 + 128x128 scales, sharded with an index):
# they run, convert to GGUF with the same logits, and broken ones fail with one clear message.
H=$W/v3t-fp8
check "make-test-model deepseek-v3-tiny --format hf --type FP8 --shards 2" \
  "$FRUGAL" make-test-model --preset deepseek-v3-tiny --format hf --type FP8 --shards 2 -o "$H"
check "run an FP8 folder (with the random-weights note)" bash -c "'$FRUGAL' run -m '$H' -p 'Hello' -n 8 --temp 0 2>&1 >/dev/null | grep -q 'random weights'"
"$FRUGAL" logits -m "$H" --load-as F32 --ids 0,5,9,200,33,7,400,2 -o "$W/hf.npy" 2>/dev/null
"$FRUGAL" convert "$H" -o "$W/conv.gguf" --type F32 2>/dev/null
"$FRUGAL" logits -m "$W/conv.gguf" --ids 0,5,9,200,33,7,400,2 -o "$W/gguf.npy" --mode decode 2>/dev/null
check "FP8 folder (--load-as F32) == its F32 GGUF conversion" bash -c "$PY $SRC/tests/data/golden/compare_logits.py $W/gguf.npy $W/hf.npy >$W/cmp || { cat $W/cmp; false; }"
cp -r "$H" "$W/noshard"; rm "$W/noshard/model-00002-of-00002.safetensors"
expect_error "missing shard names the shard" "model-00002-of-00002.safetensors" "$FRUGAL" run -m "$W/noshard" -p hi -n 1
cp -r "$H" "$W/badtype"; sed -i 's/"deepseek_v3"/"deepseek_v9"/; s/DeepseekV3ForCausalLM/DeepseekV9ForCausalLM/' "$W/badtype/config.json"
expect_error "unknown model_type is named" "deepseek_v9|DeepseekV9" "$FRUGAL" run -m "$W/badtype" -p hi -n 1
cp -r "$H" "$W/badjson"; echo '{"architectures": [' > "$W/badjson/config.json"
expect_error "malformed config.json is named" "config.json" "$FRUGAL" run -m "$W/badjson" -p hi -n 1
cp -r "$H" "$W/trunc"; f=$W/trunc/model-00001-of-00002.safetensors; head -c $(( $(stat -c %s "$f") / 2 )) "$f" > "$f.x"; mv "$f.x" "$f"
expect_error "truncated shard is named" "model-00001-of-00002.safetensors" "$FRUGAL" run -m "$W/trunc" -p hi -n 1
expect_error "--load-as with an unknown type" "--load-as|Q3_X" "$FRUGAL" run -m "$H" --load-as Q3_X -p hi -n 1

# --split auto on a MoE model splits its routed experts in whole routing groups (the tiny V3:
# 32 experts in 4 groups), the rest of the model on every rank.
check "inspect --split auto --ranks 2 on DeepSeek: experts, two groups each" bash -c "'$FRUGAL' inspect '$H' --split auto --ranks 2 >'$W/plan' && grep -q 'experts over 2 ranks' '$W/plan' && grep -q '0-15 (groups 0-1)' '$W/plan' && grep -q '16-31 (groups 2-3)' '$W/plan' || { cat '$W/plan'; false; }"

finish
