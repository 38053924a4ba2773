// POST /v1/chat/completions: the OpenAI / DeepSeek body decoded into a ChatSpec, prepared for
// the model (chat_request.h), the output split by the chat output parser into
// reasoning_content / content / tool_calls as it streams.
#include "server/api.h"
#include "server/chat_stream.h"

namespace frugal::server {

namespace {

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

Reply handle_chat(ServedModel& m, const ChatSpec& spec) {
  ChatRequest req = prepare_chat(m, spec);
  auto streams = submit_chat(m, req);
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

Runner chat_endpoint(const json& body) {
  auto spec = std::make_shared<const ChatSpec>(decode_chat_completion(body));
  return [spec](ServedModel& m) { return handle_chat(m, *spec); };
}

}  // namespace frugal::server
