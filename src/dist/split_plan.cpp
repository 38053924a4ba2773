#include "dist/split_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "core/text.h"
#include "formats/gguf.h"

namespace frugal::dist {

namespace {

// blk.N.* -> N; -1 for a tensor outside the layers.
int64_t layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(name.c_str() + 4, &end, 10);
  return end && *end == '.' && n >= 0 ? int64_t(n) : -1;
}

bool is_routed_experts(const std::string& name) { return name.find("_exps.") != std::string::npos; }
bool is_shared_experts(const std::string& name) { return name.find("_shexp.") != std::string::npos; }

struct Ends {
  uint64_t first = 0, last = 0, every = 0;  // embeddings; output norm and head; the rest outside the layers
};

Ends end_bytes(const ModelShape& m) {
  Ends e;
  uint64_t embd = 0;
  bool head = false;
  for (const auto& t : m.tensors) {
    const int64_t l = layer_of(t.name);
    if (l >= m.n_layer) e.last += t.bytes;  // MTP layers after the trunk: beside the head they draft from
    if (l >= 0) continue;
    if (t.name == "token_embd.weight") embd += t.bytes;
    else if (t.name.rfind("output", 0) == 0) e.last += t.bytes, head = head || t.name == "output.weight";
    else e.every += t.bytes;  // rope factors and the like: small, every rank
  }
  e.first = embd;
  if (!head) e.last += embd;  // tied head: the last rank reads the embeddings as its output matrix
  return e;
}

std::vector<uint64_t> layer_bytes(const ModelShape& m) {
  std::vector<uint64_t> b(size_t(m.n_layer), 0);
  for (const auto& t : m.tensors) {
    const int64_t l = layer_of(t.name);
    if (l >= 0 && l < m.n_layer) b[size_t(l)] += t.bytes;
  }
  return b;
}

// "0-13,14-27" -> layer boundaries {0, 14, 28}.
std::vector<int64_t> parse_layers(const std::string& spec, int n_rank, int64_t n_layer) {
  std::vector<int64_t> cut{0};
  size_t pos = 0;
  while (pos <= spec.size()) {
    const size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const size_t dash = item.find('-');
    char *e1 = nullptr, *e2 = nullptr;
    const std::string a = item.substr(0, dash), b = dash == std::string::npos ? a : item.substr(dash + 1);
    const long long lo = std::strtoll(a.c_str(), &e1, 10), hi = std::strtoll(b.c_str(), &e2, 10);
    if (a.empty() || b.empty() || *e1 || *e2 || lo < 0 || hi < lo)
      fail("--split-layers '%s': '%s' is not a layer range like 0-13", spec.c_str(), item.c_str());
    if (lo != cut.back())
      fail("--split-layers '%s': range '%s' should start at layer %lld (ranges are contiguous, from 0)", spec.c_str(),
           item.c_str(), (long long)cut.back());
    cut.push_back(hi + 1);
    pos = comma + 1;
  }
  if (int(cut.size()) - 1 != n_rank)
    fail("--split-layers '%s': %d ranges for %d ranks", spec.c_str(), int(cut.size()) - 1, n_rank);
  if (cut.back() != n_layer)
    fail("--split-layers '%s': the ranges end at layer %lld, the model has layers 0-%lld", spec.c_str(),
         (long long)cut.back() - 1, (long long)n_layer - 1);
  return cut;
}

// Boundaries minimising the largest rank's bytes (a linear partition, solved exactly).
std::vector<int64_t> balance_layers(const std::vector<uint64_t>& lb, const Ends& e, int n_rank) {
  const int64_t L = int64_t(lb.size());
  std::vector<uint64_t> pre(size_t(L) + 1, 0);
  for (int64_t l = 0; l < L; ++l) pre[size_t(l) + 1] = pre[size_t(l)] + lb[size_t(l)];
  auto cost = [&](int r, int64_t a, int64_t b) {
    return pre[size_t(b)] - pre[size_t(a)] + e.every + (r == 0 ? e.first : 0) + (r == n_rank - 1 ? e.last : 0);
  };
  constexpr uint64_t kInf = std::numeric_limits<uint64_t>::max();
  // best[r][l]: the smallest largest share when ranks 0..r hold layers [0, l); from[r][l]: where rank r begins.
  std::vector<std::vector<uint64_t>> best(size_t(n_rank), std::vector<uint64_t>(size_t(L) + 1, kInf));
  std::vector<std::vector<int64_t>> from(size_t(n_rank), std::vector<int64_t>(size_t(L) + 1, 0));
  for (int64_t l = 1; l <= L; ++l) best[0][size_t(l)] = cost(0, 0, l);
  for (int r = 1; r < n_rank; ++r)
    for (int64_t l = r + 1; l <= L; ++l)
      for (int64_t a = r; a < l; ++a) {
        if (best[size_t(r) - 1][size_t(a)] == kInf) continue;
        const uint64_t c = std::max(best[size_t(r) - 1][size_t(a)], cost(r, a, l));
        if (c < best[size_t(r)][size_t(l)]) best[size_t(r)][size_t(l)] = c, from[size_t(r)][size_t(l)] = a;
      }
  std::vector<int64_t> cut(size_t(n_rank) + 1, 0);
  cut[size_t(n_rank)] = L;
  for (int r = n_rank - 1; r > 0; --r) cut[size_t(r)] = from[size_t(r)][size_t(cut[size_t(r) + 1])];
  return cut;
}

std::string human(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u ? strfmt("%.2f %s", v, units[u]) : strfmt("%.0f %s", v, units[u]);
}

}  // namespace

