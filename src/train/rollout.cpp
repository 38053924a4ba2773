#include "train/rollout.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/model.h"
#include "model/vocab_gguf.h"
#include "runtime/engine.h"

namespace frugal::train {

RolloutRequest plain_sampling(std::vector<int32_t> prompt, double temperature, uint64_t seed, int64_t max_tokens) {
  RolloutRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = float(temperature);
  r.sampling.top_k = 0;
  r.sampling.top_p = 1;
  r.sampling.min_p = 0;
  r.sampling.seed = seed;
  r.max_tokens = max_tokens;
  return r;
}

std::vector<RolloutResult> rollout(std::shared_ptr<GgufFile> image, const std::vector<RolloutRequest>& reqs,
                                   int64_t n_ctx, int threads, int64_t max_seqs, RolloutStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Model> model = load_model(image);
  const Tokenizer tok = Tokenizer::from_vocab(vocab_from_gguf(*image));
  EngineOptions eo;
  eo.n_ctx = n_ctx;
  eo.max_seqs = std::max<int64_t>(1, std::min<int64_t>(max_seqs, int64_t(reqs.size())));
  eo.n_batch = std::max<int64_t>(512, 2 * eo.max_seqs);
  eo.max_queue = int64_t(reqs.size()) + 1;
  eo.threads = threads;
  eo.cache.ram_bytes = 256ll << 20;
  Metrics metrics;
  Engine engine(*model, tok, eo, metrics);
  std::vector<std::shared_ptr<GenStream>> streams;
  for (const RolloutRequest& r : reqs) {
    GenRequest g;
    g.prompt = r.prompt;
    g.sampling = r.sampling;
    g.ignore_eos = r.ignore_eos;
    g.max_tokens = std::min<int64_t>(r.max_tokens, n_ctx - int64_t(r.prompt.size()));
    if (g.max_tokens <= 0) fail("rollout: a prompt of %zu tokens leaves no room in the context (%lld)", r.prompt.size(), (long long)n_ctx);
    streams.push_back(engine.submit(std::move(g)));
  }
  std::vector<RolloutResult> out(reqs.size());
  int64_t n = 0;
  for (size_t i = 0; i < streams.size(); ++i) {
    GenChunk c;
    while (true) {
      if (!streams[i]->wait(c, std::chrono::milliseconds(1000))) continue;
      for (int32_t t : c.tokens) {
        if (tok.is_end_of_generation(t)) continue;
        out[i].tokens.push_back(t);
      }
      if (c.done) {
        out[i].ended = c.finish == Finish::stop;
        break;
      }
    }
    n += int64_t(out[i].tokens.size());
  }
  if (stats) {
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats->tokens = n;
  }
  return out;
}

}  // namespace frugal::train
