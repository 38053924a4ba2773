// The models a folder holds (frugal serve --models-dir, frugal list).
#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "model/hf_folder.h"
#include "server/model_registry.h"

namespace frugal::server {

namespace fs = std::filesystem;

std::string model_stem(const std::string& path) {
  fs::path p(path);
  while (!p.has_filename() && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();  // "dir/"
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

std::vector<ModelSpec> scan_models_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("--models-dir %s: not a folder", dir.c_str());
  std::vector<ModelSpec> out;
  for (const auto& de : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
    const std::string p = de.path().string();
    const std::string file = de.path().filename().string();
    if (file.empty() || file[0] == '.') continue;
    if (de.is_regular_file(ec) && de.path().extension() == ".gguf") {
      ModelSpec s;
      s.name = model_stem(p);
      s.path = p;
      out.push_back(std::move(s));
    } else if (de.is_directory(ec) && is_hf_folder(p)) {
      ModelSpec s;
      s.name = file;
      s.path = p;
      out.push_back(std::move(s));
    }
  }
  if (ec) fail("--models-dir %s: %s", dir.c_str(), ec.message().c_str());
  std::sort(out.begin(), out.end(), [](const ModelSpec& a, const ModelSpec& b) { return a.name < b.name; });
  // "x.gguf" beside a folder "x": the second keeps its file name, so both stay reachable.
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].name == out[i - 1].name) out[i].name = fs::path(out[i].path).filename().string();
  return out;
}

}  // namespace frugal::server
