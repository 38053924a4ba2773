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

}  // namespace frugal::gguf_detail
