#include "cli/bench_roofline.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "core/error.h"

namespace frugal::cli {

using kernels::MembwResult;

Roofline roofline_of(const MembwResult& before, const MembwResult& after, double bytes_per_tok,
                     const std::vector<double>& tg_tok_s) {
  Roofline r;
  // The roofline divides by the *read* bandwidth: a decode step streams the weights in and
  // writes only kilobytes of activations, so a pure read is the traffic it is bounded by.
  // Copy and triad also move writes: where reads and writes share the memory bus they come
  // out lower, and on chiplet CPUs whose link to memory carries writes on a path of its own
  // (AMD's) they can come out higher than read, which no read-only kernel can use. They are
  // the cross-check of the read loop, not the bound. The higher of the two read probes is
  // the machine's demonstrated ceiling for this run: dividing by the lower would flatter.
  r.bw_gb_s = std::max(before.read_gb_s, after.read_gb_s);
  r.cache_resident = bytes_per_tok <= double(kernels::last_level_cache_bytes());
  if (r.bw_gb_s <= 0 || bytes_per_tok <= 0) return r;
  r.tok_s = r.bw_gb_s * 1e9 / bytes_per_tok;
  if (tg_tok_s.empty()) return r;
  std::vector<double> f;
  for (double t : tg_tok_s) f.push_back(t / r.tok_s);
  std::sort(f.begin(), f.end());
  r.frac_min = f.front();
  r.frac_max = f.back();
  r.frac = f.size() % 2 ? f[f.size() / 2] : (f[f.size() / 2 - 1] + f[f.size() / 2]) / 2;
  return r;
}

void warn_about_roofline(const Roofline& r, double bytes_per_tok, const MembwResult& before,
                         const MembwResult& after) {
  if (r.frac_max > 1.0) {
    if (r.cache_resident)
      std::fprintf(stderr,
                   "note: a token reads %.1f MB of weights, which fit in the last-level cache (%.1f MB): "
                   "the DRAM roofline does not bound this model, so its %.0f%% means nothing\n",
                   bytes_per_tok / 1e6, double(kernels::last_level_cache_bytes()) / 1e6, r.frac_max * 100);
    else
      std::fprintf(stderr,
                   "\n*** WARNING: generation ran at %.0f%% of the memory-bandwidth roofline (median %.0f%%). ***\n"
                   "*** Above 100%% is impossible for a decode that reads every weight once per token: the ***\n"
                   "*** bandwidth probe or weight_bytes_per_token is wrong. Do not report this fraction.    ***\n\n",
                   r.frac_max * 100, r.frac * 100);
  }
  const double lo = std::min(before.read_gb_s, after.read_gb_s), hi = std::max(before.read_gb_s, after.read_gb_s);
  if (lo > 0 && hi > 1.25 * lo)
    std::fprintf(stderr,
                 "note: read bandwidth moved from %.1f to %.1f GB/s during the run (a shared or throttled "
                 "machine); the roofline uses the higher\n",
                 before.read_gb_s, after.read_gb_s);
}

namespace {
// "read R (plain P, prefetched Q), copy C, triad T": one probe's figures, GB/s.
std::string membw_figures(const MembwResult& m) {
  return strfmt("read %.1f (plain %.1f, prefetched %.1f), copy %.1f, triad %.1f", m.read_gb_s, m.read_plain_gb_s,
                m.read_prefetched_gb_s, m.copy_gb_s, m.triad_gb_s);
}

nlohmann::json membw_json(const MembwResult& m) {
  return {{"read_gb_s", m.read_gb_s},
          {"read_plain_gb_s", m.read_plain_gb_s},
          {"read_prefetched_gb_s", m.read_prefetched_gb_s},
          {"copy_gb_s", m.copy_gb_s},
          {"triad_gb_s", m.triad_gb_s}};
}
}  // namespace

void add_roofline_json(nlohmann::json& j, const Roofline& r, const MembwResult& before, const MembwResult& after) {
  j["membw_gb_s"] = r.bw_gb_s;
  j["membw_read_gb_s"] = r.bw_gb_s;
  j["membw_copy_gb_s"] = std::max(before.copy_gb_s, after.copy_gb_s);
  j["membw_triad_gb_s"] = std::max(before.triad_gb_s, after.triad_gb_s);
  j["membw_before"] = membw_json(before);
  j["membw_after"] = membw_json(after);
  j["membw_buffer_bytes"] = std::max(before.buffer_bytes, after.buffer_bytes);
  j["llc_bytes"] = kernels::last_level_cache_bytes();
  j["roofline_tok_s"] = r.tok_s;
  j["roofline_frac"] = r.frac;
  j["roofline_frac_min"] = r.frac_min;
  j["roofline_frac_max"] = r.frac_max;
  j["roofline_impossible"] = r.frac_max > 1.0 && !r.cache_resident;
}

void print_roofline(const Roofline& r, double bytes_per_tok, const MembwResult& before, const MembwResult& after,
                    int threads) {
  if (r.bw_gb_s <= 0) {
    std::printf("\nread per token (weights + KV at the mean tg position): %.3f GB (no bandwidth probe)\n", bytes_per_tok / 1e9);
    return;
  }
  std::printf("\nmemory bandwidth, GB/s (%d threads, best of 5 passes over %.0f MiB):\n", threads,
              double(std::max(before.buffer_bytes, after.buffer_bytes)) / (1 << 20));
  std::printf("  before the run: %s\n", membw_figures(before).c_str());
  std::printf("  after the run:  %s\n", membw_figures(after).c_str());
  std::printf("read per token (weights + KV): %.3f GB; tg roofline at %.1f GB/s read: %.2f tok/s", bytes_per_tok / 1e9, r.bw_gb_s,
              r.tok_s);
  if (r.frac > 0) std::printf("; tg = %.0f%% of it (min %.0f%%, max %.0f%%)", r.frac * 100, r.frac_min * 100, r.frac_max * 100);
  std::printf("\n");
}

int bench_membw(int threads, size_t bytes, bool json) {
  ThreadPool pool(threads);
  const MembwResult m = kernels::measure_memory_bandwidth(pool, 5, bytes);
  if (json) {
    nlohmann::json j = membw_json(m);
    j["threads"] = threads;
    j["buffer_bytes"] = m.buffer_bytes;
    j["llc_bytes"] = kernels::last_level_cache_bytes();
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("memory bandwidth, GB/s (%d threads, best of 5 passes over %.0f MiB): %s\n", threads,
                double(m.buffer_bytes) / (1 << 20), membw_figures(m).c_str());
  }
  return 0;
}

}  // namespace frugal::cli
