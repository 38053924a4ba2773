// The trainable models: whole-model gradients against finite differences (every block: MLA,
// the dense FFN, DeepSeekMoE with its gate, MTP, the output head; the dense students), and the
// forward against the inference engine's on the exported GGUF (what `frugal run` computes).
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "model/model.h"
#include "train/byte_vocab.h"
#include "train/dense_student.h"
#include "train/model_io.h"
#include "train/v3_model.h"

using namespace frugal;
using namespace frugal::train;

namespace {

ThreadPool& pool2() {
  static ThreadPool p(2);
  return p;
}

DeepseekHparams tiny_v3(int64_t vocab) {
  DeepseekHparams h;
  h.n_vocab = vocab;
  h.n_embd = 32;
  h.n_layer = 3;
  h.n_nextn = 1;
  h.n_head = 2;
  h.q_lora_rank = 16;
  h.kv_lora_rank = 12;
  h.nope = 8;
  h.rope = 4;
  h.v_dim = 6;
  h.n_ff = 40;
  h.n_dense_lead = 1;
  h.n_expert = 4;
  h.n_expert_used = 2;
  h.n_ff_exp = 12;
  h.n_shared = 1;
  h.sigmoid_gating = true;
  h.norm_topk = true;
  h.routed_scale = 1.5f;
  h.n_ctx_train = 64;
  return h;
}

TrainBatch two_sequences(int64_t vocab) {
  TrainBatch b;
  std::vector<int32_t> s1, s2;
  for (int i = 0; i < 9; ++i) s1.push_back(int32_t((i * 37 + 5) % vocab));
  for (int i = 0; i < 6; ++i) s2.push_back(int32_t((i * 11 + 3) % vocab));
  b.add(s1, 2);
  b.add(s2, 0);
  return b;
}

// Output: [CE terms | MTP terms | balance loss] of the batch, so every path is differentiated.
Id all_losses(Tape& t, TrainModel& m, const TrainBatch& b) {
  ForwardOptions o;
  o.mtp = m.has_mtp();
  o.balance_alpha = m.has_mtp() ? 0.5f : 0.f;
  const ForwardOut f = m.forward(t, b, o);
  Id out = f.logprobs;
  if (f.mtp_logprobs >= 0) out = concat_cols(t, out, f.mtp_logprobs);
  if (f.aux >= 0) out = concat_cols(t, out, gather_rows(t, f.aux, std::make_shared<std::vector<int32_t>>(size_t(b.size()), 0)));
  return out;
}

// The engine's logits for each sequence of b, fed one token at a time through its KV cache.
std::vector<float> engine_logits(Model& em, const TrainBatch& b, bool mtp, std::vector<float>* mtp_logits) {
  const int64_t V = em.config().n_vocab, E = em.config().n_embd;
  std::vector<float> out(size_t(b.size() * V));
  if (mtp_logits) mtp_logits->assign(size_t(b.size() * V), 0.f);
  for (int64_t s = 0; s < b.seg->n_seq(); ++s) {
    const int64_t t0 = b.seg->start[size_t(s)], L = b.seg->start[size_t(s) + 1] - t0;
    auto cache = em.new_cache(1, 64);
    auto mcache = mtp ? em.new_mtp_cache(1, 64) : nullptr;
    Batch eb;
    for (int64_t i = 0; i < L; ++i) eb.add(b.tokens[size_t(t0 + i)], int32_t(i), 0, true);
    em.forward(eb, *cache, out.data() + t0 * V, ThreadPool::global());
    if (mtp) {
      // Row i: token i+1 at position i with hidden state i.
      std::vector<float> hidden(em.last_hidden(), em.last_hidden() + L * E);
      Batch mb;
      for (int64_t i = 0; i + 1 < L; ++i) mb.add(b.tokens[size_t(t0 + i + 1)], int32_t(i), 0, true);
      em.forward_mtp(mb, hidden.data(), *mcache, mtp_logits->data() + t0 * V, ThreadPool::global());
    }
  }
  return out;
}

}  // namespace

TEST(TrainModels, V3GradientsMatchFiniteDifferences) {
  V3Model m(tiny_v3(40));
  m.init(3);
  // Non-trivial norms and expert bias: gradients through every factor.
  for (auto& p : m.params().all())
    if (!p->decay) for (size_t i = 0; i < p->w.size(); ++i) p->w[i] = 1.f + 0.3f * std::sin(float(i) + 1.f);
  const TrainBatch b = two_sequences(40);
  const auto r = frugal::test::grad_check(m.params(), [&](Tape& t) { return all_losses(t, m, b); }, pool2(), 6, 2e-3f);
  EXPECT_GT(r.checked, 300);
  EXPECT_EQ(r.failed, 0);
}

