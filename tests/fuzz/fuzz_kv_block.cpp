// libFuzzer target for the prefix cache's disk-tier block reader (runtime/disk_cache.h): the
// files in the cache directory may be truncated, corrupted or planted, and must never be read
// as KV. The first byte picks the reader's layout (bits 0-1), how many blocks the token prefix
// asked for spans (bits 2-3, 1..4), and whether the fuzzer writes the right checksum over the
// last 8 bytes (bit 4: so that damage to the header or the prefix meets a checksum that holds);
// the rest is the file. parse_block_file must accept exactly the one file the writer makes
// (block_file_head + rows + block_file_checksum) and nothing else, and never read outside it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/disk_cache.h"

namespace {

// A dense model's f16 KV, an MLA cache (no v rows) and the smallest possible block.
constexpr frugal::BlockLayout kLayouts[4] = {
    {0x66727567616c3031ull, 4, 2, 16, 8},
    {0x0123456789abcdefull, 2, 3, 12, 0},
    {1, 1, 1, 4, 4},
    {0xffffffffffffffffull, 16, 1, 2, 2},
};
constexpr uint64_t kChain = 0x5eed0fc4a1b2c3d4ull;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const frugal::BlockLayout& layout = kLayouts[data[0] & 3];
  const int64_t n_prefix = layout.block_tokens * (1 + ((data[0] >> 2) & 3));
  std::vector<int32_t> prefix(static_cast<size_t>(n_prefix));
  for (int64_t i = 0; i < n_prefix; ++i) prefix[size_t(i)] = int32_t(i * 7919 + 1);
  const std::vector<uint8_t> head = frugal::block_file_head(layout, kChain, prefix.data(), n_prefix);
  const size_t row_bytes = size_t(layout.bytes());

  // An exact-size copy, so that any read past the file's end is an ASan report.
  std::vector<uint8_t> file(data + 1, data + size);
  if ((data[0] & 16) && file.size() >= 8) {  // the sum over the file's own head and rows
    const size_t body = file.size() - 8, h = std::min(body, head.size());
    const uint64_t sum = frugal::hash_bytes(file.data() + h, body - h, frugal::hash_bytes(file.data(), h, 0));
    std::memcpy(file.data() + body, &sum, 8);
  }
  const uint8_t* rows = frugal::parse_block_file(file.data(), file.size(), head, row_bytes);

  // The one file the writer makes for these rows (the file's own middle bytes, if it has them).
  bool is_written =
      file.size() == head.size() + row_bytes + 8 && std::memcmp(file.data(), head.data(), head.size()) == 0;
  if (is_written) {
    const uint64_t sum = frugal::block_file_checksum(head, file.data() + head.size(), row_bytes);
    is_written = std::memcmp(file.data() + head.size() + row_bytes, &sum, 8) == 0;
  }
  if ((rows != nullptr) != is_written) std::abort();
  if (rows && rows != file.data() + head.size()) std::abort();
  return 0;
}
