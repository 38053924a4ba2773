# CTest: fuzz the prefix cache's disk block reader for 10 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz kv_block 10
