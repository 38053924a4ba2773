// The engine with several forward passes in flight (what it does for an MPI pipeline, here
// without MPI so that it runs under the sanitizers): a model that can take up to K passes
// before giving back the first must get every request answered exactly as a model that runs
// one pass at a time, with the sequences in groups, a long prompt's chunks in flight
// together, and sequences ending and joining while passes are out.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>

#include "formats/gguf.h"
#include "model/model.h"
#include "model/vocab_gguf.h"
#include "runtime/engine.h"

using namespace frugal;

namespace {

std::string shipped(const char* f) { return std::string(FRUGAL_TEST_DATA) + "/../../models/" + f; }

// Runs each pass at begin_forward and hands its logits back at end_forward, in order; counts
// how many were out at once and checks the engine's side of the contract.
class Staggered final : public Model {
 public:
  Staggered(std::unique_ptr<Model> m, int k) : m_(std::move(m)), k_(k) {
    cfg_ = m_->config();
    file_ = m_->shared_file();
    cache_type_ = m_->cache_type();
  }
  std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks) const override {
    m_->set_cache_type(cache_type_);
    return m_->new_cache(n_slot, n_ctx, pool_blocks);
  }
  void forward(const Batch& b, KvCache& c, float* logits, ThreadPool& pool) override {
    ADD_FAILURE() << "forward() called on a model that takes passes in flight";
    m_->forward(b, c, logits, pool);
  }
  int max_passes_in_flight() const override { return k_; }
  void begin_forward(const Batch& b, KvCache& c, ThreadPool& pool) override {
    if (int(out_.size()) >= k_) ADD_FAILURE() << "more than " << k_ << " passes in flight";
    // A sequence's decode row never goes while an earlier pass of it is out (its token would
    // be one it has not sampled yet); prompt chunks may.
    for (size_t t = 0; t < b.size(); ++t)
      for (const Out& o : out_)
        for (const auto& [seq, pos] : o.rows)
          if (seq == b.seq[t] && pos >= b.pos[t]) ADD_FAILURE() << "seq " << seq << " position " << b.pos[t] << " again";
    Out o;
    for (size_t t = 0; t < b.size(); ++t) o.rows.emplace_back(b.seq[t], b.pos[t]);
    o.logits.resize(size_t(b.n_outputs()) * size_t(cfg_.n_vocab));
    m_->forward(b, c, o.logits.data(), pool);
    out_.push_back(std::move(o));
    most_ = std::max(most_, int(out_.size()));
  }
  void end_forward(float* logits) override {
    ASSERT_FALSE(out_.empty());
    const std::vector<float>& l = out_.front().logits;
    if (logits && !l.empty()) std::memcpy(logits, l.data(), l.size() * sizeof(float));
    out_.pop_front();
  }
  int64_t weight_bytes_per_token() const override { return m_->weight_bytes_per_token(); }
  void final_hidden(int64_t row, float* out) const override { m_->final_hidden(row, out); }
  int most_in_flight() const { return most_; }

 private:
  struct Out {
    std::vector<std::pair<int32_t, int32_t>> rows;  // (seq, pos)
    std::vector<float> logits;
  };
  std::unique_ptr<Model> m_;
  int k_, most_ = 0;
  std::deque<Out> out_;
};

struct Answer {
  std::vector<int32_t> tokens;
  Finish finish = Finish::none;
  bool operator==(const Answer& o) const { return tokens == o.tokens && finish == o.finish; }
};

// Submits the requests (the later ones after the first have started), collects every answer.
std::vector<Answer> serve(Model& m, const Tokenizer& tok, const std::vector<GenRequest>& reqs, int64_t n_batch) {
  EngineOptions eo;
  eo.n_ctx = 1024;
  eo.max_seqs = 6;
  eo.n_batch = n_batch;
  eo.threads = 2;
  Metrics metrics;
  Engine engine(m, tok, eo, metrics);
  std::vector<std::shared_ptr<GenStream>> streams;
  for (const GenRequest& r : reqs) {
    GenRequest g;
    g.prompt = r.prompt;
    g.sampling = r.sampling;
    g.max_tokens = r.max_tokens;
    g.ignore_eos = true;
    streams.push_back(engine.submit(std::move(g)));
  }
  std::vector<Answer> out(reqs.size());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (size_t i = 0; i < streams.size(); ++i) {
    GenChunk c;
    while (!c.done) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "request " << i << " not answered in 120 s";
        for (auto& s : streams) s->cancel();
        return out;
      }
      if (!streams[i]->wait(c, std::chrono::milliseconds(1000))) continue;
      out[i].tokens.insert(out[i].tokens.end(), c.tokens.begin(), c.tokens.end());
      out[i].finish = c.finish;
    }
  }
  return out;
}

std::vector<GenRequest> requests(int32_t n_vocab) {
  std::vector<GenRequest> rs;
  for (int i = 0; i < 7; ++i) {  // more than the 6 slots: one waits for a slot to free
    GenRequest r;
    const int n = i == 3 ? 300 : 5 + 3 * i;  // one prompt of several passes (n_batch 64)
    for (int j = 0; j < n; ++j) r.prompt.push_back(int32_t((97 * i + 31 * j + 7) % n_vocab));
    r.max_tokens = 6 + 5 * (i % 3);           // they end at different steps
    if (i % 2) r.sampling.temperature = 0.0f;  // greedy and seeded sampling
    else r.sampling.seed = uint64_t(1000 + i);
    rs.push_back(std::move(r));
  }
  return rs;
}

}  // namespace

TEST(EnginePasses, InFlightAnswersEqualOnePassAtATime) {
  for (const char* file : {"frugal-r1-distill-tiny.gguf", "frugal-r1-tiny.gguf"}) {
    SCOPED_TRACE(file);
    std::shared_ptr<GgufFile> f(GgufFile::open(shipped(file)));
    const Tokenizer tok = Tokenizer::from_vocab(vocab_from_gguf(*f));
    std::unique_ptr<Model> plain = load_model(f);
    const auto reqs = requests(int32_t(plain->config().n_vocab));
    const std::vector<Answer> want = serve(*plain, tok, reqs, 64);
    for (const Answer& a : want) ASSERT_FALSE(a.tokens.empty());
    for (int k : {2, 3}) {
      SCOPED_TRACE(k);
      Staggered st(load_model(f), k);
      const std::vector<Answer> got = serve(st, tok, reqs, 64);
      for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(got[i] == want[i]) << "request " << i;
      EXPECT_GE(st.most_in_flight(), 2);
    }
  }
}
