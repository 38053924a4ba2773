// The output parser against recorded token streams (tests/data/chat/*.json): the recorded
// pieces, then every way of cutting the same text (all single cuts, all pairs of cuts for short
// streams, seeded random cuts, one byte and one character per piece) must give the expected
// fields, and the deltas, applied in order, must rebuild exactly the final message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "chat/output_parser.h"

using namespace frugal::chat;
using json = nlohmann::ordered_json;

namespace {

struct Recorded {
  std::string name;
  ParserConfig cfg;
  bool truncated = false;
  std::vector<std::string> pieces;
  json expected;
};

ToolFormat format_from(const std::string& s) {
  if (s == "deepseek") return ToolFormat::deepseek;
  if (s == "qwen") return ToolFormat::qwen;
  if (s == "llama3") return ToolFormat::llama3;
  return ToolFormat::none;
}

std::vector<Recorded> load_streams() {
  std::vector<Recorded> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(FRUGAL_TEST_DATA) + "/chat")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream f(e.path());
    json j = json::parse(f);
    Recorded r;
    r.name = e.path().stem().string();
    const json& c = j["config"];
    r.cfg.tool_format = format_from(c.value("tool_format", "none"));
    r.cfg.starts_in_reasoning = c.value("starts_in_reasoning", false);
    r.cfg.stop = c.value("stop", std::vector<std::string>{});
    r.cfg.id_seed = 42;
    r.truncated = c.value("truncated", false);
    r.pieces = j["pieces"].get<std::vector<std::string>>();
    r.expected = j["expected"];
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const Recorded& a, const Recorded& b) { return a.name < b.name; });
  return out;
}

bool valid_utf8(std::string_view s) {
  for (size_t k = 0; k < s.size();) {
    auto b = static_cast<unsigned char>(s[k]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || k + n > s.size()) return false;
    for (size_t i = 1; i < n; ++i) {
      if ((static_cast<unsigned char>(s[k + i]) & 0xC0) != 0x80) return false;
    }
    k += n;
  }
  return true;
}

// What a streaming client rebuilds from the deltas.
struct Applied {
  ParsedMessage msg;
  bool utf8_ok = true;
  bool push_reported_stop = false;

  void apply(const std::vector<Delta>& ds) {
    for (const Delta& d : ds) {
      if (!valid_utf8(d.text)) utf8_ok = false;
      switch (d.kind) {
        case DeltaKind::reasoning: msg.reasoning_content += d.text; break;
        case DeltaKind::content: msg.content += d.text; break;
        case DeltaKind::tool_call:
          if (msg.tool_calls.size() <= d.tool_index) msg.tool_calls.resize(d.tool_index + 1);
          msg.tool_calls[d.tool_index].id = d.call.id;
          msg.tool_calls[d.tool_index].name = d.call.name;
          msg.tool_calls[d.tool_index].arguments += d.call.arguments;
          break;
        case DeltaKind::reasoning_to_content:
          msg.content = msg.reasoning_content + msg.content;
          msg.reasoning_content.clear();
          msg.reasoning_reclassified = true;
          break;
      }
    }
  }
};

// Parses `pieces`, checks the deltas against the result; returns the result.
ParsedMessage run(const Recorded& r, const std::vector<std::string>& pieces, const std::string& how) {
  OutputParser p(r.cfg);
  Applied a;
  for (const std::string& piece : pieces) {
    PushResult pr = p.push(piece);
    a.apply(pr.deltas);
    a.push_reported_stop |= pr.stopped;
  }
  a.apply(p.finish(r.truncated));
  const ParsedMessage& m = p.result();
  EXPECT_EQ(a.msg.reasoning_content, m.reasoning_content) << r.name << ": " << how;
  EXPECT_EQ(a.msg.content, m.content) << r.name << ": " << how;
  EXPECT_EQ(a.msg.reasoning_reclassified, m.reasoning_reclassified) << r.name << ": " << how;
  EXPECT_EQ(a.push_reported_stop, m.stopped) << r.name << ": " << how;
  EXPECT_TRUE(a.utf8_ok) << r.name << ": a delta cuts a UTF-8 character; " << how;
  EXPECT_EQ(a.msg.tool_calls.size(), m.tool_calls.size()) << r.name << ": " << how;
  for (size_t k = 0; k < std::min(a.msg.tool_calls.size(), m.tool_calls.size()); ++k) {
    EXPECT_EQ(a.msg.tool_calls[k].id, m.tool_calls[k].id);
    EXPECT_EQ(a.msg.tool_calls[k].name, m.tool_calls[k].name);
    EXPECT_EQ(a.msg.tool_calls[k].arguments, m.tool_calls[k].arguments);
  }
  return m;
}

