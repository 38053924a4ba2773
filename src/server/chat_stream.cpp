#include "server/chat_stream.h"

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

}  // namespace frugal::server
