// Read-only memory map of a whole file. Weights are used in place from the map.
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

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace frugal
