// frugal list [DIR]: the models a folder holds (what `frugal serve --models-dir DIR` would
// serve), each with its size, architecture, quantization, context, and the memory it would take
// loaded with serve's settings, against the memory budget.
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "formats/gguf.h"
#include "model/quant_policy.h"
#include "runtime/engine.h"
#include "server/model_registry.h"

namespace frugal::cli {

namespace {

const CommandHelp kHelp{
    "frugal list [DIR] [options]",
    "The models in a folder (.gguf files and Hugging Face folders), with what each needs loaded\n"
    "by `frugal serve` with the same settings, and whether it fits the memory budget.",
    {{"options",
      {{"--max-memory", "SIZE", "the budget to compare with (\"16GiB\") [90% of RAM, as serve]"},
       {"-c, --ctx-size", "N", "context per sequence, as serve; 0 = the model's, at most 4096 [0]"},
       {"--max-seqs, -np", "N", "sequences, as serve [8]"},
       {"--cache-ram-mb", "N", "prompt-prefix cache in RAM, as serve [2048]"}}},
     model_load_options()},
    "frugal list ~/models\nfrugal list ~/models --max-memory 8GiB --cache-ram-mb 512"};

std::string mib(int64_t b) { return strfmt("%.0f MiB", double(b) / double(1 << 20)); }

std::string quant_of(const GgufFile& f) {
  if (auto ft = f.get_int("general.file_type"))
    for (const char* name : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M"})
      if (auto t = parse_file_type(name); t && int64_t(t->llama_id) == *ft) return t->name;
  return "-";
}

}  // namespace

int cmd_list(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  const std::string budget_text = a.get({"--max-memory"});
  EngineOptions eo;
  eo.n_ctx = a.get_int({"-c", "--ctx-size"}, 0);
  eo.max_seqs = a.get_int({"--max-seqs", "-np"}, 8);
  eo.cache.ram_bytes = a.get_int({"--cache-ram-mb"}, 2048) << 20;
  LoadOptions lo = load_options_from(a);
  lo.progress = false;
  a.check_unused(1);
  const std::string dir = a.positional().empty() ? "." : a.positional()[0];
  const int64_t budget = max_memory_from(budget_text);
  const auto specs = server::scan_models_dir(dir);
  if (specs.empty()) {
    std::printf("%s holds no .gguf file or Hugging Face folder\n", dir.c_str());
    return 0;
  }
  std::printf("%-32s %10s  %-10s %-7s %8s %10s  %s\n", "NAME", "SIZE", "ARCH", "QUANT", "CONTEXT", "NEEDS", "FITS");
  for (const auto& s : specs) {
    try {
      auto model = load_model(s.path, lo);  // maps the weights; reads the header only
      const GgufFile& f = model->file();
      EngineOptions e = eo;
      e.n_ctx = default_ctx(*model, e.n_ctx);
      const int64_t needs = int64_t(f.mapped_bytes()) + Engine::memory_bytes(*model, e);
      std::printf("%-32s %10s  %-10s %-7s %8lld %10s  %s\n", s.name.c_str(), mib(int64_t(f.mapped_bytes())).c_str(),
                  model->config().arch.c_str(), quant_of(f).c_str(), (long long)model->config().n_ctx_train, mib(needs).c_str(),
                  needs <= budget ? "yes" : strfmt("no (budget %s)", mib(budget).c_str()).c_str());
    } catch (const Error& e) {
      std::string why = e.what();
      std::replace(why.begin(), why.end(), '\n', ' ');
      std::printf("%-32s error: %s\n", s.name.c_str(), why.c_str());
    }
  }
  std::printf("(needs: weights + KV for %lld x %s-token contexts + %s prefix cache; budget %s)\n", (long long)eo.max_seqs,
              eo.n_ctx > 0 ? std::to_string(eo.n_ctx).c_str() : "up to 4096", mib(eo.cache.ram_bytes).c_str(), mib(budget).c_str());
  return 0;
}

}  // namespace frugal::cli
