// core/text.h: printable() and the strict UTF-8 check (the trainer's format reward and trace
// files rely on it: a byte-level model can emit half a character).
#include <gtest/gtest.h>

#include "core/text.h"

using frugal::printable;
using frugal::valid_utf8;

TEST(Text, ValidUtf8AcceptsWellFormedText) {
  for (const char* s : {"", "abc", "347 \xC3\x97 86", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF",
                        "\x7F", "\xC2\x80"})
    EXPECT_TRUE(valid_utf8(s)) << printable(s);
}

TEST(Text, ValidUtf8RejectsBrokenText) {
  for (const char* s : {"\xA4", "a\xC3", "\xC3\x28", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\x80",
                        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "\xF0\x9F\x98", "x\xE2\x82\xACy\x80"})
    EXPECT_FALSE(valid_utf8(s)) << printable(s);
}

TEST(Text, PrintableEscapesAndCuts) {
  EXPECT_EQ(printable("a\nb'\\"), "a\\x0ab\\x27\\x5c");
  EXPECT_EQ(printable(std::string(10, 'x'), 4), "xxxx... (10 bytes)");
}

TEST(Text, TerminalSafeDefusesControls) {
  using frugal::terminal_safe;
  EXPECT_EQ(terminal_safe("plain text\n\tindented \xE2\x82\xAC"), "plain text\n\tindented \xE2\x82\xAC");
  // SO (shift to line drawing), ESC c (reset), a CSI clear, BEL, CR, DEL.
  EXPECT_EQ(terminal_safe("a\x0e" "b\x1b" "c\x1b[2J\x07\r\x7f"), "a^Nb^[c^[[2J^G^M^?");
  EXPECT_EQ(terminal_safe(std::string("\0", 1)), "^@");
  // C1 controls (two UTF-8 bytes); the characters right after them are ordinary text.
  EXPECT_EQ(terminal_safe("x\xC2\x9B" "2J\xC2\x85y\xC2\xA0z"), "x<U+009B>2J<U+0085>y\xC2\xA0z");
  EXPECT_EQ(terminal_safe("\xC2"), "\xC2");  // a lone lead byte is not a control
}
