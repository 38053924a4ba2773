// Loading refuses what it cannot run correctly: a RoPE scaling the dense models do not
// implement must be an error that names the key, never silently ignored.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/model.h"

using namespace frugal;

namespace {
const std::string kSrc = std::string(FRUGAL_TEST_DATA) + "/golden/gguf/qwen3-mini-f32.gguf";

// The golden file with some metadata added or replaced.
std::string copy_with(const std::string& name, const std::vector<std::pair<std::string, GgufValue>>& extra) {
  auto f = GgufFile::open(kSrc);
  GgufWriter w;
  for (const auto& [k, v] : f->metadata()) w.set(k, v);
  for (const auto& [k, v] : extra) w.set(k, v);
  for (const auto& t : f->tensors()) w.add_tensor(t.name, t.type, t.ne, t.data);
  std::string path = ::testing::TempDir() + name;
  w.write(path);
  return path;
}
}  // namespace

TEST(ModelLoad, UnsupportedRopeScalingIsRefused) {
  std::string path = copy_with("yarn.gguf", {{"qwen3.rope.scaling.type", GgufValue::str("yarn")},
                                             {"qwen3.rope.scaling.factor", GgufValue::f32(4.f)}});
  try {
    load_model(path);
    FAIL() << "a yarn-scaled file loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rope.scaling.type 'yarn' is not supported"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

// Linear scaling by 1 changes nothing; by 2 it changes the rotation of every position > 0.
TEST(ModelLoad, LinearRopeScaling) {
  auto logits_of = [](Model& m) {
    ThreadPool pool(1);
    auto cache = m.new_cache(1, 8);
    Batch b;
    for (int i = 0; i < 6; ++i) b.add(5 + 7 * i, i, 0, i == 5);
    std::vector<float> out(static_cast<size_t>(m.config().n_vocab));
    m.forward(b, *cache, out.data(), pool);
    return out;
  };
  auto plain = load_model(kSrc);
  std::string p1 = copy_with("linear1.gguf", {{"qwen3.rope.scaling.type", GgufValue::str("linear")},
                                              {"qwen3.rope.scaling.factor", GgufValue::f32(1.f)}});
  std::string p2 = copy_with("linear2.gguf", {{"qwen3.rope.scaling.type", GgufValue::str("linear")},
                                              {"qwen3.rope.scaling.factor", GgufValue::f32(2.f)}});
  auto ref = logits_of(*plain);
  EXPECT_EQ(logits_of(*load_model(p1)), ref);
  EXPECT_NE(logits_of(*load_model(p2)), ref);
  std::remove(p1.c_str());
  std::remove(p2.c_str());
}
