// GgufValue construction and conversions, and the facts about each value type that the
// reader and writer share.
#include <limits>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_cursor.h"

namespace frugal {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::UINT8: return "UINT8";
    case GgufType::INT8: return "INT8";
    case GgufType::UINT16: return "UINT16";
    case GgufType::INT16: return "INT16";
    case GgufType::UINT32: return "UINT32";
    case GgufType::INT32: return "INT32";
    case GgufType::FLOAT32: return "FLOAT32";
    case GgufType::BOOL: return "BOOL";
    case GgufType::STRING: return "STRING";
    case GgufType::ARRAY: return "ARRAY";
    case GgufType::UINT64: return "UINT64";
    case GgufType::INT64: return "INT64";
    case GgufType::FLOAT64: return "FLOAT64";
  }
  return "unknown";
}

namespace gguf_detail {

bool is_valid_type(uint32_t id) { return id <= uint32_t(GgufType::FLOAT64); }

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: return 0;
  }
  return 0;
}

size_t min_encoded_size(GgufType t) {
  if (t == GgufType::STRING) return 8;  // u64 length, no bytes
  if (t == GgufType::ARRAY) return 12;  // u32 element type + u64 count, no elements
  return scalar_size(t);
}

}  // namespace gguf_detail

namespace {
GgufValue unsigned_value(GgufType t, uint64_t v) {
  GgufValue r;
  r.type = t;
  r.u = v;
  return r;
}
GgufValue signed_value(GgufType t, int64_t v) {
  GgufValue r;
  r.type = t;
  r.i = v;
  return r;
}
GgufValue float_value(GgufType t, double v) {
  GgufValue r;
  r.type = t;
  r.f = v;
  return r;
}
}  // namespace

GgufValue GgufValue::u8(uint8_t v) { return unsigned_value(GgufType::UINT8, v); }
GgufValue GgufValue::i8(int8_t v) { return signed_value(GgufType::INT8, v); }
GgufValue GgufValue::u16(uint16_t v) { return unsigned_value(GgufType::UINT16, v); }
GgufValue GgufValue::i16(int16_t v) { return signed_value(GgufType::INT16, v); }
GgufValue GgufValue::u32(uint32_t v) { return unsigned_value(GgufType::UINT32, v); }
GgufValue GgufValue::i32(int32_t v) { return signed_value(GgufType::INT32, v); }
GgufValue GgufValue::u64(uint64_t v) { return unsigned_value(GgufType::UINT64, v); }
GgufValue GgufValue::i64(int64_t v) { return signed_value(GgufType::INT64, v); }
GgufValue GgufValue::f32(float v) { return float_value(GgufType::FLOAT32, v); }
GgufValue GgufValue::f64(double v) { return float_value(GgufType::FLOAT64, v); }
GgufValue GgufValue::boolean(bool v) { return unsigned_value(GgufType::BOOL, v ? 1 : 0); }

GgufValue GgufValue::str(std::string v) {
  GgufValue r;
  r.type = GgufType::STRING;
  r.s = std::move(v);
  return r;
}

GgufValue GgufValue::array(GgufType elem, std::vector<GgufValue> v) {
  GgufValue r;
  r.type = GgufType::ARRAY;
  r.elem_type = elem;
  r.arr = std::move(v);
  return r;
}

GgufValue GgufValue::str_array(const std::vector<std::string>& v) {
  std::vector<GgufValue> a;
  a.reserve(v.size());
  for (const auto& s : v) a.push_back(str(s));
  return array(GgufType::STRING, std::move(a));
}

GgufValue GgufValue::f32_array(const std::vector<float>& v) {
  std::vector<GgufValue> a;
  a.reserve(v.size());
  for (float x : v) a.push_back(f32(x));
  return array(GgufType::FLOAT32, std::move(a));
}

GgufValue GgufValue::i32_array(const std::vector<int32_t>& v) {
  std::vector<GgufValue> a;
  a.reserve(v.size());
  for (int32_t x : v) a.push_back(i32(x));
  return array(GgufType::INT32, std::move(a));
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::UINT16: case GgufType::INT16:
    case GgufType::UINT32: case GgufType::INT32: case GgufType::UINT64: case GgufType::INT64:
    case GgufType::BOOL:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_float() const { return type == GgufType::FLOAT32 || type == GgufType::FLOAT64; }

namespace {
bool is_signed(GgufType t) {
  return t == GgufType::INT8 || t == GgufType::INT16 || t == GgufType::INT32 || t == GgufType::INT64;
}
}  // namespace

int64_t GgufValue::as_int() const {
  if (!is_integer()) fail("GGUF value of type %s is not an integer", gguf_type_name(type));
  if (is_signed(type)) return i;
  if (u > uint64_t(std::numeric_limits<int64_t>::max()))
    fail("GGUF UINT64 value %llu does not fit a signed 64-bit integer",
         static_cast<unsigned long long>(u));
  return int64_t(u);
}

double GgufValue::as_float() const {
  if (is_float()) return f;
  // BOOL counts as an integer for as_int, but a bool where a number is wanted is a mistake.
  if (!is_integer() || type == GgufType::BOOL)
    fail("GGUF value of type %s is not a number", gguf_type_name(type));
  return is_signed(type) ? double(i) : double(u);
}

}  // namespace frugal