ModelShape model_shape(const GgufFile& f) {
  ModelShape m;
  const std::string arch = f.architecture();
  // The trunk's layers: DeepSeek-V3's MTP layers follow them (nextn_predict_layers).
  m.n_layer = f.get_int(arch + ".block_count").value_or(0) - f.get_int(arch + ".nextn_predict_layers").value_or(0);
  m.n_expert = f.get_int(arch + ".expert_count").value_or(0);
  m.n_group = std::max<int64_t>(1, f.get_int(arch + ".expert_group_count").value_or(1));
  m.n_expert_used = f.get_int(arch + ".expert_used_count").value_or(0);
  for (const auto& t : f.tensors()) m.tensors.push_back({t.name, uint64_t(t.nbytes)});
  return m;
}

SplitPlan plan_pipeline(const ModelShape& m, int n_rank, const std::string& layers) {
  if (n_rank < 1) fail("a split needs at least one rank, got %d", n_rank);
  if (m.n_layer < n_rank)
    fail("cannot split %lld layers over %d ranks (each rank needs a layer)", (long long)m.n_layer, n_rank);
  const std::vector<uint64_t> lb = layer_bytes(m);
  const Ends e = end_bytes(m);
  const std::vector<int64_t> cut = layers.empty() ? balance_layers(lb, e, n_rank) : parse_layers(layers, n_rank, m.n_layer);
  SplitPlan p;
  p.kind = SplitKind::pipeline;
  for (const auto& t : m.tensors) p.file_bytes += t.bytes;
  for (int r = 0; r < n_rank; ++r) {
    RankShare s;
    s.layer_begin = cut[size_t(r)];
    s.layer_end = cut[size_t(r) + 1];
    s.bytes = e.every + (r == 0 ? e.first : 0) + (r == n_rank - 1 ? e.last : 0);
    for (int64_t l = s.layer_begin; l < s.layer_end; ++l) s.bytes += lb[size_t(l)];
    p.ranks.push_back(s);
  }
  return p;
}

