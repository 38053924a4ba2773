// NumPy .npy (format 1.0) for float32 C-order arrays: what `frugal logits` writes and the
// golden tests read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
// Reads a little-endian float32 (or float64, converted) C-order array; throws Error otherwise.
NpyArray read_npy_f32(const std::string& path);

}  // namespace frugal
