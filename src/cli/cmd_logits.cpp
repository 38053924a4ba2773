// frugal logits: float32 logits for every position of a fixed id sequence, no BOS added.
// prefill = one batch; decode = one token at a time through the KV cache. The two must agree:
// that is what checks the cache and the causal mask.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "formats/json_file.h"
#include "formats/npy.h"

namespace frugal::cli {

namespace {
std::vector<int32_t> parse_ids(const std::string& csv) {
  std::vector<int32_t> ids;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (*end || v < 0 || v > INT32_MAX) fail("--ids: '%s' is not a token id", item.c_str());
    ids.push_back(int32_t(v));
  }
  return ids;
}

std::vector<int32_t> read_ids_file(const std::string& path) {
  nlohmann::json j = read_json_file(path);  // its nesting bounded, errors naming the file
  if (j.is_object() && j.contains("ids")) j = j["ids"];
  if (!j.is_array()) fail("%s: expected a JSON array of ids (or an object with \"ids\")", path.c_str());
  std::vector<int32_t> ids;
  for (auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) fail("%s: ids must be non-negative integers", path.c_str());
    ids.push_back(v.get<int32_t>());
  }
  return ids;
}
const CommandHelp kHelp{
    "frugal logits -m MODEL (--ids 1,2,3 | --ids-file F.json) -o OUT.npy [options]",
    "Run token ids through the model and write every position's logits as a float32 .npy\n"
    "[n_tokens, n_vocab], for comparing against another implementation.",
    {{"options",
      {{"-m, --model", "FILE|DIR", "the model"},
       {"--ids", "LIST", "comma-separated token ids"},
       {"--ids-file", "FILE", "a JSON list of token ids"},
       {"-o, --output", "FILE", "the .npy to write"},
       {"--mode", "prefill|decode", "one forward pass over all ids, or one id per pass [prefill]"},
       {"--chunk", "N", "prefill in chunks of N tokens; 0 = all at once [0]"},
       threads_option()}},
     model_load_options(), split_options()},
    "frugal logits -m models/frugal-r1-tiny.gguf --ids 1,50,60,70 -o logits.npy"};

}  // namespace

int cmd_logits(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  std::string model_path = a.get({"-m", "--model"});
  std::string ids_csv = a.get({"--ids"}), ids_file = a.get({"--ids-file"});
  std::string out = a.get({"-o", "--output"});
  std::string mode = a.get({"--mode"}, "prefill");
  const int64_t chunk = a.get_int({"--chunk"}, 0);
  int threads = threads_from(a);
  const LoadOptions lo = load_options_from(a);
  const dist::SplitOptions so = split_options_from(a, threads);
  a.check_unused();
  if (model_path.empty() || out.empty() || (ids_csv.empty() == ids_file.empty()))
    fail("usage: frugal logits -m FILE|HF_DIR (--ids 1,2,3 | --ids-file F.json) -o OUT.npy [--mode prefill|decode] "
         "[--chunk N] [--load-as TYPE]");
  if (mode != "prefill" && mode != "decode") fail("--mode must be prefill or decode, got '%s'", mode.c_str());
  if (chunk < 0) fail("--chunk must be >= 0");
  std::vector<int32_t> ids = ids_file.empty() ? parse_ids(ids_csv) : read_ids_file(ids_file);
  if (ids.empty()) fail("no token ids given");

  auto model = dist::load_split_model(model_path, lo, so);
  if (!model) return 0;  // a pipeline rank after 0: its stage has served the run
  const int64_t V = model->config().n_vocab, n = int64_t(ids.size());
  for (auto id : ids)
    if (id >= V) fail("token id %d out of range: the model's vocabulary has %lld tokens", id, (long long)V);
  auto cache = model->new_cache(1, n);
  ThreadPool pool(threads);
  std::vector<float> logits(static_cast<size_t>(n * V));
  Batch b;
  if (mode == "prefill") {
    // --chunk N: prefill N tokens per forward pass, each chunk attending over the cached past.
    const int64_t step = chunk > 0 ? chunk : n;
    for (int64_t i0 = 0; i0 < n; i0 += step) {
      b.clear();
      for (int64_t i = i0; i < std::min(n, i0 + step); ++i) b.add(ids[size_t(i)], int32_t(i), 0, true);
      model->forward(b, *cache, logits.data() + i0 * V, pool);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      b.clear();
      b.add(ids[size_t(i)], int32_t(i), 0, true);
      model->forward(b, *cache, logits.data() + i * V, pool);
    }
  }
  write_npy_f32(out, logits.data(), {n, V});
  std::fprintf(stderr, "wrote %s: [%lld, %lld] float32 (%s)\n", out.c_str(), (long long)n, (long long)V, mode.c_str());
  if (const std::string w = dist::split_summary(); !w.empty()) std::fprintf(stderr, "%s\n", w.c_str());
  return 0;
}

}  // namespace frugal::cli
