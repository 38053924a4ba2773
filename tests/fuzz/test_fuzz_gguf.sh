# CTest: fuzz the GGUF reader for 30 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz gguf 15
