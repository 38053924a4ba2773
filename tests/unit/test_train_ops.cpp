// Every op of the training tape: its backward against finite differences (gradcheck.h), and
// the forward of the ops the engine also computes against plain definitions.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "kernels/ops.h"
#include "train/ops.h"

using namespace frugal;
using namespace frugal::train;
using frugal::test::grad_check;
using frugal::test::randomize;

namespace {

ThreadPool& pool2() {
  static ThreadPool p(2);
  return p;
}

template <class T>
std::shared_ptr<const std::vector<T>> shared(std::vector<T> v) {
  return std::make_shared<const std::vector<T>>(std::move(v));
}

std::shared_ptr<Segments> segments(std::vector<int64_t> lens) {
  auto s = std::make_shared<Segments>();
  for (int64_t l : lens) s->add(l);
  return s;
}

void expect_ok(const frugal::test::GradCheckResult& r) {
  EXPECT_GT(r.checked, 0);
  EXPECT_EQ(r.failed, 0);
}

}  // namespace

TEST(TrainOps, Linear) {
  ParamSet ps;
  Param &x = ps.add("x", {17, 9}, true), &w = ps.add("w", {17, 13}, true);
  randomize(ps, 1);
  expect_ok(grad_check(ps, [&](Tape& t) { return linear(t, t.param(x), t.param(w)); }, pool2()));
}

TEST(TrainOps, LinearMatchesDefinition) {
  ParamSet ps;
  Param &x = ps.add("x", {5, 3}, true), &w = ps.add("w", {5, 4}, true);
  randomize(ps, 2);
  Tape t(pool2());
  const Id y = linear(t, t.param(x), t.param(w));
  for (int r = 0; r < 3; ++r)
    for (int o = 0; o < 4; ++o) {
      double s = 0;
      for (int i = 0; i < 5; ++i) s += double(x.w[r * 5 + i]) * w.w[o * 5 + i];
      EXPECT_NEAR(t.val(y)[r * 4 + o], s, 1e-5);
    }
}

TEST(TrainOps, ElementWise) {
  ParamSet ps;
  Param &a = ps.add("a", {6, 5}, true), &b = ps.add("b", {6, 5}, true), &bias = ps.add("bias", {6}, false);
  randomize(ps, 3);
  expect_ok(grad_check(ps, [&](Tape& t) {
    const Id s = add(t, t.param(a), scale(t, t.param(b), 0.7f));
    return swiglu(t, add_bias(t, s, t.param(bias)), sigmoid(t, t.param(b)));
  }, pool2()));
}

TEST(TrainOps, RmsNorm) {
  ParamSet ps;
  Param &x = ps.add("x", {24, 7}, true), &w = ps.add("w", {24}, false);
  randomize(ps, 4);
  expect_ok(grad_check(ps, [&](Tape& t) { return rms_norm(t, t.param(x), t.param(w), 1e-6f); }, pool2()));
  // The forward is the engine's kernels::rms_norm.
  Tape t(pool2());
  const Id y = rms_norm(t, t.param(x), t.param(w), 1e-6f);
  std::vector<float> ref(x.w.size());
  kernels::rms_norm(x.w.data(), w.w.data(), ref.data(), 7, 24, 1e-6f);
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(t.val(y)[i], ref[i]);
}

TEST(TrainOps, ConcatAndGather) {
  ParamSet ps;
  Param &a = ps.add("a", {4, 6}, true), &b = ps.add("b", {3, 6}, true), &tab = ps.add("tab", {5, 11}, true);
  randomize(ps, 5);
  expect_ok(grad_check(ps, [&](Tape& t) {
    const Id c = concat_cols(t, t.param(a), t.param(b));
    const Id g = gather_cols(t, c, shared<int32_t>({6, 0, 0, 3, 5, 1, 6}));
    const Id e = embed(t, t.param(tab), shared<int32_t>({3, 3, 10, 0, 7, 1}));
    return concat_cols(t, gather_rows(t, g, shared<int32_t>({5, 0, 2, 2, 1, 4})), e);
  }, pool2()));
}

TEST(TrainOps, RopeBothLayoutsWithOffset) {
  for (bool neox : {false, true}) {
    ParamSet ps;
    Param& x = ps.add("x", {3 * 12, 5}, true);
    randomize(ps, 6);
    auto tab = std::make_shared<RopeTable>(make_rope_table({0, 1, 2, 7, 100}, 8, 10000.0));
    expect_ok(grad_check(ps, [&](Tape& t) { return rope(t, t.param(x), 3, 12, 4, 8, tab, neox); }, pool2()));
    // Forward = the engine's rope_cached on each head's [4, 12) dims; dims [0, 4) untouched.
    Tape t(pool2());
    const Id y = rope(t, t.param(x), 3, 12, 4, 8, tab, neox);
    std::vector<float> ref = x.w;
    for (int r = 0; r < 5; ++r)
      for (int h = 0; h < 3; ++h)
        kernels::rope_cached(ref.data() + r * 36 + h * 12 + 4, 8, tab->cos.data() + r * 4, tab->sin.data() + r * 4,
                             neox ? kernels::RopeLayout::NeoX : kernels::RopeLayout::Normal);
    for (size_t i = 0; i < ref.size(); ++i) EXPECT_EQ(t.val(y)[i], ref[i]);
  }
}

