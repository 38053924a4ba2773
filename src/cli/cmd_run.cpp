// frugal run: prompt in, streamed text out, then a line of timings.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/common.h"
#include "formats/gguf.h"
#include "runtime/generator.h"

namespace frugal::cli {

namespace {
const CommandHelp kHelp{
    "frugal run [-m MODEL] (-p TEXT | -f FILE) [options]",
    "Generate text from a raw prompt (no chat template; see `frugal chat` for that), streamed to\n"
    "stdout, then a line of timings on stderr.",
    {{"options",
      {{"-m, --model", "FILE|DIR", "GGUF file or Hugging Face folder [the shipped default model]"},
       {"-p, --prompt", "TEXT", "the prompt"},
       {"-f, --file", "FILE", "read the prompt from a file"},
       {"-n, --n-predict", "N", "tokens to generate [128]"},
       {"-c, --ctx-size", "N", "context length; 0 = the model's, capped to fit the prompt and -n [0]"},
       {"-b, --batch-size", "N", "prompt tokens per forward pass [512]"},
       {"--ignore-eos", "", "keep generating past the end-of-sequence token"},
       {"--no-bos", "", "do not prepend the beginning-of-sequence token"},
       {"--mtp", "", "speculative decoding with the model's multi-token-prediction head"},
       threads_option()}},
     sampling_options(),
     model_load_options(), split_options()},
    "frugal run -p 'What is 347*86?' --temp 0 -n 300\n"
    "frugal run -m qwen2-1.5b-q4_k_m.gguf -f prompt.txt -n 64 -t 2"};
}  // namespace

int cmd_run(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  std::string model_path = model_or_default(a.get({"-m", "--model"}));
  std::string prompt = a.get({"-p", "--prompt"});
  std::string prompt_file = a.get({"-f", "--file"});
  int64_t n_predict = a.get_int({"-n", "--n-predict"}, 128);
  int64_t n_ctx = a.get_int({"-c", "--ctx-size"}, 0);
  int64_t n_batch = a.get_int({"-b", "--batch-size"}, 512);
  bool ignore_eos = a.flag({"--ignore-eos"});
  bool no_bos = a.flag({"--no-bos"});
  bool use_mtp = a.flag({"--mtp"});
  SamplerParams sp = sampler_params_from(a);
  int threads = threads_from(a);
  const LoadOptions lo = load_options_from(a);
  const dist::SplitOptions so = split_options_from(a, threads);
  a.check_unused();
  if (model_path.empty())
    fail("usage: frugal run -m FILE|HF_DIR -p PROMPT [-n N] [--temp T] [--seed S] [--load-as TYPE] ...");
  if (!prompt_file.empty()) {
    std::ifstream in(prompt_file);
    if (!in) fail("%s: cannot open", prompt_file.c_str());
    std::stringstream ss;
    ss << in.rdbuf();
    prompt = ss.str();
  }
  if (n_batch < 1) fail("--batch-size must be >= 1");

  LoadedModel lm = load_with_tokenizer(model_path, lo, &so);
  if (!lm.model) return 0;  // a pipeline rank after 0: its stage has served the run
  Model& model = *lm.model;
  prefetch_weights(model, threads, lo);
  const Tokenizer& tok = *lm.tokenizer;
  if (model.file().get_bool("frugal.random_weights").value_or(false))
    std::fprintf(stderr, "note: %s has random weights: its output is noise, not language.\n", model_path.c_str());

  EncodeOptions eo;
  eo.add_special = !no_bos;
  std::vector<int32_t> ids = tok.encode(prompt, eo);
  if (ids.empty()) fail("the prompt is empty and the model adds no BOS token: nothing to condition on");
  n_ctx = default_ctx(model, n_ctx);
  if (n_predict < 0) n_predict = n_ctx - int64_t(ids.size());
  if (int64_t(ids.size()) + n_predict > n_ctx)
    fail("prompt (%zu tokens) + %lld to generate exceeds the context of %lld tokens (-c)", ids.size(),
         (long long)n_predict, (long long)n_ctx);

  ThreadPool pool(threads);
  if (use_mtp && !model.has_mtp())
    std::fprintf(stderr, "note: %s has no MTP module; --mtp ignored\n", model_path.c_str());
  Generator gen(model, n_ctx, sp, pool, use_mtp);

  const bool terminal = isatty(STDOUT_FILENO);
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  double t0 = now_seconds();
  std::vector<int32_t> toks = {gen.start(ids, n_batch)};
  double t1 = now_seconds();

  StreamDecoder dec(tok);
  int64_t n_gen = 0;
  for (size_t i = 0; n_gen < n_predict; ++i) {
    if (i == toks.size()) {
      if (gen.room() < 1) break;
      toks.clear();
      i = 0;
      gen.next(toks);
    }
    const int32_t next = toks[i];
    if (!ignore_eos && tok.is_end_of_generation(next)) break;
    print_model_text(dec.push(next), terminal);
    ++n_gen;
  }
  print_model_text(dec.flush(), terminal);
  double t2 = now_seconds();
  std::fprintf(stdout, "\n");
  std::fflush(stdout);
  std::fprintf(stderr, "timings: prompt %zu tokens in %.2f s = %.2f tok/s | generation %lld tokens in %.2f s = %.2f tok/s | %d threads\n",
               ids.size(), t1 - t0, double(ids.size()) / std::max(t1 - t0, 1e-9), (long long)n_gen, t2 - t1,
               double(n_gen) / std::max(t2 - t1, 1e-9), threads);
  if (gen.uses_mtp())
    std::fprintf(stderr, "mtp: %lld drafted, %lld accepted (%.0f%%)\n", (long long)gen.stats().drafted,
                 (long long)gen.stats().accepted, 100 * gen.stats().acceptance());
  return 0;
}

}  // namespace frugal::cli
