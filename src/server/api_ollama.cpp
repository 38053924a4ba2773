// Ollama's API: /api/chat and /api/generate (NDJSON streaming, on by default as in Ollama),
// /api/tags, /api/show, /api/ps and /api/version. Chat requests are decoded into the
// chat-completions shape the rest of the server validates (options, format, think, tools;
// Ollama's tool results carry no call id, so they are paired with the calls they answer in
// order), and the output parser's deltas are encoded as Ollama's messages: thinking apart from
// content, tool calls with their arguments as objects, durations in nanoseconds.
#include <sys/stat.h>

#include <chrono>
#include <ctime>

#include "server/api.h"
#include "formats/gguf.h"
#include "model/quant_policy.h"
#include "server/chat_stream.h"

namespace frugal::server {

namespace {

// RFC 3339 with nanoseconds, UTC, as Ollama writes created_at / modified_at / expires_at.
std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t s = std::time_t(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, (long long)(ns % 1000000000));
  return buf;
}
std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

// options {temperature, top_p, top_k, min_p, seed, num_predict, stop, repeat_penalty,
// presence_penalty, frequency_penalty, ...} into chat-completions fields; options frugal has
// no use for (num_ctx, num_thread, mirostat, ...) are ignored, as Ollama ignores unknown ones.
void decode_options(const json& body, json& out) {
  auto o = body.find("options");
  if (o == body.end() || o->is_null()) return;
  if (!o->is_object()) bad_field("options", "expected an object");
  const std::pair<const char*, const char*> same[] = {{"temperature", "temperature"}, {"top_p", "top_p"},
                                                      {"top_k", "top_k"},             {"min_p", "min_p"},
                                                      {"seed", "seed"},               {"stop", "stop"},
                                                      {"repeat_penalty", "repetition_penalty"},
                                                      {"presence_penalty", "presence_penalty"},
                                                      {"frequency_penalty", "frequency_penalty"}};
  for (auto [from, to] : same)
    if (auto v = o->find(from); v != o->end() && !v->is_null()) out[to] = *v;
  if (auto n = o->find("num_predict"); n != o->end() && !n->is_null()) {
    if (!n->is_number_integer()) bad_field("options.num_predict", "expected an integer");
    if (n->get<int64_t>() >= 0) out["max_tokens"] = *n;  // -1 (no limit) and -2 (fill the context): up to the context
  }
}

// format: "json" or a JSON schema object; think: a boolean or "low" / "medium" / "high".
void decode_format_think(const json& body, json& out) {
  if (auto f = body.find("format"); f != body.end() && !f->is_null()) {
    if (f->is_string() && f->get<std::string>() == "json") out["response_format"] = {{"type", "json_object"}};
    else if (f->is_string() && f->get<std::string>().empty()) {
    } else if (f->is_object()) out["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "format"}, {"schema", *f}}}};
    else bad_field("format", "expected \"json\" or a JSON schema object");
  }
  if (auto t = body.find("think"); t != body.end() && !t->is_null()) {
    if (t->is_boolean()) {
      out["thinking"] = {{"type", t->get<bool>() ? "enabled" : "disabled"}};
    } else if (t->is_string() && (*t == "low" || *t == "medium" || *t == "high")) {
      out["thinking"] = {{"type", "enabled"}};
      out["reasoning_effort"] = *t;
    } else {
      bad_field("think", "expected true, false, \"low\", \"medium\" or \"high\"");
    }
  }
}

// Ollama messages into chat-completions messages: assistant tool calls get ids, and each tool
// result is paired with the first unanswered call (of its tool_name, when given).
json decode_messages(const json& msgs) {
  if (!msgs.is_array()) bad_field("messages", "expected an array");
  json out = json::array();
  std::vector<std::pair<std::string, std::string>> pending;  // (id, name) of unanswered calls
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    const std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad_field(p, "expected an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) bad_field(p + ".role", "missing or not a string");
    if (auto im = m.find("images"); im != m.end() && !im->is_null() && !(im->is_array() && im->empty()))
      bad_field(p + ".images", "images are not supported: this server runs text-only models");
    json msg = {{"role", *role}};
    if (auto c = m.find("content"); c != m.end()) msg["content"] = *c;
    else msg["content"] = "";
    if (auto th = m.find("thinking"); th != m.end() && th->is_string() && !th->get<std::string>().empty())
      msg["reasoning_content"] = *th;
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (!tc->is_array()) bad_field(p + ".tool_calls", "expected an array");
      json calls = json::array();
      for (size_t k = 0; k < tc->size(); ++k) {
        const json& c = (*tc)[k];
        const std::string q = p + ".tool_calls[" + std::to_string(k) + "]";
        auto fn = c.is_object() ? c.find("function") : c.end();
        if (!c.is_object() || fn == c.end() || !fn->is_object()) bad_field(q + ".function", "expected an object");
        auto name = fn->find("name");
        if (name == fn->end() || !name->is_string()) bad_field(q + ".function.name", "missing or not a string");
        auto args = fn->find("arguments");
        const std::string id = c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : "call_" + std::to_string(i) + "_" + std::to_string(k);
        pending.emplace_back(id, name->get<std::string>());
        calls.push_back({{"id", id},
                         {"type", "function"},
                         {"function", {{"name", *name}, {"arguments", args == fn->end() ? json::object() : *args}}}});
      }
      msg["tool_calls"] = std::move(calls);
      if (msg["content"] == "") msg["content"] = nullptr;
    }
    if (*role == "tool") {
      const std::string want = m.contains("tool_name") && m["tool_name"].is_string() ? m["tool_name"].get<std::string>() : "";
      auto it = pending.begin();
      while (it != pending.end() && !want.empty() && it->second != want) ++it;
      if (it == pending.end()) bad_field(p, "a tool result with no earlier tool call" + (want.empty() ? std::string() : " of '" + want + "'") + " to answer");
      msg["tool_call_id"] = it->first;
      pending.erase(it);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

// The chat-completions body for /api/chat.
json decode_chat(const json& body) {
  json out = json::object();
  if (auto m = body.find("model"); m != body.end()) out["model"] = *m;
  auto msgs = body.find("messages");
  if (msgs == body.end()) bad_field("messages", "required");
  out["messages"] = decode_messages(*msgs);
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) out["tools"] = *t;
  decode_options(body, out);
  decode_format_think(body, out);
  return out;
}

// Ollama's stream flag defaults to true.
bool wants_stream(const json& body) {
  auto s = body.find("stream");
  if (s == body.end() || s->is_null()) return true;
  if (!s->is_boolean()) bad_field("stream", "expected a boolean");
  return s->get<bool>();
}

json tool_calls_json(const std::vector<chat::ToolCall>& calls) {
  json out = json::array();
  for (const auto& c : calls) out.push_back({{"id", c.id}, {"function", {{"name", c.name}, {"arguments", tool_arguments(c)}}}});
  return out;
}

std::string done_reason(const ChoiceState& s) {
  return s.finish == Finish::length || s.finish == Finish::resource ? "length" : "stop";
}

// The timing and counting every final object carries (nanoseconds).
void fill_counts(json& j, const OneChoice& r) {
  const auto end = OneChoice::Clock::now();
  const auto first = r.first_token == OneChoice::Clock::time_point{} ? end : r.first_token;
  auto ns = [](OneChoice::Clock::duration d) { return int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()); };
  j["total_duration"] = ns(end - r.start);
  j["load_duration"] = 0;  // the model is resident
  j["prompt_eval_count"] = r.prompt_tokens;
  j["prompt_eval_duration"] = ns(first - r.start);
  j["eval_count"] = r.state.tokens;
  j["eval_duration"] = ns(end - first);
}

// Runs a prepared chat request and answers in /api/chat's shape (`chat`) or /api/generate's.
Reply run(ServedModel& m, const ChatRequest& req, bool stream, bool chat) {
  Reply reply;
  auto run = std::make_shared<OneChoice>(m, req, reply.log);
  const std::string model = m.name;
  auto final_object = [run, model, stream, chat] {
    const auto& r = run->state.parser.result();
    json j = {{"model", model}, {"created_at", now_rfc3339()}};
    if (chat) {
      json msg = {{"role", "assistant"}, {"content", stream ? std::string() : r.content}};
      if (!stream && !r.reasoning_content.empty()) msg["thinking"] = r.reasoning_content;
      if (!stream && !r.tool_calls.empty()) msg["tool_calls"] = tool_calls_json(r.tool_calls);
      j["message"] = std::move(msg);
    } else {
      j["response"] = stream ? std::string() : r.content;
      if (!stream && !r.reasoning_content.empty()) j["thinking"] = r.reasoning_content;
    }
    j["done"] = true;
    j["done_reason"] = done_reason(run->state);
    fill_counts(j, *run);
    return j;
  };
  if (!stream) {
    reply.content_type = "application/json";
    reply.body = [run, final_object](const std::function<bool()>& alive) {
      run->drain(alive);
      return dump(final_object());
    };
    return reply;
  }
  reply.content_type = "application/x-ndjson";
  reply.stream = [run, model, chat, final_object](const std::function<bool(const std::string&)>& write) {
    bool alive = true;
    auto line = [&](const json& j) { alive = alive && write(dump(j) + "\n"); };
    run->run(
        [&](GenChunk&) {
          for (const auto& d : run->state.deltas) {
            json j = {{"model", model}, {"created_at", now_rfc3339()}};
            json piece = {{"role", "assistant"}, {"content", ""}};
            switch (d.kind) {
              case chat::DeltaKind::reasoning: piece["thinking"] = d.text; break;
              case chat::DeltaKind::content:
              case chat::DeltaKind::reasoning_to_content: piece["content"] = d.text; break;
              case chat::DeltaKind::tool_call: piece["tool_calls"] = tool_calls_json({d.call}); break;
            }
            if (chat) {
              j["message"] = std::move(piece);
            } else {
              j["response"] = piece["content"];
              if (piece.contains("thinking")) j["thinking"] = piece["thinking"];
            }
            j["done"] = false;
            line(j);
          }
        },
        [&] { return alive; }, [&] { return alive; });  // NDJSON has no comments: nothing to send while waiting
    if (alive) line(final_object());
  };
  return reply;
}

// The response to an empty /api/generate (Ollama's "load the model") or an empty /api/chat.
Reply load_reply(const ServedModel& m, bool chat, bool unload) {
  Reply r;
  const std::string s = dump(ollama_load_body(m.name, chat, unload));
  r.content_type = "application/json";
  r.body = [s](const std::function<bool()>&) { return s; };
  return r;
}

bool keep_alive_zero(const json& body) {
  auto k = body.find("keep_alive");
  if (k == body.end()) return false;
  return (k->is_number() && k->get<double>() == 0) || (k->is_string() && (*k == "0" || *k == "0s" || *k == "0m"));
}

}  // namespace

json ollama_load_body(const std::string& model, bool chat, bool unload) {
  json j = {{"model", model}, {"created_at", now_rfc3339()}};
  if (chat) j["message"] = {{"role", "assistant"}, {"content", ""}};
  else j["response"] = "";
  j["done"] = true;
  j["done_reason"] = unload ? "unload" : "load";
  return j;
}

bool ollama_load_request(const json& body) {
  auto empty = [&](const char* k, bool array) {
    auto it = body.find(k);
    return it == body.end() || it->is_null() || (array ? it->is_array() && it->empty() : it->is_string() && it->get_ref<const std::string&>().empty());
  };
  return empty("messages", true) && empty("prompt", false);
}

Reply handle_ollama_chat(ServedModel& m, const json& body) {
  if (auto msgs = body.find("messages"); msgs == body.end() || (msgs->is_array() && msgs->empty()))
    return load_reply(m, true, keep_alive_zero(body));
  const bool stream = wants_stream(body);
  return run(m, prepare_chat(m, decode_chat(body)), stream, true);
}

Reply handle_ollama_generate(ServedModel& m, const json& body) {
  auto pr = body.find("prompt");
  if (pr != body.end() && !pr->is_null() && !pr->is_string()) bad_field("prompt", "expected a string");
  const std::string prompt = pr == body.end() || pr->is_null() ? "" : pr->get<std::string>();
  if (prompt.empty()) return load_reply(m, false, keep_alive_zero(body));
  const bool stream = wants_stream(body);
  if (auto s = body.find("suffix"); s != body.end() && s->is_string() && !s->get<std::string>().empty())
    bad_field("suffix", "fill-in-the-middle is served at /v1/completions ('suffix')");
  if (auto t = body.find("template"); t != body.end() && t->is_string() && !t->get<std::string>().empty())
    bad_field("template", "Go templates are not supported; the model's own chat template is used");
  if (auto im = body.find("images"); im != body.end() && im->is_array() && !im->empty())
    bad_field("images", "images are not supported: this server runs text-only models");
  json chat = json::object();
  decode_options(body, chat);
  decode_format_think(body, chat);
  const bool raw = body.contains("raw") && body["raw"].is_boolean() && body["raw"].get<bool>();
  if (!raw) {
    json msgs = json::array();
    if (auto s = body.find("system"); s != body.end() && s->is_string() && !s->get<std::string>().empty())
      msgs.push_back({{"role", "system"}, {"content", *s}});
    msgs.push_back({{"role", "user"}, {"content", prompt}});
    chat["messages"] = std::move(msgs);
    return run(m, prepare_chat(m, chat), stream, false);
  }
  // raw: the prompt as it is (with the BOS the model was trained with), no reasoning split.
  ChatRequest req;
  req.common = parse_common(chat);
  EncodeOptions eo;
  eo.add_special = true;
  req.prompt = m.tok->encode(prompt, eo);
  req.parser.parse_reasoning = false;
  req.parser.stop = req.common.stop;
  if (chat.contains("response_format")) bad_field("format", "a JSON format needs the chat template (raw: false)");
  return run(m, req, stream, false);
}

namespace {
json details(const ServedModel& m) {
  const auto& f = m.model->file();
  std::string quant;
  if (auto ft = f.get_int("general.file_type"))
    for (const char* name : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M"})
      if (auto t = parse_file_type(name); t && int64_t(t->llama_id) == *ft) quant = t->name;
  int64_t params = 0;
  for (const auto& t : f.tensors()) params += t.n_elements();
  char size[32];
  std::snprintf(size, sizeof size, params >= 1000000000 ? "%.1fB" : "%.1fM", params >= 1000000000 ? double(params) / 1e9 : double(params) / 1e6);
  const std::string arch = m.model->config().arch;
  return {{"parent_model", ""}, {"format", "gguf"}, {"family", arch}, {"families", json::array({arch})},
          {"parameter_size", size}, {"quantization_level", quant}};
}

// An identifier of the file's version (Ollama's is the blob's sha256): a hash of its path,
// size and modification time, hex.
std::string digest(const std::string& path, int64_t* size_out, std::string* modified) {
  struct stat st {};
  const bool ok = ::stat(path.c_str(), &st) == 0;
  *size_out = ok ? int64_t(st.st_size) : 0;
  *modified = rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(ok ? st.st_mtime : 0)));
  const std::string key = path + "|" + std::to_string(*size_out) + "|" + *modified;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)std::hash<std::string>{}(key));
  return hex;
}
}  // namespace

