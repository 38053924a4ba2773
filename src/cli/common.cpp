#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <thread>

#include "core/progress.h"
#include "core/text.h"
#include "dist/mpi_world.h"
#include "formats/gguf.h"
#include "formats/json_file.h"
#include "model/hf_folder.h"
#include "model/quant_policy.h"
#include "model/vocab_gguf.h"
#include "server/model_registry.h"

namespace frugal::cli {

chat::ModelTemplate chat_template_for(const std::string& model_path, const std::string& template_file,
                                      const Tokenizer& tok) {
  if (template_file.empty()) return chat::load_model_template(model_path);
  chat::ModelTemplate mt;
  mt.source = read_text_file(template_file);
  mt.name = template_file;
  mt.special = nlohmann::ordered_json::object();
  if (tok.bos_id() >= 0) mt.special["bos_token"] = tok.token_bytes(tok.bos_id());
  if (tok.eos_id() >= 0) mt.special["eos_token"] = tok.token_bytes(tok.eos_id());
  return mt;
}

void prefetch_weights(const Model& m, int threads, const LoadOptions& lo) {
  // A rank of a split reads only its own share of the file: it is left to fault in.
  if (dist::world().size > 1) return;
  const GgufFile& f = m.file();
  // Files already in the page cache load in a blink; only big ones are worth a progress line.
  if (f.mapped_bytes() < (size_t(256) << 20)) return f.prefetch(threads, {}, !lo.mmap);
  Progress progress("loading " + f.path(), double(f.mapped_bytes()));
  f.prefetch(threads, [&](size_t done, size_t) { progress.update(double(done)); }, !lo.mmap);
}

LoadedModel load_with_tokenizer(const std::string& path, const LoadOptions& opt, const dist::SplitOptions* split) {
  LoadedModel lm;
  lm.model = split ? dist::load_split_model(path, opt, *split) : load_model(path, opt);
  if (!lm.model) return lm;
  try {
    lm.tokenizer = std::make_unique<Tokenizer>(
        is_hf_folder(path) ? Tokenizer::from_hf_dir(path) : Tokenizer::from_vocab(vocab_from_gguf(lm.model->file())));
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(path, 0) == 0) throw;  // already names the file
    fail("%s: %s", path.c_str(), msg.c_str());
  }
  return lm;
}

LoadOptions load_options_from(Args& a) {
  LoadOptions o;
  o.load_as = a.get({"--load-as"});
  o.cache_type = a.get({"--cache-type"});
  o.mmap = a.flag({"--mmap"});
  if (!o.load_as.empty() && !parse_file_type(o.load_as))
    fail("--load-as: unknown type '%s' (known: %s)", o.load_as.c_str(), file_type_names());
  return o;
}

dist::SplitOptions split_options_from(Args& a, int threads) {
  dist::SplitOptions o;
  o.kind = a.get({"--split"});
  o.layers = a.get({"--split-layers"});
  o.threads = threads;
  return o;
}

SamplerParams sampler_params_from(Args& a) {
  SamplerParams p;
  p.temperature = float(a.get_float({"--temp", "--temperature"}, p.temperature));
  p.top_k = int32_t(a.get_int({"--top-k"}, p.top_k));
  p.top_p = float(a.get_float({"--top-p"}, p.top_p));
  p.min_p = float(a.get_float({"--min-p"}, p.min_p));
  p.repeat_penalty = float(a.get_float({"--repeat-penalty"}, p.repeat_penalty));
  p.presence_penalty = float(a.get_float({"--presence-penalty"}, p.presence_penalty));
  p.frequency_penalty = float(a.get_float({"--frequency-penalty"}, p.frequency_penalty));
  p.penalty_last_n = int32_t(a.get_int({"--repeat-last-n"}, p.penalty_last_n));
  p.seed = uint64_t(a.get_int({"-s", "--seed"}, 42));
  if (p.temperature < 0) fail("--temp must be >= 0");
  if (p.top_p <= 0 || p.top_p > 1) fail("--top-p must be in (0, 1]");
  if (p.min_p < 0 || p.min_p > 1) fail("--min-p must be in [0, 1]");
  if (p.repeat_penalty <= 0) fail("--repeat-penalty must be > 0");
  return p;
}

int threads_from(Args& a) {
  int t = int(a.get_int({"-t", "--threads"}, 0));
  if (t <= 0) t = int(std::thread::hardware_concurrency());
  return t > 0 ? t : 1;
}

int64_t default_ctx(const Model& m, int64_t requested) {
  if (requested > 0) return requested;
  return std::min<int64_t>(m.config().n_ctx_train > 0 ? m.config().n_ctx_train : 4096, 4096);
}

int64_t max_memory_from(const std::string& text) {
  if (text.empty()) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? int64_t(double(pages) * double(page) * 0.9) : 0;
  }
  auto b = server::parse_byte_size(text);
  if (!b) fail("--max-memory: '%s' is not a size (\"16GiB\", \"512MiB\", or bytes)", text.c_str());
  return *b;
}

void print_model_text(std::string_view text, bool terminal) {
  const std::string safe = terminal ? terminal_safe(text) : std::string();
  const std::string_view out = terminal ? std::string_view(safe) : text;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace frugal::cli
