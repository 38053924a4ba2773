// Where the shelf's models come from: a folder of GGUF files and Hugging Face folders
// (--models-dir), and a models.toml (--config) naming models with their settings. The TOML
// schema (every key optional except a model's path; unknown keys are errors, so a typo is
// never silently ignored):
//
//   models_dir = "/srv/models"      # scanned as --models-dir
//   max_memory = "16GiB"            # as --max-memory
//   max_loaded = 2                  # as --max-loaded
//   keep_alive = "30m"              # as --keep-alive
//   deepseek_aliases = "r1-1.5b"    # deepseek-reasoner (thinking on), deepseek-chat (off)
//
//   [models.r1-1.5b]                # the name requests use
//   path = "r1-distill-qwen-1.5b-q4_k_m.gguf"   # relative to this file
//   aliases = ["r1"]
//   ctx = 8192                      # context per sequence
//   max_seqs = 4
//   keep_alive = "10m"              # or seconds; 0 = unload after each request; -1 = keep
//   pin = true                      # never unloaded
//   preload = true                  # loaded at start-up
//   thinking = true                 # default for requests that do not say
//   pooling = "last"                # embeddings: "mean" or "last" [the file's, else mean]
//   chat_template = "r1.jinja"
//   [models.r1-1.5b.sampling]       # defaults for requests that do not say
//   temperature = 0.6
//   top_p = 0.95
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/keep_alive.h"

namespace frugal::server {

// One model of the registry.
struct ModelSpec {
  std::string name;           // the id requests use (file stem or the configured name)
  std::string path;           // .gguf file or Hugging Face folder
  std::string chat_template;  // a Jinja file replacing the model's own; "" keeps it
  std::vector<std::string> aliases;
  int64_t ctx = 0, max_seqs = 0;        // 0: the server's
  std::optional<KeepAlive> keep_alive;  // absent: the server's --keep-alive
  bool pin = false;                     // never evicted nor unloaded for idleness
  bool preload = false;                 // loaded at start-up
  std::optional<bool> thinking;         // for requests that do not say
  nlohmann::ordered_json sampling = nlohmann::ordered_json::object();       // default temperature, top_p, ... for requests that do not say
  std::string pooling;                  // embeddings: "mean" or "last"; "" = the file's, else mean
};

// Another name for a model, optionally with thinking forced on or off (DeepSeek's
// deepseek-reasoner and deepseek-chat over the same weights).
struct AliasSpec {
  std::string name, target;
  std::optional<bool> thinking;
};

struct RegistryConfig {
  std::vector<ModelSpec> models;
  std::vector<AliasSpec> aliases;
  std::string models_dir;
  std::optional<int64_t> max_memory, max_loaded;
  std::optional<KeepAlive> keep_alive;
};

// Parses a models.toml; throws Error naming the file, line and key on anything wrong.
RegistryConfig load_registry_config(const std::string& path);
// The same from its text (`path` names it in errors and anchors relative paths).
RegistryConfig parse_registry_config(std::string_view text, const std::string& path);

// The models in a folder (models_dir.cpp): every *.gguf file (name: its stem) and every subfolder holding a
// config.json and safetensors (name: the folder's). Sorted by name; throws Error if the folder
// cannot be read.
std::vector<ModelSpec> scan_models_dir(const std::string& dir);

// The file stem of a .gguf path, or a folder's name ("dir/" too).
std::string model_stem(const std::string& path);

// "16GiB", "512MiB", "2G", "1.5 GB" or a bare number of bytes; nullopt when not a size.
std::optional<int64_t> parse_byte_size(const std::string& s);

// DeepSeek's two API names over one reasoning model: deepseek-reasoner (thinking on) and
// deepseek-chat (thinking off).
std::vector<AliasSpec> deepseek_aliases(const std::string& model);

}  // namespace frugal::server
