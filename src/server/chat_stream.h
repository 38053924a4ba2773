// What the chat endpoints of every dialect share once a request is prepared (chat_request.h):
// queueing its generations (with the output constraint of a JSON mode or a forced tool call),
// and per choice the detokenizer and output parser that turn tokens into reasoning / content /
// tool-call deltas. Each dialect (OpenAI chat completions, Anthropic messages) only encodes
// those deltas.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/api.h"
#include "server/chat_request.h"

namespace frugal::server {

// Queues the request's n generations; a bad schema is a 400 before anything is queued.
std::vector<std::shared_ptr<GenStream>> submit_chat(ServedModel& m, const ChatRequest& req);

// Per choice: detokenizer and output parser; `deltas` collects what is new since the caller
// last cleared it.
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

// A request with one choice (the Anthropic and Ollama dialects): its generation, the parser
// state and the counts its reply and the request log report. Held by the reply's callbacks.
struct OneChoice {
  using Clock = std::chrono::steady_clock;
  // Queues the request (submit_chat's errors are thrown here, before any reply).
  OneChoice(ServedModel& m, const ChatRequest& req, std::shared_ptr<ReplyLog> log);
  // Drives the generation to its end: after(chunk) once each chunk is taken, then the deltas
  // are cleared. alive() false cancels; keep_alive() is asked while nothing happens.
  void run(const std::function<void(GenChunk&)>& after, const std::function<bool()>& alive,
           const std::function<bool()>& keep_alive);
  // To the end without streaming: the parser's result is the answer.
  void drain(const std::function<bool()>& alive) {
    run([](GenChunk&) {}, alive, [] { return true; });
  }

  std::vector<std::shared_ptr<GenStream>> streams;
  ChoiceState state;
  std::shared_ptr<ReplyLog> log;
  const Tokenizer* tok;
  int64_t prompt_tokens, cached_tokens = 0;
  Clock::time_point start = Clock::now(), first_token{};  // first_token: unset until one arrives
};

// A tool call's arguments as a JSON object (the parser checked they parse; {} otherwise).
json tool_arguments(const chat::ToolCall& call);

}  // namespace frugal::server
