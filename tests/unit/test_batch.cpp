// The batch interface: a ragged batch mixing two sequences, and a prefill split into chunks at
// a non-zero start position, must give the same logits as running each sequence alone in one
// pass. This is what lets a server share one forward pass among many requests. Run for a dense
// model and for both DeepSeek models through each MLA path.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/attention.h"
#include "model/deepseek/deepseek_model.h"
#include "model/model.h"

using namespace frugal;

namespace {
struct Case {
  const char* model;
  MlaPath path;
};
const Case kCases[] = {{"qwen2-mini", MlaPath::Auto},      {"v3-mini", MlaPath::Absorb},
                       {"v3-mini", MlaPath::Naive},        {"v2lite-mini", MlaPath::Absorb},
                       {"v2lite-mini", MlaPath::Naive}};

std::unique_ptr<Model> load(const Case& c) {
  auto m = load_model(std::string(FRUGAL_TEST_DATA) + "/golden/gguf/" + c.model + "-f32.gguf");
  if (auto* ds = dynamic_cast<DeepseekModel*>(m.get())) ds->set_mla_path(c.path);
  return m;
}
const std::vector<int32_t> kA = {39, 301, 385, 11, 422, 68, 68, 79, 5, 17, 200};
const std::vector<int32_t> kB = {44, 494, 72, 12, 383, 9};

std::vector<float> run_alone(Model& m, const std::vector<int32_t>& ids, ThreadPool& pool) {
  auto cache = m.new_cache(1, 64);
  Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], int32_t(i), 0, true);
  std::vector<float> out(ids.size() * size_t(m.config().n_vocab));
  m.forward(b, *cache, out.data(), pool);
  return out;
}

// Same math in a different grouping: differences are fp32 rounding of reductions only.
void expect_close(const float* a, const float* b, int64_t n) {
  double max_abs = 0, max_ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    max_abs = std::max(max_abs, double(std::fabs(a[i] - b[i])));
    max_ref = std::max(max_ref, double(std::fabs(b[i])));
  }
  EXPECT_LE(max_abs, 1e-5 * std::max(1.0, max_ref));
}
}  // namespace

class BatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(BatchTest, TwoSequencesInOneBatchMatchSeparateRuns) {
  auto m = load(GetParam());
  ThreadPool pool(2);
  const int64_t V = m->config().n_vocab;
  auto ra = run_alone(*m, kA, pool), rb = run_alone(*m, kB, pool);

  auto cache = m->new_cache(2, 64);
  Batch b;  // interleave the two sequences token by token
  std::vector<std::pair<int, size_t>> order;
  for (size_t i = 0; i < std::max(kA.size(), kB.size()); ++i) {
    if (i < kA.size()) b.add(kA[i], int32_t(i), 0, true), order.push_back({0, i});
    if (i < kB.size()) b.add(kB[i], int32_t(i), 1, true), order.push_back({1, i});
  }
  std::vector<float> out(b.size() * size_t(V));
  m->forward(b, *cache, out.data(), pool);
  for (size_t r = 0; r < order.size(); ++r) {
    const auto& ref = order[r].first == 0 ? ra : rb;
    expect_close(out.data() + r * size_t(V), ref.data() + order[r].second * size_t(V), V);
  }
}

TEST_P(BatchTest, ChunkedPrefillMatchesOnePass) {
  auto m = load(GetParam());
  ThreadPool pool(2);
  const int64_t V = m->config().n_vocab;
  auto ref = run_alone(*m, kA, pool);
  auto cache = m->new_cache(1, 64);
  std::vector<float> out(size_t(V) * 8);
  size_t pos = 0;
  for (size_t chunk : {4u, 1u, 6u}) {  // 4 + 1 + 6 = 11 tokens, logits of the last token only
    Batch b;
    for (size_t i = 0; i < chunk; ++i, ++pos) b.add(kA[pos], int32_t(pos), 0, i + 1 == chunk);
    m->forward(b, *cache, out.data(), pool);
    expect_close(out.data(), ref.data() + (pos - 1) * size_t(V), V);
  }
}

