// Portable kernel set: weights are dequantized a chunk at a time (through the reference
// dequantizers) and dotted in f32 with the unquantized activations, for up to kTokGroup tokens
// per pass so a chunk is decoded once per group. It reads x directly for every weight type,
// so it is slightly more accurate than the SIMD sets, which quantize activations.
#include "kernels/matmul_kernels.h"
#include "kernels/quant.h"

namespace frugal::kernels {

namespace {

constexpr int kTokGroup = 16;
constexpr int64_t kChunk = 256;  // floats decoded at a time: a multiple of every block size

template <DType T>
void gemm_scalar(const GemmArgs& a, int64_t r0, int64_t r1) {
  float wbuf[kChunk];
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = a.w + size_t(r) * a.w_stride;
    for (int64_t t0 = 0; t0 < a.n_tok; t0 += kTokGroup) {
      int nt = int(a.n_tok - t0 < kTokGroup ? a.n_tok - t0 : kTokGroup);
      float acc[kTokGroup] = {};
      // n_cols is a multiple of the block size and kChunk of every block size, so each
      // chunk is whole blocks.
      for (int64_t k0 = 0; k0 < a.n_cols; k0 += kChunk) {
        int64_t len = a.n_cols - k0 < kChunk ? a.n_cols - k0 : kChunk;
        dequantize_row(T, wr + row_bytes(T, k0), wbuf, len);
        for (int t = 0; t < nt; ++t) {
          const float* xt = a.x + (t0 + t) * a.ldx + k0;
          float s = 0;
          for (int64_t k = 0; k < len; ++k) s += wbuf[k] * xt[k];
          acc[t] += s;
        }
      }
      for (int t = 0; t < nt; ++t) a.y[(t0 + t) * a.ldy + r] = acc[t];
    }
  }
}

KernelTable make_table() {
  KernelTable tb;
  tb.e[int(DType::F32)] = {ActFormat::F32, gemm_scalar<DType::F32>, 1};
  tb.e[int(DType::F16)] = {ActFormat::F32, gemm_scalar<DType::F16>, 1};
  tb.e[int(DType::BF16)] = {ActFormat::F32, gemm_scalar<DType::BF16>, 1};
  tb.e[int(DType::Q4_0)] = {ActFormat::F32, gemm_scalar<DType::Q4_0>, 1};
  tb.e[int(DType::Q5_0)] = {ActFormat::F32, gemm_scalar<DType::Q5_0>, 1};
  tb.e[int(DType::Q8_0)] = {ActFormat::F32, gemm_scalar<DType::Q8_0>, 1};
  tb.e[int(DType::Q4_K)] = {ActFormat::F32, gemm_scalar<DType::Q4_K>, 1};
  tb.e[int(DType::Q5_K)] = {ActFormat::F32, gemm_scalar<DType::Q5_K>, 1};
  tb.e[int(DType::Q6_K)] = {ActFormat::F32, gemm_scalar<DType::Q6_K>, 1};
  return tb;
}

}  // namespace

const KernelTable& kernels_scalar() {
  static const KernelTable tb = make_table();
  return tb;
}

}  // namespace frugal::kernels
