#include "chat/output_parser.h"

#include <algorithm>
#include <random>
#include <span>

#include "chat/tool_call_syntax.h"

namespace frugal::chat {

using namespace detail;

namespace {

constexpr size_t npos = std::string_view::npos;

// Bytes at the end of s that begin a UTF-8 sequence not yet complete (0 to 3).
size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    auto b = static_cast<unsigned char>(s[s.size() - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Earliest occurrence of any tag (the longer one on a tie); pos == npos when none.
struct Match {
  size_t pos = npos;
  size_t tag = 0;
};
Match find_first(std::string_view s, std::span<const std::string_view> tags) {
  Match m;
  for (size_t t = 0; t < tags.size(); ++t) {
    size_t p = s.find(tags[t]);
    if (p != npos && (p < m.pos || (p == m.pos && tags[t].size() > tags[m.tag].size()))) m = {p, t};
  }
  return m;
}

// Length of the longest suffix of s that is a proper prefix of some tag: text that may still
// become a tag and so cannot be given away yet.
size_t partial_tail(std::string_view s, std::span<const std::string_view> tags) {
  size_t best = 0;
  for (std::string_view tag : tags) {
    for (size_t len = std::min(tag.size() - 1, s.size()); len > best; --len) {
      if (s.ends_with(tag.substr(0, len))) {
        best = len;
        break;
      }
    }
  }
  return best;
}

// A text field (reasoning or content) trimmed at both ends: leading whitespace is dropped,
// whitespace is held back until non-whitespace follows it, and so is an incomplete UTF-8
// sequence, so that every emitted fragment is whole characters.
struct Field {
  std::string held;
  bool started = false;

  std::string append(std::string_view text) {
    held += text;
    size_t end = held.size() - incomplete_utf8_tail(held);
    while (end > 0 && is_space(held[end - 1])) --end;
    size_t begin = 0;
    if (!started) {
      while (begin < held.size() && is_space(held[begin])) ++begin;
    }
    if (begin >= end) {
      held.erase(0, begin);
      return {};
    }
    std::string out = held.substr(begin, end - begin);
    held.erase(0, end);
    started = true;
    return out;
  }
};

Delta text_delta(DeltaKind kind, std::string text) {
  Delta d;
  d.kind = kind;
  d.text = std::move(text);
  return d;
}

enum class State { start, reasoning, body_start, content, ds_block, ds_call, qwen_call, llama_json };

constexpr std::string_view kReasoningTags[] = {kThinkEnd};
constexpr std::string_view kDeepSeekReasoningTags[] = {kThinkEnd, kDsCallsBegin};
constexpr std::string_view kDeepSeekOpenTags[] = {kDsCallsBegin, kDsCallBegin};
constexpr std::string_view kDeepSeekBlockTags[] = {kDsCallBegin, kDsCallsEnd};
constexpr std::string_view kDeepSeekCallTags[] = {kDsCallEnd};
constexpr std::string_view kQwenOpenTags[] = {kQwenCallBegin};
constexpr std::string_view kQwenCallTags[] = {kQwenCallEnd};

}  // namespace

struct OutputParser::Impl {
  ParserConfig cfg;
  uint64_t seed = 0;
  std::vector<std::string_view> stops;

  std::string stop_buf;  // raw text not yet given to the parser (a stop string may start here)
  bool stopped = false, finished = false;

  std::string buf;  // parser input; buf[0, pos) is consumed
  size_t pos = 0;
  State state = State::start;
  std::string raw;  // the tool call being collected (or the Llama prefix)
  bool ds_in_block = false;

  Field reasoning, content;
  ParsedMessage msg;
  std::vector<Delta>* out = nullptr;

  std::string_view rest() const { return std::string_view(buf).substr(pos); }

  void emit_reasoning(std::string_view text) {
    std::string s = reasoning.append(text);
    if (s.empty()) return;
    msg.reasoning_content += s;
    out->push_back(text_delta(DeltaKind::reasoning, std::move(s)));
  }
  void emit_content(std::string_view text) {
    std::string s = content.append(text);
    if (s.empty()) return;
    msg.content += s;
    out->push_back(text_delta(DeltaKind::content, std::move(s)));
  }
  void emit_call(ToolCall call) {
    size_t index = msg.tool_calls.size();
    call.id = make_call_id(seed, index);
    msg.tool_calls.push_back(call);
    Delta d;
    d.kind = DeltaKind::tool_call;
    d.tool_index = index;
    d.call = std::move(call);
    out->push_back(std::move(d));
  }

  // Gives the text before the first tag to `sink` and consumes the tag: returns its index.
  // Without a complete tag, gives away all but a possible partial tag and returns npos.
  template <class Sink>
  size_t take_until(std::span<const std::string_view> tags, bool at_end, Sink sink) {
    std::string_view r = rest();
    Match m = find_first(r, tags);
    if (m.pos != npos) {
      sink(r.substr(0, m.pos));
      pos += m.pos + tags[m.tag].size();
      return m.tag;
    }
    size_t safe = at_end ? r.size() : r.size() - partial_tail(r, tags);
    sink(r.substr(0, safe));
    pos += safe;
    return npos;
  }

  // Starts with `tag` (after whitespace): 1; may still (more text needed): 0; cannot: -1.
  static int starts_with_tag(std::string_view r, std::string_view tag, bool at_end, size_t* ws) {
    size_t i = 0;
    while (i < r.size() && is_space(r[i])) ++i;
    *ws = i;
    std::string_view t = r.substr(i);
    if (t.starts_with(tag)) return 1;
    if (!at_end && tag.starts_with(t)) return 0;
    return -1;
  }

  // One move of the state machine; false when it needs more text.
  bool step(bool at_end) {
    switch (state) {
      case State::start: {
        if (!cfg.parse_reasoning) {
          state = State::body_start;
          return true;
        }
        size_t ws = 0;
        int s = starts_with_tag(rest(), kThinkBegin, at_end, &ws);
        if (s == 0) return false;
        if (s == 1) pos += ws + kThinkBegin.size();
        state = (s == 1 || cfg.starts_in_reasoning) ? State::reasoning : State::body_start;
        return true;
      }
      case State::reasoning: {
        // DeepSeek's tool-call token cannot be part of thinking: a model that skipped the
        // thinking (or did not close it) is calling a tool.
        std::span<const std::string_view> tags = kReasoningTags;
        if (cfg.tool_format == ToolFormat::deepseek) tags = kDeepSeekReasoningTags;
        size_t tag = take_until(tags, at_end, [&](std::string_view t) { emit_reasoning(t); });
        if (tag == npos) return false;
        state = tag == 0 ? State::body_start : State::ds_block;
        ds_in_block = tag == 1;
        return true;
      }
      case State::body_start: return step_body_start(at_end);
      case State::content: return step_content(at_end);
      case State::ds_block: {
        size_t tag = take_until(kDeepSeekBlockTags, at_end, [&](std::string_view t) { emit_content(t); });
        if (tag == npos) return false;
        if (tag == 0) raw.clear();
        state = tag == 0 ? State::ds_call : State::content;
        ds_in_block = tag == 0;
        return true;
      }
      case State::ds_call: {
        if (take_until(kDeepSeekCallTags, at_end, [&](std::string_view t) { raw += t; }) == npos) return false;
        if (auto call = parse_deepseek_call(raw)) emit_call(std::move(*call));
        else emit_content(std::string(kDsCallBegin) + raw + std::string(kDsCallEnd));
        state = ds_in_block ? State::ds_block : State::content;
        return true;
      }
      case State::qwen_call: {
        if (take_until(kQwenCallTags, at_end, [&](std::string_view t) { raw += t; }) == npos) return false;
        if (auto call = parse_json_call(raw)) emit_call(std::move(*call));
        else emit_content(std::string(kQwenCallBegin) + raw + std::string(kQwenCallEnd));
        state = State::content;
        return true;
      }
      case State::llama_json: return step_llama(at_end);
    }
    return false;
  }

  // After the reasoning (or at the start): Llama 3 tool calls are the whole output, so they are
  // recognised here only.
  bool step_body_start(bool at_end) {
    state = State::content;
    if (cfg.tool_format != ToolFormat::llama3) return true;
    size_t ws = 0;
    int s = starts_with_tag(rest(), kLlamaPythonTag, at_end, &ws);
    if (s == 0) {  // only whitespace or a prefix of the tag so far
      state = State::body_start;
      return false;
    }
    if (s == 1) {
      raw = std::string(rest().substr(0, ws + kLlamaPythonTag.size()));
      pos += ws + kLlamaPythonTag.size();
      state = State::llama_json;
    } else if (ws < rest().size() && rest()[ws] == '{') {
      raw.clear();
      pos += ws;
      state = State::llama_json;
    }
    return true;
  }

  bool step_content(bool at_end) {
    std::span<const std::string_view> tags;
    if (cfg.tool_format == ToolFormat::deepseek) tags = kDeepSeekOpenTags;
    if (cfg.tool_format == ToolFormat::qwen) tags = kQwenOpenTags;
    size_t tag = take_until(tags, at_end, [&](std::string_view t) { emit_content(t); });
    if (tag == npos) return false;
    raw.clear();
    if (cfg.tool_format == ToolFormat::qwen) {
      state = State::qwen_call;
    } else {
      ds_in_block = tag == 0;
      state = tag == 0 ? State::ds_block : State::ds_call;
    }
    return true;
  }

  // JSON objects separated by whitespace or ';'. Each valid call is emitted when its object
  // closes; the first thing that is not a call turns the rest (with the prefix) into content.
  bool step_llama(bool at_end) {
    std::string_view r = rest();
    size_t i = 0;
    while (i < r.size() && (is_space(r[i]) || r[i] == ';')) ++i;
    if (i == r.size()) {
      if (!at_end) return false;
      pos += i;
      state = State::content;
      return true;
    }
    if (r[i] == '{') {
      size_t end = json_value_end(r, i);
      if (end == npos && !at_end) return false;
      if (end != npos) {
        if (auto call = parse_json_call(r.substr(i, end - i))) {
          emit_call(std::move(*call));
          raw.clear();
          pos += end;
          return true;
        }
      }
    }
    // Not a call: it and what follows are content.
    emit_content(raw);
    raw.clear();
    if (!msg.tool_calls.empty()) pos += i;  // the separator after the last call
    state = State::content;
    return true;
  }

  void feed(std::string_view text, bool at_end) {
    buf += text;
    while (step(at_end)) {
    }
    buf.erase(0, pos);
    pos = 0;
  }

  // Min over stop strings of the end of their first occurrence (the first a growing text
  // completes); returns the start of that occurrence or npos.
  // The start of the earliest-ending stop string in stop_buf (npos: none); *which = that string.
  size_t find_stop(std::string* which) const {
    size_t best_end = npos, best_start = npos;
    for (std::string_view s : stops) {
      size_t p = stop_buf.find(s);
      if (p == npos) continue;
      size_t e = p + s.size();
      if (e < best_end || (e == best_end && p < best_start)) best_end = e, best_start = p, *which = std::string(s);
    }
    return best_start;
  }
};

OutputParser::OutputParser(const ParserConfig& cfg) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
  impl_->seed = cfg.id_seed ? *cfg.id_seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  for (const std::string& s : impl_->cfg.stop) {
    if (!s.empty()) impl_->stops.push_back(s);
  }
}

OutputParser::~OutputParser() = default;

PushResult OutputParser::push(std::string_view piece) {
  Impl& p = *impl_;
  PushResult res;
  if (p.stopped || p.finished) {
    res.stopped = p.stopped;
    return res;
  }
  p.out = &res.deltas;
  if (p.stops.empty()) {
    p.feed(piece, false);
  } else {
    p.stop_buf += piece;
    std::string which;
    size_t at = p.find_stop(&which);
    if (at != npos) {
      p.feed(std::string_view(p.stop_buf).substr(0, at), false);
      p.stop_buf.clear();
      p.stopped = p.msg.stopped = true;
      p.msg.stop_string = std::move(which);
    } else {
      size_t safe = p.stop_buf.size() - partial_tail(p.stop_buf, p.stops);
      p.feed(std::string_view(p.stop_buf).substr(0, safe), false);
      p.stop_buf.erase(0, safe);
    }
  }
  res.stopped = p.stopped;
  return res;
}

std::vector<Delta> OutputParser::finish(bool truncated) {
  Impl& p = *impl_;
  std::vector<Delta> deltas;
  if (p.finished) return deltas;
  p.finished = true;
  p.out = &deltas;
  p.feed(p.stop_buf, true);
  p.stop_buf.clear();
  switch (p.state) {
    case State::reasoning:
      if (p.cfg.starts_in_reasoning && !truncated) {
        // No </think>: the model skipped thinking; what looked like reasoning is the answer.
        p.msg.content = std::move(p.msg.reasoning_content) + p.msg.content;
        p.msg.reasoning_content.clear();
        p.msg.reasoning_reclassified = true;
        deltas.push_back(text_delta(DeltaKind::reasoning_to_content, {}));
      }
      break;
    case State::ds_call: p.emit_content(std::string(kDsCallBegin) + p.raw); break;
    case State::qwen_call: p.emit_content(std::string(kQwenCallBegin) + p.raw); break;
    default: break;
  }
  p.raw.clear();
  return deltas;
}

const ParsedMessage& OutputParser::result() const { return impl_->msg; }
bool OutputParser::stopped() const { return impl_->stopped; }

}  // namespace frugal::chat
