# The command line explains itself: every command and training stage answers -h/--help (and
# `frugal help CMD`) on stdout with exit 0, listing its options with their defaults and an
# example; --version works; a mistyped option names the nearest real one.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"

# help_ok NAME USAGE_PREFIX CMD...: exit 0, stdout starts with the usage, has options and an example
help_ok() {
  local name=$1 usage=$2; shift 2
  "$@" >"$W/out" 2>"$W/err"; local rc=$?
  if [ $rc -eq 0 ] && head -1 "$W/out" | grep -qF -- "usage: $usage" && grep -q '^example:' "$W/out" &&
     grep -q -- '-h, --help' "$W/out" && ! grep -q 'needs a value' "$W/err"; then
    ok "$name"
  else
    bad "$name (rc=$rc): $(head -c 300 "$W/out") $(head -c 300 "$W/err")"
  fi
}

for cmd in run chat serve bench eval logits tokenize inspect make-test-model convert quantize template; do
  help_ok "$cmd --help" "frugal $cmd" "$FRUGAL" "$cmd" --help
  help_ok "$cmd -h" "frugal $cmd" "$FRUGAL" "$cmd" -h
  help_ok "help $cmd" "frugal $cmd" "$FRUGAL" help "$cmd"
done
for stage in pretrain sft grpo rs distill; do
  help_ok "train $stage --help" "frugal train $stage" "$FRUGAL" train "$stage" --help
done
help_ok "bench --train --help" "frugal bench --train" "$FRUGAL" bench --train --help
# --help wins wherever it stands, even after options that would need a model.
help_ok "--help after other options" "frugal serve" "$FRUGAL" serve -m "$W/none.gguf" --port 1 --help
check "train --help lists the stages" bash -c "'$FRUGAL' train --help | grep -q 'distill'"
check "--help shows defaults" bash -c "'$FRUGAL' serve --help | grep -E -- '--port N +.*\[8080\]' >/dev/null && '$FRUGAL' run --help | grep -E -- '--top-k N +.*\[40\]' >/dev/null"
check "frugal --help lists the commands" bash -c "'$FRUGAL' --help | grep -q 'make-test-model' && '$FRUGAL' --help | grep -q -- 'COMMAND --help'"
check "--version" bash -c "'$FRUGAL' --version | grep -qE '^frugal [0-9]+\.[0-9]+\.[0-9]+ \(CPU kernels: [a-z0-9]+\)'"

expect_error "a mistyped option names the nearest" "unknown option --prot, did you mean --port\?" "$FRUGAL" serve --prot 8080
expect_error "a mistyped stage option names the nearest" "unknown option --temprature, did you mean --temperature\?" \
  "$FRUGAL" train grpo -m x.gguf -o y.gguf --temprature 0.7
expect_error "nothing near: no guess" "unknown option --zzzzzzzz \(see --help\)$" "$FRUGAL" run --zzzzzzzz 1
expect_error "a flag given a value" "option --mtp takes no value" "$FRUGAL" run --mtp=1 -p x
expect_error "an option of another stage" "unknown option --group" "$FRUGAL" train sft -m "$W/none.gguf" -o "$W/o.gguf" --group 4
expect_error "an option this mode does not read" "option -m does not apply here" "$FRUGAL" eval --problems-out "$W/p.jsonl" -m x.gguf
expect_error "an option without its value" "option --port needs a value" "$FRUGAL" serve --port

finish
