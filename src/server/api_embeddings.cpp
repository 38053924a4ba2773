// POST /v1/embeddings (OpenAI's shape) and Ollama's /api/embed and /api/embeddings: each input
// goes through the model's batched engine as a prompt whose final hidden states (after the final
// norm) are pooled — mean over the tokens, or the last token's, per model — and L2-normalized.
// Inputs are queued in groups of at most --max-seqs, so a long list never overflows the queue.
#include <cmath>
#include <cstring>
#include <thread>

#include "server/api.h"

namespace frugal::server {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& msg, int status = 400) {
  throw ApiError(status, "'" + path + "' " + msg, path, status == 400 ? "invalid_type" : "invalid_value");
}

constexpr size_t kMaxInputs = 2048;  // OpenAI's limit per request

// `input`: a string, a list of strings, a list of token ids, or a list of token-id lists.
std::vector<std::vector<int32_t>> decode_inputs(const ServedModel& m, const json& input, const char* field_name) {
  std::vector<std::vector<int32_t>> out;
  const int64_t V = m.model->config().n_vocab;
  EncodeOptions eo;
  eo.add_special = true;  // the BOS the model was trained with
  auto text = [&](const std::string& s) {
    if (s.empty()) bad(field_name, "must not contain empty strings", 422);
    out.push_back(m.tok->encode(s, eo));
  };
  auto ids = [&](const json& a, const std::string& path) {
    std::vector<int32_t> t;
    for (const auto& x : a) {
      if (!x.is_number_integer()) bad(path, "must hold token ids (integers)");
      const int64_t id = x.get<int64_t>();
      if (id < 0 || id >= V) bad(path, strfmt("holds token id %lld, outside [0, %lld)", (long long)id, (long long)V), 422);
      t.push_back(int32_t(id));
    }
    if (t.empty()) bad(path, "must not be empty", 422);
    out.push_back(std::move(t));
  };
  if (input.is_string()) {
    text(input.get<std::string>());
  } else if (input.is_array() && !input.empty() && input[0].is_number()) {
    ids(input, field_name);
  } else if (input.is_array() && !input.empty()) {
    if (input.size() > kMaxInputs) bad(field_name, strfmt("holds %zu inputs, more than %zu", input.size(), kMaxInputs), 422);
    for (size_t i = 0; i < input.size(); ++i) {
      const std::string p = std::string(field_name) + "[" + std::to_string(i) + "]";
      if (input[i].is_string()) text(input[i].get<std::string>());
      else if (input[i].is_array()) ids(input[i], p);
      else bad(p, "must be a string or a list of token ids");
    }
  } else {
    bad(field_name, input.is_array() ? "must not be empty" : "must be a string, a list of strings or token ids", input.is_array() ? 422 : 400);
  }
  return out;
}

// Runs the prompts through the engine, at most --max-seqs at a time; returns one normalized
// vector each. alive() false cancels what runs and returns empty.
// Every input must fit the context (checked before the reply starts: a 400, not a cut stream).
void check_lengths(const ServedModel& m, const std::vector<std::vector<int32_t>>& prompts) {
  const int64_t n_ctx = m.engine->options().n_ctx;
  for (size_t i = 0; i < prompts.size(); ++i)
    if (int64_t(prompts[i].size()) >= n_ctx)
      throw ApiError(400,
                     strfmt("input %zu has %zu tokens; this model's context is %lld tokens", i, prompts[i].size(), (long long)n_ctx),
                     "input", "context_length_exceeded");
}

