#include "train/arith.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace frugal::train {

namespace {

const char* op_name(ArithOp op) { return op == ArithOp::Add ? "add" : op == ArithOp::Sub ? "sub" : "mul"; }
char op_char(ArithOp op) { return op == ArithOp::Add ? '+' : op == ArithOp::Sub ? '-' : '*'; }

int64_t lo(int d) {
  int64_t v = 1;
  for (int i = 1; i < d; ++i) v *= 10;
  return d == 1 ? 0 : v;
}
int64_t hi(int d) {
  int64_t v = 1;
  for (int i = 0; i < d; ++i) v *= 10;
  return v - 1;
}

std::string num(int64_t v) { return std::to_string(v); }

// Digits, least significant first (0 has one digit).
std::vector<int> digits(int64_t v) {
  std::vector<int> d;
  do {
    d.push_back(int(v % 10));
    v /= 10;
  } while (v > 0);
  return d;
}

// The detailed scratchpad works one column per line, least significant first, and every
// line restates what is left of the operands, so the digits a line needs are the last ones
// of the operands written at its start, and the result so far (most significant first) is
// the previous line's with one digit in front. A tiny transformer then only ever looks a few
// tokens back or copies a short run, instead of counting positions inside a number (Lee et
// al., arXiv 2307.03381: this shape of scratchpad makes multi-digit arithmetic learnable from
// little data).
std::string rest(const std::vector<int>& d, size_t from) {  // digits [from, end) as a number
  std::string s;
  for (size_t i = d.size(); i > from; --i) s += char('0' + d[i - 1]);
  return s.empty() ? "_" : s;
}

// "x+y c0: ..." lines; returns the sum's digits (most significant first).
std::string add_block(std::string& out, int64_t x, int64_t y) {
  const auto dx = digits(x), dy = digits(y);
  std::string r;
  int c = 0;
  for (size_t i = 0; i < std::max(dx.size(), dy.size()) || c; ++i) {
    const int a = i < dx.size() ? dx[i] : 0, b = i < dy.size() ? dy[i] : 0, s = a + b + c;
    r.insert(r.begin(), char('0' + s % 10));
    out += rest(dx, i) + "+" + rest(dy, i) + " c" + num(c) + ": " + num(a) + "+" + num(b) + "+" + num(c) + "=" +
           num(s) + ", r" + r + " c" + num(s / 10) + "\n";
    c = s / 10;
  }
  return r;
}

std::string sub_block(std::string& out, int64_t x, int64_t y) {  // x >= y
  const auto dx = digits(x), dy = digits(y);
  std::string r;
  int br = 0;
  for (size_t i = 0; i < dx.size(); ++i) {
    const int a = dx[i], b = i < dy.size() ? dy[i] : 0, d = a - b - br;
    r.insert(r.begin(), char('0' + (d + 10) % 10));
    out += rest(dx, i) + "-" + rest(dy, i) + " b" + num(br) + ": " + num(a) + "-" + num(b) + "-" + num(br) + "=" + num(d);
    if (d < 0) out += "+10=" + num(d + 10);
    out += ", r" + r + " b" + num(d < 0) + "\n";
    br = d < 0;
  }
  return r;
}

// x times one digit d; the last line carries the final carry into the result.
std::string mul_digit_block(std::string& out, int64_t x, int d) {
  const auto dx = digits(x);
  std::string r;
  int c = 0;
  for (size_t i = 0; i < dx.size(); ++i) {
    const int p = dx[i] * d + c;
    r.insert(r.begin(), char('0' + p % 10));
    out += rest(dx, i) + "*" + num(d) + " c" + num(c) + ": " + num(dx[i]) + "*" + num(d) + "+" + num(c) + "=" + num(p) +
           ", r" + r + " c" + num(p / 10) + "\n";
    c = p / 10;
  }
  if (c) {
    r.insert(r.begin(), char('0' + c));
    out += "_*" + num(d) + " c" + num(c) + ": r" + r + "\n";
  }
  return r;
}

// Non-zero place values of v, highest first (86 -> 80, 6); {0} for 0.
std::vector<int64_t> places(int64_t v) {
  std::vector<int64_t> out;
  int64_t p = 1;
  for (int d : digits(v)) {
    if (d) out.push_back(d * p);
    p *= 10;
  }
  std::reverse(out.begin(), out.end());
  if (out.empty()) out.push_back(0);
  return out;
}

std::string short_add_sub(int64_t a, int64_t b, char op) {
  const auto parts = places(b);
  std::string s = num(a) + op + num(b) + " = ";
  if (parts.size() == 1) return s + num(op == '+' ? a + b : a - b);
  s += num(a);
  for (int64_t p : parts) s += op + num(p);
  int64_t acc = op == '+' ? a + parts[0] : a - parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    s += " = " + num(acc);
    for (size_t j = i; j < parts.size(); ++j) s += op + num(parts[j]);
    acc = op == '+' ? acc + parts[i] : acc - parts[i];
  }
  return s + " = " + num(acc);
}

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

