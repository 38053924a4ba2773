// GGUF reader: one pass over header, metadata and tensor infos, then a check that every
// tensor's data lies inside the file, aligned and without overlap. Nothing is trusted: each
// count and length is compared with the bytes that remain before it is used to allocate.
//
// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 kv count; kv pairs
// (string key, u32 type, value); tensor infos (string name, u32 n_dims, u64 ne[n_dims],
// u32 ggml type, u64 offset); padding to general.alignment; the data section. Strings are
// a u64 length and the bytes, without terminator. v2 and v3 share this layout (v3 only
// allowed big-endian files, which we refuse); v1 had 32-bit counts and is refused.
#include <algorithm>
#include <cinttypes>
#include <limits>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_cursor.h"

namespace frugal {

using gguf_detail::Cursor;
using gguf_detail::printable;

namespace {

constexpr uint32_t kMaxDims = 4;         // ggml's GGML_MAX_DIMS
constexpr size_t kMaxKeyLength = 65535;  // the specification's limit on key length
// Each metadata value becomes a ~100-byte GgufValue, so a file of one-byte array elements
// would expand ~100x in memory. The largest real vocabularies need a few million values.
constexpr uint64_t kMaxMetadataValues = uint64_t(1) << 23;
// Real models have a few thousand tensors; this only bounds what a lying count can cost.
constexpr uint64_t kMaxTensors = uint64_t(1) << 20;
// Vectors are reserved up to this many entries from a count in the file, then grow as
// entries are actually parsed, so a count that passes the checks but lies still cannot make
// one big allocation up front.
constexpr uint64_t kMaxReserve = uint64_t(1) << 16;
// Smallest possible encodings, used to reject counts the file cannot hold.
constexpr size_t kMinKvBytes = 8 + 4 + 1;            // key length, type, one-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, ne[0], type, offset

using ull = unsigned long long;
using ll = long long;

}  // namespace

class GgufParser {
 public:
  GgufParser(const uint8_t* data, size_t size, GgufFile& f) : c_(data, size, f.path_), f_(f) {}

  void run() {
    read_header();
    read_metadata();
    read_alignment();
    read_tensor_infos();
    place_tensor_data();
  }

 private:
  void read_header();
  void read_metadata();
  GgufType read_type(const char* what);
  GgufValue read_value(GgufType t, int depth);
  void read_alignment();
  void read_tensor_infos();
  void read_tensor_info(uint64_t index);
  void place_tensor_data();
  void check_overlaps();
  std::string tensor_context(size_t i) const {
    return strfmt("tensor '%s' (info at byte %zu)", printable(f_.tensors_[i].name).c_str(), info_at_[i]);
  }

