#include "server/model_shelf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace frugal::server {

namespace {
double mib(int64_t b) { return double(b) / double(1 << 20); }
}  // namespace

const char* model_state_name(ModelState s) {
  switch (s) {
    case ModelState::available: return "available";
    case ModelState::loading: return "loading";
    case ModelState::loaded: return "loaded";
    case ModelState::failed: return "failed";
  }
  return "?";
}

struct ModelShelf::Entry {
  ModelState state = ModelState::available;
  std::shared_ptr<ServedModel> model;
  std::string error;        // of the last attempt ("" = it loaded)
  uint64_t attempt = 0;     // loads started so far
  double progress = 0;
  int64_t bytes = 0;
  int64_t in_flight = 0, waiting = 0;
  bool unload_requested = false;
  std::optional<KeepAlive> request_keep_alive;  // the last request's, when it gave one
  Clock::time_point last_used{};
  int64_t loads = 0, unloads = 0, evictions = 0, failures = 0;
  std::thread loader;  // the last load's; joined before the next starts (it has finished by then)
};

ModelLease::~ModelLease() {
  model_.reset();
  shelf_->release(index_, keep_alive_);
}

ModelShelf::ModelShelf(std::vector<ModelSpec> specs, std::vector<AliasSpec> aliases, const ShelfOptions& o, ShelfLoader loader)
    : o_(o), loader_(std::move(loader)) {
  if (specs.empty()) fail("no models to serve");
  for (auto& s : specs) add_locked(std::move(s));
  for (auto& a : aliases) {
    if (find_locked(a.name)) fail("two models or aliases are named '%s': rename one", a.name.c_str());
    if (!find_locked(a.target)) fail("alias '%s' names no model ('%s')", a.name.c_str(), a.target.c_str());
    aliases_.push_back(std::move(a));
  }
  reaper_ = std::thread([this] { reap(); });
}

ModelShelf::~ModelShelf() { shutdown(Clock::now()); }

void ModelShelf::add_locked(ModelSpec s) {
  if (s.name.empty()) fail("%s: a model needs a name", s.path.c_str());
  if (find_locked(s.name)) fail("two models or aliases are named '%s': rename one (--alias, or the name in the config)", s.name.c_str());
  for (auto& a : s.aliases) {
    if (find_locked(a) || a == s.name) fail("two models or aliases are named '%s': rename one", a.c_str());
    aliases_.push_back({a, s.name, std::nullopt});
  }
  specs_.push_back(std::move(s));
  entries_.push_back(std::make_unique<Entry>());
}

std::optional<ModelShelf::Resolved> ModelShelf::find_locked(std::string_view n) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == n) return Resolved{i, std::nullopt, specs_[i].name};
  for (auto& a : aliases_)
    if (a.name == n)
      for (size_t i = 0; i < specs_.size(); ++i)
        if (specs_[i].name == a.target) return Resolved{i, a.thinking, specs_[i].name};
  return std::nullopt;
}

ModelShelf::Resolved ModelShelf::resolve(const std::string& name) {
  auto lookup = [&]() -> std::optional<Resolved> {
    std::lock_guard<std::mutex> l(mu_);
    if (name.empty()) return Resolved{0, std::nullopt, specs_[0].name};  // as llama-server: one model needs no name
    if (auto r = find_locked(name)) return r;
    // Ollama's clients name models with a tag: "frugal-r1-tiny:latest" is frugal-r1-tiny.
    if (name.ends_with(":latest")) return find_locked(std::string_view(name).substr(0, name.size() - 7));
    return std::nullopt;
  };
  if (auto r = lookup()) return *r;
  if (loader_.rescan) {
    // A model copied into the folder since start-up: look again (not more than every 2 s, so
    // that a client asking for a wrong name in a loop does not scan the disk in a loop).
    bool due = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      due = Clock::now() - last_rescan_ > std::chrono::seconds(2);
      if (due) last_rescan_ = Clock::now();
    }
    if (due) {
      std::vector<ModelSpec> found;
      try {
        found = loader_.rescan();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "models folder: %s\n", e.what());
      }
      std::lock_guard<std::mutex> l(mu_);
      for (auto& s : found) {
        bool clash = bool(find_locked(s.name));
        for (auto& a : s.aliases) clash |= bool(find_locked(a));
        if (clash) continue;
        std::fprintf(stderr, "model '%s': found %s\n", s.name.c_str(), s.path.c_str());
        add_locked(std::move(s));
      }
    }
    if (auto r = lookup()) return *r;
  }
  std::lock_guard<std::mutex> l(mu_);
  std::string names;
  for (auto& s : specs_) names += (names.empty() ? "" : ", ") + s.name;
  for (auto& a : aliases_) names += ", " + a.name;
  throw ApiError(404, "Model Not Exist: '" + name + "' (served: " + names + ")", "model", "model_not_found");
}