int64_t uniform(Rng& rng, int64_t a, int64_t b) { return a + int64_t(rng.next() % uint64_t(b - a + 1)); }

}  // namespace

const char* style_name(Style s) { return s == Style::Empty ? "empty" : s == Style::Short ? "short" : "detailed"; }

std::string Bucket::name() const { return std::string(op_name(op)) + " " + num(da) + "x" + num(db); }

int64_t Bucket::n_problems() const { return (hi(da) - lo(da) + 1) * (hi(db) - lo(db) + 1); }

Bucket parse_bucket(const std::string& s) {
  for (ArithOp op : {ArithOp::Add, ArithOp::Sub, ArithOp::Mul})
    for (int da = 1; da <= 6; ++da)
      for (int db = 1; db <= da; ++db)
        if (Bucket{op, da, db}.name() == s) return {op, da, db};
  fail("unknown bucket '%s' (expected e.g. 'mul 3x2': add|sub|mul, then AxB with 1 <= B <= A <= 6)", s.c_str());
}

std::vector<Bucket> parse_buckets(const std::string& list) {
  std::vector<Bucket> out;
  size_t i = 0;
  while (i <= list.size()) {
    const size_t j = std::min(list.find(',', i), list.size());
    std::string one = list.substr(i, j - i);
    one.erase(0, one.find_first_not_of(' '));
    one.erase(one.find_last_not_of(' ') + 1);
    if (!one.empty()) out.push_back(parse_bucket(one));
    i = j + 1;
  }
  return out;
}

std::vector<Bucket> buckets_or_all(const std::vector<Bucket>& chosen) {
  if (!chosen.empty()) return chosen;
  std::vector<Bucket> all = trained_buckets();
  for (const Bucket& b : held_out_buckets()) all.push_back(b);
  return all;
}

std::vector<Bucket> trained_buckets() {
  std::vector<Bucket> v;
  for (ArithOp op : {ArithOp::Add, ArithOp::Sub, ArithOp::Mul})
    for (auto [a, b] : {std::pair{1, 1}, {2, 1}, {2, 2}, {3, 1}, {3, 2}}) v.push_back({op, a, b});
  return v;
}

std::vector<Bucket> held_out_buckets() {
  std::vector<Bucket> v;
  for (ArithOp op : {ArithOp::Add, ArithOp::Sub, ArithOp::Mul})
    for (auto [a, b] : {std::pair{3, 3}, {4, 2}}) v.push_back({op, a, b});
  return v;
}

int64_t Problem::answer() const { return op == ArithOp::Add ? a + b : op == ArithOp::Sub ? a - b : a * b; }
std::string Problem::expr() const { return num(a) + op_char(op) + num(b); }

bool in_eval_split(ArithOp op, int64_t a, int64_t b) {
  return mix((uint64_t(op) << 56) ^ (uint64_t(a) << 28) ^ uint64_t(b) ^ 0x5eedull) % 4 == 0;
}

int n_phrasings(ArithOp op) { return op == ArithOp::Mul ? 6 : 5; }

std::string phrase(ArithOp op, int64_t a, int64_t b, int k) {
  const std::string A = num(a), B = num(b);
  switch (op) {
    case ArithOp::Add: {
      const std::string f[] = {A + "+" + B, A + " + " + B + " = ?", "What is " + A + " plus " + B + "?",
                               "Compute " + A + " + " + B, "Add " + A + " and " + B + "."};
      return f[k % 5];
    }
    case ArithOp::Sub: {
      const std::string f[] = {A + "-" + B, A + " - " + B + " = ?", "What is " + A + " minus " + B + "?",
                               "Compute " + A + " - " + B, "Subtract " + B + " from " + A + "."};
      return f[k % 5];
    }
    case ArithOp::Mul: {
      const std::string f[] = {A + "*" + B, A + " * " + B + " = ?", "What is " + A + " times " + B + "?",
                               "Compute " + A + " x " + B, "Multiply " + A + " by " + B + ".",
                               A + " \xC3\x97 " + B};  // ×
      return f[k % 6];
    }
  }
  return "";
}

Problem training_problem(const Bucket& bk, Rng& rng, int phrasing) {
  if (bk.held_out()) fail("bucket %s is held out of training", bk.name().c_str());
  Problem p{bk.op, 0, 0, ""};
  do {
    p.a = uniform(rng, lo(bk.da), hi(bk.da));
    p.b = uniform(rng, lo(bk.db), hi(bk.db));
  } while (bk.has_eval_split() && in_eval_split(bk.op, p.a, p.b));
  const int k = phrasing >= 0 ? phrasing : int(rng.next() % uint64_t(n_phrasings(bk.op)));
  p.text = phrase(bk.op, p.a, p.b, k);
  return p;
}

