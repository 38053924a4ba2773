// The model `frugal run / chat / serve / eval` use when no -m is given: the trained reasoner
// that ships in the repository (models/frugal-r1-tiny.gguf, see models/README.md).
#pragma once
#include <string>

namespace frugal::cli {

inline constexpr const char* kDefaultModelName = "frugal-r1-tiny";

// $FRUGAL_DEFAULT_MODEL if set; else models/frugal-r1-tiny.gguf beside the binary's tree
// (BIN/../models, BIN/../../models) or in the source tree it was built from. Throws Error,
// naming the places it looked, when none exists.
std::string default_model_path();

// `path` if non-empty; else the default model, announced on stderr.
std::string model_or_default(const std::string& path);

}  // namespace frugal::cli
