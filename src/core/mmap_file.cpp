#include "core/mmap_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace frugal {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
void* align_up(void* p) {
  return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~uintptr_t(kHuge - 1));
}

// A mapped file that shrinks or is rewritten in place while in use (`truncate`, `cp` over it)
// makes the next read of a page past its new end a SIGBUS: nothing can prevent that but
// replacing files by rename (what frugal's own writers do: the old inode stays mapped). So
// that it is not a silent crash, the handler names the file before the process dies. The
// registry is a fixed table of atomics: the handler may only read it.
struct MapSlot {
  std::atomic<uintptr_t> begin{0}, end{0};
  char path[240] = {};
};
MapSlot g_maps[64];

void write_str(const char* s) {
  size_t n = std::strlen(s);
  while (n) {
    const ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= size_t(w);
  }
}

void on_sigbus(int sig, siginfo_t* info, void*) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
  for (MapSlot& m : g_maps) {
    if (a >= m.begin.load() && a < m.end.load()) {
      write_str("\nfrugal: fatal: ");
      write_str(m.path);
      write_str(" changed on disk while in use (truncated or rewritten in place): its mapped weights cannot be read. "
                "Replace a model file by writing a new one and renaming it over the old.\n");
      break;
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void register_map(const uint8_t* p, size_t n, const std::string& path) {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
  static std::mutex mu;
  std::lock_guard<std::mutex> l(mu);
  for (MapSlot& m : g_maps)
    if (m.begin.load() == 0) {
      m.end.store(0);
      std::snprintf(m.path, sizeof m.path, "%s", path.c_str());
      m.begin.store(reinterpret_cast<uintptr_t>(p));
      m.end.store(reinterpret_cast<uintptr_t>(p) + n);
      return;
    }
}

void unregister_map(const uint8_t* p) {
  for (MapSlot& m : g_maps)
    if (m.begin.load() == reinterpret_cast<uintptr_t>(p)) {
      m.end.store(0);
      m.begin.store(0);
    }
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("%s: cannot open: %s", path.c_str(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("%s: not a regular file", path.c_str());
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    // At a 2 MiB boundary, so that to_memory's huge pages keep their size once moved here.
    void* hint = nullptr;
    if (size_ >= kHuge) {
      void* r = ::mmap(nullptr, size_ + kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (r != MAP_FAILED) {
        hint = align_up(r);
        ::munmap(r, size_ + kHuge);  // freed for the file's own mapping below (nothing else maps in between)
      }
    }
    void* p = hint ? ::mmap(hint, size_, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail("%s: mmap failed: %s", path.c_str(), std::strerror(errno));
    }
    data_ = static_cast<const uint8_t*>(p);
    register_map(data_, size_, path_);
  }
  ::close(fd);
}

namespace {
// Calls each(begin, end) over [0, size) in 64 MiB chunks on n_threads threads (the caller's
// among them), progress(bytes done, size) after each chunk.
void in_chunks(size_t size, int n_threads, const std::function<void(size_t, size_t)>& each,
               const std::function<void(size_t, size_t)>& progress) {
  constexpr size_t kChunk = size_t(64) << 20;
  std::atomic<size_t> next{0}, done{0};
  std::mutex mu;
  auto work = [&] {
    for (;;) {
      const size_t b = next.fetch_add(kChunk);
      if (b >= size) return;
      const size_t e = std::min(size, b + kChunk);
      each(b, e);
      const size_t d = done.fetch_add(e - b) + (e - b);
      if (progress) {
        std::lock_guard<std::mutex> lock(mu);
        progress(d, size);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < n_threads; ++i) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}
}  // namespace

void MappedFile::prefetch(int n_threads, const std::function<void(size_t, size_t)>& progress) const {
  if (!data_) return;
  ::madvise(const_cast<uint8_t*>(data_), size_, MADV_WILLNEED);
  in_chunks(size_, n_threads, [&](size_t b, size_t e) {
    volatile uint8_t sink = 0;
    for (size_t i = b; i < e; i += 4096) sink = sink + data_[i];  // one touch per page
  }, progress);
}

namespace {
// Bytes the system can still give (MemAvailable), or 0 when unknown.
size_t available_bytes() {
  FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  size_t kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "MemAvailable: %zu kB", &kib) == 1) break;
  std::fclose(f);
  return kib << 10;
}
}  // namespace

bool MappedFile::to_memory(int n_threads, const std::function<void(size_t, size_t)>& progress) const {
  if (!data_ || in_memory_) return in_memory_;
  // A margin for the KV cache, the other models and everything else (the page cache the copy
  // comes from is reclaimable and not counted against it).
  const size_t margin = std::max(size_t(1) << 30, size_ / 8);
  if (available_bytes() < size_ + margin) return false;
  void* r = ::mmap(nullptr, size_ + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return false;
  uint8_t* a = static_cast<uint8_t*>(align_up(r));
  ::madvise(a, size_, MADV_HUGEPAGE);
  in_chunks(size_, n_threads, [&](size_t b, size_t e) { std::memcpy(a + b, data_ + b, e - b); }, progress);
  ::mprotect(a, size_, PROT_READ);  // weights stay read-only: a stray write faults
  // Over the file's mapping, replacing it in one step.
  void* moved = ::mremap(a, size_, size_, MREMAP_MAYMOVE | MREMAP_FIXED, const_cast<uint8_t*>(data_));
  const auto ua = reinterpret_cast<uintptr_t>(a), ur = reinterpret_cast<uintptr_t>(r);
  if (moved == MAP_FAILED) {
    ::munmap(r, size_ + kHuge);
    return false;
  }
  // The reservation's unused head and tail (the copy itself moved out of it).
  if (ua > ur) ::munmap(r, ua - ur);
  const uintptr_t tail = ua + size_, end = ur + size_ + kHuge;
  if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
  unregister_map(data_);  // no file behind it now: no SIGBUS to explain
  in_memory_ = true;
  return true;
}

MappedFile::~MappedFile() {
  if (data_) {
    unregister_map(data_);
    ::munmap(const_cast<uint8_t*>(data_), size_);
  }
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
      in_memory_(std::exchange(o.in_memory_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) {
      unregister_map(data_);
      ::munmap(const_cast<uint8_t*>(data_), size_);
    }
    path_ = std::move(o.path_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    in_memory_ = std::exchange(o.in_memory_, false);
  }
  return *this;
}

}  // namespace frugal
