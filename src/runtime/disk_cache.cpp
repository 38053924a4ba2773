#include "runtime/disk_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace frugal {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[6] = {'F', 'R', 'G', 'K', 'V', '1'};
constexpr uint16_t kVersion = 3;  // 2: rows in the cache's type, widths in bytes; 3: rows split by KV head
constexpr size_t kHeadBytes = 64;
constexpr std::string_view kExt = ".kv", kTmpExt = ".kv.tmp";

// Odd, so multiplying by it is a bijection mod 2^64; its bits are irregular enough to carry
// every input bit into the high half, which the shift then folds back down.
constexpr uint64_t kOdd = 0x9e3779b97f4a7c15ull;

inline uint64_t step(uint64_t h, uint64_t w) {
  h = (h ^ w) * kOdd;
  return h ^ (h >> 32);
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// "<16 hex digits>.kv" -> the chain hash; tmp is set for the same name + ".tmp".
bool parse_name(std::string_view name, uint64_t& chain, bool& tmp) {
  tmp = name.size() == 16 + kTmpExt.size() && name.substr(16) == kTmpExt;
  if (!tmp && !(name.size() == 16 + kExt.size() && name.substr(16) == kExt)) return false;
  chain = 0;
  for (char c : name.substr(0, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    chain = chain << 4 | uint64_t(d);
  }
  return true;
}

void refresh_mtime(const std::string& path) {
  std::error_code ec;  // best effort: only the order after a restart depends on it
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
}

}  // namespace

uint64_t hash_bytes(const void* data, size_t n, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  // Four independent lanes: one multiply chain is latency-bound, four keep the multiplier
  // busy (a block is megabytes).
  uint64_t lane[4] = {seed, seed + kOdd, seed + 2 * kOdd, seed + 3 * kOdd};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int j = 0; j < 4; ++j) lane[j] = step(lane[j], load64(p + i + 8 * size_t(j)));
  uint64_t tail[4] = {};
  if (n > i) std::memcpy(tail, p + i, n - i);
  uint64_t h = step(seed, uint64_t(n));  // the length separates "ab" from "ab\0"
  for (int j = 0; j < 4; ++j) h = step(h, step(lane[j], tail[j]));
  h ^= h >> 29;
  return step(h, 0);
}

DiskCache::DiskCache(std::string dir, int64_t budget_bytes, const BlockLayout& layout)
    : dir_(std::move(dir)), budget_(budget_bytes), layout_(layout) {
  std::error_code ec;
  const bool existed = fs::exists(dir_, ec);
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_))
    fail("prefix cache: cannot create directory %s: %s", dir_.c_str(),
         ec ? ec.message().c_str() : "a file of that name exists");
  // The blocks hold the prompts' tokens and the KV that answers will be computed from: another
  // user who can read the directory reads the prompts, one who can write it plants blocks (the
  // checksum guards against damage, not against a forger). So the directory is private.
  if (!existed) ::chmod(dir_.c_str(), 0700);
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) fail("prefix cache: cannot stat %s: %s", dir_.c_str(), std::strerror(errno));
  if (st.st_uid != ::geteuid())
    fail("prefix cache: %s belongs to another user (uid %u); use a directory of your own", dir_.c_str(),
         unsigned(st.st_uid));
  // Ours but open to others (made under a umask of 002, say): closed, with a note. Files they
  // may have put there are theirs, and never read (scan, read).
  if (st.st_mode & 077) {
    if (::chmod(dir_.c_str(), 0700) != 0)
      fail("prefix cache: %s is open to other users (mode %03o) and cannot be made private: %s", dir_.c_str(),
           unsigned(st.st_mode & 0777), std::strerror(errno));
    std::fprintf(stderr, "prefix cache: %s was open to other users (mode %03o); made it private (700)\n", dir_.c_str(),
                 unsigned(st.st_mode & 0777));
  }
  // Fail now, at start-up, rather than on every eviction later.
  std::string probe = dir_ + "/.write-probe" + std::string(kTmpExt);
  errno = 0;
  bool ok = false;
  if (std::FILE* f = std::fopen(probe.c_str(), "wb")) {
    ok = std::fputc('x', f) != EOF;
    ok = std::fclose(f) == 0 && ok;
  }
  int err = errno;
  std::remove(probe.c_str());
  if (!ok) fail("prefix cache: cannot write in %s: %s", dir_.c_str(), std::strerror(err));
  scan();
}

