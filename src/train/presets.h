// Shapes of the models frugal trains. frugal-r1-tiny is DeepSeek-V3 scaled down (MLA, one
// dense layer then DeepSeekMoE with a shared expert, one MTP module); frugal-r1-distill-tiny
// is the dense Qwen2-architecture student. The micro presets are for tests.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "train/train_model.h"

namespace frugal::train {

std::vector<std::string> train_preset_names();
// A fresh model of the preset (initialised from seed) over a vocabulary of n_vocab tokens;
// throws Error listing the presets for an unknown name.
std::unique_ptr<TrainModel> make_preset(const std::string& name, int64_t n_vocab, uint64_t seed);

}  // namespace frugal::train
