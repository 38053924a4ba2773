#include "tokenizer/byte_level.h"

#include <array>

namespace frugal::bytelevel {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // code points 0..323 cover the whole alphabet
  Tables() {
    to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = printable(b) ? uint32_t(b) : next++;
      to_byte[to_cp[b]] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_cp(uint8_t b) { return tables().to_cp[b]; }

int cp_to_byte(uint32_t cp) { return cp < 324 ? tables().to_byte[cp] : -1; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append(out, byte_to_cp(b));
  return out;
}

std::string decode(std::string_view s, bool* ok) {
  std::string out;
  out.reserve(s.size());
  if (ok) *ok = true;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    int n = utf8::decode(s, i, &cp);
    if (n == 0) {  // not UTF-8 at all: keep the byte
      out.push_back(s[i++]);
      if (ok) *ok = false;
      continue;
    }
    int b = cp_to_byte(cp);
    if (b >= 0) {
      out.push_back(char(b));
    } else {
      out.append(s.substr(i, size_t(n)));
      if (ok) *ok = false;
    }
    i += size_t(n);
  }
  return out;
}

}  // namespace frugal::bytelevel

namespace frugal::utf8 {

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | cp >> 6));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | cp >> 12));
    out.push_back(char(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | cp >> 18));
    out.push_back(char(0x80 | (cp >> 12 & 0x3F)));
    out.push_back(char(0x80 | (cp >> 6 & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

int seq_len(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

int decode(std::string_view s, size_t i, uint32_t* cp) {
  auto b0 = uint8_t(s[i]);
  int n = seq_len(b0);
  if (n == 0 || i + size_t(n) > s.size()) return 0;
  if (n == 1) {
    *cp = b0;
    return 1;
  }
  uint32_t c = b0 & (0xFF >> (n + 1));
  for (int k = 1; k < n; ++k) {
    auto b = uint8_t(s[i + size_t(k)]);
    if ((b & 0xC0) != 0x80) return 0;
    c = c << 6 | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return n;
}

// Length of the maximal prefix at s[i] that could start a valid sequence (at least 1): the
// unit the WHATWG decoder replaces by one U+FFFD.
static size_t invalid_run(std::string_view s, size_t i) {
  auto b0 = uint8_t(s[i]);
  int n = seq_len(b0);
  if (n <= 1) return 1;
  size_t k = 1;
  for (; k < size_t(n) && i + k < s.size(); ++k) {
    auto b = uint8_t(s[i + k]);
    uint8_t lo = 0x80, hi = 0xBF;
    if (k == 1) {  // the second byte's range depends on the lead byte
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    }
    if (b < lo || b > hi) break;
  }
  return k;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    int n = decode(s, i, &cp);
    if (n > 0) {
      out.append(s.substr(i, size_t(n)));
      i += size_t(n);
    } else {
      out.append("\xEF\xBF\xBD");
      i += invalid_run(s, i);
    }
  }
  return out;
}

size_t incomplete_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t k = 1; k <= 3 && k <= n; ++k) {
    auto b = uint8_t(s[n - k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation: the lead byte is further back
    int len = seq_len(b);
    return len > int(k) && invalid_run(s, n - k) == k ? k : 0;
  }
  return 0;
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    int n = decode(s, i, &cp);
    if (n == 0) return false;
    i += size_t(n);
  }
  return true;
}

}  // namespace frugal::utf8