SplitPlan plan_experts(const ModelShape& m, int n_rank) {
  if (n_rank < 1) fail("a split needs at least one rank, got %d", n_rank);
  if (m.n_expert <= 0) fail("the model has no routed experts: split it with --split pipeline");
  if (m.n_expert < n_rank) fail("cannot split %lld experts over %d ranks", (long long)m.n_expert, n_rank);
  SplitPlan p;
  p.kind = SplitKind::experts;
  p.n_expert = m.n_expert;
  p.n_group = m.n_group;
  uint64_t routed = 0, shared = 0, head = 0;
  for (const auto& t : m.tensors) {
    p.file_bytes += t.bytes;
    if (t.name == "output.weight") head = t.bytes;
    if (is_routed_experts(t.name)) routed += t.bytes;
    if (is_shared_experts(t.name) && layer_of(t.name) < m.n_layer) shared += t.bytes;
  }
  p.rest_bytes = p.file_bytes - routed;
  // Whole groups per rank when every rank can have one: a token's experts come from
  // n_group_used groups, so it then visits at most that many ranks.
  const bool by_group = m.n_group > 1 && m.n_group >= n_rank && m.n_expert % m.n_group == 0;
  const int64_t units = by_group ? m.n_group : m.n_expert, per_unit = by_group ? m.n_expert / m.n_group : 1;
  // Per MoE layer rank 0 reads S (shared experts) + a·X (its share of the X routed bytes a
  // token reads) while each other rank reads (1 - a)·X / (n - 1): equal when
  // a = 1/n - (n - 1)·S / (n·X). Attention and the rest run before, on rank 0 alone.
  const double n = double(n_rank);
  const double X = double(routed) * double(std::max<int64_t>(1, m.n_expert_used)) / double(m.n_expert);
  const double a = n_rank == 1 || X <= 0 ? 1.0 : std::max(0.0, 1.0 / n - (n - 1) * double(shared) / (n * X));
  const int64_t first = n_rank == 1 ? units : std::clamp<int64_t>(std::llround(a * double(units)), 0, units - (n_rank - 1));
  int64_t next = 0;
  for (int r = 0; r < n_rank; ++r) {
    const int64_t rest = units - first, workers = n_rank - 1;
    const int64_t count = r == 0 ? first : rest / workers + (r - 1 < rest % workers ? 1 : 0);
    RankShare s;
    s.layer_begin = 0;
    s.layer_end = m.n_layer;
    s.expert_begin = next * per_unit;
    s.expert_end = (next + count) * per_unit;
    next += count;
    // Every routed-expert tensor stacks n_expert equal slices. The output head's rows are
    // shared out evenly (every rank is idle while it runs).
    const uint64_t head_share = head / uint64_t(n_rank);
    s.bytes = (r == 0 ? p.rest_bytes - head_share * uint64_t(n_rank - 1) : head_share) +
              routed / uint64_t(m.n_expert) * uint64_t(s.expert_end - s.expert_begin);
    p.ranks.push_back(s);
  }
  return p;
}

SplitPlan plan_split(const ModelShape& m, const std::string& kind, int n_rank, const std::string& layers) {
  const bool auto_kind = kind == "auto";
  if (kind == "experts" || (auto_kind && m.n_expert > 0)) {
    if (!layers.empty()) fail("--split-layers applies to --split pipeline");
    return plan_experts(m, n_rank);
  }
  if (kind == "pipeline" || auto_kind) return plan_pipeline(m, n_rank, layers);
  fail("--split '%s': expected pipeline, experts or auto", kind.c_str());
}

std::string format_plan(const SplitPlan& p) {
  const bool ex = p.kind == SplitKind::experts;
  std::string s = strfmt("split:         %s over %zu ranks, %s of weights\n", ex ? "experts" : "pipeline", p.ranks.size(),
                         human(p.file_bytes).c_str());
  if (ex)
    s += strfmt("rank 0 also:   %s (attention, dense layers, shared experts, routers, embeddings; the output head's\n"
                "               rows in equal ranges on every rank)\n",
                human(p.rest_bytes).c_str());
  s += strfmt("  rank  %-24s  %12s  %6s\n", ex ? "routed experts" : "layers", "bytes", "share");
  for (size_t r = 0; r < p.ranks.size(); ++r) {
    const RankShare& x = p.ranks[r];
    const bool none = ex && x.expert_begin == x.expert_end;
    std::string what = none ? std::string("none")
                            : strfmt("%lld-%lld", (long long)(ex ? x.expert_begin : x.layer_begin),
                                     (long long)(ex ? x.expert_end : x.layer_end) - 1);
    if (ex && !none && p.n_group > 1 && p.n_expert % p.n_group == 0) {
      const int64_t g = p.n_expert / p.n_group;
      const int64_t g0 = x.expert_begin / g, g1 = x.expert_end / g - 1;
      if (x.expert_begin % g == 0 && x.expert_end % g == 0)
        what += g0 == g1 ? strfmt(" (group %lld)", (long long)g0) : strfmt(" (groups %lld-%lld)", (long long)g0, (long long)g1);
    }
    s += strfmt("  %4zu  %-24s  %12s  %5.1f%%\n", r, what.c_str(), human(x.bytes).c_str(),
                p.file_bytes ? 100.0 * double(x.bytes) / double(p.file_bytes) : 0.0);
  }
  return s;
}

}  // namespace frugal::dist
