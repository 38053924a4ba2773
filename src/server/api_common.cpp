#include "server/api_common.h"

#include <atomic>
#include <cmath>
#include <random>

namespace frugal::server {

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