TEST(TrainModels, DenseStudentsGradientsMatchFiniteDifferences) {
  for (const char* arch : {"qwen2", "llama"}) {
    DenseConfig c;
    c.arch = arch;
    c.n_vocab = 40;
    c.n_embd = 24;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_head_kv = 2;
    c.head_dim = 6;
    c.n_ff = 20;
    DenseStudent m(c);
    m.init(5);
    for (auto& p : m.params().all())
      if (!p->decay) for (size_t i = 0; i < p->w.size(); ++i) p->w[i] = 0.2f + std::cos(float(i));
    const TrainBatch b = two_sequences(40);
    const auto r = frugal::test::grad_check(m.params(), [&](Tape& t) { return all_losses(t, m, b); }, pool2(), 8);
    EXPECT_GT(r.checked, 100) << arch;
    EXPECT_EQ(r.failed, 0) << arch;
  }
}

TEST(TrainModels, V3ForwardEqualsTheEngineOnTheExportedFile) {
  const Vocab v = byte_vocab();
  DeepseekHparams hp = tiny_v3(int64_t(v.tokens.size()));
  hp.n_embd = 64;
  V3Model m(hp);
  m.init(11);
  for (auto& p : m.params().all())  // a non-zero selection bias, as after balancing
    if (p->name.ends_with("exp_probs_b.bias")) for (size_t i = 0; i < p->w.size(); ++i) p->w[i] = 0.05f * float(i);
  const TrainBatch b = two_sequences(hp.n_vocab);
  Tape t(pool2());
  ForwardOptions o;
  o.mtp = true;
  o.keep_logits = true;
  const ForwardOut f = m.forward(t, b, o);
  auto em = load_model(model_image(m, v, "tiny"));
  std::vector<float> mtp;
  const std::vector<float> ref = engine_logits(*em, b, true, &mtp);
  double worst = 0, worst_mtp = 0;
  for (int64_t r = 0; r < b.size(); ++r)
    for (int64_t j = 0; j < hp.n_vocab; ++j) {
      worst = std::max(worst, double(std::fabs(t.val(f.logits)[r * hp.n_vocab + j] - ref[size_t(r * hp.n_vocab + j)])));
      const bool last = r + 1 == b.seg->start[1] || r + 1 == b.size();  // no next token: no MTP row
      if (!last)
        worst_mtp = std::max(worst_mtp, double(std::fabs(t.val(f.mtp_logits)[r * hp.n_vocab + j] - mtp[size_t(r * hp.n_vocab + j)])));
    }
  EXPECT_LT(worst, 1e-4);
  EXPECT_LT(worst_mtp, 1e-4);
  EXPECT_GT(worst_mtp, 0.0);  // compared something (not all zero)
}

TEST(TrainModels, DenseStudentForwardEqualsTheEngine) {
  const Vocab v = byte_vocab();
  for (const char* arch : {"qwen2", "llama"}) {
    DenseConfig c;
    c.arch = arch;
    c.n_vocab = int64_t(v.tokens.size());
    c.n_embd = 48;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_head_kv = 2;
    c.head_dim = 12;
    c.n_ff = 64;
    DenseStudent m(c);
    m.init(13);
    for (auto& p : m.params().all())
      if (p->name.ends_with(".bias")) for (size_t i = 0; i < p->w.size(); ++i) p->w[i] = 0.1f * std::sin(float(i));
    const TrainBatch b = two_sequences(c.n_vocab);
    Tape t(pool2());
    ForwardOptions o;
    o.keep_logits = true;
    const ForwardOut f = m.forward(t, b, o);
    auto em = load_model(model_image(m, v, "tiny"));
    const std::vector<float> ref = engine_logits(*em, b, false, nullptr);
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(t.val(f.logits)[i] - ref[i])));
    EXPECT_LT(worst, 1e-4) << arch;
  }
}

// GRPO's ratios at a sampling temperature: the trainer's log-probabilities must be those of the
// distribution the engine samples, log softmax(logits / T), computed here in double from the
// engine's own logits.
TEST(TrainModels, TemperedLogprobsAreThoseTheEngineSamples) {
  const Vocab v = byte_vocab();
  DeepseekHparams hp = tiny_v3(int64_t(v.tokens.size()));
  V3Model m(hp);
  m.init(5);
  const TrainBatch b = two_sequences(hp.n_vocab);
  auto em = load_model(model_image(m, v, "tiny"));
  const std::vector<float> ref = engine_logits(*em, b, false, nullptr);
  for (float T : {1.0f, 0.7f, 1.6f}) {
    Tape t(pool2());
    ForwardOptions o;
    o.temperature = T;
    const ForwardOut f = m.forward(t, b, o);
    double worst = 0;
    int compared = 0;
    for (int64_t r = 0; r < b.size(); ++r) {
      const int32_t y = b.targets[size_t(r)];
      if (y < 0) continue;
      const float* z = ref.data() + r * hp.n_vocab;
      double mx = -1e300, s = 0;
      for (int64_t j = 0; j < hp.n_vocab; ++j) mx = std::max(mx, double(z[j]) / T);
      for (int64_t j = 0; j < hp.n_vocab; ++j) s += std::exp(double(z[j]) / T - mx);
      const double lp = double(z[y]) / T - mx - std::log(s);
      worst = std::max(worst, std::fabs(double(t.val(f.logprobs)[r]) - lp));
      ++compared;
    }
    EXPECT_GT(compared, 5);
    EXPECT_LT(worst, 1e-4) << "T=" << T;
  }
}
