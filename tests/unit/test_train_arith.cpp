// The arithmetic data the shipped reasoner learns from: every worked solution is checked by an
// independent reader of the scratchpad (regular expressions and integer arithmetic, not the
// generator's code), line by line: each column line uses the last digits of the operands it
// restates, its sum / difference / product is right, its carry or borrow is the next line's,
// its result digits are the previous line's with one digit in front; every "so ..." line is a
// true equation; the last one states the answer. Plus the answer parser, the buckets and the
// eval split.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "core/rng.h"
#include "train/arith.h"
#include "train/rewards.h"

using namespace frugal;
using namespace frugal::train;

namespace {

int last_digit(const std::string& operand) { return operand == "_" ? 0 : operand.back() - '0'; }
std::string drop_last(const std::string& operand) {
  return operand == "_" || operand.size() == 1 ? "_" : operand.substr(0, operand.size() - 1);
}

// Checks a scratchpad; returns "" or what is wrong (with the line).
std::string check_scratchpad(const std::string& text, int64_t answer) {
  static const std::regex col(R"(^(\d+|_)([+\-*])(\d+|_) ([cb])(\d): (\d)([+\-*])(\d)([+\-])(\d)=(-?\d+)(?:\+10=(\d))?, r(\d+) [cb](\d)$)");
  static const std::regex tail(R"(^_\*(\d) c(\d): r(\d+)$)");
  static const std::regex head(R"(^(\d+)\*(\d+): last (\d), rest (\d+|_)$)");
  static const std::regex so(R"(^so (-?\d+)([+\-*])(\d+)=(-?\d+)(?:, shifted (\d+))?$)");
  std::istringstream in(text);
  std::string line, prev_r, next_x, next_y;
  int carry_in = -1, multiplier = -1;
  int64_t last_stated = INT64_MIN;
  bool in_block = false;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    auto bad = [&](const std::string& why) { return "line " + std::to_string(n) + " '" + line + "': " + why; };
    if (std::regex_match(line, m, col)) {
      const std::string x = m[1], op = m[2], y = m[3];
      const int cin = std::stoi(m[5]), a = std::stoi(m[6]), b = std::stoi(m[8]), c = std::stoi(m[10]);
      const int s = std::stoi(m[11]), cout = std::stoi(m[14]);
      if (m[7] != op) return bad("column operator differs from the line's");
      if (in_block && (x != next_x || (op != "*" && y != next_y) || cin != carry_in))
        return bad("does not continue the previous line");
      if (!in_block && cin != 0) return bad("a block starts with a carry");
      if (a != last_digit(x) || c != cin) return bad("not the last digit of the operand, or not the carry");
      if (op == "*" ? b != std::stoi(y) || b != multiplier : b != last_digit(y)) return bad("wrong second digit");
      const int expect = op == "+" ? a + b + c : op == "-" ? a - b - c : a * b + c;
      if (s != expect || (m[9] == "-") != (op == "-")) return bad("wrong arithmetic");
      int digit = op == "-" ? (s + 10) % 10 : s % 10;
      if (op == "-" && ((s < 0) != m[12].matched || (m[12].matched && std::stoi(m[12]) != s + 10)))
        return bad("borrow step");
      const int next_c = op == "-" ? (s < 0) : s / 10;
      if (cout != next_c) return bad("wrong carry/borrow out");
      if (m[13] != std::string(1, char('0' + digit)) + prev_r) return bad("result digits");
      prev_r = m[13];
      next_x = drop_last(x);
      next_y = op == "*" ? y : drop_last(y);
      carry_in = cout;
      in_block = true;
      continue;
    }
    if (std::regex_match(line, m, tail)) {
      if (!in_block || next_x != "_" || std::stoi(m[2]) != carry_in || carry_in == 0) return bad("stray final-carry line");
      if (m[3] != std::to_string(carry_in) + prev_r) return bad("final carry digits");
      prev_r = m[3];
      continue;
    }
    if (in_block && !prev_r.empty()) {
      // A block ends: the next "so" line must state its digits (without leading zeros).
      const std::string r = prev_r.find_first_not_of('0') == std::string::npos ? "0" : prev_r.substr(prev_r.find_first_not_of('0'));
      if (line.rfind("so ", 0) != 0) return bad("a block must end in a 'so' line");
      if (line.find("=" + r) == std::string::npos) return bad("does not state the block's result " + r);
    }
    in_block = false;
    prev_r.clear();
    if (std::regex_match(line, m, head)) {
      if (std::stoi(m[3]) != last_digit(m[2]) || m[4] != drop_last(m[2])) return bad("last digit / rest");
      multiplier = std::stoi(m[3]);
      continue;
    }
    if (std::regex_match(line, m, so)) {
      const int64_t A = std::stoll(m[1]), B = std::stoll(m[3]), R = std::stoll(m[4]);
      const int64_t v = m[2] == "+" ? A + B : m[2] == "-" ? A - B : A * B;
      if (v != R) return bad("false equation");
      if (m[5].matched) {
        const int64_t sh = std::stoll(m[5]);
        if (sh <= R || sh % R != 0 || std::to_string(sh / R).find_first_not_of('0', 1) != std::string::npos)
          return bad("shift is not R followed by zeros");
      }
      last_stated = R;
    }
  }
  if (last_stated != answer) return "the last 'so' line does not state " + std::to_string(answer);
  return "";
}

}  // namespace

