# CTest: fuzz json_schema for 20 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz json_schema 15
