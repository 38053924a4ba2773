// frugal serve: the API server (OpenAI, DeepSeek, Anthropic, Ollama) over a shelf of models:
// the -m files (loaded at start-up), a models folder and a models.toml (loaded on first use),
// each with its own scheduler (engine) once loaded, within a memory budget. Serves until
// SIGTERM / SIGINT, which drain the requests in flight within --shutdown-grace seconds and
// write the prefix caches to disk.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "chat/model_template.h"
#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/common.h"
#include "core/progress.h"
#include "dist/mpi_world.h"
#include "formats/gguf.h"
#include "formats/json_file.h"
#include "server/http_server.h"
#include "server/model_registry.h"

namespace frugal::cli {

namespace {

std::vector<std::string> read_keys(const std::string& file) {
  std::vector<std::string> keys;
  std::string text = read_text_file(file), line;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line[0] != '#') keys.push_back(line);
      line.clear();
    } else {
      line += text[i];
    }
  }
  if (keys.empty()) fail("%s: no API keys in the file", file.c_str());
  return keys;
}

// Ready-to-paste requests (the tests run them exactly as printed).
void print_snippets(const server::ServerOptions& so, int port, const std::string& model) {
  const std::string host = so.host == "0.0.0.0" ? "127.0.0.1" : so.host;
  const std::string url = "http://" + host + ":" + std::to_string(port) + "/v1";
  const bool keyed = !so.api_keys.empty();
  std::printf("\ncurl:\n  curl %s/chat/completions -H 'Content-Type: application/json'%s \\\n"
              "    -d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}'\n",
              url.c_str(), keyed ? " -H \"Authorization: Bearer $FRUGAL_API_KEY\"" : "", model.c_str());
  std::printf("\nopenai (Node.js, npm install openai):\n"
              "  import OpenAI from 'openai';\n"
              "  const client = new OpenAI({ baseURL: '%s', apiKey: %s });\n"
              "  const r = await client.chat.completions.create({ model: '%s', messages: [{ role: 'user', content: 'Hello!' }] });\n"
              "  console.log(r.choices[0].message.content);\n\n",
              url.c_str(), keyed ? "process.env.FRUGAL_API_KEY" : "'none'", model.c_str());
}

const CommandHelp kHelp{
    "frugal serve [-m MODEL ...] [options]",
    "An HTTP server speaking OpenAI's and DeepSeek's chat completions and completions APIs (streaming,\n"
    "reasoning_content, tools, JSON output), with a web chat page at /. Requests are batched;\n"
    "prompt prefixes are cached in RAM and on disk.",
    {{"models",
      {{"-m, --model", "FILE|DIR", "a model loaded at start-up; repeat for several [the shipped default model]"},
       {"--alias", "NAME", "the API name of the n-th -m model [its file stem]; repeatable"},
       {"--chat-template", "FILE", "a Jinja chat template for the n-th -m model; repeatable"},
       {"--models-dir", "DIR", "also serve every .gguf file and Hugging Face folder in DIR, loaded on first use"},
       {"--config", "FILE", "models.toml: models with aliases, context, keep_alive, pin, preload, defaults (README)"},
       {"--deepseek-aliases", "NAME", "serve model NAME also as deepseek-reasoner (thinking) and deepseek-chat (no thinking)"},
       {"--max-memory", "SIZE", "memory all loaded models may take (\"16GiB\"); the least recently used idle one is\n"
                                "unloaded to make room [90% of RAM]"},
       {"--max-loaded", "N", "models loaded at once; 0 = no limit [0]"},
       {"--keep-alive", "DURATION", "unload a model idle this long (\"5m\", \"1h\", seconds); -1 = never [-1]"},
       {"-c, --ctx-size", "N", "context length per sequence; 0 = the model's [0]"}}},
     {"server",
      {{"--host", "ADDR", "address to bind [127.0.0.1]"},
       {"--port", "N", "port; 0 = any free one [8080]"},
       {"--api-key", "KEY", "require this bearer key; repeatable"},
       {"--api-key-file", "FILE", "keys, one per line; repeatable"},
       {"--cors", "ORIGIN", "let web pages from ORIGIN (\"*\": any) call the API; repeatable [none]"},
       {"--max-per-key", "N", "concurrent requests per API key, for multi-tenant servers; 0 = no cap [0]"},
       {"--max-body-mb", "N", "largest request body [8]"},
       {"--max-connections", "N", "connections served at once, a thread each, made on demand; more wait [1024]"},
       {"--timeout", "SECONDS", "drop a client whose socket read or write waits this long (a stream: cancelled) [60]"},
       {"--shutdown-grace", "SECONDS", "on SIGTERM, let running requests finish this long [30]"},
       {"--quiet", "", "no request log"}}},
     {"engine",
      {{"--max-seqs, -np", "N", "sequences decoded together [8]"},
       {"-b, --batch-size", "N", "tokens per forward pass, decode rows and prompt chunks [256]"},
       {"--max-queue", "N", "waiting requests beyond this get 429 [64]"},
       {"--cache-ram-mb", "N", "prompt-prefix cache in RAM [2048]"},
       {"--cache-disk-mb", "N", "prompt-prefix cache on disk [8192]"},
       {"--cache-dir", "DIR", "the disk cache's folder [$XDG_CACHE_HOME/frugal or ~/.cache/frugal]"},
       {"--no-disk-cache", "", "RAM cache only"},
       threads_option()}},
     model_load_options(), split_options()},
    "frugal serve\n"
    "frugal serve -m r1-distill-qwen-1.5b-q4_k_m.gguf --alias deepseek-reasoner --port 8080 --api-key-file keys.txt\n"
    "frugal serve --models-dir ~/models --max-memory 12GiB --keep-alive 10m"};

}  // namespace

