#include "cli/help.h"

#include <algorithm>
#include <sstream>

namespace frugal::cli {

std::vector<std::string> option_spellings(const Option& o) {
  std::vector<std::string> out;
  std::stringstream ss(o.names);
  for (std::string s; std::getline(ss, s, ',');) {
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string format_help(const CommandHelp& h) {
  std::string out = "usage: " + h.usage + "\n\n" + h.about + "\n";
  constexpr size_t kColumn = 30;  // where descriptions start; longer names wrap
  for (const auto& g : h.groups) {
    out += "\n" + g.title + ":\n";
    for (const auto& o : g.options) {
      std::string left = "  " + o.names + (o.arg.empty() ? "" : " " + o.arg);
      if (left.size() + 2 > kColumn) {
        out += left + "\n" + std::string(kColumn, ' ');
      } else {
        out += left + std::string(kColumn - left.size(), ' ');
      }
      out += o.help + "\n";
    }
  }
  out += "\n  -h, --help                  this text\n";
  if (!h.example.empty()) {
    out += "\nexample:\n";
    std::stringstream ss(h.example);
    for (std::string line; std::getline(ss, line);) out += "  " + line + "\n";
  }
  return out;
}

std::string nearest_option(const std::string& unknown, const CommandHelp& h) {
  std::string best;
  size_t best_d = std::max<size_t>(2, unknown.size() / 3) + 1;
  for (const auto& g : h.groups)
    for (const auto& o : g.options)
      for (const auto& s : option_spellings(o)) {
        const size_t d = edit_distance(unknown, s);
        if (d < best_d) best_d = d, best = s;
      }
  return best;
}

OptionGroup sampling_options() {
  return {"sampling",
          {{"--temp, --temperature", "X", "softmax temperature; 0 = greedy [0.8]"},
           {"--top-k", "N", "keep the N most likely tokens; <= 0 = off [40]"},
           {"--top-p", "X", "keep the smallest set with probability >= X, in (0, 1] [0.95]"},
           {"--min-p", "X", "drop tokens below X times the top token's probability [0.05]"},
           {"--repeat-penalty", "X", "divide (multiply) repeated tokens' positive (negative) logits; 1 = off [1]"},
           {"--presence-penalty", "X", "subtract X once from every token seen [0]"},
           {"--frequency-penalty", "X", "subtract X per occurrence [0]"},
           {"--repeat-last-n", "N", "how many recent tokens the penalties see; -1 = all [64]"},
           {"-s, --seed", "N", "sampling seed [42]"}}};
}

OptionGroup model_load_options() {
  return {"model loading",
          {{"--load-as", "TYPE", "re-type the weights while loading: F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M [as stored]"},
           {"--cache-type", "f32|f16|bf16|q8_0",
            "KV cache type [f16 for block-quantized files, else f32]"},
           {"--mmap", "",
            "keep the weights in the file's page-cache mapping [copied into huge-page memory when they fit]"}}};
}

OptionGroup split_options() {
  return {"across machines (under mpirun -np N)",
          {{"--split", "KIND",
            "pipeline: each rank runs a contiguous range of layers; experts: the routed experts spread over the "
            "ranks (DeepSeek MoE); auto: experts where the model has them [pipeline]"},
           {"--split-layers", "A-B,C-D", "the layer range of each rank [balanced by bytes]"},
           {"env FRUGAL_RANK_TIMEOUT", "S",
            "under mpirun --enable-recovery: a rank silent S seconds is lost and serve answers 503 [10]"}}};
}

Option threads_option() { return {"-t, --threads", "N", "worker threads [all cores]"}; }

}  // namespace frugal::cli
