// Untrusted text made safe to print: control bytes, quotes and backslashes escaped as \xNN,
// long strings cut. Used by error messages that quote names from files and by `inspect`.
#pragma once
#include <string>
#include <string_view>

#include "core/error.h"

namespace frugal {

inline std::string printable(std::string_view s, size_t max_shown = 96) {
  std::string out;
  for (size_t k = 0; k < s.size() && k < max_shown; ++k) {
    auto b = static_cast<unsigned char>(s[k]);
    if (b < 0x20 || b == 0x7f || b == '\\' || b == '\'') {
      out += strfmt("\\x%02x", b);
    } else {
      out += char(b);
    }
  }
  if (s.size() > max_shown) out += strfmt("... (%zu bytes)", s.size());
  return out;
}

}  // namespace frugal