// Compares with the recorded expectation; returns false (after reporting) on a mismatch, so
// that an exhaustive loop stops at the first failing cut.
bool matches(const Recorded& r, const ParsedMessage& m, const std::string& how) {
  const json& e = r.expected;
  bool ok = true;
  auto check = [&](bool c, const std::string& what) {
    if (!c) {
      ADD_FAILURE() << r.name << ": " << what << " differs; " << how;
      ok = false;
    }
  };
  check(m.reasoning_content == e["reasoning_content"].get<std::string>(),
        "reasoning_content '" + m.reasoning_content + "'");
  check(m.content == e["content"].get<std::string>(), "content '" + m.content + "'");
  check(m.reasoning_reclassified == e["reasoning_reclassified"].get<bool>(), "reasoning_reclassified");
  check(m.stopped == e["stopped"].get<bool>(), "stopped");
  const json& calls = e["tool_calls"];
  check(m.tool_calls.size() == calls.size(), "number of tool calls");
  for (size_t k = 0; ok && k < calls.size(); ++k) {
    check(m.tool_calls[k].name == calls[k]["name"].get<std::string>(), "tool call name");
    json args = json::parse(m.tool_calls[k].arguments, nullptr, false);
    check(args == calls[k]["arguments"], "tool call arguments " + m.tool_calls[k].arguments);
    check(m.tool_calls[k].id.starts_with("call_") && m.tool_calls[k].id.size() == 29, "tool call id");
  }
  return ok;
}

std::string join(const std::vector<std::string>& pieces) {
  std::string s;
  for (const auto& p : pieces) s += p;
  return s;
}

std::vector<std::string> cut(const std::string& text, const std::vector<size_t>& at) {
  std::vector<std::string> out;
  size_t prev = 0;
  for (size_t c : at) {
    out.push_back(text.substr(prev, c - prev));
    prev = c;
  }
  out.push_back(text.substr(prev));
  return out;
}

class ChatRecordedStreams : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { streams_ = new std::vector<Recorded>(load_streams()); }
  static void TearDownTestSuite() { delete streams_; }
  static std::vector<Recorded>* streams_;
};
std::vector<Recorded>* ChatRecordedStreams::streams_ = nullptr;

TEST_F(ChatRecordedStreams, AllFamiliesPresent) { EXPECT_GE(streams_->size(), 17u); }

TEST_F(ChatRecordedStreams, RecordedPieces) {
  for (const Recorded& r : *streams_) matches(r, run(r, r.pieces, "recorded pieces"), "recorded pieces");
}

TEST_F(ChatRecordedStreams, WholeTextAndOneBytePerPiece) {
  for (const Recorded& r : *streams_) {
    std::string text = join(r.pieces);
    matches(r, run(r, {text}, "one piece"), "one piece");
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    matches(r, run(r, bytes, "one byte per piece"), "one byte per piece");
    std::vector<std::string> chars;
    for (size_t k = 0; k < text.size();) {
      size_t n = 1;
      while (k + n < text.size() && (static_cast<unsigned char>(text[k + n]) & 0xC0) == 0x80) ++n;
      chars.push_back(text.substr(k, n));
      k += n;
    }
    matches(r, run(r, chars, "one character per piece"), "one character per piece");
  }
}

