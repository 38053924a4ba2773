// The bandwidth probe's loops with 32-byte vectors (this file gets the ISA's flags).
#include "kernels/membw_loops.h"

namespace frugal::kernels {

const MembwLoops& membw_loops_avx2() { return membw_detail::loops<32>(); }

}  // namespace frugal::kernels