TEST(Arith, DetailedScratchpadsCheckLineByLine) {
  Rng rng(5);
  int checked = 0;
  for (const Bucket& bk : buckets_or_all({})) {
    for (int i = 0; i < 300; ++i) {
      Problem p{bk.op, 0, 0, ""};
      if (bk.held_out()) {
        p = eval_problems(bk, 300, 3)[size_t(i)];
      } else {
        p = training_problem(bk, rng);
      }
      const std::string r = reasoning(p, Style::Detailed);
      ASSERT_EQ(r.rfind("Digit by digit:\n", 0), 0u) << r;
      const std::string err = check_scratchpad(r.substr(16), p.answer());
      ASSERT_EQ(err, "") << p.expr() << "\n" << r;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 21 * 300);
}

TEST(Arith, DetailedEdgeCases) {
  // Zeros, carries out of the top digit, borrows through zeros, negative results.
  for (auto [op, a, b] : std::vector<std::tuple<ArithOp, int64_t, int64_t>>{
           {ArithOp::Add, 0, 0}, {ArithOp::Add, 999, 99}, {ArithOp::Add, 5, 5},
           {ArithOp::Sub, 100, 99}, {ArithOp::Sub, 7, 7}, {ArithOp::Sub, 12, 345}, {ArithOp::Sub, 1000, 1},
           {ArithOp::Mul, 0, 7}, {ArithOp::Mul, 340, 20}, {ArithOp::Mul, 999, 99}, {ArithOp::Mul, 100, 10},
           {ArithOp::Mul, 123, 405}, {ArithOp::Mul, 9, 9}}) {
    const Problem p{op, a, b, ""};
    const std::string r = reasoning(p, Style::Detailed);
    EXPECT_EQ(check_scratchpad(r.substr(16), p.answer()), "") << p.expr() << "\n" << r;
  }
}

TEST(Arith, TheCheckerCatchesAWrongScratchpad) {
  const Problem p{ArithOp::Add, 347, 86, ""};
  const std::string good = reasoning(p, Style::Detailed).substr(16);
  ASSERT_EQ(check_scratchpad(good, 433), "");
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"7+6+0=13", "7+6+0=12"}, {"c1\n34+8 c1", "c1\n34+8 c0"}, {"r33", "r34"}, {"34+8", "34+6"}, {"=433", "=434"}}) {
    std::string t = good;
    const size_t at = t.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    EXPECT_NE(check_scratchpad(t, 433), "") << "missed: " << from << " -> " << to << "\n" << t;
  }
}

TEST(Arith, ShortAndEmptyStylesStateTheAnswer) {
  Rng rng(9);
  for (const Bucket& bk : trained_buckets())
    for (int i = 0; i < 100; ++i) {
      const Problem p = training_problem(bk, rng);
      EXPECT_EQ(reasoning(p, Style::Empty), "");
      const std::string s = reasoning(p, Style::Short);
      const std::string tail = " = " + std::to_string(p.answer());
      EXPECT_TRUE(s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0) << s;
    }
}

TEST(Arith, EvalSplitIsNeverTrainedOn) {
  Rng rng(3);
  for (const Bucket& bk : trained_buckets()) {
    for (int i = 0; i < 2000; ++i) {
      const Problem p = training_problem(bk, rng);
      if (bk.has_eval_split()) ASSERT_FALSE(in_eval_split(p.op, p.a, p.b)) << p.expr();
    }
    for (const Problem& p : eval_problems(bk, 500, 1))
      if (bk.has_eval_split()) ASSERT_TRUE(in_eval_split(p.op, p.a, p.b)) << p.expr();
  }
  EXPECT_THROW(training_problem(parse_bucket("mul 3x3"), rng), std::exception);
  // Held-out buckets: distinct problems.
  const auto held = eval_problems(parse_bucket("mul 4x2"), 2000, 1);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const Problem& p : held) seen.insert({p.a, p.b});
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(Arith, ParseAnswer) {
  int64_t v = 0;
  EXPECT_TRUE(parse_answer("\n\n433", &v));
  EXPECT_EQ(v, 433);
  EXPECT_TRUE(parse_answer("<answer>-12</answer>", &v));
  EXPECT_EQ(v, -12);
  for (const char* s : {"", "abc", "12 13", "012", "-0", "1.5", "-", "1234567890123456789"}) EXPECT_FALSE(parse_answer(s, &v)) << s;
}

TEST(Rewards, FormatAndAccuracy) {
  auto g = grade("Digit by digit:\nso 2+3=5\n</think>\n\n5", true, 5);
  EXPECT_TRUE(g.format);
  EXPECT_TRUE(g.correct);
  EXPECT_EQ(g.answer, "5");
  EXPECT_EQ(g.reasoning, "Digit by digit:\nso 2+3=5");
  EXPECT_TRUE(grade("</think>\n\n5", true, 5).format);                    // empty think
  EXPECT_FALSE(grade("</think>\n\n5", true, 6).correct);                  // wrong number
  EXPECT_FALSE(grade("so 5\n</think>\n\n5", false, 5).format);            // cut by the length limit
  EXPECT_TRUE(grade("so 5\n</think>\n\n5", false, 5).correct);            // ... but the number is right
  EXPECT_FALSE(grade("so 5\n5", true, 5).correct);                        // no </think>
  EXPECT_FALSE(grade("a</think>\n\n5</think>\n\n5", true, 5).format);     // two
  EXPECT_FALSE(grade("<think>a\n</think>\n\n5", true, 5).format);         // a second <think>
  EXPECT_FALSE(grade("a\n</think>\n\n5 or 6", true, 5).correct);          // not one integer
  EXPECT_FALSE(grade("a\n</think>\n5", true, 5).format);                  // one newline
  EXPECT_FALSE(grade("a\xC3\n</think>\n\n5", true, 5).format);            // half a character
}
