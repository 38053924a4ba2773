# Shared by the MPI split tests (called with FRUGAL_BINARY SOURCE_DIR BUILD_DIR): the CLI test
# helpers, mpirun over TCP on loopback with ranks oversubscribed, the golden models, a prompt of
# token ids, and a DeepSeek-V3-tiny model (MTP, groups, expert bias) in $W.
FRUGAL=$1; SRC=$2; BUILD=$3
source "$SRC/tests/cli/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
MPI=(timeout 120 mpirun --oversubscribe --mca btl self,tcp)
G=$SRC/tests/data/golden/gguf
IDS=1,5,9,200,33,7,400,2,17,99,3,250,8,41,77,120,6
"$FRUGAL" make-test-model --preset deepseek-v3-tiny --type F32 -o "$W/v3.gguf" 2>/dev/null
