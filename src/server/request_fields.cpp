#include "server/request_fields.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>

#include "core/error.h"

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

double number_at(const json& o, const char* key, const std::string& path, double lo, double hi, double dflt, bool lo_open) {
  const json* f = field(o, key);
  if (!f) return dflt;
  if (!f->is_number()) throw ApiError(400, "'" + path + "' must be a number", path, "invalid_type");
  const double v = f->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
    throw ApiError(422, strfmt("'%s' is %g; it must be in %s%g, %g]", path.c_str(), v, lo_open ? "(" : "[", lo, hi), path,
                   "invalid_value");
  return v;
}

int64_t integer_at(const json& o, const char* key, const std::string& path, int64_t lo, int64_t hi, int64_t dflt) {
  const json* f = field(o, key);
  if (!f) return dflt;
  if (!f->is_number_integer()) throw ApiError(400, "'" + path + "' must be an integer", path, "invalid_type");
  const int64_t v = f->is_number_unsigned() && f->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : f->get<int64_t>();
  if (v < lo || v > hi)
    throw ApiError(422, strfmt("'%s' is %lld; it must be in [%lld, %lld]", path.c_str(), (long long)v, (long long)lo, (long long)hi),
                   path, "invalid_value");
  return v;
}

bool boolean_at(const json& o, const char* key, const std::string& path, bool dflt) {
  const json* f = field(o, key);
  if (!f) return dflt;
  if (!f->is_boolean()) throw ApiError(400, "'" + path + "' must be a boolean", path, "invalid_type");
  return f->get<bool>();
}

void seed_at(const json& o, const char* key, const std::string& path, CommonParams& p) {
  if (const json* f = field(o, key)) {
    if (!f->is_number_integer()) throw ApiError(400, "'" + path + "' must be an integer", path, "invalid_type");
    p.sampling.seed = f->is_number_unsigned() ? f->get<uint64_t>() : uint64_t(f->get<int64_t>());
    p.seeded = true;
  }
}

std::vector<std::string> stop_at(const json& o, const char* key, const std::string& path) {
  std::vector<std::string> out;
  const json* f = field(o, key);
  if (!f) return out;
  if (f->is_string()) {
    out.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    if (f->size() > 16) throw ApiError(422, "'" + path + "' takes at most 16 strings", path, "invalid_value");
    for (const auto& x : *f) {
      if (!x.is_string()) throw ApiError(400, "'" + path + "' must be a string or an array of strings", path, "invalid_type");
      out.push_back(x.get<std::string>());
    }
  } else {
    throw ApiError(400, "'" + path + "' must be a string or an array of strings", path, "invalid_type");
  }
  return out;
}

CommonParams default_common() {
  CommonParams p;
  SamplerParams& s = p.sampling;
  // OpenAI's defaults: temperature 1, top_p 1, no top-k / min-p, no penalties.
  s.temperature = 1;
  s.top_p = 1;
  s.top_k = 0;
  s.min_p = 0;
  s.presence_penalty = s.frequency_penalty = 0;
  s.repeat_penalty = 1;
  s.penalty_last_n = -1;  // OpenAI's penalties count the whole output
  static std::atomic<uint64_t> counter{0};
  s.seed = std::random_device{}() ^ (uint64_t(unix_now()) << 20) ^ counter++;
  return p;
}

void read_sampling(const json& o, const std::string& prefix, CommonParams& p, const char* repetition_key) {
  SamplerParams& s = p.sampling;
  auto at = [&](const char* k) { return prefix + k; };
  s.temperature = float(number_at(o, "temperature", at("temperature"), 0, 2, s.temperature));
  s.top_p = float(number_at(o, "top_p", at("top_p"), 0, 1, s.top_p, true));
  s.top_k = int32_t(integer_at(o, "top_k", at("top_k"), -1, 1 << 20, s.top_k));
  s.min_p = float(number_at(o, "min_p", at("min_p"), 0, 1, s.min_p));
  s.presence_penalty = float(number_at(o, "presence_penalty", at("presence_penalty"), -2, 2, s.presence_penalty));
  s.frequency_penalty = float(number_at(o, "frequency_penalty", at("frequency_penalty"), -2, 2, s.frequency_penalty));
  s.repeat_penalty = float(number_at(o, repetition_key, at(repetition_key), 0, 10, s.repeat_penalty, true));
  seed_at(o, "seed", at("seed"), p);
  if (field(o, "stop")) p.stop = stop_at(o, "stop", at("stop"));
}

CommonParams parse_common(const json& body) {
  CommonParams p = default_common();
  read_sampling(body, "", p, "repetition_penalty");
  const char* mt = field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (field(body, mt)) p.max_tokens = integer_at(body, mt, mt, 1, INT64_MAX, 1);
  p.n = integer_at(body, "n", "n", 1, 16, 1);
  p.stream = boolean_at(body, "stream", "stream", false);
  p.ignore_eos = boolean_at(body, "ignore_eos", "ignore_eos", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw ApiError(400, "'stream_options' must be an object", "stream_options", "invalid_type");
    p.include_usage = boolean_at(*so, "include_usage", "stream_options.include_usage", false);
  }
  return p;
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

const std::string& required_id(const json& o, const char* key, const std::string& path) {
  const std::string& s = required_string(o, key, path);
  if (s.empty()) bad_field(path + "." + key, "must not be empty");
  return s;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace frugal::server
