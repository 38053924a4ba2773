// The HTTP side of `frugal serve` on cpp-httplib: routes, API keys, limits, the request log,
// server-sent events and graceful shutdown. See README, Architecture, for why cpp-httplib.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/api_common.h"
#include "server/model_shelf.h"
#include "runtime/metrics.h"

namespace httplib {
class Server;
}

namespace frugal::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::vector<std::string> api_keys;     // empty: no authentication
  size_t max_body_bytes = 8u << 20;
  // Concurrent requests per API key; 0 = no cap (the default, as DeepSeek's API: the engine's
  // queue bounds the load). For servers shared by several tenants, each with its own key.
  int64_t max_per_key = 0;
  // Connections served at once, a thread each, made on demand (connection_pool.h); more wait.
  int max_connections = 1024;
  // A socket read or write that waits this long fails: the client is dropped (and its stream's
  // generation cancelled).
  std::chrono::seconds timeout{60};
  std::chrono::seconds shutdown_grace{30};
  bool quiet = false;                    // no request log
  // Origins whose web pages may call the API from a browser ("*": any); empty: none but the
  // server's own page (no CORS headers are sent, so browsers block cross-origin reads).
  std::vector<std::string> cors_origins;
};

class HttpServer {
 public:
  // The shelf outlives the server.
  HttpServer(ModelShelf& shelf, const ServerOptions& o, Metrics& metrics);
  ~HttpServer();
  // Binds; throws Error when the address is taken. Returns the port (useful with port 0).
  int bind();
  // Serves until shutdown(); returns then. on_ready runs (on this thread) once connections
  // are being accepted: announce the server there, not after bind().
  void serve(std::function<void()> on_ready = {});
  // Stops accepting, lets requests finish within the grace period (the rest end with
  // insufficient_system_resource), writes the prefix caches to disk. Any thread.
  void shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  ModelShelf& shelf_;
};

// Constant-time comparison (an API key check must not leak how much of the key matched).
bool same_secret(const std::string& a, const std::string& b);

}  // namespace frugal::server
