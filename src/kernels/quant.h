// Block formats with the exact byte layouts GGUF files use, and their scalar reference
// conversions. Every optimized kernel is tested against these.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace frugal::kernels {

// dst[0..n) = weights of one row of type t. n must be a multiple of the block size.
// Supported: F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K.
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
// Reference quantizer (round-to-nearest with the same scale choice rules as the format's
// usual encoder), for writing files and making test models. Same types as above.
void quantize_row(DType t, const float* src, void* dst, int64_t n);
// True if the type can be stored in a weight matrix that matmul() accepts.
bool is_matmul_type(DType t);

}  // namespace frugal::kernels
