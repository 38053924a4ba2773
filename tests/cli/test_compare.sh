# bench/compare.sh's bookkeeping with stand-in engines whose speeds are known: the alternation
# of who runs first, the flags each engine gets, medians, ranges, ratios of medians with the
# range of per-round ratios, the roofline at the higher probe reading, skipped peers.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"

# Round k of frugal: pp 100/120/90, tg 30/33/27; of the peer: pp 50/60/40, tg 20/30/10.
# The probe reads 40 GB/s at the start and 50 at the end; a token reads 1 GB of weights.
cat >"$W/frugal" <<'EOF'
#!/usr/bin/env bash
d=$(dirname "$0")
if [[ " $* " == *" --membw "* ]]; then
  n=$(cat "$d/probes" 2>/dev/null || echo 0); echo $((n + 1)) >"$d/probes"
  echo "{\"read_gb_s\": $((40 + 10 * n)), \"copy_gb_s\": 35, \"triad_gb_s\": 36, \"threads\": 2, \"buffer_bytes\": 1073741824}"
  exit 0
fi
echo "frugal $*" >>"$d/calls"
k=$(grep -c '^frugal' "$d/calls"); k=$((k - 1))
pp=(100 120 90); tg=(30 33 27)
echo "{\"pp_tok_s\": ${pp[$k]}, \"tg_tok_s\": ${tg[$k]}, \"weight_bytes_per_token\": 1e9}"
EOF
cat >"$W/peer" <<'EOF'
#!/usr/bin/env bash
d=$(dirname "$0")
echo "peer $*" >>"$d/calls"
k=$(grep -c '^peer' "$d/calls"); k=$((k - 1))
pp=(50 60 40); tg=(20 30 10)
echo "[{\"n_prompt\": 512, \"n_gen\": 0, \"n_depth\": 0, \"avg_ts\": ${pp[$k]}},"
echo " {\"n_prompt\": 0, \"n_gen\": 128, \"n_depth\": 0, \"avg_ts\": ${tg[$k]}}]"
EOF
chmod +x "$W/frugal" "$W/peer"
touch "$W/m.gguf"

FRUGAL="$W/frugal" LLAMA_BENCH="$W/peer" LLAMA_LABEL=peer IK_LLAMA_BENCH= \
  bash "$SRC/bench/compare.sh" -o "$W/out" "$W/m.gguf" >"$W/table" 2>"$W/err"
check "compare.sh runs" test $? -eq 0
check "rounds alternate who goes first" test "$(cut -d' ' -f1 "$W/calls" | paste -sd' ')" = "frugal peer peer frugal frugal peer"
check "frugal gets the sizes, threads, one repetition" grep -q -- "^frugal bench -m $W/m.gguf -p 512 -n 128 -r 1 -t 2 " "$W/calls"
check "the peer gets the same" grep -q -- "^peer -m $W/m.gguf -p 512 -n 128 -t 2 -r 1 -o json" "$W/calls"
check "pp: medians, ranges, ratio of medians and per-round range" \
  grep -qF "| pp512 | 100.00 (90.00–120.00) | 50.00 (40.00–60.00) | 2.00x (2.00–2.25) |" "$W/table"
check "tg: medians, ranges, ratio of medians and per-round range" \
  grep -qF "| tg128 | 30.00 (27.00–33.00) | 20.00 (10.00–30.00) | 1.50x (1.10–2.70) |" "$W/table"
check "probe at the start and the end" bash -c "grep -qF '| start | 40.0 | 35.0 | 36.0 |' '$W/table' && grep -qF '| end | 50.0 |' '$W/table'"
check "roofline at the higher read figure, for both engines" \
  grep -qF "| m.gguf | 1.000 GB | 50.00 t/s | 60% | 40% |" "$W/table"
check "an unset peer is skipped with a note" grep -q "IK_LLAMA_BENCH is not set" "$W/err"

printf '#!/bin/sh\necho broken >&2; exit 3\n' >"$W/broken"; chmod +x "$W/broken"; rm -f "$W/calls" "$W/probes"
FRUGAL="$W/frugal" LLAMA_BENCH="$W/broken" bash "$SRC/bench/compare.sh" -r 1 "$W/m.gguf" >/dev/null 2>"$W/err2"
check "a failing peer stops the comparison" test $? -ne 0
check "... and says why" grep -q broken "$W/err2"
finish
