// The bandwidth probe's loops with 64-byte vectors (this file gets the ISA's flags).
#include "kernels/membw_loops.h"

namespace frugal::kernels {

const MembwLoops& membw_loops_avx512() { return membw_detail::loops<64>(); }

}  // namespace frugal::kernels
