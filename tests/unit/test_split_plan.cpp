// Split plans (src/dist/split_plan): which layers or routed experts each MPI rank owns.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"
#include "dist/split_plan.h"

using namespace frugal;
using namespace frugal::dist;

namespace {

// A dense model: embeddings, n_layer layers of the given sizes, a head (or none: tied).
ModelShape dense(std::vector<uint64_t> layers, uint64_t embd, uint64_t head) {
  ModelShape m;
  m.n_layer = int64_t(layers.size());
  m.tensors.push_back({"token_embd.weight", embd});
  for (size_t l = 0; l < layers.size(); ++l) {
    m.tensors.push_back({"blk." + std::to_string(l) + ".attn_q.weight", layers[l] / 2});
    m.tensors.push_back({"blk." + std::to_string(l) + ".ffn_up.weight", layers[l] - layers[l] / 2});
  }
  m.tensors.push_back({"output_norm.weight", 16});
  if (head) m.tensors.push_back({"output.weight", head});
  return m;
}

uint64_t total(const ModelShape& m) {
  uint64_t t = 0;
  for (const auto& x : m.tensors) t += x.bytes;
  return t;
}

// The smallest possible largest share, by trying every set of cuts (small cases only).
uint64_t brute_best(const ModelShape& m, int n_rank, std::vector<int64_t> cut = {0}) {
  if (int(cut.size()) == n_rank) {
    cut.push_back(m.n_layer);
    std::string spec;
    for (int r = 0; r < n_rank; ++r)
      spec += (r ? "," : "") + std::to_string(cut[size_t(r)]) + "-" + std::to_string(cut[size_t(r) + 1] - 1);
    uint64_t worst = 0;
    for (const auto& s : plan_pipeline(m, n_rank, spec).ranks) worst = std::max(worst, s.bytes);
    return worst;
  }
  uint64_t best = UINT64_MAX;
  for (int64_t c = cut.back() + 1; c <= m.n_layer - (n_rank - int(cut.size())); ++c) {
    auto next = cut;
    next.push_back(c);
    best = std::min(best, brute_best(m, n_rank, next));
  }
  return best;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(SplitPlan, PipelineRangesAreContiguousAndCoverEveryByte) {
  const ModelShape m = dense({100, 100, 100, 100, 100, 100, 100, 100}, 300, 300);
  for (int n = 1; n <= 8; ++n) {
    const SplitPlan p = plan_pipeline(m, n);
    ASSERT_EQ(p.ranks.size(), size_t(n));
    EXPECT_EQ(p.file_bytes, total(m));
    uint64_t sum = 0;
    int64_t next = 0;
    for (const auto& r : p.ranks) {
      EXPECT_EQ(r.layer_begin, next);
      EXPECT_GT(r.layer_end, r.layer_begin);
      next = r.layer_end;
      sum += r.bytes;
    }
    EXPECT_EQ(next, m.n_layer);
    EXPECT_EQ(sum, total(m)) << n;  // nothing replicated in a pipeline (the head is not tied)
  }
}

TEST(SplitPlan, PipelineBalancesBytesOptimally) {
  // The embeddings and head weigh on the first and last ranks: they get fewer layers.
  const ModelShape m = dense({100, 100, 100, 100, 100, 100, 100, 100}, 250, 250);
  const SplitPlan two = plan_pipeline(m, 2);
  EXPECT_EQ(two.ranks[0].layer_end, 4);
  EXPECT_EQ(two.ranks[0].bytes, 650u);
  const SplitPlan three = plan_pipeline(m, 3);
  EXPECT_EQ(three.ranks[1].layer_end - three.ranks[1].layer_begin, 4);  // the middle rank holds no ends
  // Uneven layers: the plan's largest share equals the best of every possible cut.
  const ModelShape u = dense({5, 90, 7, 300, 12, 44, 150, 3, 60, 80}, 40, 120);
  for (int n = 1; n <= 5; ++n) {
    uint64_t worst = 0;
    for (const auto& r : plan_pipeline(u, n).ranks) worst = std::max(worst, r.bytes);
    EXPECT_EQ(worst, brute_best(u, n)) << n << " ranks";
  }
}

TEST(SplitPlan, TiedHeadCountsTheEmbeddingsOnBothEnds) {
  const ModelShape m = dense({100, 100, 100, 100}, 200, 0);
  const SplitPlan p = plan_pipeline(m, 2);
  EXPECT_EQ(p.ranks[0].bytes + p.ranks[1].bytes, total(m) + 200);
  EXPECT_EQ(p.ranks[1].bytes, 200u + 16 + 200);  // two layers, the norm, the embeddings as head
}

TEST(SplitPlan, ExplicitLayerRanges) {
  const ModelShape m = dense({10, 10, 10, 10, 10, 10}, 5, 5);
  const SplitPlan p = plan_pipeline(m, 3, "0-0,1-4,5-5");
  EXPECT_EQ(p.ranks[1].layer_begin, 1);
  EXPECT_EQ(p.ranks[1].layer_end, 5);
  EXPECT_EQ(p.ranks[1].bytes, 40u);
  EXPECT_EQ(plan_pipeline(m, 2, "0-4,5").ranks[1].layer_begin, 5);  // a single layer as "5"
  const struct {
    const char* spec;
    int n;
    const char* msg;
  } bad[] = {{"0-2,3-4", 2, "the model has layers 0-5"}, {"0-2,4-5", 2, "should start at layer 3"},
             {"1-5", 1, "should start at layer 0"},     {"0-2", 2, "1 ranges for 2 ranks"},
             {"0-2,x", 2, "'x' is not a layer range"},  {"0-2,,3-5", 3, "'' is not a layer range"},
             {"3-1,2-5", 2, "'3-1'"},                   {"0-2,3-5", 3, "2 ranges for 3 ranks"}};
  for (const auto& b : bad)
    EXPECT_NE(error_of([&] { plan_pipeline(m, b.n, b.spec); }).find(b.msg), std::string::npos) << b.spec;
  EXPECT_NE(error_of([&] { plan_pipeline(m, 7); }).find("cannot split 6 layers over 7 ranks"), std::string::npos);
}

TEST(SplitPlan, ExpertsInWholeGroups) {
  ModelShape m = dense({100, 100}, 50, 50);
  m.n_expert = 16;
  m.n_group = 4;
  m.n_expert_used = 2;
  for (int l = 0; l < 2; ++l)
    for (const char* t : {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"})
      m.tensors.push_back({"blk." + std::to_string(l) + "." + t + ".weight", 16 * 64});
  const uint64_t routed = 6 * 16 * 64, rest = total(m) - routed;
  // No shared experts: rank 0 takes 1/3 of the routed ones, rounded to a group: 1, 2, 1 groups.
  const SplitPlan p = plan_experts(m, 3);
  EXPECT_EQ(p.rest_bytes, rest);
  const int64_t want[][2] = {{0, 4}, {4, 12}, {12, 16}};
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(p.ranks[size_t(r)].expert_begin, want[r][0]);
    EXPECT_EQ(p.ranks[size_t(r)].expert_end, want[r][1]);
    // Only rank 0 holds the rest of the model but for a third of the 50-byte head each.
    EXPECT_EQ(p.ranks[size_t(r)].bytes, (r == 0 ? rest - 2 * 16 : 16) + routed / 16 * uint64_t(want[r][1] - want[r][0]));
  }
  EXPECT_NE(format_plan(p).find("(groups 1-2)"), std::string::npos) << format_plan(p);
  EXPECT_NE(format_plan(p).find("(group 0)"), std::string::npos);
  // More ranks than groups: plain expert ranges, as even as they go after rank 0's share
  // (round(16 / 6) = 3, then 13 over 5).
  const SplitPlan six = plan_experts(m, 6);
  EXPECT_EQ(six.ranks[0].expert_end, 3);
  EXPECT_EQ(six.ranks[1].expert_end, 6);
  EXPECT_EQ(six.ranks[5].expert_begin, 14);

  // Shared experts: a token reads X = 6144 * 2 / 16 = 768 routed bytes and S = 384 shared; rank 0
  // runs S + a·X while rank 1 runs (1 - a)·X: a = 1/2 - 384 / 1536 = 1/4, one group of four.
  ModelShape sh = m;
  for (int l = 0; l < 2; ++l)
    for (const char* t : {"ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp"})
      sh.tensors.push_back({"blk." + std::to_string(l) + "." + t + ".weight", 64});
  const SplitPlan two = plan_experts(sh, 2);
  EXPECT_EQ(two.ranks[0].expert_end, 4);
  EXPECT_EQ(two.ranks[1].expert_begin, 4);
  EXPECT_EQ(two.ranks[1].expert_end, 16);
  // Shared experts as heavy as the routed ones: rank 0 keeps none of them.
  for (auto& t : sh.tensors)
    if (t.name.find("_shexp") != std::string::npos) t.bytes = 1024;
  const SplitPlan heavy = plan_experts(sh, 2);
  EXPECT_EQ(heavy.ranks[0].expert_end, 0);
  EXPECT_NE(format_plan(heavy).find("none"), std::string::npos) << format_plan(heavy);
  // auto picks experts for a MoE model and pipeline for a dense one.
  EXPECT_EQ(plan_split(m, "auto", 2).kind, SplitKind::experts);
  EXPECT_EQ(plan_split(dense({1, 1}, 1, 1), "auto", 2).kind, SplitKind::pipeline);
  EXPECT_NE(error_of([&] { plan_experts(dense({1, 1}, 1, 1), 2); }).find("no routed experts"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_split(m, "rows", 2); }).find("expected pipeline, experts or auto"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_experts(m, 17); }).find("cannot split 16 experts over 17 ranks"), std::string::npos);
}
