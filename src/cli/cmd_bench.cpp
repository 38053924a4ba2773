// frugal bench: prompt processing (pp) and generation (tg) speed, and generation as a fraction
// of the memory-bandwidth roofline measured on this machine in the same run: decode must read
// every weight once per token, so bandwidth / bytes-per-token is its speed of light.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_train.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "formats/gguf.h"
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

// Multi-threaded read of a buffer much larger than the caches (STREAM-like; best of `passes`).
class BandwidthProbe {
 public:
  explicit BandwidthProbe(ThreadPool& pool) : pool_(pool), buf_(size_t(1) << 25) {  // 256 MiB
    pool_.parallel_for(int64_t(buf_.size()), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) buf_[size_t(i)] = uint64_t(i) * 0x9E3779B97F4A7C15ull;
    });
    sink_.resize(size_t(pool_.size()) * 8);
  }
  double measure_gbs(int passes = 3) {
    const size_t n = buf_.size();
    double best = 0;
    for (int pass = 0; pass < passes; ++pass) {
      double t0 = now_seconds();
      pool_.run([&](int ith, int nth) {
        size_t b = n * size_t(ith) / size_t(nth), e = n * size_t(ith + 1) / size_t(nth);
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (size_t i = b; i + 4 <= e; i += 4) {
          a0 += buf_[i];
          a1 += buf_[i + 1];
          a2 += buf_[i + 2];
          a3 += buf_[i + 3];
        }
        sink_[size_t(ith) * 8] = a0 ^ a1 ^ a2 ^ a3;
      });
      best = std::max(best, double(n * 8) / (now_seconds() - t0) / 1e9);
    }
    return best;
  }

 private:
  ThreadPool& pool_;
  std::vector<uint64_t> buf_;
  std::vector<uint64_t> sink_;
};
}  // namespace

