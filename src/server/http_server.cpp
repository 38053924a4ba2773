#include "server/http_server.h"

#include <functional>

#include <httplib.h>

#include <atomic>
#include <cstdio>

#include "server/api.h"
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
  Impl(const ServerOptions& o, Metrics& m) : o(o), metrics(m) {}
};

namespace {

// Each API family answers errors in its own shape.
enum class Dialect { openai, anthropic, ollama };

void send_error(httplib::Response& res, const ApiError& e, Dialect d = Dialect::openai) {
  res.status = e.status;
  if (d != Dialect::openai && e.code == "model_not_found") res.status = 404;  // as Anthropic and Ollama answer
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

}  // namespace

HttpServer::HttpServer(std::vector<std::unique_ptr<ServedModel>> models, const ServerOptions& o, Metrics& metrics)
    : impl_(std::make_unique<Impl>(o, metrics)), models_(std::move(models)) {
  auto& svr = impl_->svr;
  Impl* S = impl_.get();
  const int threads = o.http_threads;
  // cpp-httplib makes the connection threads after bind, just before its accept loop: until
  // then its listen backlog (5) is all there is, and a burst of clients gets connections reset
  // (seen: 6 of 40 right after start-up under TSan, where making the threads is slow). So the
  // server announces itself (on_ready) only once they exist.
  svr.new_task_queue = [threads, S] {
    auto* q = new httplib::ThreadPool(size_t(threads));
    if (S->on_ready) S->on_ready();
    return q;
  };
  svr.set_payload_max_length(o.max_body_bytes);
  svr.set_read_timeout(60, 0);
  svr.set_write_timeout(60, 0);

  auto find_model = [this](const json& body) -> ServedModel& {
    const json* m = field(body, "model");
    if (!m) return *models_.front();  // as llama-server: one model needs no name
    if (!m->is_string()) throw ApiError(400, "'model' must be a string", "model", "invalid_type");
    const std::string& name = m->get_ref<const std::string&>();
    auto named = [this](std::string_view n) -> ServedModel* {
      for (auto& sm : models_)
        if (sm->name == n) return sm.get();
      return nullptr;
    };
    // Ollama's clients name models with a tag: "frugal-r1-tiny:latest" is frugal-r1-tiny.
    if (ServedModel* sm = named(name)) return *sm;
    if (name.ends_with(":latest"))
      if (ServedModel* sm = named(std::string_view(name).substr(0, name.size() - 7))) return *sm;
    std::string names;
    for (auto& sm : models_) names += (names.empty() ? "" : ", ") + sm->name;
    throw ApiError(400, "Model Not Exist: '" + m->get<std::string>() + "' (served: " + names + ")", "model", "model_not_found");
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

  auto generate = [this, S, find_model, authenticate](Reply (*handler)(ServedModel&, const json&),
                                                      Dialect dialect = Dialect::openai) {
    return [this, S, find_model, authenticate, handler, dialect](const httplib::Request& req, httplib::Response& res) {
      try {
        if (S->stopping) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
        const std::string who = authenticate(req);
        json body;
        try {
          body = json::parse(req.body);
        } catch (const json::exception& e) {
          throw ApiError(400, std::string("the body is not valid JSON: ") + e.what(), "", "invalid_json");
        }
        if (!body.is_object()) throw ApiError(400, "the body must be a JSON object", "", "invalid_json");
        auto guard = std::make_shared<InFlight>(*S, who);
        Reply r = handler(find_model(body), body);
        t_log = r.log;
        res.status = r.status;
        if (!r.stream) {
          // Chunked, so that the body is computed after the headers, while the sink can tell
          // whether the client is still there.
          auto fn = std::make_shared<decltype(r.body)>(std::move(r.body));
          const std::string type = r.content_type.empty() ? "application/json" : r.content_type;
          res.set_chunked_content_provider(type, [fn, guard](size_t, httplib::DataSink& sink) {
            try {
              const std::string body = (*fn)([&] { return sink.is_writable(); });
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
        res.set_chunked_content_provider(type, [fn, guard](size_t, httplib::DataSink& sink) {
          try {
            (*fn)([&](const std::string& s) { return sink.is_writable() && sink.write(s.data(), s.size()); });
          } catch (const std::exception& e) {
            std::fprintf(stderr, "internal error in a stream: %s\n", e.what());
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
  svr.Post("/v1/chat/completions", generate(handle_chat));
  svr.Post("/chat/completions", generate(handle_chat));  // DeepSeek's base URL has no /v1
  svr.Post("/v1/completions", generate(handle_completion));
  svr.Post("/completions", generate(handle_completion));
  svr.Post("/beta/completions", generate(handle_completion));
  svr.Post("/beta/chat/completions", generate(handle_chat));
  svr.Post("/v1/messages", generate(handle_messages, Dialect::anthropic));
  svr.Post("/anthropic/v1/messages", generate(handle_messages, Dialect::anthropic));  // DeepSeek's path
  svr.Post("/api/chat", generate(handle_ollama_chat, Dialect::ollama));
  svr.Post("/api/generate", generate(handle_ollama_generate, Dialect::ollama));
  auto ollama_list = [this, authenticate](bool running) {
    return [this, authenticate, running](const httplib::Request& req, httplib::Response& res) {
      try {
        authenticate(req);
        std::vector<const ServedModel*> ms;
        for (auto& m : models_) ms.push_back(m.get());
        res.set_content(dump(ollama_tags(ms, running)), "application/json");
      } catch (const ApiError& e) {
        send_error(res, e, Dialect::ollama);
      }
    };
  };
  svr.Get("/api/tags", ollama_list(false));
  svr.Get("/api/ps", ollama_list(true));
  svr.Post("/api/show", [find_model, authenticate](const httplib::Request& req, httplib::Response& res) {
    try {
      authenticate(req);
      const json body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) throw ApiError(400, "the body must be a JSON object", "", "invalid_json");
      json b = body;
      if (!b.contains("model") && b.contains("name")) b["model"] = b["name"];  // older clients send "name"
      res.set_content(dump(ollama_show(find_model(b))), "application/json");
    } catch (const ApiError& e) {
      send_error(res, e, Dialect::ollama);
    }
  });
  // The Ollama API level whose behaviour these endpoints follow (clients gate features on it).
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"version": "0.12.0"})", "application/json");
  });

  auto list_models = [this, authenticate](const httplib::Request& req, httplib::Response& res) {
    try {
      authenticate(req);
      json data = json::array();
      for (auto& m : models_) {
        data.push_back({{"id", m->name},
                        {"object", "model"},
                        {"created", m->created},
                        {"owned_by", "frugal"},
                        {"context_length", m->engine->options().n_ctx}});
      }
      res.set_content(dump({{"object", "list"}, {"data", data}}), "application/json");
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  };
  svr.Get("/v1/models", list_models);
  svr.Get("/models", list_models);
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(web_page(), "text/html; charset=utf-8"); });
  svr.Get("/health", [S](const httplib::Request&, httplib::Response& res) {
    if (S->stopping) {
      res.status = 503;
      res.set_content(R"({"status":"shutting down"})", "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  svr.Get("/metrics", [this, S](const httplib::Request&, httplib::Response& res) {
    std::string out;
    S->metrics.render(out);
    auto gauge = [&](const char* name, const char* help, auto value_of) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
      for (auto& m : models_) out += std::string(name) + "{model=\"" + m->name + "\"} " + std::to_string(value_of(m->engine->stats())) + "\n";
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
  const int port = impl_->o.port == 0 ? impl_->svr.bind_to_any_port(impl_->o.host)
                                      : (impl_->svr.bind_to_port(impl_->o.host, impl_->o.port) ? impl_->o.port : -1);
  if (port < 0) fail("cannot listen on %s:%d (address in use, or not an address of this machine)", impl_->o.host.c_str(), impl_->o.port);
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
  for (auto& m : models_) m->engine->shutdown(deadline);
  impl_->svr.stop();
}

}  // namespace frugal::server