json ollama_tags(const std::vector<ModelStatus>& models, bool running) {
  json list = json::array();
  const auto now = Clock::now();
  for (const ModelStatus& st : models) {
    if (running && st.state != ModelState::loaded) continue;
    int64_t file_size = 0;
    std::string modified;
    const std::string dg = digest(st.path, &file_size, &modified);
    json e = {{"name", st.name}, {"model", st.name}, {"size", running ? st.bytes : file_size}, {"digest", dg}};
    e["details"] = st.model ? details(*st.model)
                            : json{{"parent_model", ""}, {"format", st.path.ends_with(".gguf") ? "gguf" : "safetensors"},
                                   {"family", ""}, {"families", json::array()}, {"parameter_size", ""}, {"quantization_level", ""}};
    if (running) {
      // Ollama's clients read a far-future expiry as "kept loaded".
      const auto left = st.expires ? *st.expires - now : std::chrono::hours(24 * 365 * 10);
      e["expires_at"] = rfc3339(std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
      e["size_vram"] = 0;
      e["context_length"] = st.model ? st.model->engine->options().n_ctx : 0;
    } else {
      e["modified_at"] = modified;
    }
    list.push_back(std::move(e));
  }
  return {{"models", list}};
}

json ollama_show(const ServedModel& m) {
  const auto& c = m.model->config();
  json caps = json::array({"completion"});
  if (m.mt) {
    const std::string& t = m.mt->source;
    if (t.find("tools") != std::string::npos) caps.push_back("tools");
    if (t.find("<think>") != std::string::npos || t.find("reasoning_content") != std::string::npos) caps.push_back("thinking");
  }
  json info = {{"general.architecture", c.arch}, {c.arch + ".context_length", c.n_ctx_train}, {c.arch + ".embedding_length", c.n_embd},
               {c.arch + ".block_count", c.n_layer}, {"tokenizer.vocab_size", c.n_vocab}};
  int64_t size = 0;
  std::string modified;
  digest(m.path, &size, &modified);
  return {{"license", ""},          {"modelfile", ""}, {"parameters", ""},
          {"template", m.mt ? m.mt->source : ""}, {"details", details(m)}, {"model_info", info},
          {"capabilities", caps},   {"modified_at", modified}};
}

}  // namespace frugal::server
