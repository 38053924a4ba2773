// One model spread over the ranks of an MPI job (mpirun -np N frugal ... --split KIND): the
// entry points the commands use. Every rank maps the same file and computes the same plan
// from it (split_plan.h); rank 0 gets an ordinary Model to run every command on unchanged,
// the other ranks work for it (pipeline.h: layer ranges; experts.h: routed experts) until it
// is done.
#pragma once
#include <memory>
#include <string>

#include "model/model.h"

namespace frugal::dist {

struct SplitOptions {
  std::string kind;    // "", "pipeline", "experts" or "auto" (--split); "" is pipeline
  std::string layers;  // --split-layers
  int threads = 1;     // a worker rank's thread pool
};

// Loads the model for this rank. Outside an MPI job of more than one rank, a plain
// load_model. Rank 0 gets the model to use; a rank > 0 works until rank 0 finishes and then
// gets nullptr (its command should return 0). Rank 0 may call it again for the same file
// (a server's shelf unloads idle models); the other ranks keep their part meanwhile.
std::unique_ptr<Model> load_split_model(const std::string& path, const LoadOptions& lo, const SplitOptions& so);

// Rank 0, when its command is done: the other ranks return from load_split_model.
void end_split();

// Rank 0: seconds it waited for the other ranks to compute (their part of a pipeline pass,
// or the experts still running when it needed their rows); the rest of its time in
// transfers is the wire.
double other_ranks_wait_seconds();

// Rank 0: seconds the other ranks computed for it (a pipeline's later stages, the expert
// ranks; by their own clocks).
double other_ranks_compute_seconds();

// Rank 0, pipeline: forward passes begun while another was in flight (the engine keeps one
// group of sequences per stage going); 0 for the expert split.
int64_t overlapped_passes();

// Rank 0, expert split: weight bytes the parts spread over the ranks read (MoE layers, output
// head) as one process would, and of them the busiest rank's (zeros for a pipeline).
struct ParallelReads {
  double all = 0, critical = 0;
};
ParallelReads parallel_reads();

// One line for the log: ranks, wire bytes and time so far.
std::string split_summary();

}  // namespace frugal::dist
