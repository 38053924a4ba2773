// Hugging Face folders as GGUF images. The oracle is llama.cpp's converter: the golden
// tests/data/golden/gguf/NAME-f32.gguf files were made by it from the same BF16 weights as the
// golden HF folders, so the image must carry the same hyper-parameters and exactly the same
// tensor values in the same layouts. Llama (permuted q/k, llama3 rope_freqs) and FP8 folders
// are built here from known values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "core/fp8.h"
#include "core/half.h"
#include "formats/gguf.h"
#include "kernels/quant.h"
#include "model/hf_folder.h"
#include "model/model.h"
#include "model/quant_policy.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace frugal;
using frugal::test::TempDir;
using frugal::test::error_of;

namespace {

const fs::path kGolden = fs::path(FRUGAL_TEST_DATA) / "golden";

HfLoadOptions quiet(const std::string& load_as = "") {
  HfLoadOptions o;
  o.load_as = load_as;
  o.progress = false;
  return o;
}

// A safetensors file written from scratch (independent of src/formats).
class StWriter {
 public:
  void add(const std::string& name, const char* dtype, std::vector<int64_t> shape, const void* data, size_t n) {
    const size_t b = data_.size();
    data_.insert(data_.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n);
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    entries_ += (entries_.empty() ? "" : ",") + ("\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + s +
                                                 "],\"data_offsets\":[" + std::to_string(b) + "," +
                                                 std::to_string(data_.size()) + "]}");
  }
  void f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
    add(name, "F32", std::move(shape), v.data(), v.size() * 4);
  }
  void bf16(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
    std::vector<uint16_t> h;
    for (float x : v) h.push_back(fp32_to_bf16(x));
    add(name, "BF16", std::move(shape), h.data(), h.size() * 2);
  }
  void write(const std::string& path) const {
    std::string h = "{\"__metadata__\":{\"format\":\"pt\"}" + std::string(entries_.empty() ? "" : ",") + entries_ + "}";
    while ((8 + h.size()) % 8) h += ' ';
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << h;
    out.write(reinterpret_cast<const char*>(data_.data()), std::streamsize(data_.size()));
  }

 private:
  std::string entries_;
  std::vector<uint8_t> data_;
};

std::vector<float> values_of(const GgufTensorInfo& t) {
  int64_t n = 1;
  for (int64_t d : t.ne) n *= d;
  std::vector<float> out(static_cast<size_t>(n));
  const int64_t cols = t.ne[0], rows = n / cols;
  for (int64_t r = 0; r < rows; ++r)
    kernels::dequantize_row(t.type, t.data + size_t(r) * row_bytes(t.type, cols), out.data() + r * cols, cols);
  return out;
}

// Every "{arch}.*" key of the golden file must be in the image with an equal value.
void expect_arch_keys_equal(const GgufFile& golden, const GgufFile& img) {
  const std::string prefix = golden.architecture() + ".";
  int n = 0;
  for (const auto& [key, g] : golden.metadata()) {
    if (key.rfind(prefix, 0) != 0) continue;
    ++n;
    const GgufValue* v = img.find(key);
    if (!v) {
      ADD_FAILURE() << "image lacks " << key;
      continue;
    }
    if (g.type == GgufType::STRING) EXPECT_EQ(v->s, g.s) << key;
    else if (g.is_integer()) {
      ASSERT_TRUE(v->is_integer()) << key;
      EXPECT_EQ(v->as_int(), g.as_int()) << key;
    } else if (g.is_float()) {
      ASSERT_TRUE(v->is_float()) << key;
      EXPECT_NEAR(v->as_float(), g.as_float(), 1e-6 * std::fabs(g.as_float())) << key;
    } else {
      EXPECT_EQ(*v, g) << key;
    }
  }
  EXPECT_GT(n, 5) << "too few " << prefix << " keys in " << golden.path();
}

