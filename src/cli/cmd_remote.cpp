// frugal ps / load / unload: ask a running `frugal serve` about its model shelf, or tell it to
// load or unload a model (GET /v1/models, POST /models/load, POST /models/unload).
#include <cstdio>
#include <cstdlib>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/text.h"
#include "formats/json_file.h"

namespace frugal::cli {

namespace {

using json = nlohmann::json;

OptionGroup server_options() {
  return {"server",
          {{"--url", "URL", "the server [http://127.0.0.1:8080]"},
           {"--api-key", "KEY", "its API key [$FRUGAL_API_KEY]"}}};
}

const CommandHelp kPsHelp{"frugal ps [--url URL]",
                          "The models a running `frugal serve` has loaded (or is loading): memory, requests in flight,\n"
                          "idle time and when it unloads them.",
                          {server_options()},
                          "frugal ps\nfrugal ps --url http://10.0.0.5:8080 --api-key $KEY"};
const CommandHelp kLoadHelp{"frugal load NAME [--url URL]", "Loads a model on a running `frugal serve`; returns once it is loaded.",
                            {server_options()}, "frugal load r1-distill-qwen-1.5b"};
const CommandHelp kUnloadHelp{"frugal unload NAME [--url URL]",
                              "Unloads a model from a running `frugal serve` once its requests end.", {server_options()},
                              "frugal unload r1-distill-qwen-1.5b"};

struct Remote {
  std::string url, key;
  explicit Remote(Args& a) {
    url = a.get({"--url"}, "http://127.0.0.1:8080");
    const char* env = std::getenv("FRUGAL_API_KEY");
    key = a.get({"--api-key"}, env ? env : "");
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.size() > 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);  // the URL serve prints
  }
  json call(const std::string& method, const std::string& path, const json& body = nullptr) const {
    httplib::Client cli(url);
    if (!cli.is_valid()) fail("--url %s: not an http:// URL", url.c_str());
    cli.set_read_timeout(3600, 0);  // a load may take minutes
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    auto r = method == "GET" ? cli.Get(path, h) : cli.Post(path, h, body.dump(), "application/json");
    if (!r) fail("%s: %s (is `frugal serve` running there?)", url.c_str(), httplib::to_string(r.error()).c_str());
    json j = parse_untrusted_json(r->body);  // the other end may be anyone's server
    if (r->status != 200) {
      const std::string msg = j.is_object() && j.contains("error") && j["error"].is_object() ? j["error"].value("message", "")
                                                                                               : printable(r->body, 200);
      fail("%s%s: %d %s", url.c_str(), path.c_str(), r->status, msg.c_str());
    }
    if (j.is_discarded()) fail("%s%s: the reply is not JSON", url.c_str(), path.c_str());
    return j;
  }
};

std::string duration(double s) {
  if (s < 120) return strfmt("%.0f s", s);
  if (s < 7200) return strfmt("%.0f min", s / 60);
  return strfmt("%.1f h", s / 3600);
}

int load_or_unload(int argc, char** argv, bool load) {
  Args a(argc, argv, load ? kLoadHelp : kUnloadHelp);
  Remote r(a);
  a.check_unused(1);
  if (a.positional().size() != 1) fail("usage: frugal %s NAME [--url URL]", load ? "load" : "unload");
  const double t0 = now_seconds();
  const json j = r.call("POST", load ? "/models/load" : "/models/unload", {{"model", a.positional()[0]}});
  const std::string state = j.value("state", "");
  if (load) std::printf("%s: loaded (%.1f s)\n", j.value("model", "").c_str(), now_seconds() - t0);
  else std::printf("%s: %s\n", j.value("model", "").c_str(), state == "unloading" ? "unloads once its requests end" : "was not loaded");
  return 0;
}

}  // namespace

int cmd_ps(int argc, char** argv) {
  Args a(argc, argv, kPsHelp);
  Remote r(a);
  a.check_unused();
  const json j = r.call("GET", "/v1/models");
  std::printf("%-32s %-10s %10s %9s %8s  %s\n", "NAME", "STATE", "MEMORY", "REQUESTS", "IDLE", "UNLOADS");
  int shown = 0;
  for (const auto& m : j.value("data", json::array())) {
    const std::string state = m.value("state", "loaded");
    if (m.contains("alias_of") || (state != "loaded" && state != "loading")) continue;
    ++shown;
    std::string mem = m.contains("memory_bytes") ? strfmt("%.0f MiB", m["memory_bytes"].get<double>() / (1 << 20)) : "-";
    if (state == "loading") {
      std::printf("%-32s %-10s %10s %9s %8s  %s\n", m.value("id", "").c_str(),
                  strfmt("%.0f%%", 100 * m.value("progress", 0.0)).c_str(), mem.c_str(), "-", "-", "-");
      continue;
    }
    const std::string expires = m.value("pinned", false) ? "never (pinned)"
                                : m.contains("expires_in_seconds") ? "in " + duration(m["expires_in_seconds"].get<double>())
                                                                   : "never";
    std::printf("%-32s %-10s %10s %9lld %8s  %s\n", m.value("id", "").c_str(), "loaded", mem.c_str(),
                (long long)m.value("requests_in_flight", 0), duration(m.value("idle_seconds", 0.0)).c_str(), expires.c_str());
  }
  if (!shown) std::printf("(no model loaded)\n");
  return 0;
}

int cmd_load(int argc, char** argv) { return load_or_unload(argc, argv, true); }
int cmd_unload(int argc, char** argv) { return load_or_unload(argc, argv, false); }

}  // namespace frugal::cli
