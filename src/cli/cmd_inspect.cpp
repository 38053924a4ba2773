// frugal inspect: what is in a model file — architecture, hyper-parameters, tensor types and
// sizes, KV-cache bytes per token. Works on files frugal cannot run, to say why.
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "dist/split_plan.h"
#include "formats/gguf.h"
#include "model/hf_folder.h"

namespace frugal::cli {

namespace {
std::string value_str(const GgufValue& v) {
  switch (v.type) {
    case GgufType::STRING: return "\"" + printable(v.s, 77) + "\"";  // one line per key
    case GgufType::ARRAY: return strfmt("[%s x %zu]", gguf_type_name(v.elem_type), v.arr.size());
    case GgufType::BOOL: return v.u ? "true" : "false";
    case GgufType::FLOAT32:
    case GgufType::FLOAT64: return strfmt("%g", v.f);
    default: return v.is_integer() ? std::to_string(v.as_int()) : "?";
  }
}
std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return strfmt("%.2f %s", b, units[u]);
}
const CommandHelp kHelp{
    "frugal inspect FILE|HF_DIR [--tensors] [--split pipeline|experts|auto --ranks N]",
    "Describe a model: architecture, shapes, tokenizer, chat template, weight types and sizes,\n"
    "and the memory it needs (a Hugging Face folder is shown as the GGUF frugal runs).",
    {{"options",
      {{"-m, --model", "FILE|DIR", "the model (or give it as the argument)"},
       {"--tensors", "", "list every tensor"}}},
     {"running across machines (mpirun)",
      {{"--split", "KIND", "print how N MPI ranks would share the model: pipeline (layer ranges), experts (routed\n"
                           "experts; the rest on every rank) or auto, and the bytes each maps; nothing is run"},
       {"--ranks", "N", "the number of ranks for --split"},
       {"--split-layers", "A-B,C-D", "explicit layer ranges for --split pipeline, one per rank"}}},
     model_load_options()},
    "frugal inspect models/frugal-r1-tiny.gguf --tensors"};

}  // namespace

int cmd_inspect(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  bool all_tensors = a.flag({"--tensors"});
  const std::string split = a.get({"--split"}), split_layers = a.get({"--split-layers"});
  const int64_t ranks = a.get_int({"--ranks"}, 0);
  std::string path = a.get({"-m", "--model"});
  LoadOptions lo = load_options_from(a);
  a.check_unused(path.empty() ? 1 : 0);
  if (path.empty() && !a.positional().empty()) path = a.positional()[0];
  if (path.empty()) fail("usage: frugal inspect FILE|HF_DIR [--tensors] [--load-as TYPE]");

  // A Hugging Face folder is shown as the GGUF image frugal runs (llama.cpp names and layouts).
  const bool folder = is_hf_folder(path);
  if (!folder && !lo.load_as.empty()) fail("%s: --load-as applies to Hugging Face folders", path.c_str());
  std::shared_ptr<GgufFile> f;
  if (folder) f = open_hf_folder(path, {lo.load_as, lo.progress});
  else f = GgufFile::open(path);
  std::printf("file:          %s (%s, %zu tensors, %zu metadata keys)\n", path.c_str(),
              folder ? "Hugging Face folder" : strfmt("GGUF v%u", f->version()).c_str(), f->tensors().size(),
              f->metadata().size());
  std::printf("architecture:  %s\n", f->architecture().c_str());
  if (!split.empty() || ranks || !split_layers.empty()) {
    if (split.empty()) fail("--ranks and --split-layers go with --split pipeline|experts|auto");
    if (ranks < 1 || ranks > 4096) fail("--split needs --ranks N (1 to 4096)");
    std::fputs(dist::format_plan(dist::plan_split(dist::model_shape(*f), split, int(ranks), split_layers)).c_str(), stdout);
    return 0;
  }

  std::printf("\nmetadata:\n");
  for (const auto& [k, v] : f->metadata()) std::printf("  %-48s %s\n", k.c_str(), value_str(v).c_str());

  std::map<std::string, std::pair<int64_t, double>> by_type;  // name -> (count, bytes)
  double total_bytes = 0, total_params = 0;
  for (const auto& t : f->tensors()) {
    auto& e = by_type[dtype_name(t.type)];
    e.first++;
    e.second += double(t.nbytes);
    total_bytes += double(t.nbytes);
    total_params += double(t.n_elements());
  }
  std::printf("\ntensor types:\n");
  for (const auto& [name, e] : by_type)
    std::printf("  %-6s %5lld tensors  %12s\n", name.c_str(), (long long)e.first, human_bytes(e.second).c_str());
  std::printf("  total  %5zu tensors  %12s  %.3f B parameters  %.2f bits/weight\n", f->tensors().size(),
              human_bytes(total_bytes).c_str(), total_params / 1e9, total_bytes * 8 / std::max(total_params, 1.0));
  if (all_tensors) {
    std::printf("\ntensors:\n");
    for (const auto& t : f->tensors()) {
      std::string shape;
      for (size_t i = 0; i < t.ne.size(); ++i) shape += (i ? " x " : "") + std::to_string(t.ne[i]);
      std::printf("  %-40s %-6s [%s]  %s\n", t.name.c_str(), dtype_name(t.type), shape.c_str(),
                  human_bytes(double(t.nbytes)).c_str());
    }
  }

  std::printf("\nmodel:\n");
  try {
    auto m = load_model(f);
    const auto& c = m->config();
    std::printf("  n_vocab %lld, n_embd %lld, n_layer %lld, n_head %lld, n_head_kv %lld, head_dim %lld, n_ff %lld\n",
                (long long)c.n_vocab, (long long)c.n_embd, (long long)c.n_layer, (long long)c.n_head,
                (long long)c.n_head_kv, (long long)c.head_dim, (long long)c.n_ff);
    std::printf("  rope: theta %g, %s pairs, %lld dims; rms eps %g; context %lld; output %s\n", c.rope_theta,
                c.rope_neox ? "NeoX" : "adjacent", (long long)c.n_rot, c.rms_eps, (long long)c.n_ctx_train,
                c.tied_output ? "tied to token_embd" : "separate");
    std::printf("  q/k/v bias: %s; per-head q/k norm: %s\n", c.has_qkv_bias ? "yes" : "no", c.has_qk_norm ? "yes" : "no");
    auto cache = m->new_cache(1, 1);
    std::printf("  KV cache: %lld bytes per token (%s by default; --cache-type f32|f16|bf16|q8_0)\n",
                (long long)cache->bytes_per_token(), dtype_name(cache->type()));
    for (const auto& line : m->describe()) std::printf("  %s\n", line.c_str());
    std::printf("  weights read per generated token: %s\n", human_bytes(double(m->weight_bytes_per_token())).c_str());
  } catch (const Error& e) {
    std::printf("  frugal cannot run this file: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace frugal::cli
