// make-test-model for the DeepSeek presets (MLA + MoE, V2 and V3 flavours, MTP layers).
//
// The random weights are defined once, per Hugging Face tensor and row: row r of tensor NAME is
// N(mean, std) drawn from (NAME, r, seed) and rounded to bf16, as the released checkpoints are
// (the F32 expert bias is not rounded). The GGUF writer derives llama.cpp's deepseek2 tensors
// from those rows (stacked experts, kv_b_proj split into attn_k_b / attn_v_b), the HF writer
// stores them as they are (BF16, or FP8 e4m3 with 128x128 block scales). So a GGUF and an HF
// folder of the same preset and seed hold the same weights, and the HF loader can be checked
// against the GGUF path. Both writers stream: rows are generated in parallel per tensor while
// the file is written, never the whole model in memory.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/test_model_presets.h"
#include "core/error.h"
#include "core/fp8.h"
#include "core/half.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/gguf.h"
#include "formats/safetensors_writer.h"
#include "kernels/quant.h"
#include "model/deepseek/hparams.h"
#include "model/vocab_gguf.h"

namespace frugal::cli {

namespace fs = std::filesystem;

namespace {

// One tensor of the HF checkpoint, [rows, cols] row-major; a 1-D tensor is one row of cols.
struct HfWeight {
  std::string name;
  int64_t rows, cols;
  bool one_d;
  float mean, std;
  bool f32;    // stored F32 (V3's e_score_correction_bias); everything else is bf16
  bool fp8;    // a linear weight that DeepSeek's FP8 release stores as F8_E4M3
  std::vector<int64_t> shape() const { return one_d ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols}; }
};

// Row r of w: cols values, bf16-exact unless w.f32.
void draw_row(const HfWeight& w, uint64_t seed, int64_t r, float* out) {
  fill_normal(out, w.cols, row_seed(w.name, seed, r), w.mean, w.std);
  if (!w.f32)
    for (int64_t i = 0; i < w.cols; ++i) out[i] = bf16_to_fp32(fp32_to_bf16(out[i]));
}

// Every HF tensor of a preset, in checkpoint order. Scales: linear weights 1/sqrt(fan_in) so
// activations keep unit size; embeddings 0.02 as trained models have; the head 2/sqrt(n_embd)
// so logits have a standard deviation of about 2 (peaked enough for top-1 and KL to mean
// something); norms 1 + N(0, 0.1); the router 1/sqrt(n_embd) so routing scores spread;
// the expert bias N(0, 0.01).
class DeepseekWeights {
 public:
  explicit DeepseekWeights(const TestModelPreset& p) {
    const DeepseekShape& d = p.ds;
    const int64_t E = p.n_embd, H = p.n_head, V = p.n_vocab, F = p.n_ff;
    auto lin = [&](const std::string& n, int64_t rows, int64_t cols) {
      add({n, rows, cols, false, 0.f, 1.0f / std::sqrt(float(cols)), false, true});
    };
    auto norm = [&](const std::string& n, int64_t cols) { add({n, 1, cols, true, 1.f, 0.1f, false, false}); };
    auto embed = [&](const std::string& n) { add({n, V, E, false, 0.f, 0.02f, false, false}); };
    auto head = [&](const std::string& n) { add({n, V, E, false, 0.f, 2.0f / std::sqrt(float(E)), false, false}); };

    embed("model.embed_tokens.weight");
    for (int64_t il = 0; il < p.n_layer + d.n_nextn; ++il) {
      const std::string L = "model.layers." + std::to_string(il) + ".";
      const bool mtp = il >= p.n_layer;
      if (mtp) {  // the MTP layer's own input side: its embedding copy and the h/e merge
        embed(L + "embed_tokens.weight");
        norm(L + "enorm.weight", E);
        norm(L + "hnorm.weight", E);
        lin(L + "eh_proj.weight", E, 2 * E);
      }
      norm(L + "input_layernorm.weight", E);
      if (d.q_lora) {
        lin(L + "self_attn.q_a_proj.weight", d.q_lora, E);
        norm(L + "self_attn.q_a_layernorm.weight", d.q_lora);
        lin(L + "self_attn.q_b_proj.weight", H * (d.nope + d.rope), d.q_lora);
      } else {
        lin(L + "self_attn.q_proj.weight", H * (d.nope + d.rope), E);
      }
      lin(L + "self_attn.kv_a_proj_with_mqa.weight", d.kv_lora + d.rope, E);
      norm(L + "self_attn.kv_a_layernorm.weight", d.kv_lora);
      lin(L + "self_attn.kv_b_proj.weight", H * (d.nope + d.v), d.kv_lora);
      lin(L + "self_attn.o_proj.weight", E, H * d.v);
      norm(L + "post_attention_layernorm.weight", E);
      if (il < d.n_dense) {
        lin(L + "mlp.gate_proj.weight", F, E);
        lin(L + "mlp.up_proj.weight", F, E);
        lin(L + "mlp.down_proj.weight", E, F);
      } else {
        add({L + "mlp.gate.weight", d.n_expert, E, false, 0.f, 1.0f / std::sqrt(float(E)), false, false});
        if (d.v3) add({L + "mlp.gate.e_score_correction_bias", 1, d.n_expert, true, 0.f, 0.01f, true, false});
        for (int64_t e = 0; e < d.n_expert; ++e) {
          const std::string X = L + "mlp.experts." + std::to_string(e) + ".";
          lin(X + "gate_proj.weight", d.moe_ff, E);
          lin(X + "up_proj.weight", d.moe_ff, E);
          lin(X + "down_proj.weight", E, d.moe_ff);
        }
        if (d.n_shared) {
          const int64_t S = d.moe_ff * d.n_shared;
          lin(L + "mlp.shared_experts.gate_proj.weight", S, E);
          lin(L + "mlp.shared_experts.up_proj.weight", S, E);
          lin(L + "mlp.shared_experts.down_proj.weight", E, S);
        }
      }
      if (mtp) {
        norm(L + "shared_head.norm.weight", E);
        head(L + "shared_head.head.weight");
      }
    }
    norm("model.norm.weight", E);
    head("lm_head.weight");
  }
  const std::vector<HfWeight>& all() const { return w_; }
  const HfWeight& get(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) fail("make-test-model: internal: no weight '%s'", name.c_str());
    return w_[it->second];
  }

