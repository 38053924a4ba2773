#include "server/chat_stream.h"

#include "formats/json_file.h"
#include "runtime/json_constraint.h"

namespace frugal::server {

std::vector<std::shared_ptr<GenStream>> submit_chat(ServedModel& m, const ChatRequest& req) {
  const int64_t budget = completion_budget(m, int64_t(req.prompt.size()), req.common);
  std::function<GenRequest()> extra;
  if (req.json_mode) {
    // Built once here so that a bad schema is a 400 before anything is queued.
    std::shared_ptr<JsonConstraint> proto;
    try {
      proto = std::make_shared<JsonConstraint>(req.schema ? &*req.schema : nullptr,
                                               req.schema_from_tools ? "tools[].function.parameters"
                                                                     : "response_format.json_schema.schema");
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
  return submit_all(m, req.prompt, req.common, budget, req.top_logprobs, extra);
}

OneChoice::OneChoice(ServedModel& m, const ChatRequest& req, std::shared_ptr<ReplyLog> log)
    : streams(submit_chat(m, req)),
      state(*m.tok, req.parser, req.forced_prefix, req.forced_suffix),
      log(std::move(log)),
      tok(m.tok.get()),
      prompt_tokens(int64_t(req.prompt.size())) {
  this->log->prompt_tokens = prompt_tokens;
}

void OneChoice::run(const std::function<void(GenChunk&)>& after, const std::function<bool()>& alive,
                    const std::function<bool()>& keep_alive) {
  drive(
      streams,
      [&](size_t, GenChunk& c) {
        if (c.started) cached_tokens = c.cached_tokens;
        if (!c.tokens.empty() && first_token == Clock::time_point{}) first_token = Clock::now();
        state.take(*tok, c, *streams[0]);
        log->completion_tokens = state.tokens;
        log->cached_tokens = cached_tokens;
        after(c);
        state.deltas.clear();
      },
      alive, keep_alive);
}

json tool_arguments(const chat::ToolCall& call) {
  json args = parse_untrusted_json<json>(call.arguments);
  return args.is_object() ? args : json::object();
}

}  // namespace frugal::server