std::vector<ModelSpec> ModelShelf::specs() const {
  std::lock_guard<std::mutex> l(mu_);
  return {specs_.begin(), specs_.end()};
}

ModelSpec ModelShelf::spec(size_t index) const {
  std::lock_guard<std::mutex> l(mu_);
  return specs_[index];
}

std::vector<AliasSpec> ModelShelf::aliases() const {
  std::lock_guard<std::mutex> l(mu_);
  return {aliases_.begin(), aliases_.end()};
}

std::unique_ptr<ModelLease> ModelShelf::try_acquire(const Resolved& r) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = *entries_[r.index];
  if (e.state != ModelState::loaded || stopping_) return nullptr;
  ++e.in_flight;
  e.last_used = Clock::now();
  return std::make_unique<ModelLease>(this, r.index, e.model, r.thinking);
}

std::unique_ptr<ModelLease> ModelShelf::acquire(const Resolved& r, const std::function<bool(double)>& on_wait,
                                                std::chrono::milliseconds tick) {
  std::unique_lock<std::mutex> l(mu_);
  Entry& e = *entries_[r.index];
  const std::string& name = specs_[r.index].name;
  std::optional<uint64_t> mine;  // the load attempt this request waits for
  ++e.waiting;
  struct Unwait {
    Entry& e;
    ~Unwait() { --e.waiting; }
  } unwait{e};
  for (;;) {
    if (stopping_) throw ApiError(503, "the server is shutting down", "", "server_shutting_down");
    if (e.state == ModelState::loaded) {
      ++e.in_flight;
      e.last_used = Clock::now();
      e.unload_requested = false;
      return std::make_unique<ModelLease>(this, r.index, e.model, r.thinking);
    }
    if (e.state != ModelState::loading) {
      if (mine && *mine == e.attempt && !e.error.empty())
        throw ApiError(503, "model '" + name + "' is not available: " + e.error, "model", "model_not_loaded");
      // Not loaded (never, unloaded since, or an earlier attempt failed): load it.
      start_load_locked(r.index);
    }
    mine = e.attempt;
    if (!on_wait) {
      cv_.wait(l);
      continue;
    }
    if (cv_.wait_for(l, tick) == std::cv_status::timeout) {
      const double p = e.progress;
      l.unlock();
      const bool go_on = on_wait(p);
      l.lock();
      if (!go_on) return nullptr;
    }
  }
}

void ModelShelf::start_load_locked(size_t i) {
  Entry& e = *entries_[i];
  // The previous load of this model, if any, ended (the state is not `loading`): after it set
  // the state it takes the lock no more, so joining it here cannot deadlock.
  if (e.loader.joinable()) e.loader.join();
  e.state = ModelState::loading;
  e.progress = 0;
  e.error.clear();
  ++e.attempt;
  e.loader = std::thread([this, i] { load(i); });
}