 private:
  void add(HfWeight w) {
    index_[w.name] = w_.size();
    w_.push_back(std::move(w));
  }
  std::vector<HfWeight> w_;
  std::map<std::string, size_t> index_;
};

// ---------------------------------------------------------------------------------------------
// GGUF: llama.cpp's deepseek2 tensors, each a function producing its rows [r0, r1) as fp32 from
// the HF rows. grain: producers are called on row ranges starting at multiples of it.

struct GgufTensor {
  std::string name;
  std::vector<int64_t> ne;
  int64_t grain;
  std::function<void(int64_t r0, int64_t r1, float* out)> rows;
};

GgufTensor direct(const std::string& name, const HfWeight& w, uint64_t seed) {
  return {name, w.one_d ? std::vector<int64_t>{w.cols} : std::vector<int64_t>{w.cols, w.rows},
          std::max<int64_t>(1, 16384 / w.cols), [&w, seed](int64_t r0, int64_t r1, float* out) {
            for (int64_t r = r0; r < r1; ++r) draw_row(w, seed, r, out + (r - r0) * w.cols);
          }};
}

// Experts stacked: ne [cols, rows, n_expert]; row e*rows + r is expert e's row r.
GgufTensor stacked(const std::string& name, std::vector<const HfWeight*> ws, uint64_t seed) {
  const int64_t rows = ws[0]->rows, cols = ws[0]->cols;
  return {name, {cols, rows, int64_t(ws.size())}, std::max<int64_t>(1, 16384 / cols),
          [ws, seed, rows, cols](int64_t r0, int64_t r1, float* out) {
            for (int64_t r = r0; r < r1; ++r) draw_row(*ws[size_t(r / rows)], seed, r % rows, out + (r - r0) * cols);
          }};
}

