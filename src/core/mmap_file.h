// Read-only memory map of a whole file. Weights are used in place from the map, which
// to_memory() may turn into a copy in anonymous (huge-page) memory at the same address.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace frugal {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws Error naming the path
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Reads the whole file into the page cache (one touch per page, `n_threads` threads) so the
  // first forward pass does not stall on disk; progress(done, total) after each 64 MiB.
  void prefetch(int n_threads, const std::function<void(size_t, size_t)>& progress = {}) const;
  // Copies the file into anonymous memory, in 2 MiB pages where the kernel has them
  // (MADV_HUGEPAGE), and moves the copy over the mapping (mremap): same address, same bytes,
  // so pointers into the map stay valid; progress as prefetch's. Decode streams every weight
  // once per token, and a page-cache mapping costs it a TLB miss per 4 KiB (a nested page walk
  // in a VM): 1.04-1.43x tg on the 1.5B Q4_K_M file (README, Benchmarks). False, and nothing
  // changed, when the copy would not fit in MemAvailable with a margin (the file then stays
  // mapped and paged in as by prefetch) or the kernel refuses. After it, the file on disk is no
  // longer read: truncating it cannot SIGBUS the process.
  bool to_memory(int n_threads, const std::function<void(size_t, size_t)>& progress = {}) const;
  bool in_memory() const { return in_memory_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  mutable bool in_memory_ = false;
};

}  // namespace frugal
