// libFuzzer target for `frugal serve --config models.toml` (a file an operator may copy from
// elsewhere): any text must parse into a registry or throw frugal::Error with its line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "server/model_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)frugal::server::parse_registry_config(std::string_view(reinterpret_cast<const char*>(data), size), "/fuzz/models.toml");
  } catch (const frugal::Error&) {
  }
  return 0;
}