// kv_b_proj [H*(nope+v), kv_lora] holds, per head, nope rows of W_UK then v rows of W_UV.
// attn_k_b ne [nope, kv_lora, H] is W_UK transposed per head: row (h, c) = kv_b[h*(nope+v) + n][c]
// over n. Ranges are whole heads (grain kv_lora).
GgufTensor k_b(const std::string& name, const HfWeight& kv, const DeepseekShape& d, int64_t H, uint64_t seed) {
  return {name, {d.nope, d.kv_lora, H}, d.kv_lora, [&kv, d, seed](int64_t r0, int64_t r1, float* out) {
            std::vector<float> wk(size_t(d.nope * d.kv_lora));  // [nope, kv_lora]
            for (int64_t h = r0 / d.kv_lora; h * d.kv_lora < r1; ++h) {
              for (int64_t n = 0; n < d.nope; ++n) draw_row(kv, seed, h * (d.nope + d.v) + n, &wk[size_t(n * d.kv_lora)]);
              float* o = out + (h * d.kv_lora - r0) * d.nope;
              for (int64_t c = 0; c < d.kv_lora; ++c)
                for (int64_t n = 0; n < d.nope; ++n) o[c * d.nope + n] = wk[size_t(n * d.kv_lora + c)];
            }
          }};
}

// attn_v_b ne [kv_lora, v, H]: row (h, j) = kv_b row h*(nope+v) + nope + j.
GgufTensor v_b(const std::string& name, const HfWeight& kv, const DeepseekShape& d, int64_t H, uint64_t seed) {
  return {name, {d.kv_lora, d.v, H}, std::max<int64_t>(1, 16384 / d.kv_lora),
          [&kv, d, seed](int64_t r0, int64_t r1, float* out) {
            for (int64_t r = r0; r < r1; ++r)
              draw_row(kv, seed, (r / d.v) * (d.nope + d.v) + d.nope + r % d.v, out + (r - r0) * d.kv_lora);
          }};
}

std::vector<GgufTensor> gguf_tensors(const TestModelPreset& p, const DeepseekWeights& W, uint64_t seed) {
  const DeepseekShape& d = p.ds;
  std::vector<GgufTensor> t;
  auto hf = [&](const std::string& n) -> const HfWeight& { return W.get(n); };
  t.push_back(direct("token_embd.weight", hf("model.embed_tokens.weight"), seed));
  for (int64_t il = 0; il < p.n_layer + d.n_nextn; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".", L = "model.layers." + std::to_string(il) + ".";
    auto one = [&](const std::string& g, const std::string& h) { t.push_back(direct(b + g, hf(L + h), seed)); };
    one("attn_norm.weight", "input_layernorm.weight");
    if (d.q_lora) {
      one("attn_q_a.weight", "self_attn.q_a_proj.weight");
      one("attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight");
      one("attn_q_b.weight", "self_attn.q_b_proj.weight");
    } else {
      one("attn_q.weight", "self_attn.q_proj.weight");
    }
    one("attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight");
    one("attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight");
    t.push_back(k_b(b + "attn_k_b.weight", hf(L + "self_attn.kv_b_proj.weight"), d, p.n_head, seed));
    t.push_back(v_b(b + "attn_v_b.weight", hf(L + "self_attn.kv_b_proj.weight"), d, p.n_head, seed));
    one("attn_output.weight", "self_attn.o_proj.weight");
    one("ffn_norm.weight", "post_attention_layernorm.weight");
    if (il < d.n_dense) {
      one("ffn_gate.weight", "mlp.gate_proj.weight");
      one("ffn_up.weight", "mlp.up_proj.weight");
      one("ffn_down.weight", "mlp.down_proj.weight");
    } else {
      one("ffn_gate_inp.weight", "mlp.gate.weight");
      if (d.v3) one("exp_probs_b.bias", "mlp.gate.e_score_correction_bias");
      for (const char* proj : {"gate", "up", "down"}) {
        std::vector<const HfWeight*> ws;
        for (int64_t e = 0; e < d.n_expert; ++e)
          ws.push_back(&hf(L + "mlp.experts." + std::to_string(e) + "." + proj + "_proj.weight"));
        t.push_back(stacked(b + "ffn_" + proj + "_exps.weight", std::move(ws), seed));
      }
      if (d.n_shared)
        for (const char* proj : {"gate", "up", "down"})
          one(std::string("ffn_") + proj + "_shexp.weight", std::string("mlp.shared_experts.") + proj + "_proj.weight");
    }
    if (il >= p.n_layer) {
      one("nextn.eh_proj.weight", "eh_proj.weight");
      one("nextn.enorm.weight", "enorm.weight");
      one("nextn.hnorm.weight", "hnorm.weight");
      one("nextn.embed_tokens.weight", "embed_tokens.weight");
      one("nextn.shared_head_head.weight", "shared_head.head.weight");
      one("nextn.shared_head_norm.weight", "shared_head.norm.weight");
    }
  }
  t.push_back(direct("output_norm.weight", hf("model.norm.weight"), seed));
  t.push_back(direct("output.weight", hf("lm_head.weight"), seed));
  return t;
}

