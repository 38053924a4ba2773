// frugal bench: prompt processing (pp) and generation (tg) speed, and generation as a fraction
// of the memory-bandwidth roofline measured on this machine in the same run: decode must read
// every weight once per token, so bandwidth / bytes-per-token is its speed of light.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "formats/gguf.h"

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

// Multi-threaded read of a buffer much larger than the caches; best of several passes, as
// STREAM reports.
double measure_read_gbs(ThreadPool& pool) {
  const size_t n = size_t(1) << 27;  // 128 Mi x 8 B = 1 GiB
  std::vector<uint64_t> buf(n);
  pool.parallel_for(int64_t(n), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) buf[size_t(i)] = uint64_t(i) * 0x9E3779B97F4A7C15ull;
  });
  double best = 0;
  std::vector<uint64_t> sink(size_t(pool.size()) * 8);
  for (int pass = 0; pass < 5; ++pass) {
    double t0 = now_seconds();
    pool.run([&](int ith, int nth) {
      size_t b = n * size_t(ith) / size_t(nth), e = n * size_t(ith + 1) / size_t(nth);
      uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (size_t i = b; i + 4 <= e; i += 4) {
        a0 += buf[i];
        a1 += buf[i + 1];
        a2 += buf[i + 2];
        a3 += buf[i + 3];
      }
      sink[size_t(ith) * 8] = a0 ^ a1 ^ a2 ^ a3;
    });
    double dt = now_seconds() - t0;
    best = std::max(best, double(n * 8) / dt / 1e9);
  }
  return best;
}
}  // namespace

int cmd_bench(int argc, char** argv) {
  Args a(argc, argv, {"--json"});
  std::string path = a.get({"-m", "--model"});
  int64_t n_prompt = a.get_int({"-p", "--n-prompt"}, 512);
  int64_t n_gen = a.get_int({"-n", "--n-gen"}, 128);
  int64_t reps = a.get_int({"-r", "--repetitions"}, 3);
  bool json = a.flag({"--json"});
  int threads = threads_from(a);
  a.check_unused();
  if (path.empty()) fail("usage: frugal bench -m FILE [-p 512] [-n 128] [-r 3] [-t THREADS] [--json]");
  if (n_prompt < 0 || n_gen < 0 || reps < 1) fail("-p and -n must be >= 0 and -r >= 1");

  auto model = load_model(path);
  const auto& c = model->config();
  ThreadPool pool(threads);
  const int64_t V = c.n_vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  auto log = [&](const char* fmt, auto... args) {
    if (!json) std::fprintf(stderr, fmt, args...);
  };

  log("measuring memory bandwidth (%d threads)...\n", threads);
  const double bw = measure_read_gbs(pool);
  const double bytes_per_tok = double(model->weight_bytes_per_token());
  const double roofline = bw * 1e9 / bytes_per_tok;

  std::vector<double> pp, tg;
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
      double t0 = now_seconds();
      for (int64_t i = 0; i < n_gen; ++i) {
        b.clear();
        b.add(int32_t(rng.next() % uint64_t(V)), int32_t(i), 0, true);
        model->forward(b, *cache, logits.data(), pool);
      }
      double dt = now_seconds() - t0;
      if (r >= 0) tg.push_back(double(n_gen) / dt);
      log("  tg%lld rep %lld: %.2f tok/s\n", (long long)n_gen, (long long)r, double(n_gen) / dt);
    }
  }
  Stats sp = pp.empty() ? Stats{} : stats(pp), sg = tg.empty() ? Stats{} : stats(tg);
  const double frac = roofline > 0 ? sg.median / roofline : 0;

  if (json) {
    nlohmann::json j = {
        {"model", path}, {"arch", c.arch}, {"threads", threads}, {"n_prompt", n_prompt}, {"n_gen", n_gen},
        {"repetitions", reps}, {"pp_tok_s", sp.median}, {"pp_tok_s_min", sp.min}, {"pp_tok_s_max", sp.max},
        {"tg_tok_s", sg.median}, {"tg_tok_s_min", sg.min}, {"tg_tok_s_max", sg.max}, {"membw_gb_s", bw},
        {"weight_bytes_per_token", bytes_per_tok}, {"roofline_tok_s", roofline}, {"roofline_frac", frac},
        {"file_bytes", 0}};
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
    std::printf("\nmemory read bandwidth: %.1f GB/s; weights per token: %.3f GB; tg roofline: %.2f tok/s; "
                "tg = %.0f%% of roofline\n",
                bw, bytes_per_tok / 1e9, roofline, frac * 100);
  }
  return 0;
}

}  // namespace frugal::cli
