// Trained models as GGUF files: the architecture's keys, the byte tokenizer and its chat
// template, provenance keys (frugal.train.*), every parameter in F32. The same content can be
// assembled in memory for the engine (rollouts, evaluation during training) without a file.
//
// A checkpoint is such a file plus the optimizer's moments (tensors train.adam_m.NAME /
// train.adam_v.NAME) and the run's state (frugal.train.step, .steps, .options): `frugal run`
// loads it like any model, a stage resumes from it. Files are written to PATH.tmp and renamed,
// so the last good file survives a full disk or a crash mid-write.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "train/optimizer.h"
#include "train/train_model.h"

namespace frugal::train {

using Metadata = std::vector<std::pair<std::string, GgufValue>>;

// Opens `path` and builds the trainable model it holds (deepseek2 -> V3 blocks, qwen2 /
// llama -> dense student), with its vocabulary. Throws Error naming the file for anything
// else: another architecture, quantized tensors, missing or mis-shaped tensors.
struct LoadedModel {
  std::unique_ptr<TrainModel> model;
  Vocab vocab;
  std::shared_ptr<GgufFile> file;
};
LoadedModel load_train_model(const std::string& path);

// Writes the model; `extra` keys (provenance) go after the architecture and tokenizer keys.
void save_model(const TrainModel& m, const Vocab& v, const std::string& path, const Metadata& extra = {});
// The same file as an in-memory image the engine loads (model/ load_model(image)).
std::shared_ptr<GgufFile> model_image(const TrainModel& m, const Vocab& v, const std::string& name);

struct RunState {
  std::string stage;    // "pretrain", "sft", ...
  int64_t step = 0;     // optimizer steps done
  int64_t steps = 0;    // planned
  std::string options;  // the options that fix the run (JSON); a resume must match them
};
void save_checkpoint(const TrainModel& m, const Vocab& v, AdamW& opt, const RunState& s, const std::string& path,
                     const Metadata& extra = {});
// Restores parameters and moments into m / opt (same architecture and shape) and returns the
// state; throws Error naming the file if it is not a checkpoint of this run.
RunState load_checkpoint(TrainModel& m, AdamW& opt, const std::string& path);

}  // namespace frugal::train
