# frugal chat: from a pipe (answers, reasoning markers, /save) and under a pseudo-terminal
# (tmux): the reasoning is shown dimmed, /think off collapses it, Up recalls the previous line
# (line editing and history), Ctrl-C stops an answer without leaving, Ctrl-D quits. The model is
# the tiny random-weight DeepSeek-V3 with DeepSeek-R1's chat template, whose prompt opens
# <think>: a reasoning budget of 5 tokens closes it, so the screen always has both parts.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$(dirname "$0")/lib.sh"
M=$W/v3tiny.gguf
R1=$SRC/tests/data/templates/deepseek-r1.jinja
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type Q8_0 -o "$M" 2>/dev/null
CHAT=("$FRUGAL" chat -m "$M" --template "$R1" --temp 0 --reasoning-budget 5 -n 20)

# From a pipe: plain markers instead of colours.
printf 'Hello there\n/think off\nWhat is 2+2?\n/save %s\n/quit\n' "$W/conv.json" | "${CHAT[@]}" >"$W/pipe.out" 2>"$W/pipe.err"
check "pipe: exits 0" test $? -eq 0
check "pipe: first answer shows its reasoning between markers" grep -q '^\[/reasoning\]$' "$W/pipe.out"
check "pipe: /think off collapses the second answer's reasoning" grep -q '^\[reasoning hidden\]$' "$W/pipe.out"
check "pipe: /save writes the 4 messages with reasoning_content" $PY -c "
import json,sys; m=json.load(open('$W/conv.json'))
assert [x['role'] for x in m] == ['user','assistant','user','assistant'], m
assert m[0]['content'] == 'Hello there' and m[1].get('reasoning_content')"
check "pipe: random-weights note" grep -q 'random weights' "$W/pipe.err"
# Thinking control reaches the template (Qwen3's enable_thinking: off writes an empty think
# block into the prompt), and the second turn reuses the cached conversation.
Q=$BUILD/default-model.gguf
printf 'Hi\nAgain\n' | "$FRUGAL" chat -m "$Q" --thinking off --verbose-prompt -n 4 --temp 0 >/dev/null 2>"$W/off.err"
printf 'Hi\n' | "$FRUGAL" chat -m "$Q" --thinking on --verbose-prompt -n 4 --temp 0 >/dev/null 2>"$W/on.err"
check "--thinking off: the prompt closes an empty think block" $PY -c "
import sys; t=open('$W/off.err').read(); assert '<|im_start|>assistant\n<think>\n\n</think>\n\n' in t, t"
check "--thinking on: the prompt leaves thinking to the model" $PY -c "
import sys; t=open('$W/on.err').read(); assert '<|im_start|>assistant\n' in t and '</think>' not in t, t"
check "second turn reuses the cached conversation" grep -qE '^\[(1[0-9]|[2-9][0-9]) prompt tokens reused' "$W/off.err"
expect_error "chat: unknown --thinking value" "--thinking" "$FRUGAL" chat -m "$M" --thinking maybe

# Under a terminal.
if ! command -v tmux >/dev/null; then bad "tmux missing (scripts/install-deps.sh installs it)"; finish; exit; fi
T="tmux -L frugal-test-$$ -f /dev/null"
trap '$T kill-server 2>/dev/null; rm -rf "$W"' EXIT
screen() { $T capture-pane -p -e -t chat -S -; }
prompts() { screen | grep -cE '^>( |$)'; }
poll() {  # poll SECONDS CMD...: until CMD succeeds, every 0.1 s
  local i n=$(($1 * 10)); shift
  for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
has_prompts() { [ "$(prompts)" -ge "$1" ]; }
on_screen() { screen | grep -qE -e "$1"; }
wait_prompts() {  # wait_prompts N: until N prompts are on the screen (the previous answer ended)
  poll 60 has_prompts "$1" && return 0
  echo "--- screen:"; screen | tail -20; return 1
}
wait_for() {  # wait_for REGEX [SECONDS]: poll the screen
  poll "${2:-30}" on_screen "$1" && return 0
  echo "--- screen:"; screen | tail -20; return 1
}
$T new-session -d -s chat -x 160 -y 50 \
  "HOME=$W $FRUGAL chat -m $M --template $R1 --temp 0 --reasoning-budget 5 -n 20 -c 60000 --ignore-eos; echo CHAT-EXITED \$?; sleep 60"
$T set-option -t chat history-limit 100000
check "tty: banner" wait_for 'frugal chat: /help'
$T send-keys -t chat 'Hello there' Enter
check "tty: the answer comes and the prompt returns" wait_prompts 2
dimmed() { screen | grep -q $'\x1b\\[2m'; }
check "tty: reasoning is dimmed (SGR 2)" dimmed
$T send-keys -t chat Up
check "tty: Up recalls the previous line (history)" wait_for '^> Hello there$'
$T send-keys -t chat C-u '/think off' Enter
wait_prompts 3
$T send-keys -t chat 'Tell me more' Enter
check "tty: /think off collapses the reasoning" wait_for 'reasoning hidden' 60
wait_prompts 4
# A long answer (/max lifts the length limit) interrupted by Ctrl-C.
$T send-keys -t chat '/max 100000' Enter
wait_prompts 5
$T send-keys -t chat 'Go on forever' Enter
# Ctrl-C once the answer shows (a Ctrl-C while the line editor still reads would end chat).
answering() { [ "$(screen | sed -n '/^> Go on forever/,$p' | grep -c .)" -ge 2 ]; }
poll 30 answering
$T send-keys -t chat C-c
check "tty: Ctrl-C stops the answer" wait_for '\[stopped\]' 30
$T send-keys -t chat '/save '"$W/tty.json" Enter
check "tty: still running after Ctrl-C (/save answers)" wait_for "saved 6 messages" 30
$T send-keys -t chat C-d
check "tty: Ctrl-D quits with status 0" wait_for 'CHAT-EXITED 0' 30

# The random model's text holds control bytes (ESC, SO, ...) that would drive the terminal (SO
# once turned "[stopped]" into line-drawing glyphs): on a terminal `run` shows them in caret
# notation, into a pipe it writes them as they are.
RUN=("$FRUGAL" run -m "$M" -p 'Go on' -n 200 --temp 0 --ignore-eos)
"${RUN[@]}" >"$W/run.raw" 2>/dev/null
$T new-session -d -s run -x 160 -y 50 "$(printf "%q " "${RUN[@]}") 2>/dev/null; echo RUN-EXITED; sleep 60"
run_ended() { $T capture-pane -p -J -t run | grep -q RUN-EXITED; }
poll 30 run_ended
$T capture-pane -p -J -t run >"$W/run.tty"
check "tty: run shows the model's control bytes in caret notation" $PY -c "
import re
raw = open('$W/run.raw', 'rb').read().decode()
tty = open('$W/run.tty').read().split('RUN-EXITED')[0]
ctl = [c for c in raw if (ord(c) < 32 and c not in '\n\t') or 0x7f <= ord(c) <= 0x9f]
assert ctl, 'the model wrote no control byte: nothing tested'
def safe(c):
    b = ord(c)
    if (b < 32 and c not in '\n\t') or b == 127: return '^' + chr(b ^ 64)
    return '<U+%04X>' % b if 0x80 <= b <= 0x9f else c
want = re.sub(r'\s', '', ''.join(map(safe, raw)))
got = re.sub(r'\s', '', tty)
assert want == got, (want[:300], got[:300])"
finish
