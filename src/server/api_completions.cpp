// POST /v1/completions (and DeepSeek's /beta/completions): raw text continuation, with
// `suffix` as fill-in-the-middle through the model's FIM tokens.
#include <algorithm>

#include "server/api.h"
#include "server/completion_spec.h"

namespace frugal::server {

namespace {

// The FIM token triple a tokenizer knows: Qwen's <|fim_prefix|>..., DeepSeek's <｜fim▁begin｜>...
// Returns the prompt prefix/suffix/middle markers, or nothing.
struct FimTokens {
  std::string pre, suf, mid;
};
std::optional<FimTokens> fim_tokens(const Tokenizer& tok) {
  const FimTokens cands[] = {{"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"},
                             {"<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"},
                             {"<fim_prefix>", "<fim_suffix>", "<fim_middle>"}};
  auto single = [&](const std::string& s) { return tok.encode(s, EncodeOptions{}).size() == 1; };
  for (const auto& c : cands)
    if (single(c.pre) && single(c.suf) && single(c.mid)) return c;
  return std::nullopt;
}

// Finds stop strings in the generated text; what may still be the start of one is held back.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
    stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
  }
  // Returns the text that is safe to emit; sets stopped() when a stop string appeared.
  std::string push(const std::string& piece) {
    if (stopped_) return "";
    held_ += piece;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, held_.find(s));
    if (cut != std::string::npos) {
      stopped_ = true;
      std::string out = held_.substr(0, cut);
      held_.clear();
      return out;
    }
    size_t keep = 0;  // longest suffix of held_ that starts some stop string
    for (const auto& s : stops_)
      for (size_t k = std::min(s.size() - 1, held_.size()); k > keep; --k)
        if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
          keep = k;
          break;
        }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }
  std::string flush() {
    std::string out = stopped_ ? "" : held_;
    held_.clear();
    return out;
  }
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

struct Choice {
  Choice(const Tokenizer& t, const std::vector<std::string>& stop) : dec(t), stop(stop) {}
  StreamDecoder dec;
  StopMatcher stop;
  std::string text, fresh;  // all text / since the last event
  int64_t tokens = 0;
  Finish finish = Finish::none;
  bool ended = false;
  json lp_tokens = json::array(), lp_values = json::array(), lp_top = json::array(), lp_offsets = json::array();

  void take(const Tokenizer& tok, GenChunk& c, GenStream& s) {
    for (size_t i = 0; i < c.tokens.size() && !stop.stopped(); ++i) {
      ++tokens;
      if (i < c.logprobs.size()) {
        const auto& lp = c.logprobs[i];
        lp_tokens.push_back(tok.token_bytes(lp.id));
        lp_values.push_back(lp.logprob);
        json top = json::object();
        for (auto [id, l] : lp.top) top[tok.token_bytes(id)] = l;
        lp_top.push_back(top);
        lp_offsets.push_back(text.size() + fresh.size());
      }
      fresh += stop.push(dec.push(c.tokens[i]));
      if (stop.stopped()) {
        s.cancel();
        finish = Finish::stop;
      }
    }
    if (c.done) {
      fresh += stop.push(dec.flush());
      fresh += stop.flush();
      if (finish == Finish::none) finish = c.finish == Finish::cancelled ? Finish::stop : c.finish;
      ended = true;
    }
  }
  // Completions-style logprobs of tokens from..end.
  json logprobs_json(size_t from = 0) const {
    auto tail = [&](const json& a) { return json(std::vector<json>(a.begin() + std::ptrdiff_t(from), a.end())); };
    return {{"tokens", tail(lp_tokens)}, {"token_logprobs", tail(lp_values)}, {"top_logprobs", tail(lp_top)},
            {"text_offset", tail(lp_offsets)}};
  }
};

}  // namespace