  Cursor c_;
  GgufFile& f_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  uint64_t n_values_ = 0;       // metadata values so far, against kMaxMetadataValues
  std::vector<size_t> kv_at_;   // byte offset of each key, for messages
  std::vector<size_t> info_at_; // byte offset of each tensor info, for messages
};

void GgufParser::read_header() {
  c_.set_context("header");
  if (c_.size() >= 4 && std::memcmp(c_.data(), "GGUF", 4) != 0) {
    const uint8_t* d = c_.data();
    c_.fail("not a GGUF file: magic at byte 0 is %02x %02x %02x %02x, expected \"GGUF\"", d[0], d[1],
            d[2], d[3]);
  }
  c_.u32("magic");  // checked above when present; this fails on a file shorter than the magic
  uint32_t version = c_.u32("version");
  if (version != 2 && version != 3) {
    uint32_t swapped = __builtin_bswap32(version);
    if (version > 0xffff && swapped >= 1 && swapped <= 0xffff)
      c_.fail("big-endian GGUF is not supported (version at byte 4 reads %u when byte-swapped)", swapped);
    c_.fail("unsupported GGUF version %u at byte 4 (frugal reads versions 2 and 3)", version);
  }
  f_.version_ = version;
  n_tensors_ = c_.u64("tensor count");
  n_kv_ = c_.u64("metadata key count");
  // Both counts are bounded by the bytes left, so the loops below end soon on a lying file.
  size_t rem = c_.remaining();
  if (n_kv_ > rem / kMinKvBytes || n_tensors_ > rem / kMinTensorInfoBytes ||
      n_kv_ * kMinKvBytes + n_tensors_ * kMinTensorInfoBytes > rem)
    c_.fail("%llu keys (count at byte 16) and %llu tensors (count at byte 8) need at least %zu and %zu "
            "bytes each, but only %zu bytes follow the header",
            ull(n_kv_), ull(n_tensors_), kMinKvBytes, kMinTensorInfoBytes, rem);
  if (n_tensors_ > kMaxTensors)
    c_.fail("tensor count %llu at byte 8 is over the limit of %llu", ull(n_tensors_), ull(kMaxTensors));
  if (n_kv_ > kMaxMetadataValues)
    c_.fail("key count %llu at byte 16 is over the limit of %llu", ull(n_kv_), ull(kMaxMetadataValues));
}

GgufType GgufParser::read_type(const char* what) {
  size_t at = c_.pos();
  uint32_t id = c_.u32(what);
  if (!gguf_detail::is_valid_type(id)) c_.fail("%s %u at byte %zu is not a GGUF value type (0..12)", what, id, at);
  return GgufType(id);
}

void GgufParser::read_metadata() {
  f_.kv_.reserve(size_t(std::min(n_kv_, kMaxReserve)));
  kv_at_.reserve(size_t(std::min(n_kv_, kMaxReserve)));
  for (uint64_t i = 0; i < n_kv_; ++i) {
    size_t at = c_.pos();
    c_.set_context(strfmt("key #%llu (at byte %zu)", ull(i), at));
    std::string key = c_.str("key");
    if (key.empty()) c_.fail("empty key");
    if (key.size() > kMaxKeyLength) c_.fail("key is %zu bytes long, the limit is %zu", key.size(), kMaxKeyLength);
    c_.set_context(strfmt("key '%s' (at byte %zu)", printable(key).c_str(), at));
    if (auto it = f_.kv_index_.find(key); it != f_.kv_index_.end())
      c_.fail("duplicate key (first defined at byte %zu)", kv_at_[it->second]);
    GgufType t = read_type("value type");
    ++n_values_;
    GgufValue v = read_value(t, 0);
    f_.kv_index_.emplace(key, f_.kv_.size());
    kv_at_.push_back(at);
    f_.kv_.emplace_back(std::move(key), std::move(v));
  }
}

GgufValue GgufParser::read_value(GgufType t, int depth) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::UINT8: v.u = c_.u8("UINT8 value"); break;
    case GgufType::INT8: v.i = int8_t(c_.u8("INT8 value")); break;
    case GgufType::UINT16: v.u = c_.u16("UINT16 value"); break;
    case GgufType::INT16: v.i = int16_t(c_.u16("INT16 value")); break;
    case GgufType::UINT32: v.u = c_.u32("UINT32 value"); break;
    case GgufType::INT32: v.i = int32_t(c_.u32("INT32 value")); break;
    case GgufType::UINT64: v.u = c_.u64("UINT64 value"); break;
    case GgufType::INT64: v.i = int64_t(c_.u64("INT64 value")); break;
    case GgufType::FLOAT32: {
      uint32_t bits = c_.u32("FLOAT32 value");
      float x;
      std::memcpy(&x, &bits, 4);
      v.f = x;
      break;
    }
    case GgufType::FLOAT64: {
      uint64_t bits = c_.u64("FLOAT64 value");
      std::memcpy(&v.f, &bits, 8);
      break;
    }
    case GgufType::BOOL: {
      size_t at = c_.pos();
      v.u = c_.u8("BOOL value");
      if (v.u > 1) c_.fail("BOOL value at byte %zu is %llu, expected 0 or 1", at, ull(v.u));
      break;
    }
    case GgufType::STRING: v.s = c_.str("string"); break;
    case GgufType::ARRAY: {
      if (depth >= gguf_detail::kMaxArrayDepth)
        c_.fail("array at byte %zu is nested more than %d levels deep", c_.pos(), gguf_detail::kMaxArrayDepth);
      v.elem_type = read_type("array element type");
      size_t at = c_.pos();
      uint64_t n = c_.u64("array count");
      size_t min = gguf_detail::min_encoded_size(v.elem_type);
      if (n > c_.remaining() / min)
        c_.fail("array count %llu at byte %zu needs at least %zu bytes per %s element, but only %zu bytes "
                "remain (file is %zu bytes)",
                ull(n), at, min, gguf_type_name(v.elem_type), c_.remaining(), c_.size());
      n_values_ += n;
      if (n_values_ > kMaxMetadataValues)
        c_.fail("array count %llu at byte %zu brings the metadata over %llu values", ull(n), at,
                ull(kMaxMetadataValues));
      v.arr.reserve(size_t(std::min(n, kMaxReserve)));
      for (uint64_t k = 0; k < n; ++k) v.arr.push_back(read_value(v.elem_type, depth + 1));
      break;
    }
  }
  return v;
}

void GgufParser::read_alignment() {
  auto it = f_.kv_index_.find("general.alignment");
  if (it == f_.kv_index_.end()) return;
  const GgufValue& v = f_.kv_[it->second].second;
  c_.set_context(strfmt("key 'general.alignment' (at byte %zu)", kv_at_[it->second]));
  if (v.type != GgufType::UINT32) c_.fail("has type %s, expected UINT32", gguf_type_name(v.type));
  if (v.u == 0 || (v.u & (v.u - 1)) != 0) c_.fail("alignment %llu is not a power of two", ull(v.u));
  f_.alignment_ = size_t(v.u);
}

void GgufParser::read_tensor_infos() {
  f_.tensors_.reserve(size_t(std::min(n_tensors_, kMaxReserve)));
  info_at_.reserve(size_t(std::min(n_tensors_, kMaxReserve)));
  for (uint64_t i = 0; i < n_tensors_; ++i) read_tensor_info(i);
}