// golden attn_k_b ne [nope, kv_lora, H] (per head W_UK transposed) and attn_v_b ne [kv_lora, v, H]
// (W_UV) against the image's attn_kv_b ne [kv_lora, H*(nope+v)] (per head nope rows of W_UK,
// then v rows of W_UV).
void expect_kv_b_matches(const GgufFile& golden, const GgufTensorInfo& kv_b, const std::string& blk) {
  const GgufTensorInfo* kb = golden.find_tensor(blk + "attn_k_b.weight");
  const GgufTensorInfo* vb = golden.find_tensor(blk + "attn_v_b.weight");
  ASSERT_TRUE(kb && vb) << blk;
  const int64_t nope = kb->ne[0], kv_lora = kb->ne[1], H = kb->ne[2], v = vb->ne[1];
  ASSERT_EQ(kv_b.ne, (std::vector<int64_t>{kv_lora, H * (nope + v)})) << blk;
  const std::vector<float> w = values_of(kv_b), k = values_of(*kb), vv = values_of(*vb);
  int bad = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t c = 0; c < kv_lora; ++c) {
      for (int64_t n = 0; n < nope; ++n)
        bad += w[size_t((h * (nope + v) + n) * kv_lora + c)] != k[size_t((h * kv_lora + c) * nope + n)];
      for (int64_t j = 0; j < v; ++j)
        bad += w[size_t((h * (nope + v) + nope + j) * kv_lora + c)] != vv[size_t((h * v + j) * kv_lora + c)];
    }
  EXPECT_EQ(bad, 0) << blk << "attn_kv_b differs from the golden attn_k_b / attn_v_b";
}

void expect_same_values(const GgufTensorInfo& got, const GgufTensorInfo& want) {
  ASSERT_EQ(got.ne, want.ne) << got.name;
  const std::vector<float> a = values_of(got), b = values_of(want);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && !bad++) first = i;
  EXPECT_EQ(bad, 0u) << got.name << ": first difference at " << first << ": " << a[first] << " vs " << b[first];
}

}  // namespace

class GoldenFolder : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenFolder, MatchesLlamaCppConversion) {
  const std::string name = GetParam();
  auto golden = GgufFile::open((kGolden / "gguf" / (name + "-f32.gguf")).string());
  const std::string dir = (kGolden / "models" / name).string();
  ASSERT_TRUE(is_hf_folder(dir));
  auto img = open_hf_folder(dir, quiet());
  EXPECT_EQ(img->path(), dir);
  EXPECT_EQ(img->architecture(), golden->architecture());
  EXPECT_EQ(img->get_string("general.name").value_or(""), name);
  expect_arch_keys_equal(*golden, *img);

