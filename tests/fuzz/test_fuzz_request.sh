# CTest: fuzz the chat dialects' request decoders for 20 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz request 15
