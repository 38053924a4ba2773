// libFuzzer target for the GGUF reader. Any input must either parse or throw frugal::Error:
// a crash, a sanitizer report, a hang or a huge allocation (fuzz.sh caps malloc) is a bug.
// On success it also touches what a loader would (typed getters, first and last byte of every
// tensor) so that a wrong bound in the reader shows up here as an out-of-bounds read.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"

namespace {

void exercise(const frugal::GgufFile& f) {
  for (const auto& [key, value] : f.metadata()) {
    try {
      switch (value.type) {
        case frugal::GgufType::STRING: f.get_string(key); break;
        case frugal::GgufType::BOOL: f.get_bool(key); break;
        case frugal::GgufType::ARRAY:
          if (value.elem_type == frugal::GgufType::STRING) f.get_str_array(key); else f.get_num_array(key);
          break;
        default: f.get_float(key); f.get_int(key); break;
      }
    } catch (const frugal::Error&) {
      // Wrong-type lookups (a BOOL array as numbers, a float as int) are expected to throw.
    }
  }
  volatile uint8_t sink = 0;
  for (const auto& t : f.tensors()) {
    sink = sink ^ t.data[0] ^ t.data[t.nbytes - 1];
    (void)t.n_elements();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = frugal::GgufFile::parse(data, size, "fuzz.gguf");
    exercise(*f);
  } catch (const frugal::Error&) {
    // Refusing a malformed file with a message is the correct outcome.
  }
  return 0;
}
