// AVX-512 kernel set (F/BW/VL/DQ + VNNI; built with those flags by CMake because of the file
// name). Everything runs on 512-bit vectors: vpdpbusd over 64 codes (two _0 blocks, or a
// quarter K super-block) and 16-wide FMAs. 32 vector registers allow 4 rows x 4 tokens of
// accumulators for every type (prefill); decode walks rows one at a time (matmul_simd_common.h).
// GCC 12's own avx512fintrin.h trips -Wuninitialized through _mm512_undefined_*() when its
// conversion intrinsics are inlined (a known false positive), so it is silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdlib>
#include <cstring>

#include "kernels/matmul_simd_float.h"
#include "kernels/matmul_simd_k.h"
#include "kernels/matmul_simd_klanes.h"
#include "kernels/matmul_simd_kr16.h"
#include "kernels/matmul_simd_q8r16.h"
#include "kernels/matmul_simd_q32lanes.h"
#include "kernels/matmul_simd_q32x2.h"

namespace frugal::kernels {

namespace {

constexpr int kRows = 4, kToks = 4;

KernelTable make_table() {
  KernelTable tb;
  auto set = [&](DType t, ActFormat f, GemmFn fn) { tb.e[int(t)] = {f, fn, kRows}; };
  set(DType::F32, ActFormat::F32, gemm_tiled<KernelFloat<LoadF32>, kRows, kToks>);
  set(DType::F16, ActFormat::F32, gemm_tiled<KernelFloat<LoadF16>, kRows, kToks>);
  set(DType::BF16, ActFormat::F32, gemm_tiled<KernelFloat<LoadBF16>, kRows, kToks>);
  // Q8_0 and the K-quants: the decode kernels up to 2 * kToks (Q8_0) or kPairMaxTokens
  // (K-quants) tokens, the lane-order prefill kernels (their own activation order) after.
  // FRUGAL_PREFILL=lanes keeps the lane kernels for every batch (for K-quants: no 8-bit
  // rounding of the weights; matmul_simd_kr16.h).
  const char* pf = std::getenv("FRUGAL_PREFILL");
  const bool lanes = pf && std::strcmp(pf, "lanes") == 0;
  tb.e[int(DType::Q8_0)] = {ActFormat::Q8_0, lanes ? gemm_q32_lanes<DecQ8_0, kRows, kToks> : gemm_q8_0_prefill<kRows, kToks>,
                            kRows, 2 * kToks + 1, ActFormat::Q8_0_Lanes};
  // Q4_0 / Q5_0: the per-step kernel up to 2 * kToks tokens, then the Q8_0 lane kernel on
  // their expanded codes (no 16-row kernel: these types are rare and small in Q4_K_M files).
  tb.e[int(DType::Q4_0)] = {ActFormat::Q8_0, gemm_q32_lanes<DecQ4_0, kRows, kToks>, kRows, 2 * kToks + 1,
                            ActFormat::Q8_0_Lanes};
  tb.e[int(DType::Q5_0)] = {ActFormat::Q8_0, gemm_q32_lanes<DecQ5_0, kRows, kToks>, kRows, 2 * kToks + 1,
                            ActFormat::Q8_0_Lanes};
  auto set_k = [&](DType t, ActFormat f, GemmFn fn) {
    tb.e[int(t)] = {f, fn, kRows, kPairMaxTokens + 1, ActFormat::Q8_K_Lanes};
  };
  set_k(DType::Q4_K, DecQ4_K::kAct, lanes ? gemm_k_lanes<DecQ4_K, kRows, kToks> : gemm_k_prefill<DecQ4_K, kRows, kToks>);
  set_k(DType::Q5_K, DecQ5_K::kAct, lanes ? gemm_k_lanes<DecQ5_K, kRows, kToks> : gemm_k_prefill<DecQ5_K, kRows, kToks>);
  set_k(DType::Q6_K, DecQ6_K::kAct, lanes ? gemm_k_lanes<DecQ6_K, kRows, kToks> : gemm_k_prefill<DecQ6_K, kRows, kToks>);
  return tb;
}

}  // namespace

const KernelTable& kernels_avx512() {
  static const KernelTable tb = make_table();
  return tb;
}

}  // namespace frugal::kernels