// The preset's shape as the engine's hyper-parameters, whose GGUF keys model/deepseek writes.
void deepseek_metadata(const TestModelPreset& p, GgufWriter& w) {
  const DeepseekShape& d = p.ds;
  DeepseekHparams h;
  h.n_embd = p.n_embd, h.n_vocab = p.n_vocab, h.n_layer = p.n_layer, h.n_nextn = d.n_nextn;
  h.n_head = p.n_head, h.q_lora_rank = d.q_lora, h.kv_lora_rank = d.kv_lora;
  h.nope = d.nope, h.rope = d.rope, h.v_dim = d.v, h.n_ff = p.n_ff, h.n_dense_lead = d.n_dense;
  h.n_expert = d.n_expert, h.n_expert_used = d.n_expert_used, h.n_ff_exp = d.moe_ff, h.n_shared = d.n_shared;
  h.n_group = d.n_group, h.n_group_used = d.topk_group;
  h.sigmoid_gating = d.sigmoid, h.norm_topk = d.norm_topk, h.routed_scale = d.routed_scale;
  h.rms_eps = p.rms_eps, h.rope_theta = p.rope_theta, h.n_ctx_train = p.n_ctx;
  if (d.yarn_factor > 0) {
    h.yarn.factor = d.yarn_factor;
    h.yarn.original_context = double(d.yarn_orig_ctx);
    h.yarn.beta_fast = d.beta_fast, h.yarn.beta_slow = d.beta_slow;
    h.yarn.log_multiplier = 0.1 * d.mscale_all_dim;
  }
  for (auto& [k, v] : deepseek_gguf_metadata(h)) w.set(k, std::move(v));
}

std::unique_ptr<Progress> progress_for(const std::string& label, size_t total) {
  return std::make_unique<Progress>(label, double(total));
}

}  // namespace

void write_deepseek_gguf(const TestModelPreset& p, const Vocab& vocab, const FileType& ft, uint64_t seed,
                         const std::string& path) {
  const DeepseekWeights W(p);
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("deepseek2"));
  w.set("general.type", GgufValue::str("model"));
  w.set("general.name", GgufValue::str(std::string("random weights, ") + p.name + " shape"));
  w.set("general.file_type", GgufValue::u32(ft.llama_id));
  w.set("general.alignment", GgufValue::u32(32));
  if (ft.name != "F32" && ft.name != "F16" && ft.name != "BF16")
    w.set("general.quantization_version", GgufValue::u32(2));
  w.set("frugal.random_weights", GgufValue::boolean(true));
  w.set("frugal.preset", GgufValue::str(p.name));
  deepseek_metadata(p, w);
  vocab_to_gguf(vocab, w);

  const int64_t n_block = p.n_layer + p.ds.n_nextn;
  const std::vector<GgufTensor> tensors = gguf_tensors(p, W, seed);
  ThreadPool& pool = ThreadPool::global();
  for (const GgufTensor& t : tensors) {
    const DType type = tensor_type_for(ft, t.name, t.ne, n_block, false);
    w.add_tensor(t.name, type, t.ne, [&pool, &t, type](uint8_t* dst, size_t) {
      const int64_t cols = t.ne[0];
      int64_t rows = 1;
      for (size_t i = 1; i < t.ne.size(); ++i) rows *= t.ne[i];
      const size_t rb = row_bytes(type, cols);
      pool.parallel_for(rows, t.grain, [&](int64_t b, int64_t e) {
        std::vector<float> buf;
        for (int64_t s = b; s < e; s += t.grain) {
          const int64_t n = std::min(t.grain, e - s);
          buf.resize(size_t(n * cols));
          t.rows(s, s + n, buf.data());
          for (int64_t i = 0; i < n; ++i) kernels::quantize_row(type, &buf[size_t(i * cols)], dst + size_t(s + i) * rb, cols);
        }
      });
    });
  }
  std::unique_ptr<Progress> progress;
  w.write(path, [&](size_t done, size_t total) {
    if (!progress) progress = progress_for("writing " + path, total);
    progress->update(double(done));
  });
}

