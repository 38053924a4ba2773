# CTest: fuzz output_parser for 20 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz output_parser 15
