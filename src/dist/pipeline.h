// A model split into pipeline stages over the ranks of an MPI job (mpirun -np N frugal ...
// --split pipeline). Every rank maps the same file and binds only the layers of its stage (the
// split plan says which: the same on every rank, computed from its own copy of the file); rank
// 0 embeds the tokens, runs its layers and hands one hidden-state row per token to rank 1, and
// so on; the last rank's logits come back to rank 0, which samples. Each rank keeps the KV
// cache of its own layers. Rank 0 sees an ordinary Model, so every command runs on it
// unchanged; ranks > 0 serve their stage until rank 0 is done.
#pragma once
#include <memory>
#include <string>

#include "model/model.h"

namespace frugal::dist {

struct SplitOptions {
  std::string kind;    // "", "pipeline", "experts" or "auto" (--split)
  std::string layers;  // --split-layers
  int threads = 1;     // a worker rank's thread pool
};

// Loads the model for this rank. Outside an MPI job of more than one rank, a plain
// load_model. Rank 0 gets the model to use; a rank > 0 runs its stage until rank 0 finishes
// and then gets nullptr (its command should return 0).
std::unique_ptr<Model> load_split_model(const std::string& path, const LoadOptions& lo, const SplitOptions& so);

// Rank 0, when its command is done: the other ranks leave their stages (load_split_model
// returns there). Models may come and go before (a server's shelf); the stages stay.
void end_pipeline();

// Rank 0: seconds the other stages spent computing the passes whose logits rank 0 waited for
// (part of its time inside transfers; the rest is the wire).
double downstream_compute_seconds();

// One line for the log: ranks, wire bytes and time so far.
std::string pipeline_summary();

}  // namespace frugal::dist