void ModelShelf::load(size_t i) {
  std::unique_lock<std::mutex> first(mu_);
  const ModelSpec& spec = specs_[i];  // deque elements stay put when a rescan appends
  Entry& e = *entries_[i];
  first.unlock();
  auto failed = [&](const std::string& why, bool refused) {
    std::lock_guard<std::mutex> l(mu_);
    e.state = refused ? ModelState::available : ModelState::failed;
    e.error = why;
    e.bytes = refused ? e.bytes : 0;
    if (!refused) ++e.failures;
    cv_.notify_all();
    std::fprintf(stderr, "model '%s': %s: %s\n", spec.name.c_str(), refused ? "not loaded" : "failed to load", why.c_str());
  };
  std::fprintf(stderr, "model '%s': loading %s\n", spec.name.c_str(), spec.path.c_str());
  const auto t0 = Clock::now();
  std::unique_ptr<ServedModel> m;
  try {
    m = loader_.open(spec);
  } catch (const std::exception& ex) {
    return failed(ex.what(), false);
  }
  // Room: the estimate against the budget, evicting idle models least recently used first.
  std::vector<std::shared_ptr<ServedModel>> victims;
  {
    std::unique_lock<std::mutex> l(mu_);
    const int64_t need = m->bytes;
    e.bytes = need;
    int64_t used = used_locked() - need, count = loaded_count_locked() - 1;  // without this one
    std::vector<size_t> idle;
    for (size_t j = 0; j < entries_.size(); ++j) {
      const Entry& x = *entries_[j];
      if (j != i && x.state == ModelState::loaded && x.in_flight == 0 && x.waiting == 0 && !specs_[j].pin) idle.push_back(j);
    }
    std::sort(idle.begin(), idle.end(), [&](size_t a, size_t b) { return entries_[a]->last_used < entries_[b]->last_used; });
    auto fits = [&] {
      return (o_.max_memory <= 0 || used + need <= o_.max_memory) && (o_.max_loaded <= 0 || count + 1 <= o_.max_loaded);
    };
    size_t n_evict = 0;
    while (!fits() && n_evict < idle.size()) {
      used -= entries_[idle[n_evict]]->bytes;
      --count;
      ++n_evict;
    }
    if (!fits() || stopping_) {
      std::string busy;
      for (size_t j = 0; j < entries_.size(); ++j)
        if (j != i && (entries_[j]->state == ModelState::loaded || entries_[j]->state == ModelState::loading))
          busy += strfmt("%s%s (%.0f MiB%s)", busy.empty() ? "" : ", ", specs_[j].name.c_str(), mib(entries_[j]->bytes),
                         specs_[j].pin ? ", pinned" : entries_[j]->in_flight > 0 || entries_[j]->waiting > 0 ? ", busy"
                                                       : entries_[j]->state == ModelState::loading ? ", loading" : "");
      std::string limits;
      if (o_.max_memory > 0) limits = strfmt("the memory budget is %.0f MiB (--max-memory)", mib(o_.max_memory));
      if (o_.max_loaded > 0) limits += strfmt("%sat most %lld models may be loaded (--max-loaded)", limits.empty() ? "" : " and ", (long long)o_.max_loaded);
      const std::string why =
          stopping_ ? "the server is shutting down"
          : o_.max_memory > 0 && need > o_.max_memory
              ? strfmt("it needs %.0f MiB (weights, KV and prefix cache), more than the memory budget of %.0f MiB (--max-memory)",
                       mib(need), mib(o_.max_memory))
              : strfmt("it needs %.0f MiB; %s, and the models loaded now cannot be unloaded: %s", mib(need), limits.c_str(), busy.c_str());
      l.unlock();
      return failed(why, true);
    }
    for (size_t k = 0; k < n_evict; ++k) {
      Entry& x = *entries_[idle[k]];
      victims.push_back(std::move(x.model));
      x.state = ModelState::available;
      x.progress = 0;
      ++x.unloads;
      ++x.evictions;
      std::fprintf(stderr, "model '%s': unloaded to make room for '%s'\n", specs_[idle[k]].name.c_str(), spec.name.c_str());
    }
  }
  for (auto& v : victims)
    if (v->engine) v->engine->shutdown(Clock::now());
  victims.clear();  // freed before this model's weights come in
  try {
    loader_.start(*m, spec, [&](double p) {
      std::lock_guard<std::mutex> l(mu_);
      e.progress = std::clamp(p, 0.0, 1.0);
    });
  } catch (const std::exception& ex) {
    return failed(ex.what(), false);
  }
  std::lock_guard<std::mutex> l(mu_);
  e.model = std::shared_ptr<ServedModel>(std::move(m));
  e.state = ModelState::loaded;
  e.progress = 1;
  e.last_used = Clock::now();
  e.request_keep_alive.reset();
  ++e.loads;
  cv_.notify_all();
  std::fprintf(stderr, "model '%s': loaded in %.1f s (estimate %.0f MiB)\n", spec.name.c_str(),
               std::chrono::duration<double>(Clock::now() - t0).count(), mib(e.bytes));
}

