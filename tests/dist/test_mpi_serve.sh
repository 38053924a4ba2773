# `frugal serve` under mpirun with the pipeline and the expert split (2 ranks, TCP over
# loopback; the default model is a DeepSeekMoE): the same answers as a one-process server at
# temperature 0 (plain, streamed, n = 2), prefix-cache hits (through the mirrored block tables
# of a pipeline), a model unloaded and loaded again while the other rank keeps its part,
# SIGTERM to rank 0 shutting every rank down cleanly, and a rank killed mid-stream ending the
# job at once (the stream cut, the port closed) instead of hanging; under `mpirun
# --enable-recovery`, the server answering 503 after it instead.
# Registered only in builds with MPI.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
M=$SRC/models/frugal-r1-tiny.gguf
PY=/usr/bin/python3

# start NAME CMD...: runs CMD in the background (stdout in $W/NAME.out), waits for its port.
declare -A JOB
start() {
  local name=$1; shift
  ("$@" >"$W/$name.out" 2>"$W/$name.err"; echo $? >"$W/$name.rc") &
  JOB[$name]=$!
  for _ in $(seq 150); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$W/$name.out" 2>/dev/null | grep -o '[0-9]*$')
    [ -n "$port" ] && return 0
    [ -f "$W/$name.rc" ] && break
    sleep 0.2
  done
  echo "FAIL $name did not start: $(tail -5 "$W/$name.err")"; exit 1
}
rank_pid() {  # rank_pid QUEUE RANK: the server started with --max-queue QUEUE (a tag), that rank
  for p in $(pgrep -f "frugal serve .*--max-queue $1\$"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
  done
}
post() { curl -s -m 60 "http://127.0.0.1:$1/v1/chat/completions" -H 'Content-Type: application/json' -d "$2"; }
field() { $PY -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
stream_text() { $PY -c "
import json,sys
out={}
for l in sys.stdin:
    if l.startswith('data: ') and l.strip()!='data: [DONE]':
        for c in json.loads(l[6:]).get('choices',[]):
            d=c.get('delta',{}); out[c['index']]=out.get(c['index'],'')+(d.get('reasoning_content') or '')+'|'+(d.get('content') or '')
print(json.dumps(out,sort_keys=True))"; }

ARGS=(-m "$M" --port 0 -t 1 -c 1024 --max-seqs 4 --quiet --shutdown-grace 5)
start one "$FRUGAL" serve "${ARGS[@]}" --no-disk-cache --max-queue 61
P1=$port
# Log-probabilities too: the split computes exactly what one process does, so any difference
# (a KV block a rank did not have) shows in them before it changes a token.
Q='{"model":"frugal-r1-tiny","messages":[{"role":"user","content":"What is 38+45?"}],"max_tokens":48,"temperature":0,"logprobs":true,"top_logprobs":4}'
# The cold answer of one process (asked again, it would be a prefix-cache hit).
a=$(post $P1 "$Q" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'])")
# Requests at once: the engine keeps one group of sequences per stage in flight (while rank 1
# computes one group, rank 0 computes the next); each answer is what one process gives that
# request alone. Then a prompt longer than a pass, alone (so that it is cut in the same chunks
# as on one process): its chunks follow each other down the pipeline.
long=$($PY -c "print(' '.join(str(i) for i in range(200)))")
for i in 1 2 3 4 5; do
  if [ $i = 5 ]; then c="Sum these: $long"; else c="What is $i+$((i * 7))?"; fi
  echo "{\"model\":\"frugal-r1-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"$c\"}],\"max_tokens\":24,\"temperature\":0,\"logprobs\":true}" >"$W/q$i"
  post $P1 "$(cat "$W/q$i")" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'], d['usage']['prompt_tokens'])" >"$W/one$i"
done
# in_flight PORT RANKS: those requests against a pipeline server of RANKS ranks.
in_flight() {
  pids=()
  for i in 1 2 3 4; do
    (post $1 "$(cat "$W/q$i")" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'], d['usage']['prompt_tokens'])" >"$W/two$i") &
    pids+=($!)
  done
  wait "${pids[@]}"
  check "pipeline, $2 ranks: four requests at once: each answers as one process does alone, log-probabilities included" \
    bash -c 'for i in 1 2 3 4; do [ -s "$1/one$i" ] && cmp -s "$1/one$i" "$1/two$i" || exit 1; done' _ "$W"
  post $1 "$(cat "$W/q5")" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'], d['usage']['prompt_tokens'])" >"$W/two5"
  n=$($PY -c "import ast,sys; print(ast.literal_eval(open(sys.argv[1]).read())[2])" "$W/one5" 2>/dev/null)
  check "pipeline, $2 ranks: a $n-token prompt, chunks of 256 in flight together: the same answer" \
    bash -c '[ "${2:-0}" -gt 512 ] && [ -s "$1/one5" ] && cmp -s "$1/one5" "$1/two5"' _ "$W" "$n"
  curl -s "http://127.0.0.1:$1/metrics" >"$W/metrics"
  check "pipeline, $2 ranks: passes overlapped (/metrics frugal_split_overlapped_passes_total > 0)" \
    $PY -c "import sys; m={l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith('frugal_split_')}; assert m['frugal_split_overlapped_passes_total'] > 0, m" "$W/metrics"
}
for kind in pipeline experts; do
q=$([ $kind = pipeline ] && echo 62 || echo 64)
start split timeout 300 mpirun --oversubscribe --mca btl self,tcp -np 2 "$FRUGAL" serve "${ARGS[@]}" --cache-dir "$W/kv-$kind" --split $kind --max-queue $q
P2=$port

b=$(post $P2 "$Q" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'])")
check "$kind: temperature 0: the split server answers as one process does, log-probabilities included" \
  bash -c "[ -n \"\$1\" ] && [ \"\$1\" = \"\$2\" ]" _ "$a" "$b"
# A hit prefills only the rest of the prompt (other batch shapes, other rounding): it is
# compared with a hit on the one-process server.
r=$(post $P2 "$Q")
hit=$(echo "$r" | field "d['usage']['prompt_cache_hit_tokens']")
c=$(echo "$r" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'])")
a2=$(post $P1 "$Q" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'])")
check "$kind: a repeated prompt hits the prefix cache ($hit tokens) and gives what a hit gives one process" \
  bash -c "[ \"\${1:-0}\" -gt 0 ] && [ \"\$2\" = \"\$3\" ]" _ "$hit" "$a2" "$c"
S='{"model":"frugal-r1-tiny","messages":[{"role":"user","content":"What is 7*8?"}],"max_tokens":40,"temperature":0,"n":2,"stream":true}'
s1=$(post $P1 "$S" | stream_text); s2=$(post $P2 "$S" | stream_text)
check "$kind: streaming with n=2: the same two choices" bash -c "[ \"\$1\" = \"\$2\" ] && echo \"\$1\" | grep -q '\"1\"'" _ "$s1" "$s2"
[ $kind = pipeline ] && in_flight $P2 2
"$FRUGAL" unload frugal-r1-tiny --url "http://127.0.0.1:$P2" >/dev/null 2>&1; sleep 0.5
r=$(post $P2 "$Q")
c=$(echo "$r" | field "(d['choices'][0]['message'], d['choices'][0]['logprobs'])")
# The expert split keeps the prefix cache's disk tier (all KV rows are on rank 0): the prompt
# hits it after the reload, and the answer is a hit's.
want=$a; [ $kind = experts ] && want=$a2
check "$kind: unloaded and loaded again: the same answer (the other rank kept its part)" bash -c "[ \"\$1\" = \"\$2\" ]" _ "$want" "$c"
hit2=$(echo "$r" | field "d['usage']['prompt_cache_hit_tokens']")
[ $kind = experts ] && check "experts: the prefix cache's disk tier served the prompt after the reload ($hit2 tokens)" \
  bash -c "[ \"\$1\" = \"\$2\" ]" _ "$hit" "$hit2"
curl -s "http://127.0.0.1:$P2/metrics" >"$W/metrics"
check "$kind: /metrics counts the wire and the other rank's compute" $PY -c "
import sys
m = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith('frugal_split_')}
assert m['frugal_split_ranks'] == 2 and m['frugal_split_messages_total'] > 0, m
assert m['frugal_split_sent_bytes_total'] > 0 and m['frugal_split_received_bytes_total'] > 0, m
assert 0 <= m['frugal_split_wait_seconds_total'] <= m['frugal_split_transfer_seconds_total'], m
assert m['frugal_split_other_ranks_compute_seconds_total'] > 0, m" "$W/metrics"
check "$kind: rank 0 logged the plan" grep -q "$([ $kind = pipeline ] && echo pipeline || echo expert) split: 2 ranks over" "$W/split.err"

kill -TERM "$(rank_pid $q 0)"
for _ in $(seq 50); do [ -f "$W/split.rc" ] && break; sleep 0.2; done
check "$kind: SIGTERM to rank 0: every rank leaves, status 0" bash -c "[ \"\$(cat '$W/split.rc' 2>/dev/null)\" = 0 ] && grep -q 'frugal serve: stopped' '$W/split.err'"

rm -f "$W/split.rc"
done

# Three stages, three passes in flight.
start split3 timeout 300 mpirun --oversubscribe --mca btl self,tcp -np 3 "$FRUGAL" serve "${ARGS[@]}" --no-disk-cache --split pipeline --max-queue 65
in_flight $port 3
kill -TERM "$(rank_pid 65 0)"
wait "${JOB[split3]}"
check "pipeline, 3 ranks: SIGTERM to rank 0: status 0" bash -c "[ \"\$(cat '$W/split3.rc' 2>/dev/null)\" = 0 ]"

# cut_stream PORT QUEUE NAME: starts a long stream, kills rank 1 of that server once the
# stream has begun, waits for the stream to end; its output in $W/NAME.out, curl's status in
# $W/NAME.rc, the seconds from the kill to the end in $CUT_S.
cut_stream() {
  (timeout 60 curl -s -N "http://127.0.0.1:$1/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"frugal-r1-tiny","messages":[{"role":"user","content":"Count"}],"max_tokens":3000,"ignore_eos":true,"stream":true}' \
    >"$W/$3.out"; echo $? >"$W/$3.rc") &
  local curl=$!
  for _ in $(seq 50); do [ -s "$W/$3.out" ] && break; sleep 0.1; done
  local t0=$(date +%s)
  kill -9 "$(rank_pid "$2" 1)"
  wait $curl
  CUT_S=$(( $(date +%s) - t0 ))
}

start split2 timeout 300 mpirun --oversubscribe --mca btl self,tcp -np 2 "$FRUGAL" serve "${ARGS[@]}" -c 4096 --no-disk-cache --split experts --max-queue 63
cut_stream $port 63 cut
wait "${JOB[split2]}"
check "experts: rank 1 killed mid-stream: the stream is cut within 15 s, not left hanging" bash -c "[ $CUT_S -le 15 ] && [ \"\$(cat '$W/cut.rc')\" != 0 ] && ! grep -q 'data: \[DONE\]' '$W/cut.out'"
check "... and the job ends with a non-zero status" bash -c "rc=\$(cat '$W/split2.rc'); [ \"\$rc\" -ne 0 ] && [ \"\$rc\" -ne 124 ]"

# Under `mpirun --enable-recovery` rank 0 outlives a killed rank: the heartbeats notice the
# silence (FRUGAL_RANK_TIMEOUT, 2 s here), the stream in flight is cut, and the server answers
# 503 (a request, /health) instead of hanging, until it is stopped.
start rec timeout 300 mpirun --oversubscribe --mca btl self,tcp --enable-recovery -x FRUGAL_RANK_TIMEOUT=2 -np 2 \
  "$FRUGAL" serve "${ARGS[@]}" -c 4096 --no-disk-cache --split experts --max-queue 67
P4=$port
cut_stream $P4 67 rcut
check "recovery: rank 1 killed mid-stream: the stream is cut within 10 s, not ended as if complete" bash -c "[ $CUT_S -le 10 ] && [ \"\$(cat '$W/rcut.rc')\" != 0 ] && ! grep -q 'data: \[DONE\]' '$W/rcut.out'"
code=$(curl -s -o "$W/r503" -w '%{http_code}' -m 30 "http://127.0.0.1:$P4/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"frugal-r1-tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4}')
check "recovery: a new request gets 503 naming the lost rank" bash -c "[ $code = 503 ] && grep -q '\"rank_lost\"' '$W/r503' && grep -q 'rank 1 ' '$W/r503'"
check "recovery: /health answers 503" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$P4/health) = 503 ]"
check "recovery: rank 0 logged the lost rank" grep -q "rank 1 of the MPI job has not been heard from" "$W/rec.err"
kill -TERM "$(rank_pid 67 0)"
wait "${JOB[rec]}"
check "recovery: SIGTERM then ends the job (not a timeout)" bash -c "[ \"\$(cat '$W/rec.rc')\" != 124 ]"

kill -TERM $(pgrep -f "frugal serve .*--max-queue 61\$") 2>/dev/null
wait "${JOB[one]}"
finish