int cmd_bench(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (std::strcmp(argv[i], "--train") == 0) return bench_train(argc, argv);
  Args a(argc, argv, {"--json", "--mtp"});
  std::string path = a.get({"-m", "--model"});
  int64_t n_prompt = a.get_int({"-p", "--n-prompt"}, 512);
  int64_t n_gen = a.get_int({"-n", "--n-gen"}, 128);
  int64_t reps = a.get_int({"-r", "--repetitions"}, 3);
  bool json = a.flag({"--json"});
  bool mtp = a.flag({"--mtp"});
  int threads = threads_from(a);
  const LoadOptions lo = load_options_from(a);
  a.check_unused();
  if (path.empty())
    fail("usage: frugal bench -m FILE|HF_DIR [-p 512] [-n 128] [-r 3] [-t THREADS] [--json] [--load-as TYPE] [--mtp]");
  if (n_prompt < 0 || n_gen < 0 || reps < 1) fail("-p and -n must be >= 0 and -r >= 1");

  auto model = load_model(path, lo);
  prefetch_weights(*model, threads);  // progress goes to stderr, JSON to stdout
  const auto& c = model->config();
  ThreadPool pool(threads);
  const int64_t V = c.n_vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  auto log = [&](const char* fmt, auto... args) {
    if (!json) std::fprintf(stderr, fmt, args...);
  };

  BandwidthProbe probe(pool);
  const double bytes_per_tok = double(model->weight_bytes_per_token());
  std::vector<double> pp, tg, bws, fracs;
  Rng rng(1234);
  auto cache = model->new_cache(1, std::max<int64_t>(n_prompt, n_gen + 1));
  Batch b;
  // One untimed pass of each kind warms the page cache (weights are mmapped) and the kernels'
  // scratch buffers.
  for (int64_t r = -1; r < reps; ++r) {
    if (n_prompt > 0) {
      b.clear();
      for (int64_t i = 0; i < n_prompt; ++i) b.add(int32_t(rng.next() % uint64_t(V)), int32_t(i), 0, i + 1 == n_prompt);
      double t0 = now_seconds();
      model->forward(b, *cache, logits.data(), pool);
      double dt = now_seconds() - t0;
      if (r >= 0) pp.push_back(double(n_prompt) / dt);
      log("  pp%lld rep %lld: %.2f tok/s\n", (long long)n_prompt, (long long)r, double(n_prompt) / dt);
    }
    if (n_gen > 0) {
      // The bandwidth of a shared machine drifts by 2x within seconds, so it is sampled
      // during the run itself: one probe pass every 8 tokens (outside the timed part), and the
      // run's roofline uses the median sample.
      std::vector<double> samples;
      double dt = 0;
      for (int64_t i = 0; i < n_gen; ++i) {
        if (i % 8 == 0) samples.push_back(probe.measure_gbs(1));
        double t0 = now_seconds();
        b.clear();
        b.add(int32_t(rng.next() % uint64_t(V)), int32_t(i), 0, true);
        model->forward(b, *cache, logits.data(), pool);
        dt += now_seconds() - t0;
      }
      samples.push_back(probe.measure_gbs(1));
      const double bw = stats(samples).median;
      const double tps = double(n_gen) / dt, frac = tps / (bw * 1e9 / bytes_per_tok);
      if (r >= 0) {
        tg.push_back(tps);
        bws.push_back(bw);
        fracs.push_back(frac);
      }
      log("  tg%lld rep %lld: %.2f tok/s, %.1f GB/s read bandwidth, %.0f%% of roofline\n", (long long)n_gen,
          (long long)r, tps, bw, frac * 100);
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
  const int64_t kv_bytes = cache->bytes_per_token();
  if (bws.empty()) bws.push_back(probe.measure_gbs());
  Stats sp = pp.empty() ? Stats{} : stats(pp), sg = tg.empty() ? Stats{} : stats(tg);
  const double bw = stats(bws).median, frac = fracs.empty() ? 0 : stats(fracs).median;
  const double roofline = bw * 1e9 / bytes_per_tok;

  if (json) {
    nlohmann::json j = {
        {"model", path}, {"arch", c.arch}, {"threads", threads}, {"n_prompt", n_prompt}, {"n_gen", n_gen},
        {"repetitions", reps}, {"pp_tok_s", sp.median}, {"pp_tok_s_min", sp.min}, {"pp_tok_s_max", sp.max},
        {"tg_tok_s", sg.median}, {"tg_tok_s_min", sg.min}, {"tg_tok_s_max", sg.max}, {"membw_gb_s", bw},
        {"weight_bytes_per_token", bytes_per_tok}, {"roofline_tok_s", roofline}, {"roofline_frac", frac}, {"roofline_frac_min", fracs.empty() ? 0 : stats(fracs).min},
        {"roofline_frac_max", fracs.empty() ? 0 : stats(fracs).max},
        {"file_bytes", 0}, {"kv_bytes_per_token", kv_bytes}};
    if (run_mtp) {
      j["mtp_tg_tok_s"] = s_mtp.median;
      j["mtp_plain_tg_tok_s"] = s_plain.median;
      j["mtp_speedup"] = s_mtp.median / s_plain.median;
      j["mtp_acceptance"] = gst.acceptance();
    }
    size_t fb = 0;
    for (const auto& t : model->file().tensors()) fb += t.nbytes;
    j["file_bytes"] = fb;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("\n| model | threads | test | tok/s (median) | min - max |\n|---|---|---|---|---|\n");
    if (!pp.empty())
      std::printf("| %s | %d | pp%lld | %.2f | %.2f - %.2f |\n", c.arch.c_str(), threads, (long long)n_prompt, sp.median,
                  sp.min, sp.max);
    if (!tg.empty())
      std::printf("| %s | %d | tg%lld | %.2f | %.2f - %.2f |\n", c.arch.c_str(), threads, (long long)n_gen, sg.median,
                  sg.min, sg.max);
    std::printf("\nmemory read bandwidth: %.1f GB/s (median of the runs); weights per token: %.3f GB; "
                "tg roofline: %.2f tok/s; tg = %.0f%% of roofline (median of per-run ratios)\n",
                bw, bytes_per_tok / 1e9, roofline, frac * 100);
    std::printf("KV cache: %lld bytes per token (fp32, all layers)\n", (long long)kv_bytes);
    if (run_mtp)
      std::printf("MTP speculative decoding (greedy, tg%lld): %.2f tok/s vs %.2f plain = %.2fx; draft acceptance %.0f%% "
                  "(%lld of %lld)\n",
                  (long long)n_gen, s_mtp.median, s_plain.median, s_mtp.median / s_plain.median,
                  100 * gst.acceptance(), (long long)gst.accepted, (long long)gst.drafted);
  }
  return 0;
}

}  // namespace frugal::cli
