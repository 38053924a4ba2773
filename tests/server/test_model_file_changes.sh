# A model file changed while `frugal serve` maps it (issue 13, item 4). Replaced by rename (a new
# file moved over it, as frugal's own writers and package managers do): the server keeps
# serving the old weights, unharmed. Truncated in place: by default the weights were copied
# into memory at load and the server goes on; with --mmap the next read of a lost page is a
# SIGBUS no program can prevent, and the server must not die silently but name the file and
# say what happened. A file truncated before start is refused with a clear error.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
source "$SRC/tests/server/lib.sh"
ask() {
  curl -s -m 20 -o /dev/null -w '%{http_code}' "$URL/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}'
}
M=$W/model.gguf
cp "$BUILD/default-model.gguf" "$M"
start_server -m "$M" --port 0 -c 256 --no-disk-cache -t 2 --quiet
check "serves" test "$(ask)" = 200
# Replaced by rename: another model's bytes under the same name.
"$FRUGAL" make-test-model --preset tiny-qwen3 --type Q8_0 --seed 9 -o "$W/new.gguf" 2>/dev/null
mv "$W/new.gguf" "$M"
check "replaced by rename: still serving" test "$(ask)" = 200
kill -TERM $PID; wait $PID

# Truncated in place while the weights are in memory (the default: MappedFile::to_memory
# copied them): the file is no longer read, so the server goes on answering from its copy.
cp "$BUILD/default-model.gguf" "$M"
start_server -m "$M" --port 0 -c 256 --no-disk-cache -t 2 --quiet
check "serves (weights copied into memory)" test "$(ask)" = 200
first=$(curl -s -m 20 "$URL/v1/completions" -H 'Content-Type: application/json' -d '{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}' | cut -d, -f4-)
truncate -s 4096 "$M"
again=$(curl -s -m 20 "$URL/v1/completions" -H 'Content-Type: application/json' -d '{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}' | cut -d, -f4-)
check "truncated in place, weights in memory: still serving, the same answer" bash -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$first" "$again"
kill -TERM $PID; wait $PID

# With --mmap the weights stay in the file's mapping, where a lost page is a SIGBUS.
cp "$BUILD/default-model.gguf" "$M"
start_server -m "$M" --port 0 -c 256 --no-disk-cache -t 2 --quiet --mmap
check "serves again (--mmap)" test "$(ask)" = 200
truncate -s 4096 "$M"
ask >/dev/null
for _ in $(seq 1 50); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
wait $PID; rc=$?
check "truncated in place: the server dies of SIGBUS (rc=$rc), not later with wrong answers" test $rc -eq $((128 + 7))
check "... saying which file changed and what to do" \
  grep -q "fatal: $M changed on disk while in use (truncated or rewritten in place).*renaming it over the old" "$W/serve.err"

expect_error "a file truncated before start is refused" "model.gguf" "$FRUGAL" serve -m "$M" --port 0 --no-disk-cache
finish
