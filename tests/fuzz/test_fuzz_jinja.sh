# CTest: fuzz the chat-template lexer, parser and evaluator (tight render limits) for 20 s under
# ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz jinja 15
