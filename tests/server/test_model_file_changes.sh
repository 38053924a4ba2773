# A model file changed while `frugal serve` maps it (issue 13, item 4). Replaced by rename (a new
# file moved over it, as frugal's own writers and package managers do): the server keeps
# serving the old weights, unharmed. Truncated in place: the next read of a lost page is a
# SIGBUS no program can prevent; the server must not die silently but name the file and say
# what happened. A file truncated before start is refused with a clear error.
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

cp "$BUILD/default-model.gguf" "$M"
start_server -m "$M" --port 0 -c 256 --no-disk-cache -t 2 --quiet
check "serves again" test "$(ask)" = 200
truncate -s 4096 "$M"
ask >/dev/null
for _ in $(seq 1 50); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
wait $PID; rc=$?
check "truncated in place: the server dies of SIGBUS (rc=$rc), not later with wrong answers" test $rc -eq $((128 + 7))
check "... saying which file changed and what to do" \
  grep -q "fatal: $M changed on disk while in use (truncated or rewritten in place).*renaming it over the old" "$W/serve.err"

expect_error "a file truncated before start is refused" "model.gguf" "$FRUGAL" serve -m "$M" --port 0 --no-disk-cache
finish