std::vector<std::vector<float>> embed_all(ServedModel& m, const std::vector<std::vector<int32_t>>& prompts,
                                          const std::function<bool()>& alive) {
  std::vector<std::vector<float>> out(prompts.size());
  const size_t group = size_t(std::max<int64_t>(1, std::min(m.engine->options().max_seqs, m.engine->options().max_queue)));
  for (size_t g = 0; g < prompts.size(); g += group) {
    auto requests = [&] {
      std::vector<GenRequest> rs;
      for (size_t i = g; i < std::min(prompts.size(), g + group); ++i) {
        GenRequest r;
        r.prompt = prompts[i];
        r.max_tokens = 1;
        r.embed = m.pooling;
        rs.push_back(std::move(r));
      }
      return rs;
    };
    // The reply has started (200): a full queue is waited out, not answered with a 429.
    std::vector<std::shared_ptr<GenStream>> streams;
    while (streams.empty()) {
      try {
        streams = m.engine->submit(requests());
      } catch (const QueueFull&) {
        if (!alive()) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    for (size_t k = 0; k < streams.size(); ++k) {
      GenChunk c;
      bool done = false;
      while (!done) {
        if (!alive()) {
          for (auto& s : streams) s->cancel();
          return {};
        }
        if (!streams[k]->wait(c, std::chrono::milliseconds(200))) continue;
        if (!c.embedding.empty()) out[g + k] = std::move(c.embedding);
        done = c.done;
        if (done && c.finish == Finish::resource)
          throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
      }
      if (out[g + k].empty()) throw ApiError(500, "internal error: no embedding computed", "", "internal_error");
    }
  }
  return out;
}

std::string base64(const std::vector<float>& v) {
  static const char* tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * 4, '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian float32, as OpenAI sends
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t a = uint8_t(bytes[i]), b = i + 1 < bytes.size() ? uint8_t(bytes[i + 1]) : 0,
                   c = i + 2 < bytes.size() ? uint8_t(bytes[i + 2]) : 0;
    const uint32_t n = (a << 16) | (b << 8) | c;
    out += tab[(n >> 18) & 63];
    out += tab[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? tab[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? tab[n & 63] : '=';
  }
  return out;
}

json floats(const std::vector<float>& v) {
  json a = json::array();
  for (float x : v) a.push_back(x);
  return a;
}

int64_t total_tokens(const std::vector<std::vector<int32_t>>& ps) {
  int64_t n = 0;
  for (auto& p : ps) n += int64_t(p.size());
  return n;
}

// The checks that need no model are made by the endpoints, before it is held; the inputs
// (strings or token ids) are tokenized, and ids checked, with it.
Reply handle_embeddings(ServedModel& m, const json& body) {
  const json* input = field(body, "input");
  const std::string fmt = string_field(body, "encoding_format", "float");
  if (const json* d = field(body, "dimensions")) {
    if (d->get<int64_t>() != m.model->config().n_embd)
      throw ApiError(422, strfmt("'dimensions': this model's embeddings have %lld dimensions", (long long)m.model->config().n_embd),
                     "dimensions", "invalid_value");
  }
  auto prompts = std::make_shared<std::vector<std::vector<int32_t>>>(decode_inputs(m, *input, "input"));
  check_lengths(m, *prompts);
  Reply r;
  r.log->prompt_tokens = total_tokens(*prompts);
  r.body = [&m, prompts, fmt](const std::function<bool()>& alive) {
    const auto vs = embed_all(m, *prompts, alive);
    json data = json::array();
    for (size_t i = 0; i < vs.size(); ++i)
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", fmt == "base64" ? json(base64(vs[i])) : floats(vs[i])}});
    const int64_t n = total_tokens(*prompts);
    return dump({{"object", "list"}, {"data", data}, {"model", m.name}, {"usage", {{"prompt_tokens", n}, {"total_tokens", n}}}});
  };
  return r;
}

// Ollama: /api/embed {model, input: string | [string]} -> {embeddings: [[...]]}; the older
// /api/embeddings {model, prompt} -> {embedding: [...]}.
Reply handle_ollama_embed(ServedModel& m, const json& body) {
  const bool legacy = !body.contains("input") && body.contains("prompt");
  const json* input = field(body, legacy ? "prompt" : "input");
  auto prompts = std::make_shared<std::vector<std::vector<int32_t>>>(decode_inputs(m, *input, legacy ? "prompt" : "input"));
  check_lengths(m, *prompts);
  Reply r;
  r.log->prompt_tokens = total_tokens(*prompts);
  r.body = [&m, prompts, legacy](const std::function<bool()>& alive) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto vs = embed_all(m, *prompts, alive);
    if (legacy) return dump({{"embedding", vs.empty() ? json::array() : floats(vs[0])}});
    json es = json::array();
    for (auto& v : vs) es.push_back(floats(v));
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    return dump({{"model", m.name}, {"embeddings", es}, {"total_duration", ns}, {"load_duration", 0},
                 {"prompt_eval_count", total_tokens(*prompts)}});
  };
  return r;
}

}  // namespace

Runner embeddings_endpoint(const json& body) {
  if (!field(body, "input")) throw ApiError(400, "'input' is required", "input", "missing_field");
  const std::string fmt = string_field(body, "encoding_format", "float");
  if (fmt != "float" && fmt != "base64") throw ApiError(422, "'encoding_format' must be float or base64", "encoding_format", "invalid_value");
  if (const json* d = field(body, "dimensions"); d && !d->is_number_integer())
    throw ApiError(400, "'dimensions' must be an integer", "dimensions", "invalid_type");
  return [body](ServedModel& m) { return handle_embeddings(m, body); };
}

Runner ollama_embed_endpoint(const json& body) {
  const bool legacy = !body.contains("input") && body.contains("prompt");
  const json* input = field(body, legacy ? "prompt" : "input");
  if (!input) throw ApiError(400, "'input' is required", "input", "missing_field");
  if (!input->is_string() && !(input->is_array() && !input->empty() && (*input)[0].is_string()))
    throw ApiError(400, "'input' must be a string or a list of strings", "input", "invalid_type");
  return [body](ServedModel& m) { return handle_ollama_embed(m, body); };
}

}  // namespace frugal::server