int cmd_serve(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  std::vector<std::string> paths = a.get_all({"-m", "--model"});
  const std::vector<std::string> aliases = a.get_all({"--alias"});
  // --alias and --chat-template apply to the models in -m order ("" keeps the model's own).
  const std::vector<std::string> templates = a.get_all({"--chat-template"});
  std::string models_dir = a.get({"--models-dir"});
  const std::string config_file = a.get({"--config"});
  const std::string ds_aliases = a.get({"--deepseek-aliases"});
  const std::string max_memory = a.get({"--max-memory"});
  const int64_t max_loaded = a.get_int({"--max-loaded"}, -1);
  const std::string keep_alive = a.get({"--keep-alive"});
  server::ServerOptions so;
  so.host = a.get({"--host"}, so.host);
  so.port = int(a.get_int({"--port"}, so.port));
  so.api_keys = a.get_all({"--api-key"});
  for (const auto& f : a.get_all({"--api-key-file"})) {
    auto k = read_keys(f);
    so.api_keys.insert(so.api_keys.end(), k.begin(), k.end());
  }
  so.cors_origins = a.get_all({"--cors"});
  so.max_per_key = a.get_int({"--max-per-key"}, so.max_per_key);
  so.max_body_bytes = size_t(a.get_int({"--max-body-mb"}, 8)) << 20;
  so.shutdown_grace = std::chrono::seconds(a.get_int({"--shutdown-grace"}, 30));
  so.quiet = a.flag({"--quiet"});
  so.max_connections = int(std::clamp<int64_t>(a.get_int({"--max-connections"}, so.max_connections), 1, 65536));
  so.timeout = std::chrono::seconds(std::clamp<int64_t>(a.get_int({"--timeout"}, so.timeout.count()), 1, 86400));
  EngineOptions eo;
  eo.n_ctx = a.get_int({"-c", "--ctx-size"}, 0);
  eo.max_seqs = a.get_int({"--max-seqs", "-np"}, 8);
  eo.n_batch = a.get_int({"-b", "--batch-size"}, eo.n_batch);
  eo.max_queue = a.get_int({"--max-queue"}, eo.max_queue);
  eo.threads = threads_from(a);
  eo.cache.ram_bytes = a.get_int({"--cache-ram-mb"}, 2048) << 20;
  eo.cache.disk_bytes = a.get_int({"--cache-disk-mb"}, 8192) << 20;
  std::string cache_dir = a.get({"--cache-dir"});
  bool no_disk = a.flag({"--no-disk-cache"});
  const LoadOptions lo = load_options_from(a);
  const dist::SplitOptions split = split_options_from(a, eo.threads);
  a.check_unused();
  // Under mpirun: one model over every rank; rank 0 serves HTTP, the others their stage.
  const dist::World world = dist::world();
  if (world.size > 1) {
    if (paths.size() != 1 || !models_dir.empty() || !config_file.empty())
      fail("under mpirun, serve runs one model split over the ranks: give it as -m MODEL (no --models-dir or --config)");
    if (world.rank > 0) {
      // mpirun hands a SIGTERM to every rank: these leave when rank 0, shutting down
      // gracefully, tells them (or with the job, if rank 0 dies).
      sigset_t term;
      sigemptyset(&term);
      sigaddset(&term, SIGTERM);
      sigaddset(&term, SIGINT);
      pthread_sigmask(SIG_BLOCK, &term, nullptr);
      dist::load_split_model(paths[0], lo, split);  // returns when rank 0 is done
      return 0;
    }
    // The expert split keeps every KV row on rank 0; a pipeline's rows live on every rank.
    if (split.kind != "experts") {
      if (!no_disk)
        std::fprintf(stderr, "note: the prefix cache keeps no disk tier under a pipeline split (a block's rows live on "
                             "every rank)\n");
      no_disk = true;
    }
  }
  if (aliases.size() > paths.size()) fail("--alias given %zu times for %zu models", aliases.size(), paths.size());
  if (templates.size() > paths.size()) fail("--chat-template given %zu times for %zu models", templates.size(), paths.size());
  if (so.port < 0 || so.port > 65535) fail("--port must be in [0, 65535]");
  if (eo.max_seqs < 1 || eo.max_seqs > 256) fail("--max-seqs must be in [1, 256]");
  if (cache_dir.empty() && !no_disk) {
    const char* home = std::getenv("XDG_CACHE_HOME");
    const char* h2 = std::getenv("HOME");
    cache_dir = home && *home ? std::string(home) + "/frugal" : h2 && *h2 ? std::string(h2) + "/.cache/frugal" : "";
  }

  // The registry: -m models (preloaded), the config's, the folder's; the command line wins
  // over the config file.
  std::vector<server::ModelSpec> specs;
  std::vector<server::AliasSpec> extra_aliases;
  server::ShelfOptions shelf_opts;
  shelf_opts.max_memory = max_memory_from("");
  server::RegistryConfig cfg;
  if (!config_file.empty()) cfg = server::load_registry_config(config_file);
  if (cfg.max_memory) shelf_opts.max_memory = *cfg.max_memory;
  if (cfg.max_loaded) shelf_opts.max_loaded = *cfg.max_loaded;
  if (cfg.keep_alive) shelf_opts.keep_alive = *cfg.keep_alive;
  if (!max_memory.empty()) shelf_opts.max_memory = max_memory_from(max_memory);
  if (max_loaded >= 0) shelf_opts.max_loaded = max_loaded;
  if (!keep_alive.empty()) {
    auto k = server::parse_keep_alive_text(keep_alive);
    if (!k) fail("--keep-alive: '%s' is not a duration (\"5m\", \"1h\", \"30s\", seconds, or -1)", keep_alive.c_str());
    shelf_opts.keep_alive = *k;
  }
  if (models_dir.empty()) models_dir = cfg.models_dir;
  if (paths.empty() && cfg.models.empty() && models_dir.empty()) paths.push_back(model_or_default(""));
  for (size_t i = 0; i < paths.size(); ++i) {
    server::ModelSpec s;
    s.path = paths[i];
    s.name = i < aliases.size() && !aliases[i].empty() ? aliases[i] : server::model_stem(paths[i]);
    s.chat_template = i < templates.size() ? templates[i] : "";
    s.preload = true;
    specs.push_back(std::move(s));
  }
  for (auto& s : cfg.models) specs.push_back(std::move(s));
  extra_aliases = cfg.aliases;
  auto scan = [models_dir] { return server::scan_models_dir(models_dir); };
  if (!models_dir.empty())
    for (auto& s : scan()) {
      bool known = false;
      for (auto& o : specs) known |= o.name == s.name || o.path == s.path;
      if (!known) specs.push_back(std::move(s));
    }
  if (specs.empty()) fail("no models: %s holds no .gguf file or Hugging Face folder", models_dir.c_str());
  if (!ds_aliases.empty()) {
    std::erase_if(extra_aliases, [](const server::AliasSpec& x) { return x.name.starts_with("deepseek-"); });
    for (auto& x : server::deepseek_aliases(ds_aliases)) extra_aliases.push_back(x);
  }

  // Signals go to one waiting thread, never to the workers started below.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a dead server
  signal(SIGXFSZ, SIG_IGN);  // a file size limit (ulimit -f) fails a cache write, it does not kill the server

  Metrics metrics;
  // What each model's engine gets: the server's options, the model's own context and slots.
  auto engine_options = [eo, cache_dir, no_disk](const server::ModelSpec& spec, const Model& model) {
    EngineOptions e = eo;
    if (spec.ctx > 0) e.n_ctx = spec.ctx;
    if (spec.max_seqs > 0) e.max_seqs = spec.max_seqs;
    e.n_ctx = default_ctx(model, e.n_ctx);
    if (!cache_dir.empty() && !no_disk) e.cache.disk_dir = cache_dir + "/" + spec.name;
    return e;
  };
  server::ShelfLoader loader;
  loader.open = [lo, engine_options, split](const server::ModelSpec& spec) {
    auto m = std::make_unique<server::ServedModel>();
    m->path = spec.path;
    m->name = spec.name;
    LoadedModel lm = load_with_tokenizer(spec.path, lo, dist::world().size > 1 ? &split : nullptr);
    m->model = std::move(lm.model);
    m->tok = std::move(lm.tokenizer);
    try {
      m->mt = chat_template_for(spec.path, spec.chat_template, *m->tok);
      m->tmpl.emplace(tmpl::Template::parse(m->mt->source, m->mt->name));
      m->parser = chat::parser_config_for(m->mt->source, m->model->config().name);
    } catch (const Error& e) {
      std::fprintf(stderr, "note: %s: %s; chat endpoints are off for this model\n", spec.path.c_str(), e.what());
      m->mt.reset();
      m->tmpl.reset();
    }
    // Embedding pooling: the config's, else the file's (llama.cpp's key: 1 mean, 3 last).
    const auto pt = m->model->file().get_int(m->model->config().arch + ".pooling_type");
    m->pooling = spec.pooling == "last" || (spec.pooling.empty() && pt == 3) ? Pooling::last : Pooling::mean;
    m->random_weights = m->model->file().get_bool("frugal.random_weights").value_or(false);
    if (m->random_weights) std::fprintf(stderr, "note: %s has random weights: its answers are noise, not language.\n", spec.path.c_str());
    m->bytes = int64_t(m->model->file().mapped_bytes()) + Engine::memory_bytes(*m->model, engine_options(spec, *m->model));
    return m;
  };
  // FRUGAL_LOAD_DELAY_MS: every load takes that much longer (reporting progress as it waits),
  // to see what clients get during a slow load without a model of many gigabytes (tests).
  const char* delay_env = std::getenv("FRUGAL_LOAD_DELAY_MS");
  const int64_t load_delay_ms = delay_env ? std::max<int64_t>(0, std::atoll(delay_env)) : 0;
  loader.start = [&metrics, eo, engine_options, load_delay_ms, lo](server::ServedModel& m, const server::ModelSpec& spec,
                                                               const std::function<void(double)>& progress) {
    for (int64_t t = 0; t < load_delay_ms; t += 100) {
      progress(0.5 * double(t) / double(load_delay_ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, load_delay_ms - t)));
    }
    const GgufFile& f = m.model->file();
    if (dist::world().size == 1) {
      // The weights are mapped: page them in now (copied into huge-page memory unless --mmap),
      // or the first tokens stall on disk reads (a rank of a split reads only its own layers'
      // pages: they fault in).
      std::optional<Progress> line;
      if (f.mapped_bytes() >= (size_t(256) << 20)) line.emplace("loading " + spec.name, double(f.mapped_bytes()));
      f.prefetch(
          eo.threads,
          [&](size_t done, size_t total) {
            if (line) line->update(double(done));
            const double from = load_delay_ms ? 0.5 : 0.0;
            progress(from + (0.95 - from) * (total ? double(done) / double(total) : 1.0));
          },
          !lo.mmap);
    }
    const EngineOptions e = engine_options(spec, *m.model);
    m.engine = std::make_unique<Engine>(*m.model, *m.tok, e, metrics);
    m.created = server::unix_now();
    std::fprintf(stderr, "model '%s': %s, context %lld x %lld sequences, KV %.1f MiB, prefix cache %s\n", m.name.c_str(),
                 spec.path.c_str(), (long long)e.n_ctx, (long long)e.max_seqs,
                 double(m.model->new_cache(1, 1)->bytes_per_token() * e.n_ctx * e.max_seqs) / (1 << 20),
                 e.cache.disk_dir.empty() ? "in memory" : e.cache.disk_dir.c_str());
  };
  if (!models_dir.empty()) loader.rescan = scan;
  const size_t n_specs = specs.size();
  server::ModelShelf shelf(std::move(specs), std::move(extra_aliases), shelf_opts, loader);
  // The -m models load before the server listens (as before the shelf: a server that answers
  // has its models); the config's preload ones in the background.
  {
    const std::vector<server::ModelSpec> all = shelf.specs();
    for (size_t i = 0; i < all.size() && i < paths.size(); ++i) {  // the -m ones come first
      try {
        shelf.acquire(shelf.resolve(all[i].name));
      } catch (const server::ApiError& e) {
        fail("%s", e.what());
      }
    }
    shelf.preload();
  }

  // A connection holds a thread for its whole request: at least enough for every request the
  // loaded engines run or queue, plus room for the ones that get a quick 429 or a /metrics scrape.
  const int64_t resident = shelf_opts.max_loaded > 0 ? std::min<int64_t>(shelf_opts.max_loaded, int64_t(n_specs)) : int64_t(n_specs);
  so.max_connections = int(std::max<int64_t>(so.max_connections, std::min<int64_t>(resident * (eo.max_seqs + eo.max_queue) + 16, 16384)));
  server::HttpServer http(shelf, so, metrics);
  if (so.api_keys.empty() && so.host != "127.0.0.1" && so.host != "localhost" && so.host != "::1")
    std::fprintf(stderr, "warning: listening on %s without --api-key: anyone who can reach this port can use the models\n",
                 so.host.c_str());
  const int port = http.bind();
  auto announce = [&] {
    const std::vector<server::ModelSpec> all = shelf.specs();
    std::printf("frugal serve: listening on http://%s:%d/v1 (models: ", so.host.c_str(), port);
    for (size_t i = 0; i < all.size(); ++i) std::printf("%s%s", i ? ", " : "", all[i].name.c_str());
    std::printf(")%s\n", so.api_keys.empty() ? "" : ", API key required");
    print_snippets(so, port, all.front().name);
    std::fflush(stdout);
  };

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::fprintf(stderr, "frugal serve: %s: finishing requests in flight (up to %lld s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 (long long)so.shutdown_grace.count());
    http.shutdown();
  });
  http.serve(announce);
  kill(getpid(), SIGTERM);  // wakes the waiter if serving ended by itself (no-op shutdown otherwise)
  waiter.join();
  std::fprintf(stderr, "frugal serve: stopped\n");
  return 0;
}

}  // namespace frugal::cli
