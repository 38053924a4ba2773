// Untrusted text: made safe to print (control bytes, quotes and backslashes escaped as \xNN,
// long strings cut; error messages that quote names from files, `inspect`), and checked for
// valid UTF-8 (a byte-level model can emit half a character); model output made safe to stream
// to a terminal.
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

// Model output shown on a terminal: a token can decode to any byte, and a raw ESC, SO or CSI
// (C1, U+009B) from the model would drive the terminal — shift it to line-drawing glyphs,
// clear it, move the cursor over earlier text. C0 controls other than newline and tab, and DEL,
// are shown in caret notation (ESC as ^[, as `cat -v` does), C1 controls as <U+0085>. Text
// decoded for output is whole characters (StreamDecoder holds back a split one), so a C1
// control's two bytes arrive together.
inline std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t k = 0; k < s.size(); ++k) {
    const auto b = static_cast<unsigned char>(s[k]);
    if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7f) {
      out += '^';
      out += char(b ^ 0x40);
    } else if (b == 0xC2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) <= 0x9F &&
               static_cast<unsigned char>(s[k + 1]) >= 0x80) {
      out += strfmt("<U+%04X>", unsigned(static_cast<unsigned char>(s[++k])));
    } else {
      out += char(b);
    }
  }
  return out;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int n;
    unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (b < 0x80) n = 0;
    else if (b >= 0xC2 && b <= 0xDF) n = 1;
    else if (b >= 0xE0 && b <= 0xEF) n = 2, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4) n = 3, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (i + size_t(n) >= s.size() && n > 0) return false;  // truncated character
    for (int k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + size_t(k)]);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return false;
    }
    i += size_t(n) + 1;
  }
  return true;
}

}  // namespace frugal
