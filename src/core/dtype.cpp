#include "core/dtype.h"

#include <cctype>
#include <string>

namespace frugal {

DTypeTraits dtype_traits(uint32_t id) {
  switch (DType(id)) {
    case DType::F32: return {"F32", 1, 4, true};
    case DType::F16: return {"F16", 1, 2, true};
    case DType::BF16: return {"BF16", 1, 2, true};
    case DType::Q4_0: return {"Q4_0", 32, 18, true};
    case DType::Q4_1: return {"Q4_1", 32, 20, false};
    case DType::Q5_0: return {"Q5_0", 32, 22, true};
    case DType::Q5_1: return {"Q5_1", 32, 24, false};
    case DType::Q8_0: return {"Q8_0", 32, 34, true};
    case DType::Q8_1: return {"Q8_1", 32, 36, false};
    case DType::Q2_K: return {"Q2_K", 256, 84, false};
    case DType::Q3_K: return {"Q3_K", 256, 110, false};
    case DType::Q4_K: return {"Q4_K", 256, 144, true};
    case DType::Q5_K: return {"Q5_K", 256, 176, true};
    case DType::Q6_K: return {"Q6_K", 256, 210, true};
    case DType::Q8_K: return {"Q8_K", 256, 292, true};
    case DType::I8: return {"I8", 1, 1, false};
    case DType::I16: return {"I16", 1, 2, false};
    case DType::I32: return {"I32", 1, 4, false};
    case DType::I64: return {"I64", 1, 8, false};
    case DType::F64: return {"F64", 1, 8, false};
  }
  return {nullptr, 0, 0, false};
}

bool dtype_from_name(std::string_view name, DType* out) {
  std::string up;
  for (char c : name) up += char(std::toupper(static_cast<unsigned char>(c)));
  for (uint32_t id = 0; id < 40; ++id) {
    auto tr = dtype_traits(id);
    if (tr.name && up == tr.name) {
      *out = DType(id);
      return true;
    }
  }
  return false;
}

}  // namespace frugal