TEST_P(BatchTest, BadBatchIsAnErrorNotACrash) {
  auto m = load(GetParam());
  ThreadPool pool(1);
  auto cache = m->new_cache(1, 4);
  std::vector<float> out(size_t(m->config().n_vocab));
  Batch b;
  b.add(1, 4, 0, true);  // position past the cache
  EXPECT_THROW(m->forward(b, *cache, out.data(), pool), Error);
  b.clear();
  b.add(100000, 0, 0, true);  // token id past the vocabulary
  EXPECT_THROW(m->forward(b, *cache, out.data(), pool), Error);
}

INSTANTIATE_TEST_SUITE_P(Models, BatchTest, ::testing::ValuesIn(kCases), [](const auto& info) {
  std::string n = info.param.model;
  for (auto& ch : n)
    if (ch == '-') ch = '_';
  return n + (info.param.path == MlaPath::Absorb ? "_absorb" : info.param.path == MlaPath::Naive ? "_naive" : "");
});

// Decode past kSegmentKeys positions splits the absorbed MLA attention over the context
// (kernels::merge_segments); the naive path decompresses every head's keys and values and never
// splits: the two must agree on the logits of a token that sees three segments.
TEST(LongContext, SegmentedAbsorbMatchesNaive) {
  for (const char* name : {"v2lite-mini", "v3-mini"}) {
    auto m = load({name, MlaPath::Naive});
    auto* ds = dynamic_cast<DeepseekModel*>(m.get());
    ASSERT_NE(ds, nullptr);
    ThreadPool pool(2);
    const int64_t V = m->config().n_vocab, n = 2 * kernels::kSegmentKeys + 300;
    ASSERT_EQ(kernels::n_segments(n), 3);
    auto cache = m->new_cache(1, n);
    std::vector<float> naive(static_cast<size_t>(V)), absorb(static_cast<size_t>(V));
    for (int64_t p0 = 0; p0 < n - 1; p0 += 256) {  // the prompt, in chunks
      Batch b;
      for (int64_t p = p0; p < std::min(n - 1, p0 + 256); ++p) b.add(int32_t((p * 7919) % V), int32_t(p), 0, false);
      m->forward(b, *cache, naive.data(), pool);
    }
    Batch last;
    last.add(17, int32_t(n - 1), 0, true);
    m->forward(last, *cache, naive.data(), pool);
    ds->set_mla_path(MlaPath::Absorb);  // the same token again, over the same cached latents
    m->forward(last, *cache, absorb.data(), pool);
    expect_close(absorb.data(), naive.data(), V);
  }
}

// The dense model splits only single-position runs (decode) over the context; a prompt's runs
// attend whole. A last token decoded alone past two segments must match it computed inside
// its prompt.
TEST(LongContext, SegmentedDecodeMatchesPromptRun) {
  auto m = load({"qwen2-mini", MlaPath::Auto});
  ThreadPool pool(2);
  const int64_t V = m->config().n_vocab, n = 2 * kernels::kSegmentKeys + 300;
  const auto id = [&](int64_t p) { return int32_t((p * 7919) % V); };
  std::vector<float> in_prompt(static_cast<size_t>(V)), alone(static_cast<size_t>(V));
  for (int pass = 0; pass < 2; ++pass) {
    auto cache = m->new_cache(1, n);
    const int64_t end = pass == 0 ? n : n - 1;  // pass 1 leaves the last token for a decode step
    for (int64_t p0 = 0; p0 < end; p0 += 256) {
      Batch b;
      for (int64_t p = p0; p < std::min(end, p0 + 256); ++p) b.add(id(p), int32_t(p), 0, p + 1 == end);
      m->forward(b, *cache, pass == 0 ? in_prompt.data() : alone.data(), pool);
    }
    if (pass == 1) {
      Batch last;
      last.add(id(n - 1), int32_t(n - 1), 0, true);
      m->forward(last, *cache, alone.data(), pool);
    }
  }
  ASSERT_GE((n - 1) % 256, 2);  // the last prompt chunk is a run of several positions
  expect_close(alone.data(), in_prompt.data(), V);
}
