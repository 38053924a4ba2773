# CTest: fuzz the config.json and tokenizer.json loaders for 10 s under ASan + UBSan (see lib.sh).
source "$(dirname "$0")/lib.sh"
run_fuzz hf_config 10
