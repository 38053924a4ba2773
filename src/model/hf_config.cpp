// config.json -> GGUF hyper-parameter keys, with the names, types and conventions of
// llama.cpp's convert_hf_to_gguf.py, so an HF folder and the GGUF made from it load the same.
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "formats/json_file.h"
#include "model/hf_folder_impl.h"

namespace frugal::hf {

namespace {

using json = nlohmann::json;

// Typed config.json lookups whose errors name the file and the key. A key set to null counts
// as absent (HF writes "head_dim": null, "q_lora_rank": null).
class Cfg {
 public:
  Cfg(json j, std::string path) : j_(std::move(j)), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  const json* get(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(const char* key) const { return get(key) != nullptr; }
  int64_t i(const char* key) const {
    if (!has(key)) fail("%s: missing key \"%s\"", path_.c_str(), key);
    return i(key, 0);
  }
  int64_t i(const char* key, int64_t def) const { return as_int(get(key), key, def); }
  double f(const char* key, double def) const { return as_float(get(key), key, def); }
  bool b(const char* key, bool def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean()) fail("%s: \"%s\" must be true or false", path_.c_str(), key);
    return v->get<bool>();
  }
  std::string s(const char* key, const std::string& def) const {
    const json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) fail("%s: \"%s\" must be a string", path_.c_str(), key);
    return v->get<std::string>();
  }
  // A sub-object (rope_scaling, quantization_config) as its own Cfg, or nullopt.
  std::optional<Cfg> obj(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_object()) fail("%s: \"%s\" must be an object", path_.c_str(), key);
    return Cfg(*v, path_ + " (" + key + ")");
  }
  int64_t as_int(const json* v, const char* key, int64_t def) const {
    if (!v) return def;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number_float()) {  // whole, and inside int64's range (converting 1e300 is undefined)
      const double d = v->get<double>();
      if (std::floor(d) == d && d >= -0x1p63 && d < 0x1p63) return int64_t(d);
    }
    fail("%s: \"%s\" must be an integer", path_.c_str(), key);
  }
  double as_float(const json* v, const char* key, double def) const {
    if (!v) return def;
    if (!v->is_number()) fail("%s: \"%s\" must be a number", path_.c_str(), key);
    return v->get<double>();
  }
  const json& raw() const { return j_; }

 private:
  json j_;
  std::string path_;
};

class Keys {
 public:
  explicit Keys(ModelInfo& m) : m_(m), a_(m.arch + ".") {}
  void u32(const std::string& k, int64_t v) { m_.kv.emplace_back(a_ + k, GgufValue::u32(uint32_t(v))); }
  void f32(const std::string& k, double v) { m_.kv.emplace_back(a_ + k, GgufValue::f32(float(v))); }
  void boolean(const std::string& k, bool v) { m_.kv.emplace_back(a_ + k, GgufValue::boolean(v)); }
  void str(const std::string& k, std::string v) { m_.kv.emplace_back(a_ + k, GgufValue::str(std::move(v))); }

 private:
  ModelInfo& m_;
  std::string a_;
};

int64_t positive(const Cfg& c, const char* key) {
  const int64_t v = c.i(key);
  if (v <= 0) fail("%s: \"%s\" must be > 0, got %lld", c.path().c_str(), key, (long long)v);
  return v;
}

// rope_scaling, or Transformers 5's rope_parameters (which also carries rope_theta).
std::optional<Cfg> rope_params(const Cfg& c) {
  if (auto r = c.obj("rope_scaling")) return r;
  return c.obj("rope_parameters");
}
double rope_theta(const Cfg& c, double def) {
  if (c.has("rope_theta")) return c.f("rope_theta", def);
  auto r = rope_params(c);
  return r ? r->f("rope_theta", def) : def;
}
std::string rope_type(const std::optional<Cfg>& r) {
  if (!r) return "default";
  return r->s("rope_type", r->s("type", "default"));
}

