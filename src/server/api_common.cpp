#include "server/api_common.h"

#include <atomic>
#include <cmath>
#include <random>

namespace frugal::server {

json ApiError::body() const {
  const char* type = status == 401   ? "authentication_error"
                     : status == 429 ? "rate_limit_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  json e = {{"message", what()}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}};
  return {{"error", e}};
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_field(const json& body, const char* name, const std::string& dflt) {
  const json* f = field(body, name);
  if (!f) return dflt;
  if (!f->is_string()) throw ApiError(400, std::string("'") + name + "' must be a string", name, "invalid_type");
  return f->get<std::string>();
}

namespace {

double number(const json& body, const char* name, double lo, double hi, double dflt, bool lo_open = false) {
  const json* f = field(body, name);
  if (!f) return dflt;
  if (!f->is_number()) throw ApiError(400, std::string("'") + name + "' must be a number", name, "invalid_type");
  const double v = f->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
    throw ApiError(422, strfmt("'%s' is %g; it must be in %s%g, %g]", name, v, lo_open ? "(" : "[", lo, hi), name,
                   "invalid_value");
  return v;
}

int64_t integer(const json& body, const char* name, int64_t lo, int64_t hi, int64_t dflt) {
  const json* f = field(body, name);
  if (!f) return dflt;
  if (!f->is_number_integer()) throw ApiError(400, std::string("'") + name + "' must be an integer", name, "invalid_type");
  const int64_t v = f->is_number_unsigned() && f->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : f->get<int64_t>();
  if (v < lo || v > hi)
    throw ApiError(422, strfmt("'%s' is %lld; it must be in [%lld, %lld]", name, (long long)v, (long long)lo, (long long)hi),
                   name, "invalid_value");
  return v;
}

bool boolean(const json& body, const char* name, bool dflt) {
  const json* f = field(body, name);
  if (!f) return dflt;
  if (!f->is_boolean()) throw ApiError(400, std::string("'") + name + "' must be a boolean", name, "invalid_type");
  return f->get<bool>();
}

}  // namespace

CommonParams parse_common(const json& body) {
  CommonParams p;
  SamplerParams& s = p.sampling;
  // OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p, no penalties.
  s.temperature = float(number(body, "temperature", 0, 2, 1));
  s.top_p = float(number(body, "top_p", 0, 1, 1, true));
  s.top_k = int32_t(integer(body, "top_k", -1, 1 << 20, 0));
  s.min_p = float(number(body, "min_p", 0, 1, 0));
  s.presence_penalty = float(number(body, "presence_penalty", -2, 2, 0));
  s.frequency_penalty = float(number(body, "frequency_penalty", -2, 2, 0));
  s.repeat_penalty = float(number(body, "repetition_penalty", 0, 10, 1, true));
  s.penalty_last_n = -1;  // OpenAI's penalties count the whole output
  if (const json* f = field(body, "seed")) {
    if (!f->is_number_integer()) throw ApiError(400, "'seed' must be an integer", "seed", "invalid_type");
    s.seed = f->is_number_unsigned() ? f->get<uint64_t>() : uint64_t(f->get<int64_t>());
    p.seeded = true;
  } else {
    static std::atomic<uint64_t> counter{0};
    s.seed = std::random_device{}() ^ (uint64_t(unix_now()) << 20) ^ counter++;
  }
  const char* mt = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (field(body, mt)) p.max_tokens = integer(body, mt, 1, INT64_MAX, 1);
  p.n = integer(body, "n", 1, 16, 1);
  if (const json* f = field(body, "stop")) {
    if (f->is_string()) {
      p.stop.push_back(f->get<std::string>());
    } else if (f->is_array()) {
      if (f->size() > 16) throw ApiError(422, "'stop' takes at most 16 strings", "stop", "invalid_value");
      for (const auto& x : *f) {
        if (!x.is_string()) throw ApiError(400, "'stop' must be a string or an array of strings", "stop", "invalid_type");
        p.stop.push_back(x.get<std::string>());
      }
    } else {
      throw ApiError(400, "'stop' must be a string or an array of strings", "stop", "invalid_type");
    }
  }
  p.stream = boolean(body, "stream", false);
  p.ignore_eos = boolean(body, "ignore_eos", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw ApiError(400, "'stream_options' must be an object", "stream_options", "invalid_type");
    p.include_usage = boolean(*so, "include_usage", false);
  }
  return p;
}

int64_t completion_budget(const ServedModel& m, int64_t prompt_tokens, const CommonParams& p) {
  const int64_t n_ctx = m.engine->options().n_ctx;
  if (prompt_tokens + 1 > n_ctx)
    throw ApiError(400,
                   strfmt("This model's maximum context length is %lld tokens. However, your prompt has %lld tokens "
                          "(no room left for the completion). Please reduce the length of the messages or prompt.",
                          (long long)n_ctx, (long long)prompt_tokens),
                   "messages", "context_length_exceeded");
  if (p.max_tokens && prompt_tokens + *p.max_tokens > n_ctx)
    throw ApiError(400,
                   strfmt("This model's maximum context length is %lld tokens. However, you requested %lld tokens "
                          "(%lld in the prompt, %lld for the completion). Please reduce the length of the messages "
                          "or completion.",
                          (long long)n_ctx, (long long)(prompt_tokens + *p.max_tokens), (long long)prompt_tokens,
                          (long long)*p.max_tokens),
                   "max_tokens", "context_length_exceeded");
  return p.max_tokens ? *p.max_tokens : n_ctx - prompt_tokens;
}

std::vector<std::shared_ptr<GenStream>> submit_all(ServedModel& m, const std::vector<int32_t>& prompt,
                                                   const CommonParams& p, int64_t budget, int32_t top_logprobs,
                                                   const std::function<GenRequest()>& extra) {
  if (p.n > m.engine->options().max_seqs)
    throw ApiError(503,
                   strfmt("n = %lld choices need more sequences than this server decodes at once (%lld)", (long long)p.n,
                          (long long)m.engine->options().max_seqs),
                   "n", "insufficient_system_resource");
  std::vector<GenRequest> rs;
  for (int64_t i = 0; i < p.n; ++i) {
    GenRequest r = extra ? extra() : GenRequest{};
    r.prompt = prompt;
    r.sampling = p.sampling;
    r.sampling.seed = p.sampling.seed + uint64_t(i);
    r.max_tokens = budget;
    r.top_logprobs = top_logprobs;
    r.ignore_eos = p.ignore_eos;
    rs.push_back(std::move(r));
  }
  try {
    return m.engine->submit(std::move(rs));
  } catch (const QueueFull&) {
    throw ApiError(429, "Too many requests are waiting; retry shortly.", "", "rate_limit_exceeded");
  }
}

bool drive(std::vector<std::shared_ptr<GenStream>>& streams, const std::function<void(size_t, GenChunk&)>& on_news,
           const std::function<bool()>& alive, const std::function<bool()>& keep_alive) {
  std::vector<bool> done(streams.size(), false);
  size_t n_done = 0;
  auto last_news = std::chrono::steady_clock::now();
  while (n_done < streams.size()) {
    bool any = false;
    for (size_t i = 0; i < streams.size(); ++i) {
      if (done[i]) continue;
      GenChunk c;
      // One choice waits a little; with several, each is polled in turn.
      if (!streams[i]->wait(c, std::chrono::milliseconds(streams.size() == 1 ? 100 : 5))) continue;
      any = true;
      if (c.done) {
        done[i] = true;
        ++n_done;
      }
      on_news(i, c);
    }
    const auto now = std::chrono::steady_clock::now();
    if (any) last_news = now;
    const bool ok = alive() && (now - last_news < std::chrono::seconds(2) || (last_news = now, keep_alive()));
    if (!ok) {
      for (auto& s : streams) s->cancel();
      return false;
    }
  }
  return true;
}

json token_logprob_json(const Tokenizer& tok, const TokenLogprob& lp) {
  auto one = [&](int32_t id, float logprob) {
    const std::string& b = tok.token_bytes(id);
    json bytes = json::array();
    for (unsigned char c : b) bytes.push_back(int(c));
    return json{{"token", b}, {"logprob", logprob}, {"bytes", bytes}};
  };
  json j = one(lp.id, lp.logprob);
  json top = json::array();
  for (auto [id, l] : lp.top) top.push_back(one(id, l));
  j["top_logprobs"] = top;
  return j;
}

std::string make_id(const char* prefix) {
  static const char* al = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string s = prefix;
  for (int i = 0; i < 24; ++i) s += al[rng() % 62];
  return s;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void bad_field(const std::string& path, const std::string& msg) { throw ApiError(400, path + ": " + msg, path, "invalid_request_error"); }

const std::string& required_string(const json& o, const char* key, const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string())
    bad_field(path + "." + key, it == o.end() ? "required" : std::string("expected a string, got ") + it->type_name());
  return it->get_ref<const std::string&>();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Envelope::body(const char* object, json choices, const Usage* usage) const {
  json j = {{"id", id},       {"object", object}, {"created", created}, {"model", model},
            {"system_fingerprint", "fp_frugal"}, {"choices", std::move(choices)}};
  if (usage) j["usage"] = usage->to_json();
  return j;
}

void Envelope::end_stream(const char* object, bool include_usage, const Usage& usage,
                          const std::function<bool(const std::string&)>& write) const {
  if (include_usage && !write(event(object, json::array(), &usage))) return;
  write("data: [DONE]\n\n");
}

json Usage::to_json() const {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_cache_hit_tokens", cached},
          {"prompt_cache_miss_tokens", prompt - cached},
          {"prompt_tokens_details", {{"cached_tokens", cached}}},
          {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
}

}  // namespace frugal::server
