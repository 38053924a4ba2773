// Arithmetic problems with checkable answers, the task the shipped reasoner learns: addition,
// subtraction and multiplication of whole numbers, bucketed by the operands' digit counts,
// phrased several ways, with worked solutions in three reasoning styles.
//
// Held out: buckets 3x3 and 4x2 never appear in training; within the trained buckets large
// enough to spare them (2x2, 3x1, 3x2), a fixed quarter of the problems (by a hash of the
// problem) is never trained on and is what evaluation draws from. Buckets 1x1 and 2x1 are
// small enough to be evaluated exhaustively, so their figures are in-distribution.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace frugal::train {

enum class ArithOp { Add, Sub, Mul };
enum class Style { Empty, Short, Detailed };
const char* style_name(Style s);

struct Bucket {
  ArithOp op;
  int da, db;  // digits of the first and second operand
  std::string name() const;  // "mul 3x2"
  bool held_out() const { return (da == 3 && db == 3) || (da == 4 && db == 2); }
  // Whether a quarter of the bucket is kept out of training for evaluation.
  bool has_eval_split() const { return !held_out() && da + db >= 4; }
  int64_t n_problems() const;  // distinct (a, b) pairs
};
// "add 3x2" etc.; throws Error for anything else.
Bucket parse_bucket(const std::string& s);
// "mul 3x2, add 3x3" -> buckets; throws Error naming the one it cannot read.
std::vector<Bucket> parse_buckets(const std::string& list);
std::vector<Bucket> trained_buckets();   // every op x {1x1, 2x1, 2x2, 3x1, 3x2}
std::vector<Bucket> held_out_buckets();  // every op x {3x3, 4x2}
// `chosen`, or when empty every trained then every held-out bucket (what eval covers).
std::vector<Bucket> buckets_or_all(const std::vector<Bucket>& chosen);

struct Problem {
  ArithOp op;
  int64_t a, b;
  std::string text;  // the question as phrased
  int64_t answer() const;
  std::string expr() const;  // "347*86"
};

// True for the quarter of a bucket reserved for evaluation (never trained on).
bool in_eval_split(ArithOp op, int64_t a, int64_t b);
// A problem of the bucket, phrased by `phrasing` (< 0: random), never in the eval split.
Problem training_problem(const Bucket& bk, Rng& rng, int phrasing = -1);
// The evaluation problems of a bucket: up to n, fixed by seed, phrased in rotation; all of
// the eval split (or of the bucket, for 1x1 / 2x1) when it has fewer.
std::vector<Problem> eval_problems(const Bucket& bk, int64_t n, uint64_t seed);
int n_phrasings(ArithOp op);
std::string phrase(ArithOp op, int64_t a, int64_t b, int phrasing);

// The worked solution (the scratchpad, without tags); empty for Style::Empty.
std::string reasoning(const Problem& p, Style s);

// The integer the output states: the content after </think> (optionally inside
// <answer>...</answer>); nullopt-like `ok` false when it is not exactly one integer.
bool parse_answer(const std::string& content, int64_t* value);

}  // namespace frugal::train
