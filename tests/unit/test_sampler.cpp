#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "runtime/sampler.h"

using frugal::Sampler;
using frugal::SamplerParams;

namespace {
std::vector<float> ramp(int n) {  // logits 0, 1, ..., n-1: token n-1 is the most likely
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[size_t(i)] = float(i) * 0.5f;
  return v;
}
// Temperature alone: no top-k, top-p or min-p (OpenAI's defaults).
SamplerParams temperature_only(float t, uint64_t seed) {
  SamplerParams p;
  p.temperature = t;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  p.seed = seed;
  return p;
}
}  // namespace

TEST(Sampler, GreedyPicksArgmax) {
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p, 10);
  auto l = ramp(10);
  l[3] = 100;
  EXPECT_EQ(s.sample(l.data()), 3);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerParams p = temperature_only(1.0f, 7);
  auto l = ramp(50);
  Sampler a(p, 50), b(p, 50);
  std::vector<int> ta, tb;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(l.data()));
    tb.push_back(b.sample(l.data()));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 8;
  Sampler c(p, 50);
  std::vector<int> tc;
  for (int i = 0; i < 200; ++i) tc.push_back(c.sample(l.data()));
  EXPECT_NE(ta, tc);
}

TEST(Sampler, TopKRestrictsToKBest) {
  SamplerParams p;
  p.temperature = 5.0f;  // flat: without top-k every token would appear
  p.top_k = 3;
  p.top_p = 1;
  p.min_p = 0;
  auto l = ramp(20);
  Sampler s(p, 20);
  for (int i = 0; i < 500; ++i) EXPECT_GE(s.sample(l.data()), 17);
}

TEST(Sampler, TopPKeepsSmallestNucleus) {
  // Probabilities 0.5, 0.3, 0.2 (temperature 1): top_p 0.75 keeps the first two only.
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplerParams p;
  p.temperature = 1;
  p.top_k = 0;
  p.min_p = 0;
  p.top_p = 0.75f;
  Sampler s(p, 3);
  std::map<int, int> seen;
  for (int i = 0; i < 2000; ++i) seen[s.sample(l.data())]++;
  EXPECT_EQ(seen.count(2), 0u);
  // Renormalized 0.5/0.8 = 0.625: binomial sd over 2000 draws is ~0.011, so 5 sd is 0.054.
  EXPECT_NEAR(seen[0] / 2000.0, 0.625, 0.054);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.05f), std::log(0.05f)};
  SamplerParams p;
  p.temperature = 1;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0.2f;  // keeps p >= 0.12
  Sampler s(p, 4);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(s.sample(l.data()), 2);
}

TEST(Sampler, PenaltiesDemoteSeenTokens) {
  std::vector<float> l = {1.0f, 1.2f, 0.0f};
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.5f;  // 1.2 / 1.5 = 0.8 < 1.0
  Sampler s(p, 3);
  s.accept(1);
  EXPECT_EQ(s.sample(l.data()), 0);

  SamplerParams q;
  q.temperature = 0;
  q.frequency_penalty = 0.15f;  // token 1 seen twice: 1.2 - 0.3 = 0.9 < 1.0
  Sampler f(q, 3);
  f.accept(1);
  EXPECT_EQ(f.sample(l.data()), 1);  // once: 1.05 still wins
  f.accept(1);                        // the sample above counted as a second occurrence
  EXPECT_EQ(f.sample(l.data()), 0);   // now seen three times: 0.75

  SamplerParams r;
  r.temperature = 0;
  r.presence_penalty = 0.5f;
  Sampler pr(r, 3);
  pr.accept(1);
  EXPECT_EQ(pr.sample(l.data()), 0);
}

