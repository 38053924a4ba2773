// frugal bench --train: the trainer's speed against this machine's limits, measured in the same
// run: training tokens/s, model GFLOP/s and the linear matmuls' GFLOP/s as fractions of the
// fp32 FMA peak (probed before and after, the machine's speed drifts); rollout tokens/s for G
// samples per prompt through the engine; peak resident memory.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/bench_train.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/sgemm.h"
#include "tokenizer/tokenizer.h"
#include "train/byte_vocab.h"
#include "train/corpus.h"
#include "train/ops.h"
#include "train/arith.h"
#include "train/byte_vocab.h"
#include "train/presets.h"
#include "train/rollout.h"
#include "train/supervised.h"

namespace frugal::cli {

using namespace frugal::train;

namespace {
const CommandHelp kHelp{
    "frugal bench --train [options]",
    "The trainer's speed: an FMA-loop probe of this machine's fp32 peak, then training steps\n"
    "(tokens/s, GFLOP/s of the linear layers against that peak) and GRPO rollouts (tokens/s).",
    {{"options",
      {{"--train", "", "(selects this benchmark)"},
       {"--preset", "NAME", "model shape to train [frugal-r1-tiny]"},
       {"--steps", "N", "timed training steps [4]"},
       {"--batch-tokens", "N", "tokens per step [16384]"},
       {"--prompts", "N", "rollout prompts [8]"},
       {"--group", "N", "samples per prompt [8]"},
       {"--max-tokens", "N", "tokens per rollout sample [128]"},
       {"--json", "", "JSON on stdout"},
       threads_option()}}},
    "frugal bench --train -t 2"};
}  // namespace

int bench_train(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  a.flag({"--train"});
  const std::string preset = a.get({"--preset"}, "frugal-r1-tiny");
  const int64_t steps = a.get_int({"--steps"}, 4);
  const int64_t batch = a.get_int({"--batch-tokens"}, 16384);
  const int prompts = int(a.get_int({"--prompts"}, 8));
  const int group = int(a.get_int({"--group"}, 8));
  const int64_t gen = a.get_int({"--max-tokens"}, 128);
  const bool json = a.flag({"--json"});
  const int threads = threads_from(a);
  a.check_unused();
  if (steps < 1 || batch < 1 || prompts < 1 || group < 1 || gen < 1)
    fail("usage: frugal bench --train [--preset frugal-r1-tiny] [--steps 4] [--batch-tokens 16384] [--prompts 8 --group 8 "
         "--max-tokens 128] [-t THREADS] [--json]");
  ThreadPool pool(threads);
  auto log = [&](const char* fmt, auto... args) {
    if (!json) std::fprintf(stderr, fmt, args...);
  };

  const double peak0 = kernels::fma_peak_gflops(pool, 0.5);
  log("fp32 FMA peak (%d threads): %.1f GFLOP/s\n", int(pool.size()), peak0);
  const Vocab v = byte_vocab();
  auto m = make_preset(preset, int64_t(v.tokens.size()), 1);
  const Tokenizer tok = Tokenizer::from_vocab(v);
  auto src = pretrain_source(tok, Mix::standard());
  LoopOptions o;
  o.stage = "pretrain";
  o.batch_tokens = batch;
  o.quiet = true;
  o.steps = 1;  // warm-up: first-touch allocations, the tape's buffers
  train_supervised(*m, v, *src, o, pool, {});
  o.steps = steps;
  const MatmulTotals mm0 = linear_totals();
  const LoopResult r = train_supervised(*m, v, *src, o, pool, {});
  const MatmulTotals mm1 = linear_totals();
  const double peak1 = kernels::fma_peak_gflops(pool, 0.5);
  const double peak = (peak0 + peak1) / 2;
  const double tok_s = double(r.tokens_total) / r.seconds_total;
  const double model_gflops = r.flops_total / r.seconds_total / 1e9;
  const double mm_gflops = (mm1.flops - mm0.flops) / (mm1.seconds - mm0.seconds) / 1e9;
  const double mm_share = (mm1.seconds - mm0.seconds) / r.seconds_total;
  log("training  %s, %.2fM parameters, %lld steps x %lld tokens: %.0f tok/s, %.1f GFLOP/s (%.0f %% of peak)\n",
      preset.c_str(), double(m->params().count()) / 1e6, (long long)steps, (long long)batch, tok_s, model_gflops,
      100 * model_gflops / peak);
  log("  linear matmuls: %.1f GFLOP/s (%.0f %% of peak), %.0f %% of the step time\n", mm_gflops, 100 * mm_gflops / peak,
      100 * mm_share);

  // Rollouts as GRPO draws them: G samples of each prompt, all in one continuously batched run.
  EncodeOptions eo;
  eo.parse_special = true;
  Rng rng(7);
  std::vector<RolloutRequest> reqs;
  for (int p = 0; p < prompts; ++p) {
    const Problem q = training_problem(Mix::standard().draw_bucket(rng), rng);
    const std::vector<int32_t> prompt = tok.encode(chat_prompt(q.text), eo);
    for (int g = 0; g < group; ++g) {
      RolloutRequest rq = plain_sampling(prompt, 1.0, rng.next(), gen);
      rq.ignore_eos = true;  // every sample runs to max_tokens: a fixed amount of work
      reqs.push_back(std::move(rq));
    }
  }
  RolloutStats rs;
  rollout(model_image(*m, v, preset), reqs, m->n_ctx(), int(pool.size()), int64_t(reqs.size()), &rs);
  const double roll_s = double(rs.tokens) / rs.seconds;
  log("rollout   %d prompts x %d samples x %lld tokens: %.0f tok/s\n", prompts, group, (long long)gen, roll_s);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double rss_mb = double(ru.ru_maxrss) / 1024;
  log("peak RSS  %.0f MB\n", rss_mb);
  log("FMA peak before / after: %.1f / %.1f GFLOP/s\n", peak0, peak1);
  if (json)
    std::puts(nlohmann::ordered_json{{"preset", preset},
                                     {"threads", pool.size()},
                                     {"params", m->params().count()},
                                     {"steps", steps},
                                     {"batch_tokens", batch},
                                     {"fma_peak_gflops", {peak0, peak1}},
                                     {"train_tok_s", tok_s},
                                     {"train_gflops", model_gflops},
                                     {"train_frac_of_peak", model_gflops / peak},
                                     {"matmul_gflops", mm_gflops},
                                     {"matmul_frac_of_peak", mm_gflops / peak},
                                     {"matmul_share_of_time", mm_share},
                                     {"rollout", {{"prompts", prompts}, {"group", group}, {"tokens", gen}, {"tok_s", roll_s}}},
                                     {"peak_rss_mb", rss_mb}}
                  .dump(1)
                  .c_str());
  return 0;
}

}  // namespace frugal::cli