void DiskCache::scan() {
  struct Found {
    fs::file_time_type mtime;
    uint64_t chain;
    int64_t bytes;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    uint64_t chain = 0;
    bool tmp = false;
    if (!parse_name(it->path().filename().string(), chain, tmp)) continue;  // not ours
    if (tmp) {  // left by a crash between write and rename
      fs::remove(it->path(), ec);
      ec.clear();
      continue;
    }
    // A file of another owner is not ours to trust (nor, usually, to delete): ignored.
    struct stat fst {};
    if (::lstat(it->path().c_str(), &fst) != 0 || fst.st_uid != ::geteuid()) continue;
    std::error_code e1, e2, e3;
    bool regular = it->is_regular_file(e1);
    auto bytes = it->file_size(e2);
    auto mtime = it->last_write_time(e3);
    if (regular && !e1 && !e2 && !e3) found.push_back({mtime, chain, int64_t(bytes)});
  }
  if (ec) fail("prefix cache: cannot list %s: %s", dir_.c_str(), ec.message().c_str());
  // mtimes are coarse (often one kernel tick): the name breaks ties so the order is stable.
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.chain < b.chain;
  });
  for (const Found& f : found) {
    index_[f.chain] = {f.bytes, ++last_tick_};
    lru_.insert({last_tick_, f.chain});
    bytes_ += f.bytes;
  }
  enforce_budget();
}

std::string DiskCache::path_of(uint64_t chain) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(chain));
  return dir_ + "/" + name + std::string(kExt);
}

int64_t DiskCache::file_bytes(int64_t n_prefix) const {
  return int64_t(kHeadBytes) + 4 * n_prefix + layout_.bytes() + 8;
}

// Header and token prefix as they must appear in the file: a read compares these bytes
// whole, so model, layout, name and every token are checked at once.
std::vector<uint8_t> block_file_head(const BlockLayout& layout, uint64_t chain, const int32_t* prefix,
                                     int64_t n_prefix) {
  std::vector<uint8_t> h(kHeadBytes + 4 * size_t(n_prefix));
  uint8_t* p = h.data();
  auto put = [&p](const void* v, size_t n) {
    std::memcpy(p, v, n);
    p += n;
  };
  put(kMagic, sizeof kMagic);
  put(&kVersion, 2);
  put(&layout.fingerprint, 8);
  put(&layout.block_tokens, 8);
  put(&layout.n_layer, 8);
  put(&layout.k_row_bytes, 8);
  put(&layout.v_row_bytes, 8);
  put(&n_prefix, 8);
  put(&chain, 8);
  put(prefix, 4 * size_t(n_prefix));
  return h;
}

uint64_t block_file_checksum(const std::vector<uint8_t>& head, const uint8_t* rows, size_t row_bytes) {
  return hash_bytes(rows, row_bytes, hash_bytes(head.data(), head.size(), 0));
}

const uint8_t* parse_block_file(const uint8_t* data, size_t size, const std::vector<uint8_t>& head, size_t row_bytes) {
  if (size != head.size() + row_bytes + 8 || std::memcmp(data, head.data(), head.size()) != 0) return nullptr;
  const uint8_t* rows = data + head.size();
  return load64(rows + row_bytes) == block_file_checksum(head, rows, row_bytes) ? rows : nullptr;
}