namespace {

using json = nlohmann::json;

// A float as config.json spells it: the shortest decimal (0.707, not 0.70700001), and a whole
// number as an integer where DeepSeek's files write one (factor 40, rope_theta 10000).
json dec(float v) { return std::stod(strfmt("%g", double(v))); }
json number(float v) { return v == std::floor(v) && std::fabs(v) < 1e9f ? json(int64_t(v)) : dec(v); }

// config.json with the keys DeepSeek's own files have (transformers writes them sorted).
json hf_config(const TestModelPreset& p, bool fp8) {
  const DeepseekShape& d = p.ds;
  json c;
  c["architectures"] = {d.v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"};
  c["model_type"] = d.v3 ? "deepseek_v3" : "deepseek_v2";
  c["attention_bias"] = false;
  c["attention_dropout"] = 0.0;
  if (!d.v3) {
    c["aux_loss_alpha"] = 0.001;
    c["seq_aux"] = true;
  } else {
    c["ep_size"] = 1;
    c["num_nextn_predict_layers"] = d.n_nextn;
  }
  c["bos_token_id"] = 0;
  c["eos_token_id"] = 1;
  c["first_k_dense_replace"] = d.n_dense;
  c["hidden_act"] = "silu";
  c["hidden_size"] = p.n_embd;
  c["initializer_range"] = 0.02;
  c["intermediate_size"] = p.n_ff;
  c["kv_lora_rank"] = d.kv_lora;
  c["max_position_embeddings"] = p.n_ctx;
  c["moe_intermediate_size"] = d.moe_ff;
  c["moe_layer_freq"] = 1;
  c["n_group"] = d.n_group;
  c["n_routed_experts"] = d.n_expert;
  c["n_shared_experts"] = d.n_shared;
  c["norm_topk_prob"] = d.norm_topk;
  c["num_attention_heads"] = p.n_head;
  c["num_experts_per_tok"] = d.n_expert_used;
  c["num_hidden_layers"] = p.n_layer;
  c["num_key_value_heads"] = p.n_head_kv;
  c["q_lora_rank"] = d.q_lora ? json(d.q_lora) : json(nullptr);
  c["qk_nope_head_dim"] = d.nope;
  c["qk_rope_head_dim"] = d.rope;
  c["rms_norm_eps"] = dec(p.rms_eps);
  if (d.yarn_factor > 0)
    c["rope_scaling"] = {{"beta_fast", number(d.beta_fast)},
                         {"beta_slow", number(d.beta_slow)},
                         {"factor", number(d.yarn_factor)},
                         {"mscale", dec(d.mscale)},
                         {"mscale_all_dim", dec(d.mscale_all_dim)},
                         {"original_max_position_embeddings", d.yarn_orig_ctx},
                         {"type", "yarn"}};
  c["rope_theta"] = number(p.rope_theta);
  c["routed_scaling_factor"] = dec(d.routed_scale);
  c["scoring_func"] = d.sigmoid ? "sigmoid" : "softmax";
  c["tie_word_embeddings"] = false;
  c["topk_group"] = d.topk_group;
  c["topk_method"] = d.v3 ? "noaux_tc" : "greedy";
  c["torch_dtype"] = "bfloat16";
  c["transformers_version"] = "4.46.3";
  c["use_cache"] = true;
  c["v_head_dim"] = d.v;
  c["vocab_size"] = p.n_vocab;
  if (fp8)
    c["quantization_config"] = {{"activation_scheme", "dynamic"},
                                {"fmt", "e4m3"},
                                {"quant_method", "fp8"},
                                {"weight_block_size", {128, 128}}};
  c["frugal_random_weights"] = true;  // not a transformers key; tells a reader the output is noise
  c["frugal_preset"] = p.name;
  return c;
}

void write_text(const fs::path& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("%s: cannot create", path.c_str());
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) fail("%s: write failed", path.c_str());
}

constexpr int64_t kFp8Block = 128;

// FP8 as DeepSeek releases it: per 128x128 block, scale = amax/448 and q = e4m3(w / scale);
// weight_scale_inv holds `scale` (the reader multiplies, despite the name). The weight's fill
// leaves its scales in `scales` for the weight_scale_inv tensor written right after it.
void add_fp8(SafetensorsWriter& st, const HfWeight& w, uint64_t seed, ThreadPool& pool) {
  const int64_t sr = (w.rows + kFp8Block - 1) / kFp8Block, sc = (w.cols + kFp8Block - 1) / kFp8Block;
  auto scales = std::make_shared<std::vector<float>>(size_t(sr * sc));
  st.add_tensor(w.name, "F8_E4M3", w.shape(), [&w, &pool, seed, scales, sc](uint8_t* dst, size_t) {
    pool.parallel_for(w.rows, kFp8Block, [&](int64_t b, int64_t e) {
      std::vector<float> band;
      for (int64_t r0 = b; r0 < e; r0 += kFp8Block) {
        const int64_t n = std::min(kFp8Block, e - r0);
        band.resize(size_t(n * w.cols));
        for (int64_t i = 0; i < n; ++i) draw_row(w, seed, r0 + i, &band[size_t(i * w.cols)]);
        for (int64_t j0 = 0, jb = 0; j0 < w.cols; j0 += kFp8Block, ++jb) {
          const int64_t j1 = std::min(w.cols, j0 + kFp8Block);
          float amax = 0;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = j0; j < j1; ++j) amax = std::max(amax, std::fabs(band[size_t(i * w.cols + j)]));
          const float scale = amax > 0 ? amax / 448.f : 1.f;
          (*scales)[size_t(r0 / kFp8Block * sc + jb)] = scale;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = j0; j < j1; ++j)
              dst[size_t((r0 + i) * w.cols + j)] = float_to_fp8_e4m3(band[size_t(i * w.cols + j)] / scale);
        }
      }
    });
  });
  const std::string base = w.name.substr(0, w.name.size() - std::string(".weight").size());
  st.add_tensor(base + ".weight_scale_inv", "F32", {sr, sc},
                [scales](uint8_t* dst, size_t nbytes) { std::memcpy(dst, scales->data(), nbytes); });
}