TEST_F(ChatRecordedStreams, EverySingleCut) {
  for (const Recorded& r : *streams_) {
    std::string text = join(r.pieces);
    for (size_t c = 0; c <= text.size(); ++c) {
      std::string how = "cut at " + std::to_string(c);
      if (!matches(r, run(r, cut(text, {c}), how), how)) break;
    }
  }
}

TEST_F(ChatRecordedStreams, EveryPairOfCutsOnShortStreams) {
  size_t tested = 0;
  for (const Recorded& r : *streams_) {
    std::string text = join(r.pieces);
    if (text.size() > 260) continue;
    ++tested;
    bool ok = true;
    for (size_t a = 0; ok && a <= text.size(); ++a) {
      for (size_t b = a; ok && b <= text.size(); ++b) {
        std::string how = "cuts at " + std::to_string(a) + ", " + std::to_string(b);
        ok = matches(r, run(r, cut(text, {a, b}), how), how);
      }
    }
  }
  EXPECT_GE(tested, 15u);
}

TEST_F(ChatRecordedStreams, SeededRandomCuts) {
  for (const Recorded& r : *streams_) {
    std::string text = join(r.pieces);
    for (uint32_t seed = 1; seed <= 200; ++seed) {
      std::mt19937 rng(seed);
      std::uniform_int_distribution<size_t> len(1, 1 + seed % 12);
      std::vector<size_t> at;
      for (size_t c = len(rng); c < text.size(); c += len(rng)) at.push_back(c);
      std::string how = "random cuts, seed " + std::to_string(seed);
      if (!matches(r, run(r, cut(text, at), how), how)) break;
    }
  }
}

// Random texts made of tags, fragments of tags, JSON pieces and prose, for every format and
// reasoning mode: any cutting gives what the whole text gives (no expectation needed), and the
// parser never throws on garbage.
TEST(ChatParserProperty, RandomTextsCutAnywhereAgree) {
  const std::vector<std::string> atoms = {
      "<think>", "</think>", "</thi", "<th", "\n", "\n\n", " ", "hello", "é", "😊", "{", "}", "\"", ":", ",", ";",
      "{\"name\": \"f\", \"arguments\": {\"a\": 1}}", "{\"name\": \"g\", \"parameters\": {}}",
      "<tool_call>", "</tool_call>", "<tool_", "<|python_tag|>", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>",
      "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>", "<｜tool", "function", "```json\n", "```", "STOP", "ST"};
  std::mt19937 rng(2024);
  for (ToolFormat f : {ToolFormat::none, ToolFormat::deepseek, ToolFormat::qwen, ToolFormat::llama3}) {
    for (bool starts : {false, true}) {
      Recorded r;
      r.name = std::string("random/") + tool_format_name(f) + (starts ? "/starts_in_reasoning" : "");
      r.cfg.tool_format = f;
      r.cfg.starts_in_reasoning = starts;
      r.cfg.id_seed = 1;
      for (int iter = 0; iter < 400; ++iter) {
        r.cfg.stop = iter % 3 == 0 ? std::vector<std::string>{"STOP"} : std::vector<std::string>{};
        std::string text;
        int n = 1 + int(rng() % 16);
        for (int k = 0; k < n; ++k) text += atoms[rng() % atoms.size()];
        ParsedMessage whole = run(r, {text}, "whole");
        std::vector<size_t> at;
        for (size_t c = 1 + rng() % 5; c < text.size(); c += 1 + rng() % 5) at.push_back(c);
        ParsedMessage cutm = run(r, cut(text, at), "random cuts");
        std::vector<std::string> bytes;
        for (char c : text) bytes.emplace_back(1, c);
        ParsedMessage bytem = run(r, bytes, "bytes");
        for (const ParsedMessage* m : {&cutm, &bytem}) {
          EXPECT_EQ(m->reasoning_content, whole.reasoning_content) << r.name << " text: " << text;
          EXPECT_EQ(m->content, whole.content) << r.name << " text: " << text;
          EXPECT_EQ(m->tool_calls.size(), whole.tool_calls.size()) << r.name << " text: " << text;
          EXPECT_EQ(m->stopped, whole.stopped) << r.name << " text: " << text;
          EXPECT_EQ(m->reasoning_reclassified, whole.reasoning_reclassified) << r.name << " text: " << text;
        }
        if (HasFailure()) return;
      }
    }
  }
}

