# CTest: fuzz the safetensors reader for 20 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz safetensors 15