void add_plain(SafetensorsWriter& st, const HfWeight& w, uint64_t seed, ThreadPool& pool) {
  st.add_tensor(w.name, w.f32 ? "F32" : "BF16", w.shape(), [&w, &pool, seed](uint8_t* dst, size_t) {
    pool.parallel_for(w.rows, std::max<int64_t>(1, 16384 / w.cols), [&](int64_t b, int64_t e) {
      std::vector<float> row(size_t(w.cols));
      for (int64_t r = b; r < e; ++r) {
        draw_row(w, seed, r, row.data());
        if (w.f32) {
          std::memcpy(dst + size_t(r * w.cols) * 4, row.data(), size_t(w.cols) * 4);
        } else {
          uint8_t* o = dst + size_t(r * w.cols) * 2;
          for (int64_t j = 0; j < w.cols; ++j) {
            const uint16_t h = fp32_to_bf16(row[size_t(j)]);
            std::memcpy(o + 2 * j, &h, 2);
          }
        }
      }
    });
  });
}

}  // namespace

void write_deepseek_hf(const TestModelPreset& p, const HfFolderOptions& opt, uint64_t seed, const std::string& dir) {
  const DeepseekWeights W(p);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) fail("%s: cannot create the folder: %s", dir.c_str(), ec.message().c_str());
  const fs::path out(dir);

  const fs::path tok(opt.tokenizer_dir);
  if (!fs::exists(tok / "tokenizer.json"))
    fail("%s: no tokenizer.json to copy into the HF folder", opt.tokenizer_dir.c_str());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(tok / f) && !fs::equivalent(tok, out, ec))
      fs::copy_file(tok / f, out / f, fs::copy_options::overwrite_existing);
  write_text(out / "config.json", hf_config(p, opt.fp8).dump(2) + "\n");
  write_text(out / "generation_config.json",
             json{{"_from_model_config", true}, {"bos_token_id", 0}, {"eos_token_id", 1}}.dump(2) + "\n");

  SafetensorsWriter st;
  st.set_metadata("format", "pt");
  ThreadPool& pool = ThreadPool::global();
  for (const HfWeight& w : W.all()) {
    if (opt.fp8 && w.fp8) add_fp8(st, w, seed, pool);
    else add_plain(st, w, seed, pool);
  }
  std::unique_ptr<Progress> progress;
  st.write_folder(dir, opt.max_shard_bytes, opt.n_shards, [&](size_t done, size_t total) {
    if (!progress) progress = progress_for("writing " + dir, total);
    progress->update(double(done));
  });
}

}  // namespace frugal::cli
