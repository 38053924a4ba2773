// POST /v1/chat/completions: the request prepared (chat_request.h), the output split by the
// chat output parser into reasoning_content / content / tool_calls as it streams.
#include "server/api.h"
#include "server/chat_request.h"

namespace frugal::server {

namespace {

// Per choice: detokenizer and output parser.
struct ChoiceState {
  ChoiceState(const Tokenizer& t, const chat::ParserConfig& pc, std::string prefix, std::string suffix)
      : dec(t), parser(pc), suffix(std::move(suffix)) {
    if (!prefix.empty()) absorb(parser.push(prefix));
  }
  StreamDecoder dec;
  chat::OutputParser parser;
  int64_t tokens = 0, reasoning_tokens = 0;
  bool answering = false, ended = false;
  Finish finish = Finish::none;
  json logprobs = json::array();
  std::vector<chat::Delta> deltas;  // since the last event
  std::string suffix;               // closes a forced tool call

  void absorb(chat::PushResult r) {
    for (auto& d : r.deltas) deltas.push_back(std::move(d));
  }

  // Consumes a chunk; returns false once the output is complete (stop string hit).
  void take(const Tokenizer& tok, GenChunk& c, GenStream& s) {
    for (size_t i = 0; i < c.tokens.size() && !parser.stopped(); ++i) {
      ++tokens;
      if (i < c.logprobs.size()) logprobs.push_back(token_logprob_json(tok, c.logprobs[i]));
      auto r = parser.push(dec.push(c.tokens[i]));
      for (auto& d : r.deltas) {
        if (d.kind != chat::DeltaKind::reasoning) answering = true;
        deltas.push_back(std::move(d));
      }
      if (!answering) ++reasoning_tokens;
      if (r.stopped) {
        s.cancel();  // the scheduler frees the slot at its next step
        finish = Finish::stop;
      }
    }
    if (c.done) {
      if (finish == Finish::none) finish = c.finish;
      absorb(parser.push(dec.flush()));
      if (finish == Finish::stop && !suffix.empty()) absorb(parser.push(suffix));
      for (auto& d : parser.finish(finish == Finish::length)) deltas.push_back(std::move(d));
      if (parser.result().reasoning_content.empty()) reasoning_tokens = 0;
      ended = true;
    }
  }
  std::string finish_reason() const {
    if (finish == Finish::length || finish == Finish::resource) return finish_reason_name(finish);
    return parser.result().tool_calls.empty() ? "stop" : "tool_calls";
  }
};

json delta_json(const chat::Delta& d) {
  switch (d.kind) {
    case chat::DeltaKind::reasoning: return {{"reasoning_content", d.text}};
    case chat::DeltaKind::content: return {{"content", d.text}};
    case chat::DeltaKind::tool_call:
      return {{"tool_calls",
               json::array({{{"index", d.tool_index},
                             {"id", d.call.id},
                             {"type", "function"},
                             {"function", {{"name", d.call.name}, {"arguments", d.call.arguments}}}}})}};
    case chat::DeltaKind::reasoning_to_content:
      // A model that did not think: what streamed as reasoning was the answer. Streamed again as
      // content so that a client concatenating content has it; the final message moves it.
      return {{"content", d.text}};
  }
  return json::object();
}

}  // namespace

Reply handle_chat(ServedModel& m, const json& body) {
  ChatRequest req = prepare_chat(m, body);
  const int64_t budget = completion_budget(m, int64_t(req.prompt.size()), req.common);
  std::function<GenRequest()> extra;
  if (req.json_mode) {
    // Built once here so that a bad schema is a 400 before anything is queued.
    std::shared_ptr<JsonConstraint> proto;
    try {
      proto = std::make_shared<JsonConstraint>(req.schema ? &*req.schema : nullptr, req.schema_from_tools ? "tools[].function.parameters" : "response_format.json_schema.schema");
    } catch (const Error& e) {
      throw ApiError(400, e.what(), "response_format", "invalid_schema");
    }
    const std::string after = req.parser.starts_in_reasoning ? "</think>" : "";
    extra = [proto, after] {
      GenRequest g;
      g.constraint = std::make_unique<JsonConstraint>(*proto);
      g.constraint_after = after;
      return g;
    };
  }
  auto streams = submit_all(m, req.prompt, req.common, budget, req.top_logprobs, extra);
  const Envelope env{make_id("chatcmpl-"), m.name, unix_now()};
  Reply reply;
  auto log = reply.log;
  log->prompt_tokens = int64_t(req.prompt.size());

  auto states = std::make_shared<std::vector<std::unique_ptr<ChoiceState>>>();
  for (size_t i = 0; i < streams.size(); ++i) states->push_back(std::make_unique<ChoiceState>(*m.tok, req.parser, req.forced_prefix, req.forced_suffix));
  const Tokenizer* tok = m.tok.get();
  auto usage = std::make_shared<Usage>();
  usage->prompt = int64_t(req.prompt.size());
  auto account = [usage, log](GenChunk& c, size_t i) {
    if (c.started && i == 0) usage->cached = c.cached_tokens;
  };
  auto totals = [states, usage, log] {
    usage->completion = usage->reasoning = 0;
    for (auto& s : *states) {
      usage->completion += s->tokens;
      usage->reasoning += s->reasoning_tokens;
    }
    log->completion_tokens = usage->completion;
    log->cached_tokens = usage->cached;
  };
  const bool want_logprobs = req.top_logprobs >= 0;

  if (!req.common.stream) {
    auto shared = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
    reply.body = [=](const std::function<bool()>& alive) {
      drive(
          *shared,
          [&](size_t i, GenChunk& c) {
            account(c, i);
            (*states)[i]->take(*tok, c, *(*shared)[i]);
            (*states)[i]->deltas.clear();
          },
          alive, [] { return true; });
      totals();
      json choices = json::array();
      for (size_t i = 0; i < states->size(); ++i) {
        auto& s = *(*states)[i];
        choices.push_back({{"index", i},
                           {"message", s.parser.result().to_json()},
                           {"logprobs", want_logprobs ? json{{"content", s.logprobs}} : json(nullptr)},
                           {"finish_reason", s.finish_reason()}});
      }
      return dump(env.body("chat.completion", choices, usage.get()));
    };
    return reply;
  }

  const bool include_usage = req.common.include_usage;
  auto shared_streams = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
  reply.stream = [=](const std::function<bool(const std::string&)>& write) {
    auto chunk = [&](json choices) { return write(env.event("chat.completion.chunk", std::move(choices))); };
    bool alive = true;
    for (size_t i = 0; i < states->size() && alive; ++i)
      alive = chunk(json::array({{{"index", i},
                                  {"delta", {{"role", "assistant"}, {"content", ""}}},
                                  {"logprobs", nullptr},
                                  {"finish_reason", nullptr}}}));
    drive(
        *shared_streams,
        [&](size_t i, GenChunk& c) {
          account(c, i);
          auto& s = *(*states)[i];
          const size_t lp0 = s.logprobs.size();
          s.take(*tok, c, *(*shared_streams)[i]);
          json lps = json::array();
          for (size_t k = lp0; k < s.logprobs.size(); ++k) lps.push_back(s.logprobs[k]);
          bool first = true;
          auto lp_field = [&]() -> json {
            if (!want_logprobs || !first || lps.empty()) return nullptr;
            return json{{"content", lps}};
          };
          for (const auto& d : s.deltas) {
            if (!alive) break;
            alive = chunk(json::array({{{"index", i}, {"delta", delta_json(d)}, {"logprobs", lp_field()}, {"finish_reason", nullptr}}}));
            first = false;
          }
          if (alive && first && want_logprobs && !lps.empty())
            alive = chunk(json::array({{{"index", i}, {"delta", json::object()}, {"logprobs", lp_field()}, {"finish_reason", nullptr}}}));
          s.deltas.clear();
          if (alive && s.ended)
            alive = chunk(json::array({{{"index", i}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", s.finish_reason()}}}));
        },
        [&] { return alive; }, [&] { return alive = alive && write(": keep-alive\n\n"); });
    totals();
    if (alive) env.end_stream("chat.completion.chunk", include_usage, *usage, write);
  };
  return reply;
}

}  // namespace frugal::server
