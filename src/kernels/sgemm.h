// Dense fp32 matrix products for the trainer (and anything else that multiplies two float
// matrices): C = alpha * op(A) * op(B) + beta * C, row-major, BLAS's argument order.
// op(A) is M x K (A is K x M when trans_a), op(B) is K x N (B is N x K when trans_b).
// The transposes are absorbed by packing, so every case runs the same register-blocked
// micro-kernel; the ISA comes from the matmul dispatch point (kernels/matmul.h).
#pragma once
#include <cstdint>

namespace frugal {
class ThreadPool;
}

namespace frugal::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool);

// The scalar reference every SIMD path is tested against (double accumulation).
void sgemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The machine's fp32 FMA peak, measured now: every pool thread runs independent FMA chains
// in the widest active ISA for about `seconds`. Benchmarks divide achieved GFLOP/s by it.
double fma_peak_gflops(ThreadPool& pool, double seconds = 0.3);

}  // namespace frugal::kernels
