#include "server/http_server.h"

#include <functional>

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <cstdio>

#include "dist/mpi_world.h"
#include "dist/split.h"
#include "formats/json_file.h"
#include "server/api.h"
#include "server/connection_pool.h"
#include "server/web_page.h"

namespace frugal::server {

bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? uint8_t(a[i]) : 0, y = i < b.size() ? uint8_t(b[i]) : 0;
    diff |= uint8_t(x ^ y);
  }
  return diff == 0;
}

namespace {
thread_local std::shared_ptr<ReplyLog> t_log;           // the reply the request log line describes
thread_local std::chrono::steady_clock::time_point t_start;
}  // namespace

struct HttpServer::Impl {
  httplib::Server svr;
  ServerOptions o;
  Metrics& metrics;
  std::mutex mu;
  std::map<std::string, int64_t> in_flight;  // per API key (or client address)
  std::atomic<bool> stopping{false};
  std::function<void()> on_ready;  // serve()'s: called once connections are accepted
  std::atomic<ConnectionPool*> pool{nullptr};  // cpp-httplib owns it while serving
  Impl(const ServerOptions& o, Metrics& m) : o(o), metrics(m) {}
};

namespace {

// Each API family answers errors in its own shape.
enum class Dialect { openai, anthropic, ollama };

void send_error(httplib::Response& res, const ApiError& e, Dialect d = Dialect::openai) {
  res.status = e.status;
  if (e.status == 429) res.set_header("Retry-After", "1");
  const json body = d == Dialect::anthropic ? anthropic_error_body(e) : d == Dialect::ollama ? json{{"error", e.what()}} : e.body();
  res.set_content(dump(body), "application/json");
}

// Holds one of the caller's concurrent-request slots for the life of a request.
class InFlight {
 public:
  InFlight(HttpServer::Impl& s, std::string who) : s_(s), who_(std::move(who)) {
    std::lock_guard<std::mutex> l(s_.mu);
    if (s_.o.max_per_key > 0 && !s_.o.api_keys.empty() && s_.in_flight[who_] >= s_.o.max_per_key)
      throw ApiError(429, strfmt("too many concurrent requests for this key (limit %lld)", (long long)s_.o.max_per_key), "",
                     "rate_limit_exceeded");
    ++s_.in_flight[who_];
  }
  ~InFlight() {
    std::lock_guard<std::mutex> l(s_.mu);
    if (--s_.in_flight[who_] == 0) s_.in_flight.erase(who_);
  }

 private:
  HttpServer::Impl& s_;
  std::string who_;
};

// Fills in what a request leaves out from its model's configuration, in the dialect's own
// field names: thinking (the alias's, else the model's; chat requests only) and sampling.
void apply_defaults(json& body, const ModelSpec& spec, std::optional<bool> alias_thinking, Dialect d, bool chat) {
  const std::optional<bool> think = alias_thinking ? alias_thinking : spec.thinking;
  auto absent = [](const json& j, const char* k) { return !j.contains(k) || j.at(k).is_null(); };
  if (think && chat) {
    if (d == Dialect::ollama) {
      if (absent(body, "think")) body["think"] = *think;
    } else if (absent(body, "thinking")) {
      body["thinking"] = {{"type", *think ? "enabled" : "disabled"}};
    }
  }
  for (const auto& [k, v] : spec.sampling.items()) {
    if (d == Dialect::ollama) {
      const std::string ok = k == "repetition_penalty" ? "repeat_penalty" : k == "max_tokens" ? "num_predict" : k;
      if (absent(body, "options")) body["options"] = json::object();
      json& opts = body["options"];
      if (opts.is_object() && !opts.contains(ok)) opts[ok] = v;
    } else if (absent(body, k.c_str()) && !(k == "max_tokens" && !absent(body, "max_completion_tokens"))) {
      body[k] = v;
    }
  }
}

// A request body as JSON, or a 400: not JSON, or nested deeper than kMaxJsonDepth (the JSON
// library copies and dumps trees recursively: a chat body nested a million deep, 2 MB, within
// the default body limit, overflowed a connection thread's stack and killed the server).
json parse_body(const std::string& body) {
  try {
    return json::parse(body, [](int depth, json::parse_event_t, json&) {
      if (depth > kMaxJsonDepth)
        throw ApiError(400, strfmt("the body is nested deeper than %d levels", kMaxJsonDepth), "", "invalid_json");
      return true;
    });
  } catch (const json::exception& e) {
    throw ApiError(400, std::string("the body is not valid JSON: ") + e.what(), "", "invalid_json");
  }
}

// An error inside a stream whose headers (200) are out: the dialect's error event.
std::string stream_error(const ApiError& e, Dialect d) {
  if (d == Dialect::anthropic) return "event: error\ndata: " + dump(anthropic_error_body(e)) + "\n\n";
  return "data: " + dump(e.body()) + "\n\n";
}

}  // namespace