void ModelShelf::release(size_t i, std::optional<KeepAlive> k) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = *entries_[i];
  --e.in_flight;
  e.last_used = Clock::now();
  if (k) e.request_keep_alive = k;
  cv_.notify_all();  // the reaper re-reads expiries; waiters for room re-check
}

bool ModelShelf::unload(size_t i) {
  std::lock_guard<std::mutex> l(mu_);
  Entry& e = *entries_[i];
  if (e.state != ModelState::loaded && e.state != ModelState::loading) return false;
  e.unload_requested = true;
  cv_.notify_all();
  return true;
}

KeepAlive ModelShelf::keep_alive_locked(size_t i) const {
  // The last request's, else the model's, else the server's.
  const Entry& e = *entries_[i];
  return e.request_keep_alive ? *e.request_keep_alive : specs_[i].keep_alive.value_or(o_.keep_alive);
}

void ModelShelf::reap() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = *entries_[i];
      if (e.state != ModelState::loaded || e.in_flight > 0 || e.waiting > 0) continue;
      const KeepAlive k = keep_alive_locked(i);
      bool due = e.unload_requested;
      if (!due && !k.forever() && !specs_[i].pin) {
        const auto at = e.last_used + k.ms;
        if (at <= now) due = true;
        else next = std::min(next, at);
      }
      if (!due) continue;
      const char* why = e.unload_requested ? "asked to" : k.ms.count() == 0 ? "keep_alive 0" : "idle";
      std::shared_ptr<ServedModel> m = std::move(e.model);
      e.state = ModelState::available;
      e.progress = 0;
      e.unload_requested = false;
      e.request_keep_alive.reset();
      ++e.unloads;
      cv_.notify_all();
      l.unlock();
      std::fprintf(stderr, "model '%s': unloaded (%s)\n", specs_[i].name.c_str(), why);
      if (m->engine) m->engine->shutdown(Clock::now());
      m.reset();
      l.lock();
      next = Clock::now();  // entries may have changed meanwhile: look again
      break;
    }
    if (stopping_) break;
    cv_.wait_until(l, next);
  }
}

void ModelShelf::preload() {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    Entry& e = *entries_[i];
    if (!specs_[i].preload || e.state != ModelState::available) continue;
    start_load_locked(i);
  }
}

void ModelShelf::shutdown(Clock::time_point deadline) {
  std::vector<std::thread> loaders;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    for (auto& e : entries_)
      if (e->loader.joinable()) loaders.push_back(std::move(e->loader));
    cv_.notify_all();
  }
  if (reaper_.joinable()) reaper_.join();
  for (auto& t : loaders) t.join();  // a load in progress ends first (it sees stopping_ for its room)
  std::vector<std::shared_ptr<ServedModel>> ms;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& e : entries_)
      if (e->model) ms.push_back(e->model);
  }
  for (auto& m : ms)
    if (m->engine) m->engine->shutdown(deadline);
}

int64_t ModelShelf::used_locked() const {
  int64_t b = 0;
  for (auto& e : entries_)
    if (e->state == ModelState::loaded || e->state == ModelState::loading) b += e->bytes;
  return b;
}

int64_t ModelShelf::loaded_count_locked() const {
  int64_t n = 0;
  for (auto& e : entries_) n += e->state == ModelState::loaded || e->state == ModelState::loading;
  return n;
}

int64_t ModelShelf::used_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return used_locked();
}

std::vector<ModelStatus> ModelShelf::status() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ModelStatus> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = *entries_[i];
    ModelStatus s;
    s.name = specs_[i].name;
    s.path = specs_[i].path;
    s.state = e.state;
    s.error = e.error;
    s.progress = e.progress;
    s.bytes = e.bytes;
    s.in_flight = e.in_flight;
    s.pinned = specs_[i].pin;
    s.last_used = e.last_used;
    s.loads = e.loads;
    s.unloads = e.unloads;
    s.evictions = e.evictions;
    s.failures = e.failures;
    s.model = e.model;
    const KeepAlive k = keep_alive_locked(i);
    if (e.state == ModelState::loaded && !k.forever() && !specs_[i].pin)
      s.expires = (e.in_flight > 0 ? Clock::now() : e.last_used) + k.ms;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace frugal::server
