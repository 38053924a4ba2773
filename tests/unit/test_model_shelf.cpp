// The model shelf's rules with a fake loader (no model files): one load per model however many
// requests arrive together, LRU eviction by count and by bytes, never a busy or pinned model,
// refusal without eviction when nothing can make room, failures retried on the next request,
// keep-alive expiry; and the registry's parsers (keep_alive, sizes, models.toml, models dir).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "server/model_registry.h"
#include "server/model_shelf.h"

using namespace frugal;
using namespace frugal::server;
using namespace std::chrono_literals;

namespace {

struct Fake {
  std::atomic<int> opens{0}, starts{0};
  std::map<std::string, int64_t> bytes;  // per model name; default 100 MiB
  std::set<std::string> broken;
  std::chrono::milliseconds start_delay{0};

  ShelfLoader loader() {
    ShelfLoader l;
    l.open = [this](const ModelSpec& s) {
      ++opens;
      if (broken.count(s.name)) fail("%s: not a GGUF file", s.path.c_str());
      auto m = std::make_unique<ServedModel>();
      m->name = s.name;
      m->path = s.path;
      m->bytes = bytes.count(s.name) ? bytes[s.name] : int64_t(100) << 20;
      return m;
    };
    l.start = [this](ServedModel&, const ModelSpec&, const std::function<void(double)>& progress) {
      for (int i = 1; i <= 4; ++i) {
        std::this_thread::sleep_for(start_delay / 4);
        progress(i / 4.0);
      }
      ++starts;
    };
    return l;
  }
};

std::vector<ModelSpec> specs(std::initializer_list<const char*> names) {
  std::vector<ModelSpec> out;
  for (const char* n : names) {
    ModelSpec s;
    s.name = n;
    s.path = std::string("/models/") + n + ".gguf";
    out.push_back(s);
  }
  return out;
}

ModelState state_of(const ModelShelf& shelf, const std::string& name) {
  for (auto& s : shelf.status())
    if (s.name == name) return s.state;
  ADD_FAILURE() << "no model " << name;
  return ModelState::failed;
}

std::vector<std::string> loaded(const ModelShelf& shelf) {
  std::vector<std::string> out;
  for (auto& s : shelf.status())
    if (s.state == ModelState::loaded) out.push_back(s.name);
  return out;
}

// Waits (up to 5 s) for the keep-alive thread to act.
bool eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.status;
  }
  return 200;
}

}  // namespace

TEST(ModelShelf, MaxLoadedEvictsLeastRecentlyUsed) {
  Fake f;
  ShelfOptions o;
  o.max_loaded = 2;
  ModelShelf shelf(specs({"a", "b", "c"}), {}, o, f.loader());
  shelf.acquire(shelf.resolve("a"));
  shelf.acquire(shelf.resolve("b"));
  shelf.acquire(shelf.resolve("a"));  // a is now the most recent
  shelf.acquire(shelf.resolve("c"));
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"a", "c"}));
  for (auto& s : shelf.status())
    if (s.name == "b") EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(f.opens, 3);
}

TEST(ModelShelf, ByteBudgetEvictsUntilItFits) {
  Fake f;
  f.bytes = {{"a", 300}, {"b", 300}, {"c", 500}};
  ShelfOptions o;
  o.max_memory = 1000;
  ModelShelf shelf(specs({"a", "b", "c"}), {}, o, f.loader());
  shelf.acquire(shelf.resolve("a"));
  shelf.acquire(shelf.resolve("b"));
  EXPECT_EQ(shelf.used_bytes(), 600);
  shelf.acquire(shelf.resolve("c"));  // 600 + 500 > 1000: a (least recent) goes
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(shelf.used_bytes(), 800);
}

TEST(ModelShelf, BusyAndPinnedModelsAreNeverEvicted) {
  Fake f;
  ShelfOptions o;
  o.max_loaded = 2;
  auto sp = specs({"a", "b", "c"});
  sp[1].pin = true;
  ModelShelf shelf(sp, {}, o, f.loader());
  auto busy = shelf.acquire(shelf.resolve("a"));  // a request in flight
  shelf.acquire(shelf.resolve("b"));
  try {
    shelf.acquire(shelf.resolve("c"));
    FAIL() << "c was loaded although a is busy and b pinned";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 503);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("a (100 MiB, busy)"), std::string::npos) << msg;  // wording: the budget and who holds it
    EXPECT_NE(msg.find("pinned"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at most 2 models may be loaded"), std::string::npos) << msg;
  }
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"a", "b"}));  // nothing was evicted for it
  busy.reset();
  shelf.acquire(shelf.resolve("c"));  // a is idle now
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"b", "c"}));
}

