// frugal bench: prompt processing (pp) and generation (tg) speed, and generation as a fraction
// of the memory-bandwidth roofline measured on this machine before and after the run: decode
// must read every weight once per token, so bandwidth / bytes-per-token is its speed of light.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_roofline.h"
#include "cli/bench_train.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "dist/mpi_world.h"
#include "dist/mpi_world.h"
#include "core/progress.h"
#include "formats/gguf.h"
#include "kernels/membw.h"
#include "runtime/generator.h"

namespace frugal::cli {

namespace {
struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

const CommandHelp kHelp{
    "frugal bench [-m MODEL] [options]   |   frugal bench --membw   |   frugal bench --train [--help]",
    "Prompt processing (pp) and generation (tg) speed in tokens/s, median of -r runs, with the\n"
    "memory-bandwidth roofline measured on this machine before and after: decode reads every\n"
    "weight once per token, so bandwidth / bytes per token is its speed of light.",
    {{"options",
      {{"-m, --model", "FILE|DIR", "the model"},
       {"-p, --n-prompt", "N", "prompt tokens per pp run; 0 = skip [512]"},
       {"-n, --n-gen", "N", "tokens per tg run; 0 = skip [128]"},
       {"-d, --n-depth", "N", "context already filled before each run, as llama-bench's -d [0]"},
       {"-r, --repetitions", "N", "runs of each test [3]"},
       {"--mtp", "", "tg with the model's multi-token-prediction draft head"},
       {"--json", "", "JSON on stdout (progress stays on stderr)"},
       {"--membw", "", "the bandwidth probe alone, no model"},
       {"--membw-mb", "N", "probe buffer; 0 = no probe [max(8 x last-level cache, 512)]"},
       {"--train", "", "the trainer's speed instead (frugal bench --train --help)"},
       threads_option()}},
     model_load_options(), split_options()},
    "frugal bench -m r1-distill-qwen-1.5b-q4_k_m.gguf -t 2\n"
    "frugal bench -m r1-distill-qwen-1.5b-q4_k_m.gguf -p 0 -n 32 -d 4096 --cache-type q8_0"};

}  // namespace

int cmd_bench(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (std::strcmp(argv[i], "--train") == 0) return bench_train(argc, argv);
  Args a(argc, argv, kHelp);
  const int64_t membw_mb = a.get_int({"--membw-mb"}, -1);
  std::string path = a.get({"-m", "--model"});
  int64_t n_prompt = a.get_int({"-p", "--n-prompt"}, 512);
  int64_t n_gen = a.get_int({"-n", "--n-gen"}, 128);
  int64_t reps = a.get_int({"-r", "--repetitions"}, 3);
  const int64_t depth = a.get_int({"-d", "--n-depth"}, 0);
  bool json = a.flag({"--json"});
  bool mtp = a.flag({"--mtp"});
  const bool membw_only = a.flag({"--membw"});
  int threads = threads_from(a);
  const LoadOptions lo = load_options_from(a);
  const dist::SplitOptions so = split_options_from(a, threads);
  a.check_unused();
  if (membw_mb < -1) fail("--membw-mb must be >= 0");
  if (membw_only) return bench_membw(threads, membw_mb > 0 ? size_t(membw_mb) << 20 : 0, json);
  if (path.empty())
    fail("usage: frugal bench -m FILE|HF_DIR [-p 512] [-n 128] [-d 0] [-r 3] [-t THREADS] [--json] [--load-as TYPE] [--mtp]\n"
         "                    [--membw-mb N (bandwidth probe buffer; default max(8 x LLC, 512), 0: no probe)]\n"
         "       frugal bench --membw [-t THREADS] [--membw-mb N] [--json]   (the bandwidth probe alone)");
  if (n_prompt < 0 || n_gen < 0 || depth < 0 || reps < 1) fail("-p, -n and -d must be >= 0 and -r >= 1");

  ThreadPool pool(threads);
  // Before the model is mapped, so the probe's buffer cannot push the weights out of the page
  // cache; after the run again, because the bandwidth of a shared machine drifts.
  const bool probe = membw_mb != 0 && dist::world().size == 1;  // a split's roofline is per rank: not measured
  const size_t probe_bytes = membw_mb > 0 ? size_t(membw_mb) << 20 : 0;
  kernels::MembwResult bw_before, bw_after;
  if (probe) bw_before = kernels::measure_memory_bandwidth(pool, 5, probe_bytes);

  auto model = dist::load_split_model(path, lo, so);
  if (!model) return 0;  // a pipeline rank after 0: its stage has served the run
  prefetch_weights(*model, threads, lo);  // progress goes to stderr, JSON to stdout
  const auto& c = model->config();
  const int64_t V = c.n_vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  auto log = [&](const char* fmt, auto... args) {
    if (!json) std::fprintf(stderr, fmt, args...);
  };

  std::vector<double> pp, tg;
  Rng rng(1234);
  const int64_t n_ctx = depth + std::max<int64_t>(n_prompt, n_gen + 1);
  if (n_ctx > c.n_ctx_train && c.n_ctx_train > 0)
    log("  note: depth + test = %lld positions, beyond the model's trained context (%lld)\n", (long long)n_ctx,
        (long long)c.n_ctx_train);
  auto cache = model->new_cache(1, n_ctx);
  Batch b;
  // -d: a context of `depth` random tokens, computed once and untimed, that every pp and tg
  // test then attends over (llama-bench's -d). Each test writes positions depth.. again.
  if (depth > 0) {
    Progress prog("  depth " + std::to_string(depth), double(depth), "k tokens", 1e3);
    for (int64_t p0 = 0; p0 < depth; p0 += 512) {
      b.clear();
      const int64_t p1 = std::min(depth, p0 + 512);
      for (int64_t i = p0; i < p1; ++i) b.add(int32_t(rng.next() % uint64_t(V)), int32_t(i), 0, i + 1 == p1);
      model->forward(b, *cache, logits.data(), pool);
      prog.update(double(p1));
    }
  }
  const int64_t kv_bytes = cache->bytes_per_token();
  // What a generated token reads: every weight once, and the cached K/V of the context (the
  // mean position of the tg test), which at depth is no longer small.
  const double weight_bytes = double(model->weight_bytes_per_token());
  const double bytes_per_tok = weight_bytes + double(kv_bytes) * (double(depth) + double(n_gen) / 2);
  // Under a split: rank 0's time inside transfers during the timed tg runs (waiting for the other
  // stages included), the wire's share of a decode step.
  double tg_seconds = 0, tg_wire_seconds = 0, tg_wait_seconds = 0, tg_other_compute = 0, tg_par_all = 0,
         tg_par_critical = 0;
  uint64_t tg_wire_bytes = 0;
  for (int64_t r = -1; r < reps; ++r) {
    if (n_prompt > 0) {
      b.clear();
      for (int64_t i = 0; i < n_prompt; ++i)
        b.add(int32_t(rng.next() % uint64_t(V)), int32_t(depth + i), 0, i + 1 == n_prompt);
      double t0 = now_seconds();
      model->forward(b, *cache, logits.data(), pool);
      double dt = now_seconds() - t0;
      if (r >= 0) pp.push_back(double(n_prompt) / dt);
      log("  pp%lld rep %lld: %.2f tok/s\n", (long long)n_prompt, (long long)r, double(n_prompt) / dt);
    }
    if (n_gen > 0) {
      const dist::WireStats w0 = dist::wire_stats();
      const double d0 = dist::other_ranks_wait_seconds(), c0 = dist::other_ranks_compute_seconds();
      const dist::ParallelReads m0 = dist::parallel_reads();
      double t0 = now_seconds();
      for (int64_t i = 0; i < n_gen; ++i) {
        b.clear();
        b.add(int32_t(rng.next() % uint64_t(V)), int32_t(depth + i), 0, true);
        model->forward(b, *cache, logits.data(), pool);
      }
      const double dt = now_seconds() - t0;
      const double tps = double(n_gen) / dt;
      if (r >= 0) {
        tg.push_back(tps);
        const dist::WireStats w1 = dist::wire_stats();
        tg_seconds += dt;
        const double waited = dist::other_ranks_wait_seconds() - d0;
        tg_wait_seconds += waited;
        tg_other_compute += dist::other_ranks_compute_seconds() - c0;
        const dist::ParallelReads m1 = dist::parallel_reads();
        tg_par_all += m1.all - m0.all;
        tg_par_critical += m1.critical - m0.critical;
        tg_wire_seconds += w1.seconds - w0.seconds - waited;
        tg_wire_bytes += (w1.bytes_sent - w0.bytes_sent) + (w1.bytes_received - w0.bytes_received);
      }
      log("  tg%lld rep %lld: %.2f tok/s\n", (long long)n_gen, (long long)r, tps);
    }
  }
  // Speculative decoding with the MTP draft head: the same greedy generation with and without
  // it (identical tokens), timed; acceptance depends on the weights (random ones accept little).
  Stats s_plain, s_mtp;
  GeneratorStats gst;
  const bool run_mtp = mtp && model->has_mtp() && n_gen > 0;
  if (mtp && !model->has_mtp()) log("  --mtp: this model has no MTP module\n");
  if (run_mtp) {
    SamplerParams gp;
    gp.temperature = 0;
    std::vector<int32_t> prompt;
    for (int i = 0; i < 16; ++i) prompt.push_back(int32_t(rng.next() % uint64_t(V)));
    std::vector<double> plain, spec;
    for (int64_t r = -1; r < reps; ++r)
      for (bool use : {false, true}) {
        Generator g(*model, int64_t(prompt.size()) + n_gen + 2, gp, pool, use);
        std::vector<int32_t> out = {g.start(prompt, 512)};
        double t0 = now_seconds();
        while (int64_t(out.size()) < n_gen) g.next(out);
        const double tps = double(out.size() - 1) / (now_seconds() - t0);
        if (r >= 0) (use ? spec : plain).push_back(tps);
        if (use && r >= 0) {
          gst.drafted += g.stats().drafted;
          gst.accepted += g.stats().accepted;
        }
        log("  tg%lld %s rep %lld: %.2f tok/s\n", (long long)n_gen, use ? "with mtp" : "plain", (long long)r, tps);
      }
    s_plain = stats(plain);
    s_mtp = stats(spec);
  }
  if (probe) bw_after = kernels::measure_memory_bandwidth(pool, 5, probe_bytes);
  Stats sp = pp.empty() ? Stats{} : stats(pp), sg = tg.empty() ? Stats{} : stats(tg);
  const Roofline rl = roofline_of(bw_before, bw_after, bytes_per_tok, tg);
  if (probe) warn_about_roofline(rl, bytes_per_tok, bw_before, bw_after);

  if (json) {
    nlohmann::json j = {
        {"model", path}, {"arch", c.arch}, {"threads", threads}, {"n_prompt", n_prompt}, {"n_gen", n_gen}, {"n_depth", depth},
        {"repetitions", reps}, {"pp_tok_s", sp.median}, {"pp_tok_s_min", sp.min}, {"pp_tok_s_max", sp.max},
        {"tg_tok_s", sg.median}, {"tg_tok_s_min", sg.min}, {"tg_tok_s_max", sg.max},
        {"weight_bytes_per_token", weight_bytes}, {"bytes_per_token", bytes_per_tok}, {"file_bytes", 0}, {"kv_bytes_per_token", kv_bytes}};
    add_roofline_json(j, rl, bw_before, bw_after);
    if (run_mtp) {
      j["mtp_tg_tok_s"] = s_mtp.median;
      j["mtp_plain_tg_tok_s"] = s_plain.median;
      j["mtp_speedup"] = s_mtp.median / s_plain.median;
      j["mtp_acceptance"] = gst.acceptance();
    }
    size_t fb = 0;
    for (const auto& t : model->file().tensors()) fb += t.nbytes;
    j["file_bytes"] = fb;
    if (dist::world().size > 1 && tg_seconds > 0) {
      j["ranks"] = dist::world().size;
      j["tg_wire_share"] = tg_wire_seconds / tg_seconds;
      j["tg_other_stages_share"] = tg_wait_seconds / tg_seconds;
      j["tg_wire_bytes_per_token"] = double(tg_wire_bytes) / double(n_gen * reps);
      // The other ranks' compute per decode step (summed over ranks), against the step.
      j["tg_other_ranks_compute_share"] = tg_other_compute / tg_seconds;
      if (tg_par_all > 0) {  // expert split: what its spread parts read, all of it and the busiest rank's
        j["tg_parallel_bytes_per_token"] = tg_par_all / double(n_gen * reps);
        j["tg_critical_parallel_bytes_per_token"] = tg_par_critical / double(n_gen * reps);
      }
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    const std::string at = depth > 0 ? " @ d" + std::to_string(depth) : "";
    std::printf("\n| model | threads | test | tok/s (median) | min - max |\n|---|---|---|---|---|\n");
    if (!pp.empty())
      std::printf("| %s | %d | pp%lld%s | %.2f | %.2f - %.2f |\n", c.arch.c_str(), threads, (long long)n_prompt,
                  at.c_str(), sp.median, sp.min, sp.max);
    if (!tg.empty())
      std::printf("| %s | %d | tg%lld%s | %.2f | %.2f - %.2f |\n", c.arch.c_str(), threads, (long long)n_gen, at.c_str(),
                  sg.median, sg.min, sg.max);
    print_roofline(rl, bytes_per_tok, bw_before, bw_after, threads);
    std::printf("KV cache: %lld bytes per token (%s, %s)\n", (long long)kv_bytes, dtype_name(cache->type()),
                cache->n_layer() == c.n_layer ? "all layers" : strfmt("rank 0's %lld layers", (long long)cache->n_layer()).c_str());
    if (dist::world().size > 1 && tg_seconds > 0)
      std::printf("split over %d ranks: a decode step is %.1f%% wire (%.0f bytes per token through rank 0), %.1f%% the "
                  "other stages computing, the rest rank 0's own stage and sampling\n",
                  dist::world().size, 100 * tg_wire_seconds / tg_seconds, double(tg_wire_bytes) / double(n_gen * reps),
                  100 * tg_wait_seconds / tg_seconds);
    if (run_mtp)
      std::printf("MTP speculative decoding (greedy, tg%lld): %.2f tok/s vs %.2f plain = %.2fx; draft acceptance %.0f%% "
                  "(%lld of %lld)\n",
                  (long long)n_gen, s_mtp.median, s_plain.median, s_mtp.median / s_plain.median,
                  100 * gst.acceptance(), (long long)gst.accepted, (long long)gst.drafted);
  }
  return 0;
}

}  // namespace frugal::cli
