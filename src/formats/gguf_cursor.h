// Internal to the GGUF reader: bounds-checked little-endian reads over an untrusted buffer.
// Every read checks the remaining length first, so a truncated or lying file fails with the
// byte offset instead of reading past the end, and a length field is checked against the
// bytes that remain before anything is allocated for it.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/text.h"
#include "formats/gguf.h"

namespace frugal::gguf_detail {

// Bytes a value of type t occupies in the file; 0 for STRING and ARRAY (variable length).
size_t scalar_size(GgufType t);
// Smallest encoding of one value of type t: lets a count be checked against the remaining
// bytes before the elements are allocated.
size_t min_encoded_size(GgufType t);
bool is_valid_type(uint32_t id);
// Nested arrays deeper than this are refused (reader) and never written (writer), so that
// recursion on untrusted input cannot exhaust the stack.
constexpr int kMaxArrayDepth = 8;
using frugal::printable;  // core/text.h: names from the file quoted safely in messages

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& file)
      : data_(data), size_(size), file_(file) {}

  size_t pos() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* data() const { return data_; }
  const std::string& file() const { return file_; }

  // What is being read ("key 'general.name' (at byte 24)"); prefixes every error.
  void set_context(std::string where) { where_ = std::move(where); }

  // Throws "FILE: CONTEXT: MESSAGE".
  [[noreturn, gnu::format(printf, 2, 3)]] void fail(const char* fmt, ...) const;

  // Fails unless n more bytes are available; `what` names the field being read.
  void need(size_t n, const char* what) const {
    if (n > remaining())
      fail("truncated: %s at byte %zu needs %zu bytes, but only %zu remain (file is %zu bytes)",
           what, pos_, n, remaining(), size_);
  }

  uint8_t u8(const char* what) { return scalar<uint8_t>(what); }
  uint16_t u16(const char* what) { return scalar<uint16_t>(what); }
  uint32_t u32(const char* what) { return scalar<uint32_t>(what); }
  uint64_t u64(const char* what) { return scalar<uint64_t>(what); }

  // u64 length + bytes; the length is checked against the remaining bytes before allocating.
  std::string str(const char* what);

 private:
  // The host is little-endian, as is every file we accept, so a memcpy is the load.
  static_assert(std::endian::native == std::endian::little);
  template <class T>
  T scalar(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
  std::string where_ = "header";
};

}  // namespace frugal::gguf_detail
