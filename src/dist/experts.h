// The expert split (mpirun -np N frugal ... --split experts): DeepSeekMoE's routed experts
// spread over the ranks, everything else on rank 0. At each MoE layer rank 0 routes the tokens,
// sends each rank the rows of the tokens that chose its experts, runs the shared experts and
// its own routed ones meanwhile, and takes the others' outputs back unweighted: it weights and
// adds them in the order one process would, so the logits are the same bit for bit. The bytes
// a token reads per rank fall with N for the routed experts, the decode bound.
#pragma once
#include <memory>

#include "dist/split_plan.h"
#include "model/model.h"

namespace frugal::dist {

// Rank 0: the routed experts outside rank 0's share of `plan` run on the other ranks from now
// on. `m` must have routed experts (deepseek2).
void attach_expert_split(Model& m, const SplitPlan& plan);

// Ranks > 0: compute this rank's experts for rank 0 until it ends the job (stop_expert_ranks).
void serve_experts(Model& m, const SplitPlan& plan, int rank, int threads);

// Rank 0: the other ranks leave serve_experts.
void stop_expert_ranks(int n_rank);

// Rank 0: seconds it waited in collect while another rank was still computing (an estimate
// from the ranks' own compute times: the rest of the wait is the wire).
double expert_wait_seconds();
// Rank 0: seconds the other ranks spent computing experts for it (their own clocks, summed).
double expert_compute_seconds();
// Rank 0: weight bytes the parts that run on several ranks read so far (the MoE layers' shared
// and chosen experts, the output head), as one process would read them, and of them the bytes
// on the critical path: per MoE layer the busiest rank's (rank 0 also runs the shared experts),
// per head the largest range of rows, summed. The ratio is what the split saves there.
struct ExpertReads {
  double all = 0, critical = 0;
};
ExpertReads expert_reads();

}  // namespace frugal::dist
