// Per-format scalar conversions behind quant.h's dequantize_row / quantize_row. n is the
// number of weights (a multiple of the format's block size); blocks are ggml's (quant_blocks.h).
#pragma once
#include <cstdint>

#include "kernels/quant_blocks.h"

namespace frugal::kernels::detail {

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t n);
void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t n);
void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t n);
void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t n);
void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t n);
void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t n);
void dequantize_q8_k(const BlockQ8_K* b, float* y, int64_t n);

void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t n);
void quantize_q5_0(const float* x, BlockQ5_0* b, int64_t n);
void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t n);
void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t n);
void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t n);
void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t n);
void quantize_q8_k(const float* x, BlockQ8_K* b, int64_t n);

// Round half away from zero, as roundf; used by every encoder.
inline int round_int(float v) { return int(v >= 0 ? v + 0.5f : v - 0.5f); }

}  // namespace frugal::kernels::detail