TEST(TrainOps, AttentionGqaOverPackedSequences) {
  const int64_t H = 4, Hk = 2, dk = 6, dv = 5;
  auto seg = segments({5, 1, 7});
  const int64_t T = seg->n_tok();
  ParamSet ps;
  Param &q = ps.add("q", {H * dk, T}, true), &k = ps.add("k", {Hk * dk, T}, true), &v = ps.add("v", {Hk * dv, T}, true);
  randomize(ps, 7);
  expect_ok(grad_check(ps, [&](Tape& t) {
    return attention(t, t.param(q), t.param(k), t.param(v), H, Hk, dk, dv, seg, 0.4f);
  }, pool2(), 40));
}

TEST(TrainOps, AttentionIsCausalWithinEachSequence) {
  // Row r's output depends only on rows of its own sequence at or before it: a definition
  // computed here in double.
  const int64_t H = 2, dk = 3, dv = 2;
  auto seg = segments({3, 4});
  const int64_t T = 7;
  ParamSet ps;
  Param &q = ps.add("q", {H * dk, T}, true), &k = ps.add("k", {H * dk, T}, true), &v = ps.add("v", {H * dv, T}, true);
  randomize(ps, 8);
  Tape t(pool2());
  const Id o = attention(t, t.param(q), t.param(k), t.param(v), H, H, dk, dv, seg, 0.5f);
  for (int64_t r = 0; r < T; ++r) {
    const int64_t s0 = r < 3 ? 0 : 3;
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> p;
      double m = -1e300, z = 0;
      for (int64_t j = s0; j <= r; ++j) {
        double d = 0;
        for (int64_t c = 0; c < dk; ++c) d += double(q.w[r * H * dk + h * dk + c]) * k.w[j * H * dk + h * dk + c];
        p.push_back(0.5 * d);
        m = std::max(m, 0.5 * d);
      }
      for (double& x : p) z += x = std::exp(x - m);
      for (int64_t c = 0; c < dv; ++c) {
        double acc = 0;
        for (int64_t j = s0; j <= r; ++j) acc += p[size_t(j - s0)] / z * v.w[j * H * dv + h * dv + c];
        EXPECT_NEAR(t.val(o)[r * H * dv + h * dv + c], acc, 1e-5);
      }
    }
  }
}

TEST(TrainOps, TokenLogprobsAndWeightedSum) {
  ParamSet ps;
  Param& l = ps.add("l", {9, 6}, true);
  randomize(ps, 9, 2.f);
  expect_ok(grad_check(ps, [&](Tape& t) {
    const Id lp = token_logprobs(t, t.param(l), shared<int32_t>({3, -1, 0, 8, 8, 2}));
    return weighted_sum(t, lp, shared<float>({1.f, 5.f, -0.5f, 2.f, 1.f, 0.25f}));
  }, pool2()));
  Tape t(pool2());
  const Id lp = token_logprobs(t, t.param(l), shared<int32_t>({3, -1, 0, 8, 8, 2}));
  double z = 0;
  for (int j = 0; j < 9; ++j) z += std::exp(double(l.w[j]));
  EXPECT_NEAR(t.val(lp)[0], double(l.w[3]) - std::log(z), 1e-5);
  EXPECT_EQ(t.val(lp)[1], 0.f);
}

TEST(TrainOps, MoeGateCombineAndBalance) {
  const int64_t T = 5, N = 4, k = 2, E = 3;
  auto ids = shared<int32_t>({0, 2, 1, 2, 3, 0, 2, 1, 1, 3});
  auto rows_of = std::make_shared<std::vector<std::vector<int32_t>>>(size_t(N));
  for (int32_t i = 0; i < T * k; ++i) (*rows_of)[size_t((*ids)[size_t(i)])].push_back(i);
  for (bool norm : {true, false}) {
    ParamSet ps;
    Param& logits = ps.add("logits", {N, T}, true);
    Param& base = ps.add("base", {E, T}, true);
    std::vector<Param*> ys;
    for (int64_t e = 0; e < N; ++e)
      ys.push_back(&ps.add("y" + std::to_string(e), {E, int64_t((*rows_of)[size_t(e)].size())}, true));
    randomize(ps, 10);
    auto seg = segments({2, 3});
    expect_ok(grad_check(ps, [&](Tape& t) {
      const Id s = sigmoid(t, t.param(logits));
      const Id w = moe_gate(t, s, ids, k, norm, 2.5f);
      std::vector<Id> y;
      for (Param* p : ys) y.push_back(t.param(*p));
      const Id out = moe_combine(t, t.param(base), y, rows_of, w, k);
      const Id bl = balance_loss(t, s, ids, k, seg, 3.f);  // a large alpha so its gradient shows
      return concat_cols(t, out, gather_rows(t, bl, shared<int32_t>({0, 0, 0, 0, 0})));
    }, pool2()));
  }
}