HttpServer::HttpServer(ModelShelf& shelf, const ServerOptions& o, Metrics& metrics)
    : impl_(std::make_unique<Impl>(o, metrics)), shelf_(shelf) {
  auto& svr = impl_->svr;
  Impl* S = impl_.get();
  // Connections get threads of their own, made as they arrive (connection_pool.h); a few are
  // made up front, before the server announces itself (on_ready), for the burst of clients
  // that follows: cpp-httplib's listen backlog is 5, and a burst beyond it gets connections
  // reset while threads are still being made (seen: 6 of 40 under TSan, where that is slow).
  svr.new_task_queue = [S] {
    auto* q = new ConnectionPool(size_t(std::min(S->o.max_connections, 16)), size_t(S->o.max_connections));
    S->pool = q;
    if (S->on_ready) S->on_ready();
    return q;
  };
  svr.set_payload_max_length(o.max_body_bytes);
  // Per socket read or write: a client silent this long, or not reading its stream, is dropped
  // (a stream's generation is then cancelled).
  svr.set_read_timeout(time_t(o.timeout.count()), 0);
  svr.set_write_timeout(time_t(o.timeout.count()), 0);

  // The shelf entry a body names (a name, an alias, or none: the first model). Under mpirun, a
  // lost rank (dist::rank_lost) holds part of every model: nothing can run until a restart.
  auto model_of = [this](const json& body) -> ModelShelf::Resolved {
    if (const int r = dist::rank_lost(); r >= 0)
      throw ApiError(503, strfmt("rank %d of the MPI job stopped answering: this server cannot run a model until it is restarted", r),
                     "", "rank_lost");
    const json* m = field(body, "model");
    if (m && !m->is_string()) throw ApiError(400, "'model' must be a string", "model", "invalid_type");
    return shelf_.resolve(m ? m->get<std::string>() : "");
  };
  // The key a request authenticates with ("" when keys are off); throws 401.
  auto authenticate = [S](const httplib::Request& req) -> std::string {
    if (S->o.api_keys.empty()) return "addr:" + req.remote_addr;
    // OpenAI's clients send `Authorization: Bearer KEY`, Anthropic's `x-api-key: KEY`.
    const std::string h = req.get_header_value("Authorization");
    const std::string bearer = "Bearer ";
    std::string key;
    if (h.compare(0, bearer.size(), bearer) == 0) key = h.substr(bearer.size());
    else if (req.has_header("x-api-key")) key = req.get_header_value("x-api-key");
    bool ok = false;
    for (const auto& k : S->o.api_keys) ok |= same_secret(key, k);
    if (ok) return "key:" + key;
    throw ApiError(401, "Authentication Fails: invalid or missing API key (send 'Authorization: Bearer KEY' or 'x-api-key: KEY')",
                   "", "invalid_api_key");
  };

  // The reply once the model is held: headers now, the body (or stream) computed by the
  // provider, which keeps the caller's slot and the model lease until the reply ends.
  auto respond = [](httplib::Response& res, Reply r, std::shared_ptr<InFlight> guard, std::shared_ptr<ModelLease> lease) {
    t_log = r.log;
    res.status = r.status;
    if (!r.stream) {
      // Chunked, so that the body is computed after the headers, while the sink can tell
      // whether the client is still there.
      auto fn = std::make_shared<decltype(r.body)>(std::move(r.body));
      const std::string type = r.content_type.empty() ? "application/json" : r.content_type;
      res.set_chunked_content_provider(type, [fn, guard, lease](size_t, httplib::DataSink& sink) {
        try {
          const std::string body = (*fn)([&] { return sink.is_writable(); });
          // A reply cut short by a lost rank is no answer: the connection is dropped instead.
          if (dist::rank_lost() >= 0) return false;
          if (sink.is_writable()) sink.write(body.data(), body.size());
        } catch (const std::exception& e) {  // a bug must cost one reply, not the server
          std::fprintf(stderr, "internal error in a reply: %s\n", e.what());
        }
        sink.done();
        return true;
      });
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto fn = std::make_shared<decltype(r.stream)>(std::move(r.stream));
    const std::string type = r.content_type.empty() ? "text/event-stream" : r.content_type;
    res.set_chunked_content_provider(type, [fn, guard, lease](size_t, httplib::DataSink& sink) {
      try {
        (*fn)([&](const std::string& s) {
          return dist::rank_lost() < 0 && sink.is_writable() && sink.write(s.data(), s.size());
        });
      } catch (const std::exception& e) {
        std::fprintf(stderr, "internal error in a stream: %s\n", e.what());
      }
      if (dist::rank_lost() >= 0) return false;  // cut, not ended as if complete
      sink.done();
      return true;
    });
  };

  auto generate = [this, S, model_of, authenticate, respond](Endpoint endpoint, Dialect dialect = Dialect::openai, bool chat = true) {
    return [this, S, model_of, authenticate, respond, endpoint, dialect, chat](const httplib::Request& req, httplib::Response& res) {
      try {
        if (S->stopping) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
        const std::string who = authenticate(req);
        json body = parse_body(req.body);
        if (!body.is_object()) throw ApiError(400, "the body must be a JSON object", "", "invalid_json");
        auto guard = std::make_shared<InFlight>(*S, who);
        const ModelShelf::Resolved rv = model_of(body);
        std::optional<KeepAlive> keep;
        if (const json* k = field(body, "keep_alive")) keep = parse_keep_alive(*k);
        apply_defaults(body, shelf_.spec(rv.index), rv.thinking, dialect, chat);
        // Decoded before the model is held: a malformed request loads nothing.
        Runner handler = endpoint(body);

        std::shared_ptr<ModelLease> lease = shelf_.try_acquire(rv);
        // Ollama's empty request with keep_alive 0 unloads; a model not loaded is not loaded for it.
        if (!lease && dialect == Dialect::ollama && keep && keep->ms.count() == 0 && ollama_load_request(body)) {
          shelf_.unload(rv.index);
          res.set_content(dump(ollama_load_body(rv.name, req.path == "/api/chat", true)), "application/json");
          return;
        }
        const json* st = field(body, "stream");
        const bool sse = dialect != Dialect::ollama && st && st->is_boolean() && st->get<bool>();
        // A model being loaded: a plain request waits before its headers; a stream waits a
        // moment the same way (a small model is there by then, and a refusal is still a 503),
        // then starts and sends keep-alive comments with the load's progress until it can go on.
        if (!lease) lease = shelf_.acquire(rv, sse ? [](double) { return false; } : std::function<bool(double)>{},
                                           std::chrono::milliseconds(1500));
        if (lease) {
          if (keep) lease->set_keep_alive(*keep);
          return respond(res, handler(lease->model()), guard, lease);
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream", [this, rv, keep, handler, dialect, guard](size_t, httplib::DataSink& sink) {
              auto write = [&](const std::string& s) { return sink.is_writable() && sink.write(s.data(), s.size()); };
              try {
                std::unique_ptr<ModelLease> lease = shelf_.acquire(rv, [&](double p) {
                  return write(strfmt(": loading model %s: %.0f%%\n\n", rv.name.c_str(), 100 * p));
                });
                if (lease) {
                  if (keep) lease->set_keep_alive(*keep);
                  Reply r = handler(lease->model());
                  t_log = r.log;
                  if (r.stream) r.stream(write);
                  else write("data: " + r.body([&] { return sink.is_writable(); }) + "\n\n");
                }
              } catch (const ApiError& e) {
                write(stream_error(e, dialect));
              } catch (const std::exception& e) {
                write(stream_error(ApiError(500, std::string("internal error: ") + e.what(), "", "internal_error"), dialect));
              }
              sink.done();
              return true;
            });
      } catch (const ApiError& e) {
        send_error(res, e, dialect);
      } catch (const std::exception& e) {
        send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "", "internal_error"), dialect);
      }
    };
  };
  svr.Post("/v1/chat/completions", generate(chat_endpoint));
  svr.Post("/chat/completions", generate(chat_endpoint));  // DeepSeek's base URL has no /v1
  svr.Post("/v1/completions", generate(completion_endpoint, Dialect::openai, false));
  svr.Post("/completions", generate(completion_endpoint, Dialect::openai, false));
  svr.Post("/beta/completions", generate(completion_endpoint, Dialect::openai, false));
  svr.Post("/beta/chat/completions", generate(chat_endpoint));
  svr.Post("/v1/embeddings", generate(embeddings_endpoint, Dialect::openai, false));
  svr.Post("/embeddings", generate(embeddings_endpoint, Dialect::openai, false));
  svr.Post("/api/embed", generate(ollama_embed_endpoint, Dialect::ollama, false));
  svr.Post("/api/embeddings", generate(ollama_embed_endpoint, Dialect::ollama, false));
  svr.Post("/v1/responses", generate(responses_endpoint));
  svr.Post("/responses", generate(responses_endpoint));
  svr.Post("/v1/messages", generate(messages_endpoint, Dialect::anthropic));
  svr.Post("/anthropic/v1/messages", generate(messages_endpoint, Dialect::anthropic));  // DeepSeek's path
  svr.Post("/api/chat", generate(ollama_chat_endpoint, Dialect::ollama));
  svr.Post("/api/generate", generate(ollama_generate_endpoint, Dialect::ollama));  // raw: true ignores think
  auto ollama_list = [this, authenticate](bool running) {
    return [this, authenticate, running](const httplib::Request& req, httplib::Response& res) {
      try {
        authenticate(req);
        res.set_content(dump(ollama_tags(shelf_.status(), running)), "application/json");
      } catch (const ApiError& e) {
        send_error(res, e, Dialect::ollama);
      }
    };
  };
  svr.Get("/api/tags", ollama_list(false));
  svr.Get("/api/ps", ollama_list(true));
  // /api/show needs the model's template and metadata: it loads the model if it is not.
  svr.Post("/api/show", [this, model_of, authenticate](const httplib::Request& req, httplib::Response& res) {
    try {
      authenticate(req);
      json b = parse_body(req.body);
      if (!b.is_object()) throw ApiError(400, "the body must be a JSON object", "", "invalid_json");
      if (!b.contains("model") && b.contains("name")) b["model"] = b["name"];  // older clients send "name"
      auto lease = shelf_.acquire(model_of(b));
      res.set_content(dump(ollama_show(lease->model())), "application/json");
    } catch (const ApiError& e) {
      send_error(res, e, Dialect::ollama);
    }
  });
  // The Ollama API level whose behaviour these endpoints follow (clients gate features on it).
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"version": "0.12.0"})", "application/json");
  });

  // Every model and alias of the shelf with its state (llama-server's router lists the same).
  auto list_models = [this, authenticate](const httplib::Request& req, httplib::Response& res) {
    try {
      authenticate(req);
      json data = json::array();
      const std::vector<ModelStatus> st = shelf_.status();
      const std::vector<ModelSpec> specs = shelf_.specs();
      auto entry = [&](const std::string& id, const ModelStatus& m, const ModelSpec& spec) {
        json j = {{"id", id}, {"object", "model"}, {"created", m.model ? m.model->created : 0}, {"owned_by", "frugal"}};
        j["state"] = model_state_name(m.state);
        if (m.state == ModelState::loading) j["progress"] = m.progress;
        if (!m.error.empty()) j["error"] = m.error;
        if (m.model) j["context_length"] = m.model->engine->options().n_ctx;
        if (m.bytes > 0) j["memory_bytes"] = m.bytes;
        if (spec.pin) j["pinned"] = true;
        if (m.state == ModelState::loaded) {
          const auto now = Clock::now();
          j["requests_in_flight"] = m.in_flight;
          j["idle_seconds"] = m.in_flight > 0 ? 0.0 : std::chrono::duration<double>(now - m.last_used).count();
          if (m.expires) j["expires_in_seconds"] = std::max(0.0, std::chrono::duration<double>(*m.expires - now).count());
        }
        return j;
      };
      for (size_t i = 0; i < st.size(); ++i) data.push_back(entry(st[i].name, st[i], specs[i]));
      for (const AliasSpec& a : shelf_.aliases())
        for (size_t i = 0; i < st.size(); ++i)
          if (st[i].name == a.target) {
            json j = entry(a.name, st[i], specs[i]);
            j["alias_of"] = a.target;
            if (a.thinking) j["thinking"] = *a.thinking;
            data.push_back(std::move(j));
          }
      res.set_content(dump({{"object", "list"}, {"data", data}}), "application/json");
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  };
  svr.Get("/v1/models", list_models);
  svr.Get("/models", list_models);
  // Load or unload by hand (`frugal load` / `frugal unload`; llama-server's router has the same
  // two routes): {"model": NAME}. A load answers once the model is loaded.
  auto load_route = [this, model_of, authenticate](bool load) {
    return [this, model_of, authenticate, load](const httplib::Request& req, httplib::Response& res) {
      try {
        authenticate(req);
        const json b = parse_body(req.body);
        if (!b.is_object()) throw ApiError(400, "the body must be a JSON object", "", "invalid_json");
        if (!field(b, "model")) throw ApiError(400, "'model' is required", "model", "missing_field");
        const ModelShelf::Resolved rv = model_of(b);
        bool was = true;
        if (load) shelf_.acquire(rv);
        else was = shelf_.unload(rv.index);
        res.set_content(dump({{"model", rv.name}, {"state", load ? "loaded" : was ? "unloading" : "available"}}), "application/json");
      } catch (const ApiError& e) {
        send_error(res, e);
      }
    };
  };
  svr.Post("/models/load", load_route(true));
  svr.Post("/models/unload", load_route(false));
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(web_page(), "text/html; charset=utf-8"); });
  svr.Get("/health", [S](const httplib::Request&, httplib::Response& res) {
    if (S->stopping) {
      res.status = 503;
      res.set_content(R"({"status":"shutting down"})", "application/json");
    } else if (const int r = dist::rank_lost(); r >= 0) {
      res.status = 503;
      res.set_content(dump({{"status", "rank lost"}, {"rank", r}}), "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  svr.Get("/metrics", [this, S](const httplib::Request&, httplib::Response& res) {
    std::string out;
    S->metrics.render(out);
    if (ConnectionPool* pool = S->pool.load()) {
      const ConnectionPool::Stats c = pool->stats();
      out += strfmt("# HELP frugal_http_threads Threads serving HTTP connections (made on demand, up to --max-connections).\n"
                    "# TYPE frugal_http_threads gauge\nfrugal_http_threads %zu\n"
                    "# HELP frugal_http_connections Connections being served (a thread each).\n"
                    "# TYPE frugal_http_connections gauge\nfrugal_http_connections %zu\n"
                    "# HELP frugal_http_connections_waiting Connections waiting for a thread (at --max-connections).\n"
                    "# TYPE frugal_http_connections_waiting gauge\nfrugal_http_connections_waiting %zu\n",
                    c.threads, c.busy, c.queued);
    }
    if (const dist::World w = dist::world(); w.size > 1) {  // mpirun ... serve --split: the wire
      const dist::WireStats ws = dist::wire_stats();
      out += strfmt("# HELP frugal_split_ranks MPI ranks the model is split over.\n# TYPE frugal_split_ranks gauge\n"
                    "frugal_split_ranks %d\n"
                    "# HELP frugal_split_messages_total Messages rank 0 sent and received.\n"
                    "# TYPE frugal_split_messages_total counter\nfrugal_split_messages_total %llu\n"
                    "# HELP frugal_split_sent_bytes_total Bytes rank 0 sent to the other ranks.\n"
                    "# TYPE frugal_split_sent_bytes_total counter\nfrugal_split_sent_bytes_total %llu\n"
                    "# HELP frugal_split_received_bytes_total Bytes rank 0 received.\n"
                    "# TYPE frugal_split_received_bytes_total counter\nfrugal_split_received_bytes_total %llu\n"
                    "# HELP frugal_split_transfer_seconds_total Seconds rank 0 spent in sends and receives, waiting included.\n"
                    "# TYPE frugal_split_transfer_seconds_total counter\nfrugal_split_transfer_seconds_total %.6f\n"
                    "# HELP frugal_split_wait_seconds_total Of those, seconds waiting for the other ranks to compute.\n"
                    "# TYPE frugal_split_wait_seconds_total counter\nfrugal_split_wait_seconds_total %.6f\n"
                    "# HELP frugal_split_other_ranks_compute_seconds_total Seconds the other ranks computed for rank 0.\n"
                    "# TYPE frugal_split_other_ranks_compute_seconds_total counter\n"
                    "frugal_split_other_ranks_compute_seconds_total %.6f\n"
                    "# HELP frugal_split_overlapped_passes_total Pipeline passes begun while another was in flight.\n"
                    "# TYPE frugal_split_overlapped_passes_total counter\nfrugal_split_overlapped_passes_total %lld\n",
                    w.size, (unsigned long long)ws.messages, (unsigned long long)ws.bytes_sent,
                    (unsigned long long)ws.bytes_received, ws.seconds, dist::other_ranks_wait_seconds(),
                    dist::other_ranks_compute_seconds(), (long long)dist::overlapped_passes());
    }
    const std::vector<ModelStatus> st = shelf_.status();
    auto label = [](const std::string& name) {  // a label value, escaped as the format says
      std::string v;
      for (char c : name) v += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : std::string(1, c);
      return "{model=\"" + v + "\"}";
    };
    auto head = [&](const char* name, const char* help, const char* type) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    };
    auto per_model = [&](const char* name, const char* help, const char* type, auto value_of) {
      head(name, help, type);
      for (const ModelStatus& m : st) {
        const double v = double(value_of(m));
        out += name + label(m.name) + " " + (v == std::floor(v) ? std::to_string(int64_t(v)) : strfmt("%.4f", v)) + "\n";
      }
    };
    per_model("frugal_model_loaded", "1 when the model is loaded.", "gauge", [](const ModelStatus& m) { return m.state == ModelState::loaded; });
    per_model("frugal_model_loading", "1 while the model loads.", "gauge", [](const ModelStatus& m) { return m.state == ModelState::loading; });
    per_model("frugal_model_load_progress", "Fraction of the load done.", "gauge", [](const ModelStatus& m) { return m.progress; });
    per_model("frugal_model_failed", "1 when the last load failed.", "gauge", [](const ModelStatus& m) { return m.state == ModelState::failed; });
    per_model("frugal_model_memory_bytes", "Memory the model takes (estimate: weights, KV, prefix cache).", "gauge",
              [](const ModelStatus& m) { return m.bytes; });
    per_model("frugal_model_loads_total", "Loads completed.", "counter", [](const ModelStatus& m) { return m.loads; });
    per_model("frugal_model_unloads_total", "Unloads (idle, keep_alive 0, by hand or evicted).", "counter", [](const ModelStatus& m) { return m.unloads; });
    per_model("frugal_model_evictions_total", "Unloads to make room for another model.", "counter", [](const ModelStatus& m) { return m.evictions; });
    per_model("frugal_model_load_failures_total", "Loads that failed.", "counter", [](const ModelStatus& m) { return m.failures; });
    head("frugal_memory_budget_bytes", "--max-memory (0: no limit).", "gauge");
    out += "frugal_memory_budget_bytes " + std::to_string(shelf_.options().max_memory) + "\n";
    head("frugal_memory_used_bytes", "Estimated memory of the loaded and loading models.", "gauge");
    out += "frugal_memory_used_bytes " + std::to_string(shelf_.used_bytes()) + "\n";
    auto gauge = [&](const char* name, const char* help, auto value_of) {
      head(name, help, "gauge");
      for (const ModelStatus& m : st)
        if (m.model) out += name + label(m.name) + " " + std::to_string(value_of(m.model->engine->stats())) + "\n";
    };
    gauge("frugal_requests_running", "Sequences holding a KV slot.", [](const EngineStats& s) { return s.active; });
    gauge("frugal_queue_depth", "Requests waiting for a slot.", [](const EngineStats& s) { return s.queued; });
    gauge("frugal_batch_size", "Sequences in the last forward pass.", [](const EngineStats& s) { return s.last_batch_seqs; });
    gauge("frugal_kv_used_tokens", "Tokens held in KV slots.", [](const EngineStats& s) { return s.kv_used_tokens; });
    gauge("frugal_kv_capacity_tokens", "KV slot capacity in tokens.", [](const EngineStats& s) { return s.kv_capacity_tokens; });
    gauge("frugal_kv_blocks_used", "KV pool blocks held by sequences or the prefix cache.", [](const EngineStats& s) { return s.kv_blocks_used; });
    gauge("frugal_kv_blocks_total", "KV pool blocks.", [](const EngineStats& s) { return s.kv_blocks_total; });
    gauge("frugal_prefix_cache_ram_blocks", "Prefix-cache blocks in memory.", [](const EngineStats& s) { return s.cache.ram_blocks; });
    gauge("frugal_prefix_cache_ram_bytes", "Prefix-cache bytes in memory.", [](const EngineStats& s) { return s.cache.ram_bytes; });
    gauge("frugal_prefix_cache_disk_blocks", "Prefix-cache blocks on disk.", [](const EngineStats& s) { return s.cache.disk_blocks; });
    gauge("frugal_prefix_cache_disk_bytes", "Prefix-cache bytes on disk.", [](const EngineStats& s) { return s.cache.disk_bytes; });
    gauge("frugal_prefix_cache_disk_hit_tokens", "Prompt tokens read back from disk.", [](const EngineStats& s) { return s.cache.disk_hit_tokens; });
    // The disk tier degrades rather than failing requests: a block it cannot write (disk full,
    // a file size limit) stays in RAM until evicted, and is then lost, counted here.
    gauge("frugal_prefix_cache_disk_write_errors", "Prefix-cache blocks that could not be written to disk (lost when evicted from RAM).",
          [](const EngineStats& s) { return s.cache.disk_write_errors; });
    gauge("frugal_prefix_cache_disk_rejected_blocks", "Bad, truncated or foreign cache files found and deleted.",
          [](const EngineStats& s) { return s.cache.disk_rejected_blocks; });
    res.set_content(out, "text/plain; version=0.0.4");
  });

  // Every request starts its log record here, whatever route (or none) answers it. CORS: an
  // allowed Origin gets the headers that let its page read the reply, and a preflight
  // (OPTIONS) is answered here; any other origin gets no CORS headers at all.
  svr.set_pre_routing_handler([S](const httplib::Request& req, httplib::Response& res) {
    t_start = std::chrono::steady_clock::now();
    t_log.reset();
    const std::string origin = req.get_header_value("Origin");
    bool allowed = false;
    for (const auto& o : S->o.cors_origins) allowed |= !origin.empty() && (o == "*" || o == origin);
    if (!allowed) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    if (req.method != "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, x-api-key, anthropic-version");
    res.set_header("Access-Control-Max-Age", "600");
    res.status = 204;
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                      : res.status == 413 ? "the request body is too large"
                                          : "request failed";
    res.set_content(dump(ApiError(res.status, msg).body()), "application/json");
  });
  svr.set_logger([S](const httplib::Request& req, const httplib::Response& res) {
    S->metrics.request(req.path, res.status);
    if (S->o.quiet) return;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
    std::string toks;
    if (t_log)
      toks = strfmt(" prompt=%lld cached=%lld completion=%lld", (long long)t_log->prompt_tokens.load(),
                    (long long)t_log->cached_tokens.load(), (long long)t_log->completion_tokens.load());
    std::fprintf(stderr, "%s %s %d%s %.0f ms\n", req.method.c_str(), req.path.c_str(), res.status, toks.c_str(), ms);
  });
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  // cpp-httplib listens with a backlog of 5 (compiled into Debian's library): a burst of
  // clients beyond it waits out SYN-ACK retransmissions (1 s, 3 s, 7 s ...) before being
  // accepted. Listening again on the same socket raises the backlog (Linux, capped by somaxconn).
  int listen_fd = -1;
  impl_->svr.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = int(sock);
  });
  const int port = impl_->o.port == 0 ? impl_->svr.bind_to_any_port(impl_->o.host)
                                      : (impl_->svr.bind_to_port(impl_->o.host, impl_->o.port) ? impl_->o.port : -1);
  if (port < 0) fail("cannot listen on %s:%d (address in use, or not an address of this machine)", impl_->o.host.c_str(), impl_->o.port);
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  return port;
}

void HttpServer::serve(std::function<void()> on_ready) {
  impl_->on_ready = std::move(on_ready);
  impl_->svr.listen_after_bind();
}

void HttpServer::shutdown() {
  if (impl_->stopping.exchange(true)) return;
  const auto deadline = std::chrono::steady_clock::now() + impl_->o.shutdown_grace;
  // Engines first: in-flight streams end (finished, or cut at the deadline) so that their
  // handler threads return; then the listener and the connection threads.
  shelf_.shutdown(deadline);
  impl_->svr.stop();
}

}  // namespace frugal::server
