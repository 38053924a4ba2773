// AVX2 kernel set (AVX2 + FMA + F16C; built with those flags by CMake because of the file
// name). 16 vector registers leave room for 2 rows x 4 tokens of accumulators; the
// u8 x s8 dots go through maddubs + madd (no VNNI), the float paths 256-bit FMAs.
#include "kernels/matmul_simd_float.h"
#include "kernels/matmul_simd_k.h"
#include "kernels/matmul_simd_q32.h"

namespace frugal::kernels {

namespace {

constexpr int kRows = 2, kToks = 4;
constexpr int kFloatRows = 3;  // float tiles have no decode temporaries: 12 accumulators fit

KernelTable make_table() {
  KernelTable tb;
  auto set = [&](DType t, ActFormat f, GemmFn fn, int tile = kRows) {
    tb.e[int(t)] = {f, fn, tile};
  };
  set(DType::F32, ActFormat::F32, gemm_tiled<KernelFloat<LoadF32>, kFloatRows, kToks>, kFloatRows);
  set(DType::F16, ActFormat::F32, gemm_tiled<KernelFloat<LoadF16>, kFloatRows, kToks>, kFloatRows);
  set(DType::BF16, ActFormat::F32, gemm_tiled<KernelFloat<LoadBF16>, kFloatRows, kToks>,
      kFloatRows);
  set(DType::Q4_0, ActFormat::Q8_0, gemm_tiled<KernelQ32<DecQ4_0>, kRows, kToks>);
  set(DType::Q5_0, ActFormat::Q8_0, gemm_tiled<KernelQ32<DecQ5_0>, kRows, kToks>);
  set(DType::Q8_0, ActFormat::Q8_0, gemm_tiled<KernelQ32<DecQ8_0>, kRows, kToks>);
  set(DType::Q4_K, DecQ4_K::kAct, gemm_k<DecQ4_K, kRows, kToks>);
  set(DType::Q5_K, DecQ5_K::kAct, gemm_k<DecQ5_K, kRows, kToks>);
  set(DType::Q6_K, DecQ6_K::kAct, gemm_k<DecQ6_K, kRows, kToks>);
  return tb;
}

}  // namespace

const KernelTable& kernels_avx2() {
  static const KernelTable tb = make_table();
  return tb;
}

}  // namespace frugal::kernels
