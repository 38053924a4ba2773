#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <cctype>

#include "core/error.h"

namespace frugal {
namespace {

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char other_case(char c) { return std::islower(uint8_t(c)) ? char(std::toupper(uint8_t(c))) : char(std::tolower(uint8_t(c))); }

// Copies an escape starting at p[i] == '\\' into out; returns the index after it.
size_t copy_escape(std::string_view p, size_t i, std::string& out) {
  if (i + 1 >= p.size()) {
    out += '\\';
    return i + 1;
  }
  char e = p[i + 1];
  if (e == 's') {
    out += "\\p{White_Space}";
    return i + 2;
  }
  if (e == 'S') {
    out += "\\P{White_Space}";
    return i + 2;
  }
  size_t j = i + 2;
  if ((e == 'p' || e == 'P' || e == 'x' || e == 'u') && j < p.size() && p[j] == '{') {
    auto close = p.find('}', j);
    j = close == std::string_view::npos ? p.size() : close + 1;
  }
  out.append(p.substr(i, j - i));
  return j;
}

}  // namespace

std::string translate_hf_regex(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  std::vector<bool> group_ci;  // caseless state saved at each open group
  bool ci = false;
  bool in_class = false;
  size_t class_start = 0;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '\\') {
      i = copy_escape(p, i, out);
      continue;
    }
    if (in_class) {
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (c == ']' && i != class_start) in_class = false;
      if (ci && is_ascii_letter(c) && in_class) {
        if (i + 2 < p.size() && p[i + 1] == '-' && is_ascii_letter(p[i + 2])) {
          out += {c, '-', p[i + 2], other_case(c), '-', other_case(p[i + 2])};
          i += 3;
          continue;
        }
        out += {c, other_case(c)};
        ++i;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      class_start = i;
      continue;
    }
    if (c == '(') {
      group_ci.push_back(ci);
      if (p.substr(i, 4) == "(?i:") {
        ci = true;
        out += "(?:";
        i += 4;
        continue;
      }
      if (p.substr(i, 4) == "(?i)") {  // applies to the rest of the enclosing group
        group_ci.pop_back();
        ci = true;
        i += 4;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == ')') {
      if (!group_ci.empty()) {
        ci = group_ci.back();
        group_ci.pop_back();
      }
      out += c;
      ++i;
      continue;
    }
    if (ci && is_ascii_letter(c)) {
      out += {'[', c, other_case(c), ']'};
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

Regex::Regex(std::string_view hf_pattern) {
  std::string pat = translate_hf_regex(hf_pattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &off, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("tokenizer: bad pre-tokenizer regex '%.*s' at offset %zu: %s", int(hf_pattern.size()),
         hf_pattern.data(), size_t(off), reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const {
  // One match block per thread, reused: only the whole match's offsets are read.
  struct MatchData {
    pcre2_match_data* md = pcre2_match_data_create(16, nullptr);
    ~MatchData() { pcre2_match_data_free(md); }
  };
  thread_local MatchData tl;
  auto* code = static_cast<pcre2_code*>(code_);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, tl.md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0 && rc != 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail("tokenizer: regex match failed: %s", reinterpret_cast<char*>(msg));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(tl.md);
    size_t b = ov[0], e = ov[1];
    if (e > b) {
      out->emplace_back(b, e);
      pos = e;
    } else {  // empty match: step over one code point
      if (b >= text.size()) break;
      pos = b + 1;
      while (pos < text.size() && (uint8_t(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
}

}  // namespace frugal
