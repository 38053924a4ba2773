// safetensors reader: files are built byte by byte here (header length, JSON, data), so the
// reader is checked against the format itself; broken files must give an Error naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.h"
#include "core/half.h"
#include "formats/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace frugal;
using frugal::test::TempDir;
using frugal::test::error_of;

namespace {

// 8-byte little-endian length, the header, then the data.
std::vector<uint8_t> file_bytes(const std::string& header, const std::vector<uint8_t>& data,
                                uint64_t header_len_override = UINT64_MAX) {
  std::vector<uint8_t> b(8);
  const uint64_t n = header_len_override == UINT64_MAX ? header.size() : header_len_override;
  for (int i = 0; i < 8; ++i) b[size_t(i)] = uint8_t(n >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

template <class T>
void append(std::vector<uint8_t>& d, const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(v.data());
  d.insert(d.end(), p, p + v.size() * sizeof(T));
}

std::unique_ptr<SafetensorsFile> parse(const std::vector<uint8_t>& b) {
  return SafetensorsFile::parse(b.data(), b.size(), "broken.safetensors");
}

// A one-tensor file whose header entry is `entry`, with `data_size` zero bytes of data.
std::vector<uint8_t> one(const std::string& entry, size_t data_size = 16) {
  return file_bytes("{\"t\":" + entry + "}", std::vector<uint8_t>(data_size));
}

}  // namespace

TEST(Safetensors, ReadsFloatTypesBack) {
  const std::vector<float> f32 = {1.5f, -2.25f, 3.0e-3f, 1e20f, -0.0f, 7.f};
  std::vector<uint16_t> f16, bf16;
  const std::vector<float> want16 = {0.5f, -65504.f, 6.1035156e-05f, 3.f};
  for (float v : want16) f16.push_back(fp32_to_fp16(v)), bf16.push_back(fp32_to_bf16(v));
  std::vector<uint8_t> data;
  append(data, f32);
  append(data, f16);
  append(data, bf16);
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"a.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"b.f16\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
      "\"c.bf16\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[32,40]},"
      "\"d.empty\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[40,40]}}  ";
  TempDir tmp;
  write(tmp.path("m.safetensors"), file_bytes(header, data));
  auto f = SafetensorsFile::open(tmp.path("m.safetensors"));
  ASSERT_EQ(f->tensors().size(), 4u);
  ASSERT_TRUE(f->map());

  const StTensor* a = f->find("a.f32");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dtype, StDType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a->nbytes, 24u);
  std::vector<float> back(6);
  std::memcpy(back.data(), a->data, 24);
  EXPECT_EQ(std::memcmp(back.data(), f32.data(), 24), 0);

  const StTensor* b = f->find("b.f16");
  const StTensor* c = f->find("c.bf16");
  ASSERT_TRUE(b && c);
  EXPECT_EQ(b->dtype, StDType::F16);
  EXPECT_EQ(c->dtype, StDType::BF16);
  EXPECT_EQ(c->shape, (std::vector<int64_t>{2, 2}));
  for (size_t i = 0; i < want16.size(); ++i) {
    uint16_t h, g;
    std::memcpy(&h, b->data + 2 * i, 2);
    std::memcpy(&g, c->data + 2 * i, 2);
    EXPECT_EQ(fp16_to_fp32(h), want16[i]) << i;
    EXPECT_EQ(bf16_to_fp32(g), bf16_to_fp32(fp32_to_bf16(want16[i]))) << i;
  }
  EXPECT_EQ(f->find("d.empty")->nbytes, 0u);
  EXPECT_EQ(f->find("__metadata__"), nullptr);
  EXPECT_EQ(st_dtype_size(StDType::F8_E4M3), 1u);
  EXPECT_STREQ(st_dtype_name(StDType::F8_E4M3), "F8_E4M3");
}

TEST(Safetensors, BrokenFilesNameTheFileAndTensor) {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* expect;  // besides the file name
  };
  const std::string ok = "{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";
  std::vector<Case> cases = {
      {"shorter than the length field", {1, 2, 3}, "too short"},
      {"header length past the end", file_bytes("{}", {}, 1000), "header length"},
      {"header length near 2^64", file_bytes("{}", {}, UINT64_MAX - 3), "header length"},
      {"header not JSON", file_bytes("{\"t\": [", {}), "not valid JSON"},
      {"header not an object", file_bytes("[1,2]", {}), "not a JSON object"},
      // Nested a million deep, a planted header overflowed the stack (the JSON library copies
      // trees recursively); 257 levels are already refused.
      {"header nested too deep", file_bytes("{\"t\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}", {}),
       "nested deeper than 256"},
      {"entry not an object", one("3"), "'t'"},
      {"unknown dtype", one("{\"dtype\":\"F12\",\"shape\":[4],\"data_offsets\":[0,16]}"), "unknown dtype 'F12'"},
      {"no dtype", one("{\"shape\":[4],\"data_offsets\":[0,16]}"), "'t'"},
      {"no shape", one("{\"dtype\":\"F32\",\"data_offsets\":[0,16]}"), "'t'"},
      {"negative dim", one("{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}"), "'t'"},
      {"fractional dim", one("{\"dtype\":\"F32\",\"shape\":[4.5],\"data_offsets\":[0,16]}"), "'t'"},
      {"offsets missing", one("{\"dtype\":\"F32\",\"shape\":[4]}"), "data_offsets"},
      {"offsets past the data", one("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}"), "outside"},
      {"offsets reversed", one("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}"), "outside"},
      {"size mismatch", one("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}"), "needs 12 bytes"},
      {"dtype/shape mismatch", one("{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,16]}"), "needs 8 bytes"},
      {"shape overflow",
       one("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}"), "overflow"},
      {"overlap",
       file_bytes("{\"a\":" + ok + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                  std::vector<uint8_t>(16)),
       "overlaps"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of([&] { parse(c.bytes); });
    EXPECT_NE(msg.find("broken.safetensors"), std::string::npos) << c.what << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.what << ": " << msg;
  }
  // The same layouts are fine when consistent.
  EXPECT_NO_THROW(parse(one(ok)));
  EXPECT_NO_THROW(parse(file_bytes("{\"a\":" + ok + ",\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[16,18]}}",
                                   std::vector<uint8_t>(18))));
}

TEST(Safetensors, OpenNamesAMissingFile) {
  TempDir tmp;
  const std::string msg = error_of([&] { SafetensorsFile::open(tmp.path("nope.safetensors")); });
  EXPECT_NE(msg.find("nope.safetensors"), std::string::npos) << msg;
}

namespace {
std::vector<uint8_t> f32_file(const std::vector<std::pair<std::string, float>>& tensors) {
  std::string h = "{";
  std::vector<uint8_t> data;
  for (const auto& [name, v] : tensors) {
    const size_t b = data.size();
    append(data, std::vector<float>{v, v + 1});
    h += (h.size() > 1 ? "," : "") + ("\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[") +
         std::to_string(b) + "," + std::to_string(data.size()) + "]}";
  }
  return file_bytes(h + "}", data);
}
float first(const SafetensorsSet::Entry* e) {
  float f;
  std::memcpy(&f, e->tensor->data, 4);
  return f;
}
}  // namespace

TEST(SafetensorsSet, ShardedFolderFollowsTheIndex) {
  TempDir tmp;
  write(tmp.path("model-00001-of-00002.safetensors"), f32_file({{"a", 1.f}, {"b", 2.f}}));
  write(tmp.path("model-00002-of-00002.safetensors"), f32_file({{"c", 3.f}, {"unlisted", 9.f}}));
  std::ofstream(tmp.path("model.safetensors.index.json"))
      << R"({"metadata": {"total_size": 24}, "weight_map": {"a": "model-00001-of-00002.safetensors",
            "c": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors"}})";
  auto s = SafetensorsSet::open_dir(tmp.dir());
  ASSERT_EQ(s.entries().size(), 3u);
  EXPECT_EQ(s.files().size(), 2u);
  EXPECT_EQ(first(s.find("a")), 1.f);
  EXPECT_EQ(first(s.find("b")), 2.f);
  EXPECT_EQ(first(s.find("c")), 3.f);
  EXPECT_NE(s.find("c")->file->path().find("00002"), std::string::npos);
  EXPECT_EQ(s.find("unlisted"), nullptr);
}

TEST(SafetensorsSet, MissingShardNamesShardAndTensor) {
  TempDir tmp;
  write(tmp.path("model-00001-of-00002.safetensors"), f32_file({{"a", 1.f}}));
  std::ofstream(tmp.path("model.safetensors.index.json"))
      << R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                            "lm_head.weight": "model-00002-of-00002.safetensors"}})";
  const std::string msg = error_of([&] { SafetensorsSet::open_dir(tmp.dir()); });
  EXPECT_NE(msg.find("model-00002-of-00002.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("lm_head.weight"), std::string::npos) << msg;
}

TEST(SafetensorsSet, IndexErrors) {
  TempDir tmp;
  write(tmp.path("s1.safetensors"), f32_file({{"a", 1.f}}));
  auto index = [&](const std::string& body) { std::ofstream(tmp.path("model.safetensors.index.json")) << body; };
  index(R"({"weight_map": {"a": "s1.safetensors", "zz": "s1.safetensors"}})");
  std::string msg = error_of([&] { SafetensorsSet::open_dir(tmp.dir()); });
  EXPECT_NE(msg.find("'zz'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("s1.safetensors"), std::string::npos) << msg;
  index(R"({"weight_map": {"a": "../s1.safetensors"}})");
  msg = error_of([&] { SafetensorsSet::open_dir(tmp.dir()); });
  EXPECT_NE(msg.find("../s1.safetensors"), std::string::npos) << msg;
  index(R"({"metadata": {}})");
  msg = error_of([&] { SafetensorsSet::open_dir(tmp.dir()); });
  EXPECT_NE(msg.find("weight_map"), std::string::npos) << msg;
}

TEST(SafetensorsSet, UnindexedFolderReadsEveryFile) {
  TempDir tmp;
  EXPECT_NE(error_of([&] { SafetensorsSet::open_dir(tmp.dir()); }).find("no model.safetensors"), std::string::npos);
  write(tmp.path("model.safetensors"), f32_file({{"a", 1.f}, {"b", 2.f}}));
  auto s = SafetensorsSet::open_dir(tmp.dir());
  EXPECT_EQ(s.entries().size(), 2u);
  EXPECT_EQ(first(s.find("b")), 2.f);
  write(tmp.path("extra.safetensors"), f32_file({{"b", 5.f}}));
  const std::string msg = error_of([&] { SafetensorsSet::open_dir(tmp.dir()); });
  EXPECT_NE(msg.find("'b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("extra.safetensors"), std::string::npos) << msg;
}
