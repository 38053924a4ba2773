#!/usr/bin/env bash
# The README's dense-model benchmark: R1-Distill-Qwen-1.5B-shaped random-weight files at F16,
# Q8_0 and Q4_K_M, `frugal bench` with 2 threads, printed as a Markdown table with generation
# as a fraction of the bandwidth roofline measured in the same run and the ratio to the
# llama.cpp figures the issue measured on this machine (llama.cpp b10573, -t 2).
# Usage: bench/run_dense.sh [BUILD_DIR] [MODEL_DIR]   (files are made once, ~6.5 GB in all)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; M=${2:-models}
mkdir -p "$M"
declare -A LLAMA_PP=([F16]=42 [Q8_0]=22 [Q4_K_M]=44) LLAMA_TG=([F16]=5.2 [Q8_0]=8.1 [Q4_K_M]=9.7)
echo "| file (R1-Distill-Qwen-1.5B shape) | pp512 t/s | vs llama.cpp | tg128 t/s | vs llama.cpp | roofline t/s | tg / roofline |"
echo "|---|---|---|---|---|---|---|"
for t in F16 Q8_0 Q4_K_M; do
  f=$M/r1-distill-qwen-1.5b-$t.gguf
  [ -f "$f" ] || "$B/frugal" make-test-model --preset r1-distill-qwen-1.5b --type $t -o "$f" >&2
  j=$("$B/frugal" bench -m "$f" -p 512 -n 128 -r ${REPS:-3} -t 2 --json)
  python3 - "$t" "$j" "${LLAMA_PP[$t]}" "${LLAMA_TG[$t]}" <<'PY'
import json, sys
t, j, lpp, ltg = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"| {t} ({j['file_bytes']/1e9:.2f} GB) | {j['pp_tok_s']:.1f} | {j['pp_tok_s']/lpp:.2f}x | {j['tg_tok_s']:.2f} | "
      f"{j['tg_tok_s']/ltg:.2f}x | {j['roofline_tok_s']:.2f} ({j['membw_gb_s']:.1f} GB/s) | {j['roofline_frac']*100:.0f}% |")
PY
done