TEST(Sampler, TopPNucleusLargerThanFirstSortedHead) {
  // 1000 equal logits, top_p 0.5: the nucleus is 500 tokens (ties go to lower ids), more than
  // the first head the sampler sorts, so the head has to grow.
  std::vector<float> l(1000, 0.5f);
  SamplerParams p;
  p.temperature = 1;
  p.top_k = 0;
  p.min_p = 0;
  p.top_p = 0.5f;
  Sampler s(p, 1000);
  std::map<int, int> seen;
  for (int i = 0; i < 20000; ++i) {
    int t = s.sample(l.data());
    ASSERT_LT(t, 500);
    seen[t]++;
  }
  // 40 expected draws per token: the chance that a given token is never drawn is e^-40.
  EXPECT_EQ(seen.size(), 500u);
}

// top-k keeps a bounded buffer while it scans (compacted whenever it fills), so the k best of
// a vocabulary far larger than the buffer, in shuffled order, with ties at the cut (which go
// to the lower ids) and masked (-inf) entries, must be exactly the tokens drawn: every one of
// them appears at a flat temperature, nothing else does.
TEST(Sampler, TopKOverLargeVocabularyKeepsExactlyTheKBest) {
  const int V = 20000, k = 40;
  std::vector<float> l(static_cast<size_t>(V));
  uint32_t h = 12345;
  for (int i = 0; i < V; ++i) {
    h = h * 1664525u + 1013904223u;
    l[size_t(i)] = float(h >> 8) / float(1 << 24) * 10.f;  // [0, 10)
  }
  for (int i = 0; i < V; i += 3) l[size_t(i)] = -INFINITY;
  // 30 tokens clearly on top, then 25 tied at the cut: ids 1000, 1700, ... 17800 (all not
  // masked); the k best are the 30 and the first 10 tied ids.
  std::vector<int> expect;
  for (int j = 0; j < 30; ++j) {
    const int id = 31 + 600 * j;  // 31 % 3 == 1, 600 % 3 == 0: never masked
    l[size_t(id)] = 20.f + float(j) * 0.01f;
    expect.push_back(id);
  }
  for (int j = 0; j < 25; ++j) {
    const int id = 1000 + 700 * j + (j % 3 == 2 ? 1 : 0);
    ASSERT_NE(id % 3, 0);
    l[size_t(id)] = 15.f;
    if (j < 10) expect.push_back(id);
  }
  SamplerParams p;
  p.temperature = 1000.f;  // flat over the kept tokens
  p.top_k = k;
  p.top_p = 1;
  p.min_p = 0;
  Sampler s(p, V);
  std::map<int, int> seen;
  for (int i = 0; i < 4000; ++i) seen[s.sample(l.data())]++;
  std::vector<int> got;
  for (auto [id, n] : seen) got.push_back(id);
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(got, expect);
}

// Temperature alone over the whole vocabulary (OpenAI's defaults) takes its own vectorized
// path (weights in one pass, the scan skipping whole blocks): its draws must follow
// softmax(l / T), computed here in double, and never pick a masked (-inf) token. 300 tokens:
// four whole blocks of 64 and a partial one.
TEST(Sampler, TemperatureOnlyDrawsFollowTheSoftmax) {
  const int n = 300, draws = 200000;
  std::vector<float> l(n);
  for (int i = 0; i < n; ++i) l[size_t(i)] = float((i * 37) % 101) / 25.0f;
  for (int i : {0, 64, 150, 299}) l[size_t(i)] = -INFINITY;
  Sampler s(temperature_only(0.7f, 11), n);
  std::vector<int> count(n);
  for (int i = 0; i < draws; ++i) ++count[size_t(s.pick(l.data()))];
  double z = 0, mx = *std::max_element(l.begin(), l.end());
  for (float v : l) z += std::exp((double(v) - mx) / 0.7);
  for (int i = 0; i < n; ++i) {
    const double pr = std::exp((double(l[size_t(i)]) - mx) / 0.7) / z, mean = pr * draws;
    if (pr == 0) {
      EXPECT_EQ(count[size_t(i)], 0) << "masked token " << i << " drawn";
      continue;
    }
    EXPECT_NEAR(count[size_t(i)], mean, 5 * std::sqrt(mean * (1 - pr)) + 1) << "token " << i;
  }
}
