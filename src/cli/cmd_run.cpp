// frugal run: prompt in, streamed text out, then a line of timings.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "formats/gguf.h"

namespace frugal::cli {

int cmd_run(int argc, char** argv) {
  Args a(argc, argv, {"--ignore-eos", "--no-bos"});
  std::string model_path = a.get({"-m", "--model"});
  std::string prompt = a.get({"-p", "--prompt"});
  std::string prompt_file = a.get({"-f", "--file"});
  int64_t n_predict = a.get_int({"-n", "--n-predict"}, 128);
  int64_t n_ctx = a.get_int({"-c", "--ctx-size"}, 0);
  int64_t n_batch = a.get_int({"-b", "--batch-size"}, 512);
  bool ignore_eos = a.flag({"--ignore-eos"});
  bool no_bos = a.flag({"--no-bos"});
  SamplerParams sp = sampler_params_from(a);
  int threads = threads_from(a);
  a.check_unused();
  if (model_path.empty()) fail("usage: frugal run -m FILE -p PROMPT [-n N] [--temp T] [--seed S] ...");
  if (!prompt_file.empty()) {
    std::ifstream in(prompt_file);
    if (!in) fail("%s: cannot open", prompt_file.c_str());
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  }
  if (n_batch < 1) fail("--batch-size must be >= 1");

  LoadedModel lm = load_with_tokenizer(model_path);
  Model& model = *lm.model;
  prefetch_weights(model, threads);
  const Tokenizer& tok = *lm.tokenizer;
  if (model.file().get_bool("frugal.random_weights").value_or(false))
    std::fprintf(stderr, "note: %s has random weights: its output is noise, not language.\n", model_path.c_str());

  EncodeOptions eo;
  eo.add_special = !no_bos;
  std::vector<int32_t> ids = tok.encode(prompt, eo);
  if (ids.empty()) fail("the prompt is empty and the model adds no BOS token: nothing to condition on");
  if (n_ctx <= 0) n_ctx = std::min<int64_t>(model.config().n_ctx_train > 0 ? model.config().n_ctx_train : 4096, 4096);
  if (n_predict < 0) n_predict = n_ctx - int64_t(ids.size());
  if (int64_t(ids.size()) + n_predict > n_ctx)
    fail("prompt (%zu tokens) + %lld to generate exceeds the context of %lld tokens (-c)", ids.size(),
         (long long)n_predict, (long long)n_ctx);

  ThreadPool pool(threads);
  auto cache = model.new_cache(1, n_ctx);
  const int64_t V = model.config().n_vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  Sampler sampler(sp, int32_t(V));
  for (auto id : ids) sampler.accept(id);

  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  double t0 = now_seconds();
  Batch b;
  for (size_t i = 0; i < ids.size(); i += size_t(n_batch)) {
    b.clear();
    size_t end = std::min(ids.size(), i + size_t(n_batch));
    for (size_t j = i; j < end; ++j) b.add(ids[j], int32_t(j), 0, j + 1 == ids.size());
    model.forward(b, *cache, logits.data(), pool);
  }
  double t1 = now_seconds();

  StreamDecoder dec(tok);
  int64_t n_gen = 0;
  int32_t pos = int32_t(ids.size());
  for (; n_gen < n_predict; ++n_gen) {
    int32_t next = sampler.sample(logits.data());
    if (!ignore_eos && tok.is_end_of_generation(next)) break;
    std::string piece = dec.push(next);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    if (n_gen + 1 == n_predict) {
      ++n_gen;
      break;
    }
    b.clear();
    b.add(next, pos++, 0, true);
    model.forward(b, *cache, logits.data(), pool);
  }
  std::string rest = dec.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  double t2 = now_seconds();
  std::fprintf(stdout, "\n");
  std::fflush(stdout);
  std::fprintf(stderr, "timings: prompt %zu tokens in %.2f s = %.2f tok/s | generation %lld tokens in %.2f s = %.2f tok/s | %d threads\n",
               ids.size(), t1 - t0, double(ids.size()) / std::max(t1 - t0, 1e-9), (long long)n_gen, t2 - t1,
               double(n_gen) / std::max(t2 - t1, 1e-9), threads);
  return 0;
}

}  // namespace frugal::cli
