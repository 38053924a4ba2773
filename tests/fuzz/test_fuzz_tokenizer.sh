# CTest: fuzz the tokenizer (any bytes encode, decode round-trips) for 10 s under ASan + UBSan
# (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz tokenizer 10