// --- Targeted behaviour --------------------------------------------------------------------

std::vector<Delta> push_all(OutputParser& p, std::initializer_list<std::string_view> pieces) {
  std::vector<Delta> all;
  for (auto piece : pieces) {
    auto r = p.push(piece);
    all.insert(all.end(), r.deltas.begin(), r.deltas.end());
  }
  return all;
}

TEST(ChatParser, StreamsReasoningAndContentEarly) {
  ParserConfig cfg;
  cfg.starts_in_reasoning = true;
  OutputParser p(cfg);
  auto d = p.push("Think").deltas;
  ASSERT_EQ(d.size(), 1u);  // not held: no tag can start here
  EXPECT_EQ(d[0].kind, DeltaKind::reasoning);
  EXPECT_EQ(d[0].text, "Think");
  EXPECT_TRUE(p.push(" </thi").deltas.empty());  // a partial tag and whitespace are held
  d = p.push("nk>\n\nAnswer").deltas;
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, DeltaKind::content);
  EXPECT_EQ(d[0].text, "Answer");
  EXPECT_TRUE(p.finish().empty());
  EXPECT_EQ(p.result().reasoning_content, "Think");
  EXPECT_FALSE(p.result().reasoning_reclassified);
}

TEST(ChatParser, ToolCallEmittedWhenItsEndTagArrives) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::qwen;
  cfg.id_seed = 7;
  OutputParser p(cfg);
  EXPECT_TRUE(push_all(p, {"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": 1}}\n"}).empty());
  auto d = p.push("</tool_call>").deltas;
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, DeltaKind::tool_call);
  EXPECT_EQ(d[0].tool_index, 0u);
  EXPECT_EQ(d[0].call.name, "f");
  EXPECT_EQ(d[0].call.arguments, "{\"x\":1}");
  p.finish();
  json m = p.result().to_json();
  EXPECT_TRUE(m["content"].is_null());
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
}

// Model output holding JSON nested 50,000 deep (a prompt can ask for it) is not a tool call:
// serializing the arguments (recursive in the JSON library) overflowed the stack.
TEST(ChatParser, DeeplyNestedToolCallIsText) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::qwen;
  OutputParser p(cfg);
  const std::string call = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": " + std::string(50000, '[') +
                           std::string(50000, ']') + "}}\n</tool_call>";
  p.push(call);
  p.finish();
  EXPECT_TRUE(p.result().tool_calls.empty());
}

TEST(ChatParser, CallIdsDeterministicWithSeedAndDistinct) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::qwen;
  cfg.id_seed = 123;
  auto ids = [&](const ParserConfig& c) {
    OutputParser p(c);
    p.push("<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"b\"}</tool_call>");
    p.finish();
    std::vector<std::string> out;
    for (const auto& t : p.result().tool_calls) out.push_back(t.id);
    return out;
  };
  auto a = ids(cfg), b = ids(cfg);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], a[1]);
  cfg.id_seed = 124;
  EXPECT_NE(ids(cfg)[0], a[0]);
}

TEST(ChatParser, StopReportedByThePushThatCompletesIt) {
  ParserConfig cfg;
  cfg.stop = {"STOP"};
  OutputParser p(cfg);
  EXPECT_FALSE(p.push("abc ST").stopped);
  EXPECT_FALSE(p.stopped());
  auto r = p.push("OP def");
  EXPECT_TRUE(r.stopped);
  EXPECT_TRUE(p.stopped());
  EXPECT_TRUE(p.push("more").stopped);  // ignored, still stopped
  p.finish();
  EXPECT_EQ(p.result().content, "abc");
  EXPECT_TRUE(p.result().stopped);
}