namespace {

Reply handle_completion(ServedModel& m, const CompletionSpec& spec) {
  CommonParams common = spec.common;
  std::vector<int32_t> prompt;
  for (int64_t v : spec.ids) {
    if (v < 0 || v >= m.tok->n_vocab()) throw ApiError(422, strfmt("token id %lld is outside the vocabulary", (long long)v), "prompt", "invalid_value");
    prompt.push_back(int32_t(v));
  }
  EncodeOptions eo;
  eo.add_special = true;  // a raw prompt gets the BOS the model was trained with
  if (!spec.suffix.empty()) {
    const auto fim = fim_tokens(*m.tok);
    if (!fim) throw ApiError(400, "model '" + m.name + "' has no fill-in-the-middle tokens; 'suffix' is not supported", "suffix", "unsupported_value");
    prompt = m.tok->encode(fim->pre + spec.text + fim->suf + spec.suffix + fim->mid, eo);
  } else if (spec.ids.empty()) {
    prompt = m.tok->encode(spec.text, eo);
  }
  if (prompt.empty()) throw ApiError(400, "'prompt' is empty", "prompt");
  const int32_t top_logprobs = spec.top_logprobs;
  // Legacy completions default to 16 tokens.
  if (!common.max_tokens) common.max_tokens = std::min<int64_t>(16, m.engine->options().n_ctx - int64_t(prompt.size()));
  const int64_t budget = completion_budget(m, int64_t(prompt.size()), common);
  auto streams = submit_all(m, prompt, common, budget, top_logprobs);

  const Envelope env{make_id("cmpl-"), m.name, unix_now()};
  Reply reply;
  auto log = reply.log;
  log->prompt_tokens = int64_t(prompt.size());
  auto choices = std::make_shared<std::vector<std::unique_ptr<Choice>>>();
  for (size_t i = 0; i < streams.size(); ++i) choices->push_back(std::make_unique<Choice>(*m.tok, common.stop));
  const Tokenizer* tok = m.tok.get();
  auto usage = std::make_shared<Usage>();
  usage->prompt = int64_t(prompt.size());
  auto totals = [choices, usage, log] {
    usage->completion = 0;
    for (auto& c : *choices) usage->completion += c->tokens;
    log->completion_tokens = usage->completion;
    log->cached_tokens = usage->cached;
  };
  const bool want_lp = top_logprobs >= 0;

  if (!common.stream) {
    auto shared = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
    reply.body = [=](const std::function<bool()>& alive) {
      drive(
          *shared,
          [&](size_t i, GenChunk& c) {
            if (c.started && i == 0) usage->cached = c.cached_tokens;
            (*choices)[i]->take(*tok, c, *(*shared)[i]);
          },
          alive, [] { return true; });
      totals();
      json arr = json::array();
      for (size_t i = 0; i < choices->size(); ++i) {
        auto& c = *(*choices)[i];
        arr.push_back({{"text", c.fresh},
                       {"index", i},
                       {"logprobs", want_lp ? c.logprobs_json() : json(nullptr)},
                       {"finish_reason", finish_reason_name(c.finish)}});
      }
      return dump(env.body("text_completion", arr, usage.get()));
    };
    return reply;
  }
  const bool include_usage = common.include_usage;
  auto shared = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
  reply.stream = [=](const std::function<bool(const std::string&)>& write) {
    bool alive = true;
    auto event = [&](json ch) { return write(env.event("text_completion", json::array({std::move(ch)}))); };
    drive(
        *shared,
        [&](size_t i, GenChunk& c) {
          if (c.started && i == 0) usage->cached = c.cached_tokens;
          auto& ch = *(*choices)[i];
          const size_t lp0 = ch.lp_tokens.size();
          ch.take(*tok, c, *(*shared)[i]);
          if (!alive || (ch.fresh.empty() && !ch.ended && ch.lp_tokens.size() == lp0)) return;
          const json lp = want_lp ? ch.logprobs_json(lp0) : json(nullptr);
          ch.text += ch.fresh;
          alive = event({{"text", ch.fresh},
                         {"index", i},
                         {"logprobs", lp},
                         {"finish_reason", ch.ended ? json(finish_reason_name(ch.finish)) : json(nullptr)}});
          ch.fresh.clear();
        },
        [&] { return alive; }, [&] { return alive = alive && write(": keep-alive\n\n"); });
    totals();
    if (alive) env.end_stream("text_completion", include_usage, *usage, write);
  };
  return reply;
}

}  // namespace

Runner completion_endpoint(const json& body) {
  auto spec = std::make_shared<const CompletionSpec>(decode_completion(body));
  return [spec](ServedModel& m) { return handle_completion(m, *spec); };
}

}  // namespace frugal::server