bool DiskCache::read(uint64_t chain, const int32_t* prefix, int64_t n_prefix, std::vector<uint8_t>& rows,
                     uint64_t tick) {
  auto it = index_.find(chain);
  if (it == index_.end()) return false;
  const std::string path = path_of(chain);
  const std::vector<uint8_t> want = block_file_head(layout_, chain, prefix, n_prefix);
  const size_t row_bytes = size_t(layout_.bytes());
  bool ok = false;
  if (it->second.bytes == file_bytes(n_prefix)) {
    File f(std::fopen(path.c_str(), "rb"));
    if (!f && errno == ENOENT) {  // removed behind our back: nothing to reject
      remove(chain);
      return false;
    }
    struct stat fst {};
    if (f && (::fstat(::fileno(f.get()), &fst) != 0 || fst.st_uid != ::geteuid() || !S_ISREG(fst.st_mode)))
      f.reset();  // planted after the scan by someone else: rejected below
    if (f) {
      // The whole file is read into `rows` (whose memory the caller reuses block after block),
      // asking for one byte more than it must have so that a file grown since the scan is
      // seen; the rows are then moved to the front.
      rows.resize(size_t(file_bytes(n_prefix)) + 1);
      const size_t got = std::fread(rows.data(), 1, rows.size(), f.get());
      if (const uint8_t* r = parse_block_file(rows.data(), got, want, row_bytes)) {
        std::memmove(rows.data(), r, row_bytes);
        rows.resize(row_bytes);
        ok = true;
      }
    }
  }
  if (!ok) {
    remove(chain);
    ++rejected_;
    return false;
  }
  set_tick(chain, it->second, std::max(tick, it->second.tick));
  refresh_mtime(path);
  return true;
}

std::string DiskCache::write(uint64_t chain, const int32_t* prefix, int64_t n_prefix, const uint8_t* rows,
                             uint64_t tick) {
  const std::string path = path_of(chain), tmp = path.substr(0, path.size() - kExt.size()) + std::string(kTmpExt);
  const std::vector<uint8_t> h = block_file_head(layout_, chain, prefix, n_prefix);
  const size_t row_bytes = size_t(layout_.bytes());
  const uint64_t sum = block_file_checksum(h, rows, row_bytes);
  errno = 0;
  bool ok = false;
  // 0600 whatever the umask, and never through a link someone left under the temporary name.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  std::FILE* f = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
  if (fd >= 0 && !f) ::close(fd);
  if (f) {
    ok = std::fwrite(h.data(), 1, h.size(), f) == h.size() && std::fwrite(rows, 1, row_bytes, f) == row_bytes &&
         std::fwrite(&sum, 8, 1, f) == 1;
    ok = std::fclose(f) == 0 && ok;
    ok = ok && std::rename(tmp.c_str(), path.c_str()) == 0;
  }
  if (!ok) {
    std::string msg = strfmt("%s: cannot write: %s", tmp.c_str(), std::strerror(errno ? errno : EIO));
    std::remove(tmp.c_str());
    return msg;
  }
  if (index_.count(chain)) remove_entry(chain);
  Entry& e = index_[chain];
  e.bytes = file_bytes(n_prefix);
  bytes_ += e.bytes;
  e.tick = tick;
  lru_.insert({tick, chain});
  enforce_budget();
  return "";
}

void DiskCache::touch(uint64_t chain, uint64_t tick) {
  auto it = index_.find(chain);
  if (it == index_.end() || tick <= it->second.tick) return;
  set_tick(chain, it->second, tick);
  refresh_mtime(path_of(chain));
}

void DiskCache::set_tick(uint64_t chain, Entry& e, uint64_t tick) {
  lru_.erase({e.tick, chain});
  e.tick = tick;
  lru_.insert({tick, chain});
}

void DiskCache::remove_entry(uint64_t chain) {
  auto it = index_.find(chain);
  bytes_ -= it->second.bytes;
  lru_.erase({it->second.tick, chain});
  index_.erase(it);
}

void DiskCache::remove(uint64_t chain) {
  std::remove(path_of(chain).c_str());
  remove_entry(chain);
}

void DiskCache::enforce_budget() {
  while (bytes_ > budget_ && !lru_.empty()) remove(lru_.begin()->second);
}

}  // namespace frugal
