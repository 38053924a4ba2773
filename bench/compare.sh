#!/usr/bin/env bash
# frugal against llama.cpp-family peers on the same GGUF files, in one run: same threads, same
# test sizes, runs alternating between the engines for several rounds (the speed of a shared
# machine drifts from minute to minute, so only figures taken side by side compare), then a
# Markdown table of medians (min-max) and ratios, the bandwidth probe at the start and the end,
# and generation as a fraction of the bandwidth roofline for every engine.
#
# Usage: bench/compare.sh [-p 512] [-n 128] [-r ROUNDS] [-d DEPTH] [-t 2] [-o OUT_DIR] FILE.gguf...
# Peers come from the environment; one whose variable is unset is skipped with a note:
#   LLAMA_BENCH=/path/to/llama.cpp/llama-bench      LLAMA_LABEL="llama.cpp b10573"
#   IK_LLAMA_BENCH=/path/to/ik_llama.cpp/llama-bench IK_LLAMA_LABEL="ik_llama.cpp 8337e4c"
#   LLAMA_BENCH_ARGS / IK_LLAMA_BENCH_ARGS: extra llama-bench flags (default: none, its defaults)
#   FRUGAL=build/frugal
# Timed work must not overlap other heavy jobs: run it under the machine's lock, e.g.
#   flock /tmp/frugal-cpu.lock bench/compare.sh FILES...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
P=512 N=128 R=3 D=0 T=2 OUT=
while getopts "p:n:r:d:t:o:" opt; do
  case $opt in
    p) P=$OPTARG ;; n) N=$OPTARG ;; r) R=$OPTARG ;; d) D=$OPTARG ;; t) T=$OPTARG ;; o) OUT=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
FRUGAL=${FRUGAL:-$here/../build/frugal}
[ -x "$FRUGAL" ] || { echo "compare.sh: no frugal binary at $FRUGAL (set FRUGAL)" >&2; exit 1; }
for f in "$@"; do [ -f "$f" ] || { echo "compare.sh: no such file: $f" >&2; exit 1; }; done
OUT=${OUT:-$(mktemp -d /tmp/frugal-compare.XXXXXX)}
mkdir -p "$OUT"

# name|binary|extra args
peers=()
add_peer() {  # label, binary variable name, args
  local label=$1 var=$2 args=$3
  if [ -z "${!var:-}" ]; then
    echo "note: $var is not set: $label skipped" >&2
  elif [ ! -x "${!var}" ]; then
    echo "compare.sh: $var=${!var} is not an executable" >&2; exit 1
  else
    peers+=("$label|${!var}|$args")
  fi
}
add_peer "${LLAMA_LABEL:-llama.cpp}" LLAMA_BENCH "${LLAMA_BENCH_ARGS:-}"
add_peer "${IK_LLAMA_LABEL:-ik_llama.cpp}" IK_LLAMA_BENCH "${IK_LLAMA_BENCH_ARGS:-}"

probe() {  # where
  "$FRUGAL" bench --membw -t "$T" --json >"$OUT/membw-$1.json"
}
# -d only when asked for: ik_llama.cpp's llama-bench has no -d.
depth=(); [ "$D" = 0 ] || depth=(-d "$D")
run_frugal() {  # file, round, index
  # No in-run probe: the whole comparison is bracketed by one at its start and end.
  "$FRUGAL" bench -m "$1" -p "$P" -n "$N" -r 1 -t "$T" "${depth[@]}" --membw-mb 0 --json \
    >"$OUT/frugal.$3.$2.json" 2>"$OUT/frugal.$3.$2.err" || { cat "$OUT/frugal.$3.$2.err" >&2; exit 1; }
}
run_peer() {  # peer index, file, round, file index
  local label bin args
  IFS='|' read -r label bin args <<<"${peers[$1]}"
  # shellcheck disable=SC2086  # args are flags, split on purpose
  "$bin" -m "$2" -p "$P" -n "$N" "${depth[@]}" -t "$T" -r 1 -o json $args \
    >"$OUT/peer$1.$4.$3.json" 2>"$OUT/peer$1.$4.$3.err" || { tail -5 "$OUT/peer$1.$4.$3.err" >&2; exit 1; }
}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), family $(lscpu | sed -n 's/^CPU family: *//p') model $(lscpu | sed -n 's/^Model: *//p'), $(nproc) CPUs; $(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | paste -sd' ')"
  echo "frugal: $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown)"
  for i in "${!peers[@]}"; do IFS='|' read -r label bin args <<<"${peers[$i]}"; echo "peer $i: $label ($bin $args)"; done
  echo "threads $T, pp$P, tg$N, depth $D, $R rounds"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt" >&2

probe start
for ((r = 0; r < R; ++r)); do
  fi=0
  for f in "$@"; do
    echo "round $((r + 1))/$R: $(basename "$f")" >&2
    # Every other round the peers go first, so a drift within a round favours no engine.
    if ((r % 2 == 0)); then
      run_frugal "$f" $r $fi
      for i in "${!peers[@]}"; do run_peer $i "$f" $r $fi; done
    else
      for i in "${!peers[@]}"; do run_peer $i "$f" $r $fi; done
      run_frugal "$f" $r $fi
    fi
    fi=$((fi + 1))
  done
done
probe end
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

labels=(); for p in "${peers[@]}"; do labels+=("${p%%|*}"); done
python3 "$here/compare_table.py" "$OUT" "$R" "$P" "$N" "$D" "${#peers[@]}" "${labels[@]}" -- "$@"
echo "raw results: $OUT" >&2