TEST(ModelShelf, TooBigForTheBudgetIsRefusedWithoutEvicting) {
  Fake f;
  f.bytes = {{"a", 300}, {"big", 5000}};
  ShelfOptions o;
  o.max_memory = 1000;
  ModelShelf shelf(specs({"a", "big"}), {}, o, f.loader());
  shelf.acquire(shelf.resolve("a"));
  try {
    shelf.acquire(shelf.resolve("big"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 503);
    EXPECT_NE(std::string(e.what()).find("--max-memory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"a"}));
  EXPECT_EQ(state_of(shelf, "big"), ModelState::available);  // refused, not broken
}

TEST(ModelShelf, ConcurrentFirstRequestsLoadOnce) {
  Fake f;
  f.start_delay = 200ms;
  ModelShelf shelf(specs({"a"}), {}, {}, f.loader());
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      if (shelf.acquire(shelf.resolve("a"))) ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(f.opens, 1);
  EXPECT_EQ(f.starts, 1);
}

TEST(ModelShelf, WaitersSeeProgressAndMayLeave) {
  Fake f;
  f.start_delay = 400ms;
  ModelShelf shelf(specs({"a"}), {}, {}, f.loader());
  int ticks = 0;
  // A client that leaves after two ticks: nullptr, and the load goes on for the others.
  auto none = shelf.acquire(shelf.resolve("a"), [&](double p) { EXPECT_GE(p, 0.0); return ++ticks < 2; }, 20ms);
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(ticks, 2);
  std::vector<double> seen;
  auto lease = shelf.acquire(shelf.resolve("a"), [&](double p) { seen.push_back(p); return true; }, 20ms);
  ASSERT_NE(lease, nullptr);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GT(seen.back(), 0.0);
  EXPECT_EQ(f.opens, 1);
}

TEST(ModelShelf, FailedLoadIsReportedAndRetriedOnTheNextRequest) {
  Fake f;
  f.broken = {"bad"};
  ModelShelf shelf(specs({"good", "bad"}), {}, {}, f.loader());
  try {
    shelf.acquire(shelf.resolve("bad"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 503);
    EXPECT_NE(std::string(e.what()).find("not a GGUF file"), std::string::npos) << e.what();
  }
  EXPECT_EQ(state_of(shelf, "bad"), ModelState::failed);
  for (auto& s : shelf.status())
    if (s.name == "bad") EXPECT_NE(s.error.find("not a GGUF file"), std::string::npos);
  EXPECT_NE(shelf.acquire(shelf.resolve("good")), nullptr);  // the others serve
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.opens, 2);  // no retry loop in the background
  f.broken.clear();       // fixed on disk: the next request loads it
  EXPECT_NE(shelf.acquire(shelf.resolve("bad")), nullptr);
  EXPECT_EQ(state_of(shelf, "bad"), ModelState::loaded);
}

TEST(ModelShelf, KeepAliveZeroUnloadsAfterTheRequest) {
  Fake f;
  ModelShelf shelf(specs({"a"}), {}, {}, f.loader());
  {
    auto lease = shelf.acquire(shelf.resolve("a"));
    KeepAlive k;
    k.ms = 0ms;
    lease->set_keep_alive(k);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(state_of(shelf, "a"), ModelState::loaded);  // not while the request runs
  }
  EXPECT_TRUE(eventually([&] { return state_of(shelf, "a") == ModelState::available; }));
}

TEST(ModelShelf, IdleModelsExpireUnlessPinned) {
  Fake f;
  ShelfOptions o;
  o.keep_alive.ms = 100ms;
  auto sp = specs({"a", "p", "forever"});
  sp[1].pin = true;
  sp[2].keep_alive = KeepAlive{};  // -1: never
  ModelShelf shelf(sp, {}, o, f.loader());
  for (const char* n : {"a", "p", "forever"}) shelf.acquire(shelf.resolve(n));
  for (auto& s : shelf.status()) EXPECT_EQ(s.expires.has_value(), s.name == "a") << s.name;
  EXPECT_TRUE(eventually([&] { return state_of(shelf, "a") == ModelState::available; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(loaded(shelf), (std::vector<std::string>{"p", "forever"}));
}

TEST(ModelShelf, ExplicitUnloadWaitsForRequests) {
  Fake f;
  ModelShelf shelf(specs({"a", "b"}), {}, {}, f.loader());
  EXPECT_FALSE(shelf.unload(0));  // not loaded
  auto lease = shelf.acquire(shelf.resolve("a"));
  EXPECT_TRUE(shelf.unload(0));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(state_of(shelf, "a"), ModelState::loaded);
  lease.reset();
  EXPECT_TRUE(eventually([&] { return state_of(shelf, "a") == ModelState::available; }));
}

TEST(ModelShelf, NamesAliasesAndTags) {
  Fake f;
  auto sp = specs({"r1", "qwen"});
  sp[1].aliases = {"q"};
  ModelShelf shelf(sp, deepseek_aliases("r1"), {}, f.loader());
  EXPECT_EQ(shelf.resolve("").name, "r1");  // no name: the first model
  EXPECT_EQ(shelf.resolve("q").name, "qwen");
  EXPECT_EQ(shelf.resolve("qwen:latest").name, "qwen");
  auto chat = shelf.resolve("deepseek-chat"), reasoner = shelf.resolve("deepseek-reasoner");
  EXPECT_EQ(chat.index, reasoner.index);
  EXPECT_EQ(chat.thinking, std::optional<bool>(false));
  EXPECT_EQ(reasoner.thinking, std::optional<bool>(true));
  try {
    shelf.resolve("nope");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(e.code, "model_not_found");
    EXPECT_NE(std::string(e.what()).find("r1, qwen, q, deepseek-reasoner, deepseek-chat"), std::string::npos) << e.what();
  }
  // Two names for one thing, or an alias of nothing, are refused at start-up.
  EXPECT_THROW(ModelShelf(specs({"a", "a"}), {}, {}, f.loader()), Error);
  EXPECT_THROW(ModelShelf(specs({"a"}), {{"x", "b", std::nullopt}}, {}, f.loader()), Error);
}

TEST(ModelShelf, RescanFindsNewModels) {
  Fake f;
  auto l = f.loader();
  int scans = 0;
  l.rescan = [&] {
    ++scans;
    return specs({"a", "new"});
  };
  ModelShelf shelf(specs({"a"}), {}, {}, l);
  EXPECT_EQ(shelf.resolve("new").name, "new");
  EXPECT_EQ(status_of([&] { shelf.resolve("other"); }), 404);
  EXPECT_EQ(scans, 1);  // the second miss came within 2 s: no second scan
  EXPECT_EQ(shelf.specs().size(), 2u);
}

TEST(ShelfParsing, KeepAlive) {
  auto ms = [](const char* s) { return parse_keep_alive_text(s)->ms.count(); };
  EXPECT_EQ(ms("5m"), 300000);
  EXPECT_EQ(ms("1h30m"), 5400000);
  EXPECT_EQ(ms("300ms"), 300);
  EXPECT_EQ(ms("1.5s"), 1500);
  EXPECT_EQ(ms("30"), 30000);
  EXPECT_EQ(ms("0"), 0);
  EXPECT_EQ(ms("-1"), -1);
  EXPECT_EQ(ms("-5m"), -1);
  for (const char* bad : {"", "m", "5x", "5m3", "abc", "--1", "5 m"}) EXPECT_FALSE(parse_keep_alive_text(bad)) << bad;
  EXPECT_EQ(parse_keep_alive(json(10)).ms.count(), 10000);
  EXPECT_EQ(parse_keep_alive(json(-1)).ms.count(), -1);
  EXPECT_EQ(parse_keep_alive(json("2m")).ms.count(), 120000);
  EXPECT_EQ(status_of([] { parse_keep_alive(json::array()); }), 400);
  EXPECT_EQ(status_of([] { parse_keep_alive(json("soon")); }), 400);
}

TEST(ShelfParsing, ByteSizes) {
  EXPECT_EQ(parse_byte_size("16GiB"), int64_t(16) << 30);
  EXPECT_EQ(parse_byte_size("512 MiB"), int64_t(512) << 20);
  EXPECT_EQ(parse_byte_size("2G"), int64_t(2000000000));
  EXPECT_EQ(parse_byte_size("1.5gb"), int64_t(1500000000));
  EXPECT_EQ(parse_byte_size("1000"), 1000);
  for (const char* bad : {"", "GiB", "12 parsecs", "1e999GB"}) EXPECT_FALSE(parse_byte_size(bad)) << bad;
}

namespace {
std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST(ShelfParsing, ModelsToml) {
  const std::string dir = testing::TempDir() + "shelf_toml";
  std::filesystem::create_directories(dir);
  const std::string f = write_file(dir + "/models.toml", R"(
max_memory = "2GiB"
max_loaded = 2
keep_alive = "10m"
deepseek_aliases = "r1"

[models.r1]
path = "r1.gguf"
aliases = ["reasoner"]
ctx = 2048
max_seqs = 4
keep_alive = 0
pin = true
preload = true
thinking = true
[models.r1.sampling]
temperature = 0.6
top_k = 40
)");
  RegistryConfig c = load_registry_config(f);
  ASSERT_EQ(c.models.size(), 1u);
  const ModelSpec& m = c.models[0];
  EXPECT_EQ(m.name, "r1");
  EXPECT_EQ(m.path, dir + "/r1.gguf");  // relative to the file
  EXPECT_EQ(m.aliases, std::vector<std::string>{"reasoner"});
  EXPECT_EQ(m.ctx, 2048);
  EXPECT_EQ(m.max_seqs, 4);
  EXPECT_EQ(m.keep_alive->ms.count(), 0);
  EXPECT_TRUE(m.pin && m.preload);
  EXPECT_EQ(m.thinking, std::optional<bool>(true));
  EXPECT_DOUBLE_EQ(m.sampling["temperature"].get<double>(), 0.6);
  EXPECT_EQ(m.sampling["top_k"].get<int64_t>(), 40);
  EXPECT_EQ(c.max_memory, int64_t(2) << 30);
  EXPECT_EQ(c.max_loaded, 2);
  EXPECT_EQ(c.keep_alive->ms.count(), 600000);
  ASSERT_EQ(c.aliases.size(), 2u);
  EXPECT_EQ(c.aliases[1].name, "deepseek-chat");

  // Mistakes name the file, the line and the key.
  auto error_of = [&](const std::string& text) {
    try {
      load_registry_config(write_file(dir + "/bad.toml", text));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("[models.a]\npath = \"a.gguf\"\npinn = true\n").find("bad.toml:3: 'models.a.pinn' is not a model setting"),
            std::string::npos);
  EXPECT_NE(error_of("[models.a]\nctx = 100\n").find("model 'a' has no path"), std::string::npos);
  EXPECT_NE(error_of("[models.a]\npath = 3\n").find("'models.a.path' must be a string"), std::string::npos);
  EXPECT_NE(error_of("max_memory = \"lots\"\n").find("'max_memory' must be a size"), std::string::npos);
  EXPECT_NE(error_of("[models.a]\npath = \"a\"\nkeep_alive = \"soon\"\n").find("'models.a.keep_alive' must be a duration"),
            std::string::npos);
  EXPECT_NE(error_of("[models.a]\npath = \"a\"\n[models.a.sampling]\ntemprature = 1\n").find("is not a sampling setting"),
            std::string::npos);
  EXPECT_NE(error_of("this is not toml").find("bad.toml:1:"), std::string::npos);
}

// Inputs tests/fuzz/fuzz_models_toml.cpp found crashing toml++ 3.3 (reachable assertions and
// "unreachable" points): each must now be a clear error.
TEST(ShelfParsing, FuzzFindingsAreErrors) {
  int n = 0;
  for (const auto& f : std::filesystem::directory_iterator(std::string(FRUGAL_TEST_DATA) + "/fuzz_regressions")) {
    if (f.path().filename().string().rfind("models_toml-", 0) != 0) continue;
    std::ifstream in(f.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_THROW(parse_registry_config(text, f.path().string()), Error) << f.path();
    ++n;
  }
  EXPECT_GE(n, 6);
  // Non-ASCII text goes in strings as \u escapes; raw, it is refused with the line.
  auto c = parse_registry_config("[models.a]\npath = \"/mod\\u00e8les/a.gguf\"\n", "/x/m.toml");
  EXPECT_EQ(c.models[0].path, "/mod\u00e8les/a.gguf");
  try {
    parse_registry_config("[models.a]\npath = \"/mod\u00e8les/a.gguf\"\n", "/x/m.toml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/x/m.toml:2: non-ASCII"), std::string::npos) << e.what();
  }
}

TEST(ShelfParsing, ModelsDir) {
  const std::string dir = testing::TempDir() + "shelf_dir";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/hf-model");
  std::filesystem::create_directories(dir + "/empty-folder");
  write_file(dir + "/b.gguf", "x");
  write_file(dir + "/a.gguf", "x");
  write_file(dir + "/notes.txt", "x");
  write_file(dir + "/.hidden.gguf", "x");
  write_file(dir + "/hf-model/config.json", "{}");
  write_file(dir + "/hf-model/model.safetensors", "x");
  auto found = scan_models_dir(dir);
  std::vector<std::string> names;
  for (auto& s : found) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "hf-model"}));
  EXPECT_THROW(scan_models_dir(dir + "/missing"), Error);
  EXPECT_EQ(model_stem("/x/y/model.gguf"), "model");
  EXPECT_EQ(model_stem("/x/hf-folder/"), "hf-folder");
}
