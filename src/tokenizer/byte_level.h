// GPT-2 byte-level alphabet: every byte value maps to one printable code point, so that a
// byte-level BPE vocabulary is a set of ordinary strings (space is "Ġ" = U+0120, newline "Ċ").
// Also the few UTF-8 helpers the tokenizer needs.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace frugal::bytelevel {

// Code point that stands for byte b (bytes printable in Latin-1 stand for themselves, the
// other 68 are mapped to U+0100.. in byte order).
uint32_t byte_to_cp(uint8_t b);
// Inverse; returns -1 for a code point that is not in the alphabet.
int cp_to_byte(uint32_t cp);

// Raw bytes -> byte-level string ("hi there" -> "hiĠthere").
std::string encode(std::string_view bytes);
// Byte-level string -> raw bytes. Code points outside the alphabet are copied as UTF-8
// (added tokens such as "<|im_end|>" are stored verbatim, not byte-mapped). `ok` is cleared
// when that happens.
std::string decode(std::string_view s, bool* ok = nullptr);

}  // namespace frugal::bytelevel

namespace frugal::utf8 {

void append(std::string& out, uint32_t cp);
// Decodes one code point at s[i]; returns its length (1..4) or 0 if the bytes there are not a
// valid, shortest-form UTF-8 sequence (or are cut off by the end of s).
int decode(std::string_view s, size_t i, uint32_t* cp);
// Length a sequence starting with lead byte b claims to have (1..4), 0 for a continuation or
// invalid lead byte.
int seq_len(uint8_t b);
// Replaces every invalid sequence with U+FFFD (one per maximal invalid subpart, as the
// WHATWG decoder used by the reference tokenizer does).
std::string sanitize(std::string_view s);
bool is_valid(std::string_view s);
// Number of bytes at the end of s that begin a valid sequence not finished yet (0..3): what a
// streaming decoder must hold back until the next bytes arrive.
size_t incomplete_tail(std::string_view s);

}  // namespace frugal::utf8
