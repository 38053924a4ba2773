// The pipeline split (mpirun -np N frugal ... --split pipeline): every rank runs a contiguous
// range of layers (its stage). Rank 0 embeds the tokens, runs its layers and hands one
// hidden-state row per token to rank 1, and so on; the last rank's logits come back to rank 0,
// which samples. Each rank keeps the KV cache of its own layers. Rank 0 sees an ordinary Model.
#pragma once
#include <cstdint>
#include <memory>

#include "model/model.h"

namespace frugal::dist {

// Rank 0: its stage (set_stage done) wrapped as the whole model.
std::unique_ptr<Model> make_pipeline_head(std::unique_ptr<Model> stage, int n_rank);
// Ranks > 0: run this stage's layers for the rank before until rank 0 stops the pipeline.
void run_pipeline_stage(Model& stage, int rank, int n_rank, int threads);
// Rank 0: the other ranks leave run_pipeline_stage (once; later calls do nothing).
void stop_pipeline();
// Rank 0: seconds the other stages spent computing the passes whose logits it waited for,
// and the part of it rank 0 spent waiting for them (not hidden behind its own computing).
double downstream_compute_seconds();
double downstream_wait_seconds();
// Rank 0: passes begun while another was still in flight (several groups of sequences).
int64_t pipeline_overlapped_passes();

}  // namespace frugal::dist
