// Ollama's API: /api/chat and /api/generate (NDJSON streaming, on by default as in Ollama),
// /api/tags, /api/show, /api/ps and /api/version. Chat and generate bodies are decoded into a
// ChatSpec (chat_spec_ollama.cpp); here the output parser's deltas are encoded as Ollama's
// messages: thinking apart from content, tool calls with their arguments as objects,
// durations in nanoseconds.
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

namespace {
// /api/chat (chat) and /api/generate: an empty request loads (or, with keep_alive 0, unloads).
Runner ollama_endpoint(const json& body, bool chat) {
  if (ollama_load_request(body)) {
    const bool unload = keep_alive_zero(body);
    return [unload, chat](ServedModel& m) { return load_reply(m, chat, unload); };
  }
  auto spec = std::make_shared<const ChatSpec>(chat ? decode_ollama_chat(body) : decode_ollama_generate(body));
  return [spec, chat](ServedModel& m) { return run(m, prepare_chat(m, *spec), spec->common.stream, chat); };
}
}  // namespace

Runner ollama_chat_endpoint(const json& body) { return ollama_endpoint(body, true); }
Runner ollama_generate_endpoint(const json& body) { return ollama_endpoint(body, false); }

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
