#include "formats/gguf_cursor.h"

#include <cstdarg>

namespace frugal::gguf_detail {

void Cursor::fail(const char* fmt, ...) const {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vstrfmt(fmt, ap);
  va_end(ap);
  throw Error(file_ + ": " + where_ + ": " + msg);
}

std::string Cursor::str(const char* what) {
  size_t at = pos_;
  uint64_t len = u64(what);
  if (len > remaining())
    fail("%s at byte %zu has length %llu, but only %zu bytes remain (file is %zu bytes)", what, at,
         static_cast<unsigned long long>(len), remaining(), size_);
  std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(len));
  pos_ += size_t(len);
  return s;
}

std::string printable(std::string_view s) {
  constexpr size_t kMaxShown = 96;
  std::string out;
  for (size_t k = 0; k < s.size() && k < kMaxShown; ++k) {
    auto b = static_cast<unsigned char>(s[k]);
    if (b < 0x20 || b == 0x7f || b == '\\' || b == '\'') {
      out += strfmt("\\x%02x", b);
    } else {
      out += char(b);
    }
  }
  if (s.size() > kMaxShown) out += strfmt("... (%zu bytes)", s.size());
  return out;
}

}  // namespace frugal::gguf_detail
