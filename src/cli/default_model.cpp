#include "cli/default_model.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace frugal::cli {

namespace fs = std::filesystem;

std::string default_model_path() {
  if (const char* env = std::getenv("FRUGAL_DEFAULT_MODEL"); env && *env) {
    if (!fs::exists(env)) fail("FRUGAL_DEFAULT_MODEL=%s: no such file", env);
    return env;
  }
  const std::string file = std::string("models/") + kDefaultModelName + ".gguf";
  std::vector<fs::path> places;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    places.push_back(exe.parent_path().parent_path() / file);
    places.push_back(exe.parent_path().parent_path().parent_path() / file);
  }
#ifdef FRUGAL_SOURCE_DIR
  places.push_back(fs::path(FRUGAL_SOURCE_DIR) / file);
#endif
  std::string looked;
  for (const fs::path& p : places) {
    if (fs::exists(p)) return fs::weakly_canonical(p).string();
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  fail("no -m MODEL given and the default model is not where it ships (looked in %s); give -m FILE or set FRUGAL_DEFAULT_MODEL",
       looked.c_str());
}

std::string model_or_default(const std::string& path) {
  if (!path.empty()) return path;
  const std::string p = default_model_path();
  std::fprintf(stderr, "no -m given: using the default model %s\n", p.c_str());
  return p;
}

}  // namespace frugal::cli