// llama3 frequency scaling as llama.cpp's converter stores it: one divisor per rotated pair,
// ramping between the high- and low-frequency wavelengths of the original context.
std::vector<float> llama3_rope_freqs(const Cfg& r, double theta, int64_t n_rot) {
  const double factor = r.f("factor", 8.0), low = r.f("low_freq_factor", 1.0), high = r.f("high_freq_factor", 4.0);
  const double orig = r.f("original_max_position_embeddings", 8192);
  if (!(high > low)) fail("%s: high_freq_factor must be > low_freq_factor", r.path().c_str());
  const double low_wl = orig / low, high_wl = orig / high;
  std::vector<float> out;
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double freq = std::pow(theta, -2.0 * double(i) / double(n_rot)), wl = 2 * M_PI / freq;
    if (wl < high_wl) out.push_back(1.f);
    else if (wl > low_wl) out.push_back(float(factor));
    else {
      const double smooth = (orig / wl - low) / (high - low);
      out.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

// Llama, Qwen2, Qwen3: the dense decoder.
void dense_keys(const Cfg& c, ModelInfo& m) {
  Keys k(m);
  const int64_t E = positive(c, "hidden_size"), H = positive(c, "num_attention_heads");
  const int64_t H_kv = c.i("num_key_value_heads", H);
  const int64_t hd = c.i("head_dim", E / H);
  // Bounded: llama3 rope scaling makes hd / 2 frequencies (a planted 1e11 asked for 200 GB).
  if (hd <= 0 || hd > 65536) fail("%s: \"head_dim\" must be in 1 .. 65536, got %lld", c.path().c_str(), (long long)hd);
  m.n_layer = positive(c, "num_hidden_layers");
  m.n_head = H;
  m.n_head_kv = H_kv;
  const double theta = rope_theta(c, 10000.0);
  k.u32("block_count", m.n_layer);
  if (c.has("max_position_embeddings")) k.u32("context_length", c.i("max_position_embeddings"));
  k.u32("embedding_length", E);
  k.u32("feed_forward_length", positive(c, "intermediate_size"));
  k.u32("attention.head_count", H);
  k.u32("attention.head_count_kv", H_kv);
  k.f32("rope.freq_base", theta);
  k.f32("attention.layer_norm_rms_epsilon", c.f("rms_norm_eps", 1e-6));
  k.u32("attention.key_length", hd);
  k.u32("attention.value_length", hd);
  k.u32("rope.dimension_count", hd);
  if (c.has("vocab_size")) k.u32("vocab_size", c.i("vocab_size"));

  const auto r = rope_params(c);
  const std::string type = rope_type(r);
  if (type == "default") return;
  if (type == "llama3") {
    m.rope_freqs = llama3_rope_freqs(*r, theta, hd);
  } else if (type == "linear") {
    k.str("rope.scaling.type", "linear");
    k.f32("rope.scaling.factor", r->f("factor", 1.0));
  } else if (type == "yarn") {
    k.str("rope.scaling.type", "yarn");
    k.f32("rope.scaling.factor", r->f("factor", 1.0));
    if (r->has("original_max_position_embeddings"))
      k.u32("rope.scaling.original_context_length", r->i("original_max_position_embeddings"));
  } else {
    fail("%s: rope_scaling type '%s' is not supported (supported: llama3, linear, yarn)", c.path().c_str(),
         type.c_str());
  }
}

void llama_keys(const Cfg& c, ModelInfo& m) {
  dense_keys(c, m);
  m.permute_qk = true;
}

// DeepSeek V2 / V3 (and R1): MLA + MoE, written as llama.cpp's deepseek2 (MLA as MQA with one
// KV head of kv_lora + rope, the real head sizes in *_mla).
void deepseek2_keys(const Cfg& c, ModelInfo& m) {
  Keys k(m);
  const int64_t n_trunk = positive(c, "num_hidden_layers"), n_nextn = c.i("num_nextn_predict_layers", 0);
  const int64_t kv_lora = positive(c, "kv_lora_rank"), rope = positive(c, "qk_rope_head_dim");
  const int64_t nope = c.i("qk_nope_head_dim"), v_dim = positive(c, "v_head_dim");
  m.n_layer = n_trunk + n_nextn;
  m.n_head = positive(c, "num_attention_heads");
  m.n_head_kv = 1;
  m.n_expert = positive(c, "n_routed_experts");
  k.u32("block_count", m.n_layer);
  if (n_nextn > 0) k.u32("nextn_predict_layers", n_nextn);
  if (c.has("max_position_embeddings")) k.u32("context_length", c.i("max_position_embeddings"));
  k.u32("embedding_length", positive(c, "hidden_size"));
  k.u32("feed_forward_length", positive(c, "intermediate_size"));
  k.u32("attention.head_count", m.n_head);
  k.u32("attention.head_count_kv", 1);
  k.f32("rope.freq_base", rope_theta(c, 10000.0));
  k.f32("attention.layer_norm_rms_epsilon", c.f("rms_norm_eps", 1e-6));
  k.u32("expert_count", m.n_expert);
  k.u32("expert_used_count", positive(c, "num_experts_per_tok"));
  k.u32("expert_group_count", c.i("n_group", 1));
  k.u32("expert_group_used_count", c.i("topk_group", 1));
  const std::string scoring = c.s("scoring_func", "softmax");
  if (scoring != "softmax" && scoring != "sigmoid")
    fail("%s: scoring_func '%s' is not supported (softmax, sigmoid)", c.path().c_str(), scoring.c_str());
  k.u32("expert_gating_func", scoring == "softmax" ? 1 : 2);
  k.u32("leading_dense_block_count", c.i("first_k_dense_replace", 0));
  k.u32("vocab_size", positive(c, "vocab_size"));
  k.u32("attention.q_lora_rank", c.i("q_lora_rank", 0));  // 0: plain q_proj
  k.u32("attention.kv_lora_rank", kv_lora);
  k.u32("attention.key_length", kv_lora + rope);
  k.u32("attention.value_length", kv_lora);
  k.u32("attention.key_length_mla", nope + rope);
  k.u32("attention.value_length_mla", v_dim);
  k.u32("expert_feed_forward_length", positive(c, "moe_intermediate_size"));
  k.u32("expert_shared_count", c.i("n_shared_experts", 0));
  k.f32("expert_weights_scale", c.f("routed_scaling_factor", 1.0));
  k.boolean("expert_weights_norm", c.b("norm_topk_prob", false));
  k.u32("rope.dimension_count", rope);

  const auto r = rope_params(c);
  const std::string type = rope_type(r);
  if (type == "default") return;
  if (type != "yarn")
    fail("%s: rope_scaling type '%s' is not supported for DeepSeek (yarn)", c.path().c_str(), type.c_str());
  k.str("rope.scaling.type", "yarn");
  k.f32("rope.scaling.factor", r->f("factor", 1.0));
  k.u32("rope.scaling.original_context_length", r->i("original_max_position_embeddings"));
  k.f32("rope.scaling.yarn_beta_fast", r->f("beta_fast", 32.0));
  k.f32("rope.scaling.yarn_beta_slow", r->f("beta_slow", 1.0));
  // llama.cpp's YaRN takes the attention-scale term as 0.1 * mscale_all_dim.
  k.f32("rope.scaling.yarn_log_multiplier", 0.1 * r->f("mscale_all_dim", 0.0));
}

struct Arch {
  const char* hf;          // config.json architectures[0]
  const char* model_type;  // config.json model_type
  const char* gguf;
  void (*keys)(const Cfg&, ModelInfo&);
};
constexpr Arch kArchs[] = {
    {"LlamaForCausalLM", "llama", "llama", llama_keys},
    {"Qwen2ForCausalLM", "qwen2", "qwen2", dense_keys},
    {"Qwen3ForCausalLM", "qwen3", "qwen3", dense_keys},
    {"DeepseekV2ForCausalLM", "deepseek_v2", "deepseek2", deepseek2_keys},
    {"DeepseekV3ForCausalLM", "deepseek_v3", "deepseek2", deepseek2_keys},
};


}  // namespace

std::string supported_architectures() {
  std::string s;
  for (const auto& a : kArchs) s += std::string(s.empty() ? "" : ", ") + a.hf + " (" + a.model_type + ")";
  return s;
}

ModelInfo read_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  return parse_config(read_json_file(path), path);
}