  // The tokenizer keys llama.cpp wrote from the same tokenizer.json.
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                          "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.chat_template"}) {
    const GgufValue* g = golden->find(key);
    const GgufValue* v = img->find(key);
    ASSERT_TRUE(g && v) << key;
    EXPECT_EQ(*v, *g) << key;
  }

  std::set<std::string> want, got;
  for (const auto& t : golden->tensors()) {
    std::string n = t.name;
    const size_t p = n.find("attn_k_b.weight");
    if (p != std::string::npos) n.replace(p, std::string("attn_k_b").size(), "attn_kv_b");
    if (n.find("attn_v_b.weight") == std::string::npos) want.insert(n);
  }
  for (const auto& t : img->tensors()) got.insert(t.name);
  EXPECT_EQ(got, want);

  for (const auto& t : img->tensors()) {
    const size_t p = t.name.find("attn_kv_b.weight");
    if (p != std::string::npos) {
      expect_kv_b_matches(*golden, t, t.name.substr(0, p));
      continue;
    }
    const GgufTensorInfo* g = golden->find_tensor(t.name);
    if (!g) continue;  // reported by the set comparison
    expect_same_values(t, *g);
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenFolder, ::testing::Values("v3-mini", "v2lite-mini", "qwen2-mini", "qwen3-mini"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(HfFolder, LoadAsConvertsEveryMatrix) {
  const std::string dir = (kGolden / "models" / "v3-mini").string();
  auto bf16 = open_hf_folder(dir, quiet());
  auto q8 = open_hf_folder(dir, quiet("q8_0"));
  const FileType ft = *parse_file_type("Q8_0");
  EXPECT_EQ(q8->get_int("general.file_type"), int64_t(ft.llama_id));
  const int64_t n_layer = *q8->get_int("deepseek2.block_count");
  for (const auto& t : q8->tensors()) {
    const GgufTensorInfo* src = bf16->find_tensor(t.name);
    ASSERT_TRUE(src) << t.name;
    ASSERT_EQ(t.ne, src->ne);
    if (t.ne.size() == 1) {
      EXPECT_EQ(t.type, src->type) << t.name;  // vectors keep their float type
      expect_same_values(t, *src);
      continue;
    }
    EXPECT_EQ(t.type, tensor_type_for(ft, t.name, t.ne, n_layer, false)) << t.name;
    // Q8_0: every value within about half a step (amax / 127, stored as fp16) of its block.
    const std::vector<float> a = values_of(t), b = values_of(*src);
    for (size_t i = 0; i < a.size(); i += 32) {
      float amax = 0;
      for (size_t j = i; j < i + 32; ++j) amax = std::max(amax, std::fabs(b[j]));
      for (size_t j = i; j < i + 32; ++j) ASSERT_LE(std::fabs(a[j] - b[j]), amax / 127 * 0.6f + 1e-7f) << t.name;
    }
  }
  auto f32 = open_hf_folder(dir, quiet("F32"));
  for (const auto& t : f32->tensors()) {
    if (t.ne.size() > 1) {
      EXPECT_EQ(t.type, DType::F32) << t.name;
    }
    expect_same_values(t, *bf16->find_tensor(t.name));
  }
  EXPECT_NE(error_of([&] { open_hf_folder(dir, quiet("Q3_XS")); }).find("Q3_XS"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Llama: there is no llama3-mini HF folder, so one is written from the golden GGUF: q/k rows
// back in HF order (rotate-half), config.json with the llama3 rope_scaling dict, two shards and
// an index. The image must reproduce the GGUF.

namespace {

// GGUF (llama.cpp) row (head h, pair i, j) holds HF row (h, half j, i).
std::vector<float> unpermute_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t heads) {
  std::vector<float> out(w.size());
  const int64_t hd = rows / heads, half = hd / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::memcpy(&out[size_t((h * hd + j * half + i) * cols)], &w[size_t((h * hd + 2 * i + j) * cols)],
                    size_t(cols) * 4);
  return out;
}

const std::map<std::string, std::string> kLlamaNames = {
    {"attn_norm.weight", "input_layernorm.weight"}, {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},   {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
};

}  // namespace

TEST(HfFolder, LlamaFromGoldenGguf) {
  auto golden = GgufFile::open((kGolden / "gguf" / "llama3-mini-f32.gguf").string());
  const int64_t n_head = *golden->get_int("llama.attention.head_count");
  const int64_t n_head_kv = *golden->get_int("llama.attention.head_count_kv");
  TempDir tmp;
  StWriter shard[2];
  std::ofstream index(tmp.path("model.safetensors.index.json"));
  index << "{\"metadata\": {}, \"weight_map\": {";
  bool first = true;
  for (const auto& t : golden->tensors()) {
    if (t.name == "rope_freqs.weight") continue;  // from config.json
    std::string hf;
    int s = 0;
    if (t.name == "token_embd.weight") hf = "model.embed_tokens.weight";
    else if (t.name == "output_norm.weight") hf = "model.norm.weight", s = 1;
    else {
      const size_t dot = t.name.find('.', 4);
      const std::string il = t.name.substr(4, dot - 4);
      hf = "model.layers." + il + "." + kLlamaNames.at(t.name.substr(dot + 1));
      s = il == "0" ? 0 : 1;
    }
    std::vector<float> v = values_of(t);
    std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());
    if (t.name.find("attn_q.weight") != std::string::npos) v = unpermute_rows(v, shape[0], shape[1], n_head);
    if (t.name.find("attn_k.weight") != std::string::npos) v = unpermute_rows(v, shape[0], shape[1], n_head_kv);
    // The golden values are bf16 numbers: store q/k as F32 (converted layout) and the rest BF16.
    if (t.name.find("attn_q.") != std::string::npos || t.name.find("attn_k.") != std::string::npos)
      shard[s].f32(hf, shape, v);
    else
      shard[s].bf16(hf, shape, v);
    index << (first ? "" : ",") << "\"" << hf << "\": \"model-0000" << s + 1 << "-of-00002.safetensors\"";
    first = false;
  }
  index << "}}";
  index.close();
  shard[0].write(tmp.path("model-00001-of-00002.safetensors"));
  shard[1].write(tmp.path("model-00002-of-00002.safetensors"));
  std::ofstream(tmp.path("config.json")) << R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256,
    "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 2,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "vocab_size": 512,
    "tie_word_embeddings": true, "head_dim": null,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 256, "rope_type": "llama3"}})";

  auto img = open_hf_folder(tmp.dir(), quiet());
  expect_arch_keys_equal(*golden, *img);
  ASSERT_EQ(img->tensors().size(), golden->tensors().size());
  for (const auto& g : golden->tensors()) {
    const GgufTensorInfo* t = img->find_tensor(g.name);
    ASSERT_TRUE(t) << g.name;
    if (g.name != "rope_freqs.weight") {
      expect_same_values(*t, g);
      continue;
    }
    ASSERT_EQ(t->ne, g.ne);
    const std::vector<float> a = values_of(*t), b = values_of(g);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6 * b[i]) << "rope_freqs " << i;
  }
  // BF16 tensors are used in place (inside the shard's map); the permuted ones are copies.
  EXPECT_EQ(img->find_tensor("blk.0.ffn_up.weight")->type, DType::BF16);
  EXPECT_EQ(img->find_tensor("blk.0.attn_q.weight")->type, DType::F32);
  EXPECT_EQ(img->mapped_bytes(), fs::file_size(tmp.path("model-00001-of-00002.safetensors")) +
                                     fs::file_size(tmp.path("model-00002-of-00002.safetensors")));
  EXPECT_NO_THROW(load_model(img));

  // A shard gone: the error names it and a tensor that lives there.
  fs::remove(tmp.path("model-00002-of-00002.safetensors"));
  const std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("model-00002-of-00002.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.layers.1."), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------------------------
// FP8 (F8_E4M3 + 128x128 block scales, DeepSeek-V3's release format) on a tiny qwen2 whose
// matrices are not multiples of 128 on either side.

namespace {

struct Fp8Matrix {
  std::vector<uint8_t> q;      // [rows, cols]
  std::vector<float> scale;    // [ceil(rows/128), ceil(cols/128)]
  int64_t rows, cols;
  float at(int64_t r, int64_t c) const {
    const int64_t sc = (cols + 127) / 128;
    return fp8_e4m3_to_float(q[size_t(r * cols + c)]) * scale[size_t((r / 128) * sc + c / 128)];
  }
};

Fp8Matrix make_fp8(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 0.05f);
  std::vector<float> w(size_t(rows * cols));
  for (auto& x : w) x = nd(rng);
  const int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
  Fp8Matrix m{std::vector<uint8_t>(w.size()), std::vector<float>(size_t(sr * sc)), rows, cols};
  for (int64_t br = 0; br < sr; ++br)
    for (int64_t bc = 0; bc < sc; ++bc) {
      float amax = 0;
      for (int64_t r = br * 128; r < std::min(rows, br * 128 + 128); ++r)
        for (int64_t c = bc * 128; c < std::min(cols, bc * 128 + 128); ++c)
          amax = std::max(amax, std::fabs(w[size_t(r * cols + c)]));
      const float s = amax / 448.f;  // blocks get different scales: their maxima differ
      m.scale[size_t(br * sc + bc)] = s;
      for (int64_t r = br * 128; r < std::min(rows, br * 128 + 128); ++r)
        for (int64_t c = bc * 128; c < std::min(cols, bc * 128 + 128); ++c)
          m.q[size_t(r * cols + c)] = float_to_fp8_e4m3(w[size_t(r * cols + c)] / s);
    }
  return m;
}

constexpr int64_t kE = 160, kF = 288, kV = 64, kHd = 32;  // hidden 5x32, FFN 9x32: not multiples of 128
const char* kFp8Config = R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 160,
  "intermediate_size": 288, "num_hidden_layers": 1, "num_attention_heads": 5, "num_key_value_heads": 1,
  "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "vocab_size": 64, "max_position_embeddings": 4096,
  "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}})";

struct Fp8Folder {
  std::map<std::string, Fp8Matrix> fp8;  // HF name -> weights
  // skip: a weight whose scales are left out; bad_scale: one whose scales get the wrong shape.
  void write(const TempDir& tmp, const std::string& skip = "", const std::string& bad_scale = "",
             const char* scale_dtype = "F32") {
    const std::map<std::string, std::pair<int64_t, int64_t>> shapes = {
        {"self_attn.q_proj.weight", {kE, kE}},   {"self_attn.k_proj.weight", {kHd, kE}},
        {"self_attn.v_proj.weight", {kHd, kE}},  {"self_attn.o_proj.weight", {kE, kE}},
        {"mlp.gate_proj.weight", {kF, kE}},      {"mlp.up_proj.weight", {kF, kE}},
        {"mlp.down_proj.weight", {kE, kF}},
    };
    StWriter w;
    std::vector<float> emb(size_t(kV * kE)), ones(size_t(kE), 1.f);
    for (size_t i = 0; i < emb.size(); ++i) emb[i] = float(int(i % 17) - 8) / 64.f;
    w.bf16("model.embed_tokens.weight", {kV, kE}, emb);
    w.bf16("lm_head.weight", {kV, kE}, emb);
    w.bf16("model.norm.weight", {kE}, ones);
    w.bf16("model.layers.0.input_layernorm.weight", {kE}, ones);
    w.bf16("model.layers.0.post_attention_layernorm.weight", {kE}, ones);
    w.f32("model.layers.0.self_attn.q_proj.bias", {kE}, std::vector<float>(size_t(kE), 0.01f));
    w.f32("model.layers.0.self_attn.k_proj.bias", {kHd}, std::vector<float>(size_t(kHd), 0.02f));
    w.f32("model.layers.0.self_attn.v_proj.bias", {kHd}, std::vector<float>(size_t(kHd), 0.03f));
    uint32_t seed = 1;
    for (const auto& [name, rc] : shapes) {
      const std::string full = "model.layers.0." + name;
      auto [it, _] = fp8.emplace(full, make_fp8(rc.first, rc.second, seed++));
      const Fp8Matrix& m = it->second;
      w.add(full, "F8_E4M3", {m.rows, m.cols}, m.q.data(), m.q.size());
      if (full == skip) continue;
      std::vector<int64_t> sshape = {(m.rows + 127) / 128, (m.cols + 127) / 128};
      if (full == bad_scale) sshape = {m.rows / 128 + 2, m.cols / 128};
      std::vector<float> sv(size_t(sshape[0] * sshape[1]), 1.f);
      if (full != bad_scale) sv = m.scale;
      if (std::string(scale_dtype) == "F32") w.f32(full + "_scale_inv", sshape, sv);
      else w.add(full + "_scale_inv", scale_dtype, sshape, sv.data(), sv.size() * 4);
    }
    w.write(tmp.path("model.safetensors"));
    std::ofstream(tmp.path("config.json")) << kFp8Config;
  }
};

const std::map<std::string, std::string> kQwenGguf = {
    {"self_attn.q_proj.weight", "attn_q.weight"},  {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},  {"self_attn.o_proj.weight", "attn_output.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},   {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
std::string gguf_name(const std::string& hf) {
  return "blk.0." + kQwenGguf.at(hf.substr(std::string("model.layers.0.").size()));
}

}  // namespace

TEST(HfFolder, Fp8DequantizesExactlyAsF32) {
  TempDir tmp;
  Fp8Folder f;
  f.write(tmp);
  auto img = open_hf_folder(tmp.dir(), quiet("F32"));
  for (const auto& [hf, m] : f.fp8) {
    const GgufTensorInfo* t = img->find_tensor(gguf_name(hf));
    ASSERT_TRUE(t) << hf;
    EXPECT_EQ(t->type, DType::F32);
    ASSERT_EQ(t->ne, (std::vector<int64_t>{m.cols, m.rows}));
    const std::vector<float> v = values_of(*t);
    int bad = 0;
    for (int64_t r = 0; r < m.rows; ++r)
      for (int64_t c = 0; c < m.cols; ++c) bad += v[size_t(r * m.cols + c)] != m.at(r, c);
    EXPECT_EQ(bad, 0) << hf;
  }
  EXPECT_EQ(img->find_tensor("blk.0.attn_q.bias")->type, DType::F32);
  EXPECT_EQ(img->find_tensor("blk.0.attn_norm.weight")->type, DType::BF16);  // 1-D keeps its type
  for (const auto& t : img->tensors()) EXPECT_EQ(t.name.find("scale"), std::string::npos) << t.name;
  EXPECT_NO_THROW(load_model(img));
}

TEST(HfFolder, Fp8DefaultsToQ8_0) {
  TempDir tmp;
  Fp8Folder f;
  f.write(tmp);
  auto img = open_hf_folder(tmp.dir(), quiet());
  EXPECT_EQ(img->get_int("general.file_type"), 7);  // Q8_0
  for (const auto& [hf, m] : f.fp8) {
    const GgufTensorInfo* t = img->find_tensor(gguf_name(hf));
    ASSERT_TRUE(t) << hf;
    EXPECT_EQ(t->type, DType::Q8_0) << hf;
    // The Q8_0 encoding of the exact fp8 x scale values.
    std::vector<float> exact(size_t(m.cols));
    std::vector<uint8_t> want(row_bytes(DType::Q8_0, m.cols));
    for (int64_t r = 0; r < m.rows; ++r) {
      for (int64_t c = 0; c < m.cols; ++c) exact[size_t(c)] = m.at(r, c);
      kernels::quantize_row(DType::Q8_0, exact.data(), want.data(), m.cols);
      ASSERT_EQ(std::memcmp(want.data(), t->data + size_t(r) * want.size(), want.size()), 0) << hf << " row " << r;
    }
  }
  // Float tensors stay in place, in their own type.
  EXPECT_EQ(img->find_tensor("token_embd.weight")->type, DType::BF16);
  EXPECT_EQ(img->find_tensor("output.weight")->type, DType::BF16);
  EXPECT_EQ(img->find_tensor("blk.0.attn_k.bias")->type, DType::F32);
  EXPECT_NO_THROW(load_model(img));
}

TEST(HfFolder, Fp8ScaleErrorsNameTheTensor) {
  {
    TempDir tmp;
    Fp8Folder().write(tmp, "model.layers.0.mlp.up_proj.weight");
    const std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
    EXPECT_NE(msg.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("scale"), std::string::npos) << msg;
  }
  {
    TempDir tmp;
    Fp8Folder().write(tmp, "", "model.layers.0.mlp.down_proj.weight");
    const std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet("F32")); });
    EXPECT_NE(msg.find("model.layers.0.mlp.down_proj.weight_scale_inv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;  // ceil(160/128) x ceil(288/128)
  }
  {
    TempDir tmp;
    Fp8Folder().write(tmp, "", "", "I32");
    const std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
    EXPECT_NE(msg.find("_scale_inv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("I32"), std::string::npos) << msg;
  }
}

TEST(HfFolder, ConfigAndNameErrors) {
  TempDir tmp;
  EXPECT_FALSE(is_hf_folder(tmp.dir()));
  EXPECT_NE(error_of([&] { open_hf_folder(tmp.dir(), quiet()); }).find("config.json"), std::string::npos);

  StWriter w;
  w.f32("model.norm.weight", {4}, {1, 2, 3, 4});
  w.write(tmp.path("model.safetensors"));
  std::ofstream(tmp.path("config.json")) << R"({"architectures": ["MistralForCausalLM"], "model_type": "mistral"})";
  ASSERT_TRUE(is_hf_folder(tmp.dir()));
  std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MistralForCausalLM"), std::string::npos) << msg;
  for (const char* known : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "DeepseekV2ForCausalLM",
                            "DeepseekV3ForCausalLM"})
    EXPECT_NE(msg.find(known), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_model(tmp.dir()); }).find("MistralForCausalLM"), std::string::npos);

  // No architectures list: model_type decides; a missing key is named.
  std::ofstream(tmp.path("config.json")) << R"({"model_type": "qwen2", "hidden_size": 4})";
  msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_attention_heads"), std::string::npos) << msg;

  // A tensor with no llama.cpp name.
  std::ofstream(tmp.path("config.json")) << R"({"model_type": "qwen2", "hidden_size": 4, "num_attention_heads": 1,
      "num_hidden_layers": 1, "intermediate_size": 8})";
  StWriter w2;
  w2.f32("model.layers.0.mystery.weight", {4}, {1, 2, 3, 4});
  w2.write(tmp.path("model.safetensors"));
  msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("model.layers.0.mystery.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;

  // Layers beyond the config, and a non-float weight.
  StWriter w3;
  w3.f32("model.layers.3.input_layernorm.weight", {4}, {1, 2, 3, 4});
  w3.write(tmp.path("model.safetensors"));
  msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("model.layers.3.input_layernorm.weight"), std::string::npos) << msg;
  StWriter w4;
  const int32_t ints[4] = {1, 2, 3, 4};
  w4.add("model.norm.weight", "I32", {4}, ints, sizeof ints);
  w4.write(tmp.path("model.safetensors"));
  msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("model.norm.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("I32"), std::string::npos) << msg;
}

