# CTest: fuzz models_toml for 20 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz models_toml 15
