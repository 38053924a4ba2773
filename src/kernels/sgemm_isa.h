// Per-ISA SGEMM entry points; only sgemm.cpp calls them (after the dispatch check).
#pragma once
#include <cstdint>

#include "kernels/sgemm_impl.h"

namespace frugal::kernels {

void sgemm_avx512(const sgemm_detail::Args& g, ThreadPool& pool);
void sgemm_avx2(const sgemm_detail::Args& g, ThreadPool& pool);
double fma_loop_avx512(int64_t iters);  // 16 chains x 16 lanes x 2 flops per iteration
double fma_loop_avx2(int64_t iters);    // 12 chains x 8 lanes x 2 flops per iteration

}  // namespace frugal::kernels