ModelInfo parse_config(json j, const std::string& path) {
  if (!j.is_object()) fail("%s: not a JSON object", path.c_str());
  const Cfg c(std::move(j), path);
  std::string hf_arch;
  if (const json* a = c.get("architectures"); a && a->is_array() && !a->empty() && (*a)[0].is_string())
    hf_arch = (*a)[0].get<std::string>();
  const std::string model_type = c.s("model_type", "");
  const Arch* arch = nullptr;
  for (const auto& a : kArchs)
    if (hf_arch.empty() ? model_type == a.model_type : hf_arch == a.hf) arch = &a;
  if (!arch)
    fail("%s: architecture '%s' (model_type '%s') is not supported; frugal reads %s", path.c_str(),
         hf_arch.empty() ? "?" : hf_arch.c_str(), model_type.empty() ? "?" : model_type.c_str(),
         supported_architectures().c_str());

  ModelInfo m;
  m.arch = arch->gguf;
  arch->keys(c, m);
  // make-test-model's folders say their weights are random, so `run` can warn about noise.
  if (const json* r = c.get("frugal_random_weights"); r && r->is_boolean()) m.random_weights = r->get<bool>();
  if (auto q = c.obj("quantization_config")) {
    if (const json* bs = q->get("weight_block_size")) {
      if (!bs->is_array() || bs->size() != 2) fail("%s: weight_block_size must be [rows, cols]", q->path().c_str());
      m.fp8_block_rows = q->as_int(&(*bs)[0], "weight_block_size", 0);
      m.fp8_block_cols = q->as_int(&(*bs)[1], "weight_block_size", 0);
      if (m.fp8_block_rows <= 0 || m.fp8_block_cols <= 0)
        fail("%s: weight_block_size entries must be > 0", q->path().c_str());
    }
  }
  return m;
}

}  // namespace frugal::hf