TEST(HfFolder, MissingExpertIsNamed) {
  // v3-mini's config with a checkpoint that lacks one routed expert.
  TempDir tmp;
  const fs::path src = kGolden / "models" / "v3-mini";
  fs::copy_file(src / "config.json", tmp.path("config.json"));
  StWriter w;
  for (int e = 0; e < 16; ++e) {
    if (e == 5) continue;
    w.bf16("model.layers.1.mlp.experts." + std::to_string(e) + ".up_proj.weight", {2, 2}, {1, 2, 3, 4});
  }
  w.write(tmp.path("model.safetensors"));
  const std::string msg = error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  EXPECT_NE(msg.find("model.layers.1.mlp.experts.5.up_proj.weight"), std::string::npos) << msg;
}

// Hostile config.json values, found by fuzz_hf_config: each is an Error naming the key, never
// undefined behaviour, an allocation the file asks for, or a stack overflow.
TEST(HfFolder, HostileConfigValuesAreErrors) {
  TempDir tmp;
  StWriter w;
  w.f32("model.norm.weight", {4}, {1, 2, 3, 4});
  w.write(tmp.path("model.safetensors"));
  const auto error_with = [&](const std::string& config) {
    std::ofstream(tmp.path("config.json")) << config;
    return error_of([&] { open_hf_folder(tmp.dir(), quiet()); });
  };
  const std::string dims =
      R"("hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 8)";
  // A whole number past int64's range (converting it was undefined: a garbage head count).
  std::string msg = error_with(R"({"model_type": "qwen2", "num_key_value_heads": 1e300, )" + dims + "}");
  EXPECT_NE(msg.find("\"num_key_value_heads\" must be an integer"), std::string::npos) << msg;
  // A head size llama3 rope scaling would make head_dim / 2 frequencies of (1e11 asked for 200 GB).
  msg = error_with(R"({"model_type": "llama", "head_dim": 16777216, "rope_scaling": {"rope_type": "llama3"}, )" + dims +
                   "}");
  EXPECT_NE(msg.find("\"head_dim\" must be in 1 .. 65536"), std::string::npos) << msg;
  // Nesting a hundred thousand deep: the JSON library's recursive copy of rope_scaling overflowed
  // the stack.
  std::string deep = R"({"model_type": "qwen2", )" + dims + R"(, "rope_scaling": )";
  for (int i = 0; i < 100000; ++i) deep += R"({"a": )";
  deep += "1" + std::string(100000, '}') + "}";
  msg = error_with(deep);
  EXPECT_NE(msg.find("config.json: invalid JSON: nested deeper than"), std::string::npos) << msg.substr(0, 200);
}
