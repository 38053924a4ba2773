#include "dist/split.h"

#include <cstdio>

#include "core/error.h"
#include "dist/experts.h"
#include "dist/mpi_world.h"
#include "dist/pipeline.h"
#include "dist/split_plan.h"
#include "formats/gguf.h"

namespace frugal::dist {

namespace {

SplitKind g_kind = SplitKind::pipeline;
bool g_experts_started = false;

std::string human(uint64_t b) { return strfmt("%.1f MiB", double(b) / (1024.0 * 1024.0)); }

void log_plan(const SplitPlan& plan) {
  const bool ex = plan.kind == SplitKind::experts;
  std::fprintf(stderr, "%s split: %zu ranks over %s of weights:", ex ? "expert" : "pipeline", plan.ranks.size(),
               human(plan.file_bytes).c_str());
  for (size_t r = 0; r < plan.ranks.size(); ++r) {
    const RankShare& s = plan.ranks[r];
    std::fprintf(stderr, " rank %zu %s %lld-%lld (%s)%s", r, ex ? "experts" : "layers",
                 (long long)(ex ? s.expert_begin : s.layer_begin), (long long)(ex ? s.expert_end : s.layer_end) - 1,
                 human(s.bytes).c_str(), r + 1 < plan.ranks.size() ? "," : "\n");
  }
}

}  // namespace

std::unique_ptr<Model> load_split_model(const std::string& path, const LoadOptions& lo, const SplitOptions& so) {
  const World w = world();
  if (!so.kind.empty() && so.kind != "pipeline" && so.kind != "experts" && so.kind != "auto")
    fail("--split '%s': expected pipeline, experts or auto", so.kind.c_str());
  if (w.size <= 1) return load_model(path, lo);  // one rank holds everything, whatever --split says
  // Every rank loads (maps) the file; only the pages of its own part are ever read. A rank
  // that cannot ends the whole job with its reason instead of leaving the others waiting.
  std::unique_ptr<Model> m;
  SplitPlan plan;
  try {
    m = load_model(path, lo);
    plan = plan_split(model_shape(m->file()), so.kind.empty() ? "pipeline" : so.kind, w.size, so.layers);
    if (plan.kind == SplitKind::pipeline && !m->supports_stages())
      fail("%s: architecture '%s' cannot be split into pipeline stages yet", path.c_str(), m->config().arch.c_str());
    if (plan.kind == SplitKind::experts && w.rank == 0) attach_expert_split(*m, plan);
  } catch (const Error& e) {
    std::fprintf(stderr, "frugal: rank %d of %d: error: %s\n", w.rank, w.size, e.what());
    abort_world(1);
  }
  g_kind = plan.kind;
  const RankShare& mine = plan.ranks[size_t(w.rank)];
  if (plan.kind == SplitKind::pipeline) m->set_stage(mine.layer_begin, mine.layer_end);
  if (w.rank == 0) {
    log_plan(plan);
    if (plan.kind == SplitKind::experts) {
      g_experts_started = true;
      return m;
    }
    return make_pipeline_head(std::move(m), w.size);
  }
  try {
    if (plan.kind == SplitKind::experts) serve_experts(*m, plan, w.rank, so.threads);
    else run_pipeline_stage(*m, w.rank, w.size, so.threads);
  } catch (const Error& e) {
    std::fprintf(stderr, "frugal: rank %d of %d: error: %s\n", w.rank, w.size, e.what());
    abort_world(1);
  }
  return nullptr;
}

void end_split() {
  if (rank_lost() >= 0) return;  // nobody to tell: finalize_world ends the job
  stop_pipeline();
  if (g_experts_started) {
    g_experts_started = false;
    stop_expert_ranks(world().size);
  }
}

double other_ranks_wait_seconds() {
  return g_kind == SplitKind::experts ? expert_wait_seconds() : downstream_wait_seconds();
}

double other_ranks_compute_seconds() {
  return g_kind == SplitKind::experts ? expert_compute_seconds() : downstream_compute_seconds();
}

int64_t overlapped_passes() { return g_kind == SplitKind::experts ? 0 : pipeline_overlapped_passes(); }

ParallelReads parallel_reads() {
  if (g_kind != SplitKind::experts) return {};
  const ExpertReads r = expert_reads();
  return {r.all, r.critical};
}

std::string split_summary() {
  const World w = world();
  if (w.size <= 1) return "";
  const WireStats s = wire_stats();
  const double waited = w.rank == 0 ? other_ranks_wait_seconds() : 0;
  return strfmt("%s split: rank %d of %d: %llu messages, %.1f MiB sent, %.1f MiB received, %.3f s in transfers "
                "(%.3f s of it waiting for the other ranks to compute)",
                g_kind == SplitKind::experts ? "expert" : "pipeline", w.rank, w.size, (unsigned long long)s.messages,
                double(s.bytes_sent) / 1048576.0, double(s.bytes_received) / 1048576.0, s.seconds, waited);
}

}  // namespace frugal::dist
