// The MoE layer's hook for the expert split (RemoteExperts, moe.h), without MPI: a loopback
// "other rank" in this process computes the routed experts outside the local range and its rows
// of the output head through the same entry points an MPI rank uses (expert_rows, head_rows),
// fed only the tokens that chose its experts. The logits must equal those of the model alone,
// bit for bit, for prefill and decode; the other side must have done real work. Runs in the
// sanitizer legs, which leave the mpirun tests out.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "model/deepseek/deepseek_model.h"

using namespace frugal;

namespace {

class LoopbackExperts final : public RemoteExperts {
 public:
  LoopbackExperts(DeepseekModel& other, int64_t local_end, int64_t head_rows)
      : other_(other), end_(local_end), head_(head_rows), pool_(1) {}
  int64_t local_begin() const override { return 0; }
  int64_t local_end() const override { return end_; }

  void post(int64_t layer, const float* x, int64_t T, const int32_t* ids) override {
    const int64_t k = other_.hparams().n_expert_used, E = other_.hparams().n_embd;
    layer_ = layer;
    ids_.clear();
    x_.clear();
    for (int64_t t = 0; t < T; ++t) {  // only the tokens with an expert over there, as MPI sends
      bool needs = false;
      for (int64_t s = 0; s < k; ++s) needs |= ids[t * k + s] >= end_;
      if (!needs) continue;
      ids_.insert(ids_.end(), ids + t * k, ids + (t + 1) * k);
      x_.insert(x_.end(), x + t * E, x + (t + 1) * E);
    }
  }

  void collect(const int32_t* ids, int64_t T, float* y) override {
    const int64_t k = other_.hparams().n_expert_used, E = other_.hparams().n_embd, N = other_.hparams().n_expert;
    const int64_t n_tok = int64_t(ids_.size()) / k;
    if (n_tok == 0) return;
    rows_.assign(ids_.size() * size_t(E), 0.f);
    other_.expert_rows(layer_, x_.data(), n_tok, ids_.data(), end_, N, rows_.data(), pool_);
    int64_t j = 0;
    for (int64_t i = 0; i < T * k; ++i)
      if (ids[i] >= end_) std::memcpy(y + i * E, rows_.data() + (j++) * E, size_t(E) * sizeof(float));
    expert_rows_done += j;
  }

  int64_t head_local_rows() const override { return head_; }
  void post_head(const float* rows, int64_t n_out) override {
    head_in_.assign(rows, rows + n_out * other_.hparams().n_embd);
  }
  void collect_head(float* logits, int64_t n_out) override {
    const int64_t V = other_.hparams().n_vocab, w = V - head_;
    std::vector<float> y(size_t(n_out * w));
    other_.head_rows(head_in_.data(), n_out, head_, V, y.data(), pool_);
    for (int64_t t = 0; t < n_out; ++t) std::memcpy(logits + t * V + head_, y.data() + t * w, size_t(w) * sizeof(float));
    head_rows_done += n_out * w;
  }

  int64_t expert_rows_done = 0, head_rows_done = 0;

 private:
  DeepseekModel& other_;
  int64_t end_, head_, layer_ = 0;
  ThreadPool pool_;
  std::vector<int32_t> ids_;
  std::vector<float> x_, rows_, head_in_;
};

std::unique_ptr<DeepseekModel> load(const std::string& name) {
  auto m = load_model(std::string(FRUGAL_TEST_DATA) + "/golden/gguf/" + name + ".gguf");
  auto* d = dynamic_cast<DeepseekModel*>(m.get());
  if (!d) return nullptr;
  m.release();
  return std::unique_ptr<DeepseekModel>(d);
}

const std::vector<int32_t> kIds = {39, 301, 385, 11, 422, 68, 68, 79, 5, 17, 200, 3, 250};

// All positions' logits, in one pass (prefill) or one token per pass (decode).
std::vector<float> logits(Model& m, bool decode, ThreadPool& pool) {
  const size_t V = size_t(m.config().n_vocab);
  auto cache = m.new_cache(1, 64);
  std::vector<float> out(kIds.size() * V);
  Batch b;
  if (!decode) {
    for (size_t i = 0; i < kIds.size(); ++i) b.add(kIds[i], int32_t(i), 0, true);
    m.forward(b, *cache, out.data(), pool);
    return out;
  }
  for (size_t i = 0; i < kIds.size(); ++i) {
    b.clear();
    b.add(kIds[i], int32_t(i), 0, true);
    m.forward(b, *cache, out.data() + i * V, pool);
  }
  return out;
}

}  // namespace

class RemoteExpertsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RemoteExpertsTest, LogitsBitIdenticalToOneModel) {
  auto m = load(GetParam()), other = load(GetParam());
  ASSERT_TRUE(m && other);
  ThreadPool pool(2);
  const int64_t N = m->hparams().n_expert, V = m->hparams().n_vocab;
  for (bool decode : {false, true}) {
    const std::vector<float> want = logits(*m, decode, pool);
    auto remote = std::make_shared<LoopbackExperts>(*other, N / 3, V / 2 / 16 * 16);
    m->set_remote_experts(remote);
    const std::vector<float> got = logits(*m, decode, pool);
    m->set_remote_experts(nullptr);
    EXPECT_GT(remote->expert_rows_done, 0) << "the other side ran no expert";
    EXPECT_GT(remote->head_rows_done, 0) << "the other side computed no logits";
    ASSERT_EQ(want.size(), got.size());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
        << GetParam() << (decode ? " decode" : " prefill") << ": logits differ";
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, RemoteExpertsTest,
                         ::testing::Values("v2lite-mini-f32", "v3-mini-f32", "v2lite-mini-q8_0", "v3-mini-q8_0"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) c = c == '-' ? '_' : c;
                           return s;
                         });
