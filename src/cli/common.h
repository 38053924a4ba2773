// Shared by the subcommands: loading a model with its tokenizer, parsing sampling flags.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "chat/model_template.h"
#include "core/clock.h"
#include "cli/args.h"
#include "dist/split.h"
#include "model/model.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace frugal::cli {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};
// A .gguf file, or a Hugging Face folder (its tokenizer from tokenizer.json).
// With `split`, the model of this MPI rank (dist::load_split_model): a rank after 0 serves its
// pipeline stage inside this call and gets an empty LoadedModel (its command returns 0).
LoadedModel load_with_tokenizer(const std::string& path, const LoadOptions& opt = {},
                                const dist::SplitOptions* split = nullptr);
// --load-as TYPE (Hugging Face folders: convert the weights at load), validated; "" if absent.
LoadOptions load_options_from(Args& a);
// The model's own chat template, or (template_file not empty) that file's, with the
// special-token strings the template may use taken from the tokenizer.
chat::ModelTemplate chat_template_for(const std::string& model_path, const std::string& template_file,
                                      const Tokenizer& tok);
// Pages the weights in before the first token (one rank alone; a split's ranks fault theirs
// in): copied into huge-page memory unless lo.mmap or they do not fit (MappedFile::to_memory).
void prefetch_weights(const Model& m, int threads, const LoadOptions& lo);

// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --presence-penalty,
// --frequency-penalty, --repeat-last-n, --seed
SamplerParams sampler_params_from(Args& a);

// --split, --split-layers (a model spread over the ranks of an MPI job).
dist::SplitOptions split_options_from(Args& a, int threads);

// Threads: -t N, default = hardware concurrency.
int threads_from(Args& a);


// The context per sequence when -c is 0 (or absent): the model's trained context, at most 4096.
int64_t default_ctx(const Model& m, int64_t requested);
// --max-memory as bytes: its size text ("16GiB"), or 90 % of the machine's RAM when empty.
int64_t max_memory_from(const std::string& text);

// Streams the model's text to stdout (flushed): on a terminal through terminal_safe
// (core/text.h), since a token can decode to control bytes that would drive it; into a pipe
// byte for byte. `run` and `chat` print what the model says through this.
void print_model_text(std::string_view text, bool terminal);

}  // namespace frugal::cli
