// Element and block types. Numeric ids are GGML's (they are what GGUF files store).
// A block type packs `block_size` weights into `type_size` bytes; a row of n weights
// (n % block_size == 0) takes n / block_size * type_size bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace frugal {

enum class DType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30,
};

struct DTypeTraits {
  const char* name;
  int64_t block_size;  // elements per block (1 for plain types)
  size_t type_size;    // bytes per block
  bool supported;      // frugal has kernels for it
};

// Returns traits for any GGML id; unknown ids give {nullptr, 0, 0, false}.
DTypeTraits dtype_traits(uint32_t id);
inline DTypeTraits dtype_traits(DType t) { return dtype_traits(uint32_t(t)); }
inline const char* dtype_name(DType t) {
  auto n = dtype_traits(t).name;
  return n ? n : "?";
}
// Bytes of a row of n elements; n must be a multiple of the block size.
inline size_t row_bytes(DType t, int64_t n) {
  auto tr = dtype_traits(t);
  return size_t(n / tr.block_size) * tr.type_size;
}
// Parses "Q4_K", "q8_0", "F16", ... ; returns false if unknown.
bool dtype_from_name(std::string_view name, DType* out);

}  // namespace frugal
