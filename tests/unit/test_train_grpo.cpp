// GRPO's objective on a hand-computed example: advantages, ratios, clipping (both sides and
// clip-higher), the k3 KL term, and each loss aggregation. The expected numbers are worked
// out by hand in the comments, not by running the code.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "train/eval.h"
#include "train/grpo.h"

using namespace frugal::train;

namespace {

// One group of two responses.
//   A: advantage +1, logp = {ln .5, ln .5}, old = {ln .5, ln .25}  -> ratios {1, 2}
//   B: advantage -1, logp = {ln .1},         old = {ln .2}          -> ratio  .5
// eps = 0.2: A's first token is unclipped (term -1, d -1); A's second is clipped at 1.2
// (term -1.2, d 0); B's ratio .5 is below 0.8, and with A < 0 min(.5 * -1, .8 * -1) = -.8 is
// the clipped one (term +.8, d 0). Two of three tokens are clipped.
std::vector<GrpoSeq> example() {
  std::vector<GrpoSeq> s(2);
  s[0].adv = 1;
  s[0].logp = {std::log(.5f), std::log(.5f)};
  s[0].logp_old = {std::log(.5f), std::log(.25f)};
  s[0].logp_ref = {std::log(.25f), std::log(.5f)};
  s[1].adv = -1;
  s[1].logp = {std::log(.1f)};
  s[1].logp_old = {std::log(.2f)};
  s[1].logp_ref = {std::log(.1f)};
  return s;
}

}  // namespace

TEST(Grpo, GroupAdvantages) {
  // rewards {1, 0}: mean .5, sample std sqrt(.5); dr_grpo keeps r - mean.
  const auto a = group_advantages({1.f, 0.f}, GrpoLoss::grpo);
  EXPECT_NEAR(a[0], 0.5 / (std::sqrt(0.5) + 1e-4), 1e-6);
  EXPECT_NEAR(a[1], -0.5 / (std::sqrt(0.5) + 1e-4), 1e-6);
  const auto d = group_advantages({2.f, 1.f, 0.f}, GrpoLoss::dr_grpo);
  EXPECT_FLOAT_EQ(d[0], 1.f);
  EXPECT_FLOAT_EQ(d[1], 0.f);
  EXPECT_FLOAT_EQ(d[2], -1.f);
  // Identical rewards: nothing to learn from.
  for (float x : group_advantages({1.f, 1.f, 1.f}, GrpoLoss::grpo)) EXPECT_EQ(x, 0.f);
}

TEST(Grpo, GrpoAggregationPerSequenceMean) {
  GrpoOptions o;
  o.loss = GrpoLoss::grpo;
  const GrpoObjective r = grpo_objective(example(), 1, 2, o);
  // weights 1/(G |o_i|): A .25, B .5 -> .25 * (-1 - 1.2) + .5 * .8 = -.15
  EXPECT_NEAR(r.loss, -0.15, 1e-6);
  EXPECT_NEAR(r.dlogp[0][0], -0.25, 1e-6);
  EXPECT_EQ(r.dlogp[0][1], 0.f);
  EXPECT_EQ(r.dlogp[1][0], 0.f);
  EXPECT_NEAR(r.clip_frac, 2.0 / 3.0, 1e-9);
  EXPECT_EQ(r.tokens, 3);
  EXPECT_EQ(r.kl, 0);
}

TEST(Grpo, DrGrpoDividesByTheTokenBudget) {
  GrpoOptions o;
  o.loss = GrpoLoss::dr_grpo;
  o.max_tokens = 4;
  const GrpoObjective r = grpo_objective(example(), 1, 2, o);
  // weight 1/(G * max_tokens) = 1/8: (-2.2 + .8) / 8
  EXPECT_NEAR(r.loss, -0.175, 1e-6);
  EXPECT_NEAR(r.dlogp[0][0], -0.125, 1e-6);
}

TEST(Grpo, DapoTokenLevelAndClipHigher) {
  GrpoOptions o;
  o.loss = GrpoLoss::dapo;
  GrpoObjective r = grpo_objective(example(), 1, 2, o);
  EXPECT_NEAR(r.loss, (-2.2 + 0.8) / 3, 1e-6);  // weight 1/(all tokens)
  EXPECT_NEAR(r.dlogp[0][0], -1.0 / 3, 1e-6);
  o.eps_high = 0.28f;  // A's second token now clips at 1.28
  r = grpo_objective(example(), 1, 2, o);
  EXPECT_NEAR(r.loss, (-1 - 1.28 + 0.8) / 3, 1e-6);
}

TEST(Grpo, K3KlToTheReference) {
  GrpoOptions o;
  o.beta = 0.1f;
  const GrpoObjective r = grpo_objective(example(), 1, 2, o);
  // A's first token: x = ln(pi_ref / pi) = ln .5, k3 = e^x - x - 1 = .5 + ln 2 - 1; its
  // derivative in logp is beta (1 - e^x) = .05. The other tokens have pi_ref = pi.
  const double k3 = 0.5 + std::log(2.0) - 1;
  EXPECT_NEAR(r.loss, -0.15 + 0.25 * 0.1 * k3, 1e-6);
  EXPECT_NEAR(r.dlogp[0][0], 0.25 * (-1 + 0.05), 1e-6);
  EXPECT_NEAR(r.kl, k3 / 3, 1e-6);
}

TEST(Eval, PassAtKAndWilson) {
  // 2 of 4 correct: pass@1 = .5, pass@2 = 1 - C(2,2)/C(4,2) = 5/6, pass@4 = 1.
  EXPECT_NEAR(pass_at_k(4, 2, 1), 0.5, 1e-12);
  EXPECT_NEAR(pass_at_k(4, 2, 2), 5.0 / 6, 1e-12);
  EXPECT_EQ(pass_at_k(4, 2, 4), 1.0);
  EXPECT_EQ(pass_at_k(4, 0, 4), 0.0);
  EXPECT_THROW(pass_at_k(4, 2, 5), frugal::Error);
  // Wilson interval of 50/100: centre (0.5 + z^2/200) / (1 + z^2/100) = 0.5, half-width
  // z sqrt(.25/100 + z^2/40000) / (1 + z^2/100) = 0.0962 (z = 1.95996).
  double lo, hi;
  wilson95(50, 100, &lo, &hi);
  EXPECT_NEAR(lo, 0.5 - 0.0962, 2e-4);
  EXPECT_NEAR(hi, 0.5 + 0.0962, 2e-4);
  wilson95(0, 10, &lo, &hi);
  EXPECT_EQ(lo, 0.0);
  EXPECT_NEAR(hi, 0.2775, 1e-3);  // the known Wilson upper bound for 0/10
}
