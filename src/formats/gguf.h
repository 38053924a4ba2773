// GGUF v2/v3: reader (mmap, validated up front) and writer (streams tensor data, so files
// larger than memory can be produced). Keys and tensor names follow llama.cpp.
//
// Reading never trusts the file: every length, count, offset and shape is checked against the
// file size before use, and any problem throws frugal::Error naming the file, the key or
// tensor, and the byte offset.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mmap_file.h"

namespace frugal {

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value. Scalars live in the matching field; arrays (possibly nested) keep their
// element type and elements.
struct GgufValue {
  GgufType type = GgufType::UINT32;
  uint64_t u = 0;     // UINT8..UINT64, BOOL (0/1)
  int64_t i = 0;      // INT8..INT64
  double f = 0;       // FLOAT32, FLOAT64
  std::string s;      // STRING
  GgufType elem_type = GgufType::UINT32;  // ARRAY
  std::vector<GgufValue> arr;             // ARRAY

  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v);
  static GgufValue str(std::string v);
  static GgufValue array(GgufType elem, std::vector<GgufValue> v);
  static GgufValue str_array(const std::vector<std::string>& v);
  static GgufValue f32_array(const std::vector<float>& v);
  static GgufValue i32_array(const std::vector<int32_t>& v);

  bool is_integer() const;  // any of the integer types or BOOL
  bool is_float() const;
  int64_t as_int() const;   // integers, bool; throws on other types
  double as_float() const;  // floats and integers
  bool operator==(const GgufValue&) const = default;  // exact, field by field
};

struct GgufTensorInfo {
  std::string name;
  DType type;
  std::vector<int64_t> ne;  // ne[0] is the contiguous (row) dimension, as in ggml
  uint64_t offset = 0;      // relative to the start of the data section
  size_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the map
  int64_t n_elements() const;
};

class GgufFile {
 public:
  // Maps and fully validates the file. Throws Error on anything malformed.
  static std::unique_ptr<GgufFile> open(const std::string& path);
  // Validates an in-memory image (used by the fuzzer and tests); `data` must outlive the result.
  static std::unique_ptr<GgufFile> parse(const uint8_t* data, size_t size, const std::string& name);
  // A model image assembled by another loader (a Hugging Face folder): GGUF metadata and tensors
  // in llama.cpp's names and layouts, whose data points into `maps` (used in place) or into
  // `owned` buffers (converted at load). Models then load from it exactly as from a .gguf file.
  static std::unique_ptr<GgufFile> assemble(std::string path,
                                            std::vector<std::pair<std::string, GgufValue>> kv,
                                            std::vector<GgufTensorInfo> tensors,
                                            std::vector<std::shared_ptr<const MappedFile>> maps,
                                            std::vector<std::shared_ptr<const void>> owned);

  const std::string& path() const { return path_; }
  const MappedFile& map() const { return map_; }
  // Bytes behind the tensors (the file, or every mapped shard of an assembled image).
  size_t mapped_bytes() const;
  // Pulls every backing map into the page cache; progress(done, total) in bytes.
  // to_memory: each map copied into huge-page memory where it fits (MappedFile::to_memory).
  void prefetch(int n_threads, const std::function<void(size_t, size_t)>& progress = {}, bool to_memory = false) const;
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups: nullopt if absent; throw Error naming the key if present with the wrong type.
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Arrays of strings / numbers; nullopt if absent.
  std::optional<std::vector<std::string>> get_str_array(std::string_view key) const;
  std::optional<std::vector<double>> get_num_array(std::string_view key) const;
  // The architecture (general.architecture); throws if absent.
  std::string architecture() const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

 private:
  GgufFile() = default;
  std::string path_;
  MappedFile map_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  // Name -> index into kv_ / tensors_, so lookups stay cheap with thousands of tensors.
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  std::vector<std::shared_ptr<const MappedFile>> extra_maps_;  // assembled images
  std::vector<std::shared_ptr<const void>> owned_;
  void build_indexes();
  friend class GgufParser;
};

// Writes GGUF v3. Tensor data is produced at write time by a callback, in file order, so a
// multi-gigabyte file never has to sit in memory. Writes to PATH.tmp and renames on success.
class GgufWriter {
 public:
  using Fill = std::function<void(uint8_t* dst, size_t nbytes)>;
  void set(const std::string& key, GgufValue v);  // replaces an existing key
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, Fill fill);
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> ne, const void* data);
  void set_alignment(size_t a) { alignment_ = a; }
  // progress(done_bytes, total_bytes) is called after each tensor; bytes count the whole file.
  void write(const std::string& path, const std::function<void(size_t, size_t)>& progress = {}) const;

 private:
  struct Pending {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
    Fill fill;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Pending> tensors_;
  size_t alignment_ = 32;
};

}  // namespace frugal