void GgufParser::read_tensor_info(uint64_t index) {
  size_t at = c_.pos();
  c_.set_context(strfmt("tensor info #%llu (at byte %zu)", ull(index), at));
  GgufTensorInfo t;
  t.name = c_.str("tensor name");
  if (t.name.empty()) c_.fail("empty tensor name");
  c_.set_context(strfmt("tensor '%s' (info at byte %zu)", printable(t.name).c_str(), at));
  if (auto it = f_.tensor_index_.find(t.name); it != f_.tensor_index_.end())
    c_.fail("duplicate tensor name (first defined at byte %zu)", info_at_[it->second]);

  size_t dims_at = c_.pos();
  uint32_t n_dims = c_.u32("n_dims");
  if (n_dims == 0 || n_dims > kMaxDims)
    c_.fail("n_dims %u at byte %zu is not in 1..%u", n_dims, dims_at, kMaxDims);
  int64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    size_t ne_at = c_.pos();
    auto ne = int64_t(c_.u64("dimension"));
    if (ne <= 0) c_.fail("dimension ne[%u] = %lld at byte %zu is not positive", d, ll(ne), ne_at);
    if (__builtin_mul_overflow(n_elements, ne, &n_elements))
      c_.fail("element count overflows 64 bits at dimension ne[%u] = %lld (byte %zu)", d, ll(ne), ne_at);
    t.ne.push_back(ne);
  }

  size_t type_at = c_.pos();
  uint32_t type_id = c_.u32("tensor type");
  DTypeTraits tr = dtype_traits(type_id);
  if (!tr.name) c_.fail("unknown tensor type id %u at byte %zu", type_id, type_at);
  t.type = DType(type_id);
  if (t.ne[0] % tr.block_size != 0)
    c_.fail("ne[0] = %lld is not a multiple of the %s block size %lld", ll(t.ne[0]), tr.name, ll(tr.block_size));
  // Bytes = blocks per row * block bytes * rows, each step checked.
  uint64_t row = 0, nbytes = 0;
  if (__builtin_mul_overflow(uint64_t(t.ne[0] / tr.block_size), uint64_t(tr.type_size), &row) ||
      __builtin_mul_overflow(row, uint64_t(n_elements / t.ne[0]), &nbytes))
    c_.fail("data size overflows 64 bits");
  t.nbytes = size_t(nbytes);
  t.offset = c_.u64("data offset");

  f_.tensor_index_.emplace(t.name, f_.tensors_.size());
  info_at_.push_back(at);
  f_.tensors_.push_back(std::move(t));
}

void GgufParser::place_tensor_data() {
  size_t a = f_.alignment_;
  size_t end_of_infos = c_.pos();
  f_.data_offset_ = (end_of_infos + a - 1) / a * a;
  uint64_t size = c_.size();
  for (size_t i = 0; i < f_.tensors_.size(); ++i) {
    GgufTensorInfo& t = f_.tensors_[i];
    c_.set_context(tensor_context(i));
    if (t.offset % a != 0)
      c_.fail("data offset %llu (relative to the data section at byte %zu) is not a multiple of the "
              "alignment %zu",
              ull(t.offset), f_.data_offset_, a);
    uint64_t begin = 0, end = 0;
    if (__builtin_add_overflow(uint64_t(f_.data_offset_), t.offset, &begin) ||
        __builtin_add_overflow(begin, uint64_t(t.nbytes), &end))
      c_.fail("data offset %llu + size %zu overflows 64 bits", ull(t.offset), t.nbytes);
    if (end > size)
      c_.fail("data [offset %llu, %llu) ends past the end of the file (%llu bytes)", ull(begin), ull(end),
              ull(size));
    t.data = c_.data() + begin;
  }
  check_overlaps();
}

void GgufParser::check_overlaps() {
  std::vector<size_t> order(f_.tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return f_.tensors_[x].offset < f_.tensors_[y].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& prev = f_.tensors_[order[k - 1]];
    const GgufTensorInfo& cur = f_.tensors_[order[k]];
    // Offsets and sizes were bounded by the file size above, so the sums cannot overflow.
    if (prev.offset + prev.nbytes > cur.offset) {
      c_.set_context(tensor_context(order[k]));
      uint64_t base = f_.data_offset_;
      c_.fail("data [offset %llu, %llu) overlaps tensor '%s' at [offset %llu, %llu)", ull(base + cur.offset),
              ull(base + cur.offset + cur.nbytes), printable(prev.name).c_str(), ull(base + prev.offset),
              ull(base + prev.offset + prev.nbytes));
    }
  }
}

std::unique_ptr<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = name;
  GgufParser(data, size, *f).run();
  return f;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  MappedFile map(path);
  auto f = parse(map.data(), map.size(), path);
  // Moving the map keeps its address, so the tensor data pointers stay valid.
  f->map_ = std::move(map);
  return f;
}

}  // namespace frugal