std::vector<Problem> eval_problems(const Bucket& bk, int64_t n, uint64_t seed) {
  std::vector<std::pair<int64_t, int64_t>> pool;
  if (bk.held_out()) {
    // Far more problems than asked for: distinct random pairs.
    Rng rng(seed ^ 0xe7a1ull);
    while (int64_t(pool.size()) < std::min<int64_t>(n, bk.n_problems())) {
      std::pair<int64_t, int64_t> q{uniform(rng, lo(bk.da), hi(bk.da)), uniform(rng, lo(bk.db), hi(bk.db))};
      if (std::find(pool.begin(), pool.end(), q) == pool.end()) pool.push_back(q);
    }
  } else {
    for (int64_t a = lo(bk.da); a <= hi(bk.da); ++a)
      for (int64_t b = lo(bk.db); b <= hi(bk.db); ++b)
        if (!bk.has_eval_split() || in_eval_split(bk.op, a, b)) pool.emplace_back(a, b);
    Rng rng(seed ^ 0x5a3bull);
    for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng.next() % i]);
    if (int64_t(pool.size()) > n) pool.resize(size_t(n));
  }
  std::vector<Problem> out;
  for (size_t i = 0; i < pool.size(); ++i)
    out.push_back({bk.op, pool[i].first, pool[i].second, phrase(bk.op, pool[i].first, pool[i].second, int(i))});
  return out;
}

std::string reasoning(const Problem& p, Style s) {
  const int64_t a = p.a, b = p.b, r = p.answer();
  if (s == Style::Empty) return "";
  if (s == Style::Short) {
    if (p.op == ArithOp::Add) return short_add_sub(a, b, '+');
    if (p.op == ArithOp::Sub) {
      if (a >= b) return short_add_sub(a, b, '-');
      return short_add_sub(b, a, '-') + ", so " + p.expr() + " = " + num(r);
    }
    const auto parts = places(b);
    if (parts.size() == 1) return p.expr() + " = " + num(r);
    std::string s1 = p.expr() + " = ", s2, sep;
    for (int64_t q : parts) {
      s1 += sep + num(a) + "*" + num(q);
      s2 += sep + num(a * q);
      sep = " + ";
    }
    return s1 + " = " + s2 + " = " + num(r);
  }
  std::string out = "Digit by digit:\n";
  if (p.op == ArithOp::Add) {
    add_block(out, a, b);
  } else if (p.op == ArithOp::Sub) {
    if (a >= b) {
      sub_block(out, a, b);
    } else {
      out += num(a) + "<" + num(b) + ", so " + p.expr() + "=-(" + num(b) + "-" + num(a) + ")\n";
      sub_block(out, b, a);
      out += "so " + num(b) + "-" + num(a) + "=" + num(b - a) + "\n";
    }
  } else {
    // One partial product per digit of b, last digit first, each added to the sum so far.
    const auto db = digits(b);
    int64_t sum = 0, shift = 1;
    for (size_t j = 0; j < db.size(); ++j, shift *= 10) {
      out += num(a) + "*" + rest(db, j) + ": last " + num(db[j]) + ", rest " + rest(db, j + 1) + "\n";
      const int64_t prod = a * db[j], part = prod * shift;
      mul_digit_block(out, a, db[j]);
      out += "so " + num(a) + "*" + num(db[j]) + "=" + num(prod);
      out += j > 0 && part != 0 ? ", shifted " + num(part) + "\n" : "\n";
      if (j > 0) {
        add_block(out, sum, part);
        out += "so " + num(sum) + "+" + num(part) + "=" + num(sum + part) + "\n";
      }
      sum += part;
    }
    if (db.size() == 1) {
      out.pop_back();  // the block's own "so A*B=R" is the conclusion
      return out;
    }
  }
  return out + "so " + p.expr() + "=" + num(r);
}

bool parse_answer(const std::string& content, int64_t* value) {
  std::string s = content;
  auto trim = [](std::string& x) {
    while (!x.empty() && std::isspace(static_cast<unsigned char>(x.back()))) x.pop_back();
    size_t i = 0;
    while (i < x.size() && std::isspace(static_cast<unsigned char>(x[i]))) ++i;
    x.erase(0, i);
  };
  trim(s);
  if (s.starts_with("<answer>") && s.ends_with("</answer>")) {
    s = s.substr(8, s.size() - 17);
    trim(s);
  }
  size_t i = s.starts_with("-") ? 1 : 0;
  if (i >= s.size() || s.size() - i > 18) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(s[j]))) return false;
  if (s[i] == '0' && s.size() - i > 1) return false;  // no leading zeros
  if (i == 1 && s == "-0") return false;
  *value = std::stoll(s);
  return true;
}

}  // namespace frugal::train