TEST(ChatParser, StopThatCompletesFirstWins) {
  // "bc" completes before "abcd" does, as it would when the text grows token by token.
  ParserConfig cfg;
  cfg.stop = {"abcd", "bc"};
  for (auto pieces : {std::vector<std::string>{"xabcd"}, {"xa", "bcd"}, {"xab", "c", "d"}}) {
    OutputParser p(cfg);
    for (auto& s : pieces) p.push(s);
    p.finish();
    EXPECT_EQ(p.result().content, "xa");
  }
}

TEST(ChatParser, FinishTwiceAndPushAfterFinishAreHarmless) {
  OutputParser p(ParserConfig{});
  p.push("hello");
  EXPECT_EQ(p.finish().size(), 0u);
  EXPECT_TRUE(p.finish().empty());
  EXPECT_TRUE(p.push("x").deltas.empty());
  EXPECT_EQ(p.result().content, "hello");
}

TEST(ChatParser, ToolTagsInsideReasoningAreReasoning) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::qwen;
  OutputParser p(cfg);
  p.push("<think>I could emit <tool_call> here</think>Done");
  p.finish();
  EXPECT_EQ(p.result().reasoning_content, "I could emit <tool_call> here");
  EXPECT_EQ(p.result().content, "Done");
  EXPECT_TRUE(p.result().tool_calls.empty());
}

TEST(ChatParser, LlamaCallThenProseBecomesContent) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::llama3;
  OutputParser p(cfg);
  p.push("{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"k\": [1, {\"z\": \"}\"}]}} trailing words");
  p.finish();
  ASSERT_EQ(p.result().tool_calls.size(), 2u);
  EXPECT_EQ(p.result().tool_calls[1].arguments, "{\"k\":[1,{\"z\":\"}\"}]}");
  EXPECT_EQ(p.result().content, "trailing words");
}

TEST(ChatParser, LlamaJsonThatIsNotACallIsContent) {
  ParserConfig cfg;
  cfg.tool_format = ToolFormat::llama3;
  OutputParser p(cfg);
  p.push("{\"answer\": 42} is the result");
  p.finish();
  EXPECT_TRUE(p.result().tool_calls.empty());
  EXPECT_EQ(p.result().content, "{\"answer\": 42} is the result");
}

TEST(ChatParser, ConfigFromTemplateFeatures) {
  EXPECT_EQ(parser_config_for("{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type']}}", "x").tool_format,
            ToolFormat::deepseek);
  EXPECT_EQ(parser_config_for("{{- '<tool_call>\\n{\"name\": \"' }}", "DeepSeek-R1-Distill").tool_format, ToolFormat::qwen);
  EXPECT_EQ(parser_config_for("<|start_header_id|>ipython<|end_header_id|>{{'<|python_tag|>'}}", "x").tool_format,
            ToolFormat::llama3);
  EXPECT_EQ(parser_config_for("<|start_header_id|>{\"name\": function name, \"parameters\": dict}", "x").tool_format,
            ToolFormat::llama3);
  EXPECT_EQ(parser_config_for("{{ messages }}", "Qwen2.5-7B-Instruct").tool_format, ToolFormat::qwen);
  EXPECT_EQ(parser_config_for("{{ messages }}", "my-model").tool_format, ToolFormat::none);
  EXPECT_FALSE(parser_config_for("x", "y").starts_in_reasoning);
}

TEST(ChatParser, PromptOpensReasoning) {
  EXPECT_TRUE(prompt_opens_reasoning("<｜User｜>hi<｜Assistant｜><think>\n"));
  EXPECT_TRUE(prompt_opens_reasoning("<|im_start|>assistant\n<think>"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n"));
}

}  // namespace
