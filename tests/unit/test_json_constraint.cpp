// JsonConstraint against an independent oracle: documents made by a generator written here from
// the schema (every byte prefix must be allowed), texts produced by random walks through the
// constraint (each must parse with nlohmann and pass the small validator written here), bytes
// that must be refused, and schema errors.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/json_constraint.h"
#include "test_util.h"

using frugal::JsonConstraint;
using json = nlohmann::ordered_json;

namespace {

// ---------------------------------------------------------------------------------------------
// Schemas used across the tests

const char* kPerson = R"({
  "type": "object",
  "title": "Person", "description": "annotations are ignored", "$comment": "c",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 20},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "role": {"enum": ["admin", "user", "guest"]},
    "nickname": {"type": ["string", "null"], "maxLength": 8},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
    "address": {"$ref": "#/$defs/address"},
    "score": {"type": "number"},
    "active": {"type": "boolean", "default": true}
  },
  "required": ["name", "age"],
  "additionalProperties": false,
  "$defs": {
    "address": {
      "type": "object",
      "properties": {"city": {"type": "string"}, "zip": {"type": "string", "minLength": 5, "maxLength": 5}},
      "required": ["city"],
      "additionalProperties": false
    }
  }
})";

const char* kOpenObject = R"({
  "type": "object",
  "properties": {"id": {"type": "integer"}, "label": {"type": "string"}},
  "required": ["id", "extra"]
})";

const char* kTree = R"({
  "$defs": {
    "node": {
      "type": "object",
      "properties": {
        "value": {"type": "integer", "minimum": -5, "maximum": 1000},
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3}
      },
      "required": ["value"],
      "additionalProperties": false
    }
  },
  "$ref": "#/$defs/node"
})";

const char* kShapes = R"({
  "type": "object",
  "properties": {
    "shape": {"oneOf": [
      {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
       "required": ["kind", "r"], "additionalProperties": false},
      {"type": "object", "properties": {"kind": {"const": "rect"}, "w": {"type": "integer"}, "h": {"type": "integer"}},
       "required": ["kind", "w", "h"], "additionalProperties": false},
      {"type": "object", "properties": {"kind": {"type": "string", "enum": ["cir", "dot"]}},
       "required": ["kind"], "additionalProperties": false}
    ]},
    "value": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3, "maximum": 7}, {"type": "null"}]}
  },
  "required": ["shape"],
  "additionalProperties": false
})";

const char* kLimits = R"({
  "type": "object",
  "properties": {
    "code": {"type": "string", "minLength": 2, "maxLength": 4},
    "list": {"type": "array", "items": {"type": "integer", "minimum": 10, "maximum": 20}, "minItems": 2, "maxItems": 4},
    "neg": {"type": "integer", "exclusiveMinimum": -100, "exclusiveMaximum": -10},
    "any": true
  },
  "required": ["code", "list"],
  "additionalProperties": false
})";

const char* kMap = R"({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9}})";

const char* kEnums = R"({
  "type": "object",
  "properties": {
    "v": {"enum": ["a", "ab", "b\"c", "é", 1, 10, -2.5, true, null, [1, 2], {"k": "v"}]},
    "w": {"const": "fixed"}
  },
  "required": ["v", "w"],
  "additionalProperties": false
})";

struct Case {
  const char* name;
  const char* schema;  // nullptr: json_object mode
  bool pretty_ok;      // enum containers are written compactly only
};
const Case kCases[] = {
    {"any_object", nullptr, true}, {"person", kPerson, true}, {"open_object", kOpenObject, true},
    {"tree", kTree, true},         {"shapes", kShapes, true}, {"limits", kLimits, true},
    {"map", kMap, true},           {"enums", kEnums, false},
};

JsonConstraint make(const char* schema) {
  if (!schema) return JsonConstraint(nullptr);
  json s = json::parse(schema);
  return JsonConstraint(&s);
}

// ---------------------------------------------------------------------------------------------
// The oracle: a validator for the supported subset, independent of the constraint.

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}
  bool valid(const json& v) const { return valid(v, root_); }

  bool valid(const json& v, const json& s) const {
    if (s.is_boolean()) return s.get<bool>();
    if (s.contains("$ref")) return valid(v, resolve(s["$ref"]));
    for (const char* kw : {"anyOf", "oneOf"})
      if (s.contains(kw))
        return std::any_of(s[kw].begin(), s[kw].end(), [&](const json& b) { return valid(v, b); });
    if (s.contains("allOf"))
      return std::all_of(s["allOf"].begin(), s["allOf"].end(), [&](const json& b) { return valid(v, b); });
    if (s.contains("const") && v != s["const"]) return false;
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) return false;
    if (s.contains("type")) {
      json types = s["type"].is_array() ? s["type"] : json::array({s["type"]});
      if (std::none_of(types.begin(), types.end(), [&](const json& t) { return has_type(v, t.get<std::string>()); }))
        return false;
    }
    if (v.is_object()) {
      const json props = s.value("properties", json::object());
      for (const auto& r : s.value("required", json::array()))
        if (!v.contains(r.get<std::string>())) return false;
      for (const auto& [k, x] : v.items()) {
        if (props.contains(k)) {
          if (!valid(x, props[k])) return false;
        } else if (s.contains("additionalProperties") && !valid(x, s["additionalProperties"])) {
          return false;
        }
      }
    }
    if (v.is_array()) {
      if (v.size() < s.value("minItems", size_t(0)) || v.size() > s.value("maxItems", SIZE_MAX)) return false;
      if (s.contains("items"))
        for (const auto& x : v)
          if (!valid(x, s["items"])) return false;
    }
    if (v.is_string()) {
      size_t n = code_points(v.get<std::string>());
      if (n < s.value("minLength", size_t(0)) || n > s.value("maxLength", SIZE_MAX)) return false;
    }
    if (v.is_number()) {
      double x = v.get<double>();
      if (s.contains("minimum") && x < s["minimum"].get<double>()) return false;
      if (s.contains("maximum") && x > s["maximum"].get<double>()) return false;
      if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) return false;
      if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) return false;
    }
    return true;
  }

  const json& resolve(const json& ref) const {
    std::string r = ref.get<std::string>();
    return r == "#" ? root_ : root_.at(json::json_pointer(r.substr(1)));
  }

  static bool has_type(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") return v.is_number_integer();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

 private:
  const json& root_;
};

// ---------------------------------------------------------------------------------------------
// Random valid documents for a schema, written without the constraint.

class Generator {
 public:
  Generator(const json& root, uint64_t seed) : root_(root), rng_(seed) {}

  json value(const json& s, int depth) {
    if (s.is_boolean() || s.empty()) return any(depth);
    if (s.contains("$ref")) return value(Validator(root_).resolve(s["$ref"]), depth);
    for (const char* kw : {"anyOf", "oneOf", "allOf"})
      if (s.contains(kw)) return value(s[kw][pick(s[kw].size())], depth);
    if (s.contains("const")) return s["const"];
    if (s.contains("enum")) {
      for (;;) {
        const json& v = s["enum"][pick(s["enum"].size())];
        if (!s.contains("type") || Validator::has_type(v, s["type"].get<std::string>())) return v;
      }
    }
    std::string type = "any";
    if (s.contains("type")) type = s["type"].is_array() ? s["type"][pick(s["type"].size())] : s["type"];
    else if (s.contains("properties") || s.contains("additionalProperties")) type = "object";
    if (type == "object") return object(s, depth);
    if (type == "array") {
      size_t lo = s.value("minItems", size_t(0)), hi = std::min(s.value("maxItems", size_t(100)), lo + (depth < 4 ? 3 : 0));
      json a = json::array();
      for (size_t n = lo + pick(hi - lo + 1); a.size() < n;) a.push_back(value(s.value("items", json(true)), depth + 1));
      return a;
    }
    if (type == "string") {
      size_t lo = s.value("minLength", size_t(0)), hi = std::min(s.value("maxLength", size_t(100)), lo + 6);
      return string(lo + pick(hi - lo + 1));
    }
    if (type == "integer") {
      int64_t lo = s.contains("minimum")            ? s["minimum"].get<int64_t>()
                   : s.contains("exclusiveMinimum") ? s["exclusiveMinimum"].get<int64_t>() + 1
                                                    : -1000000;
      int64_t hi = s.contains("maximum")            ? s["maximum"].get<int64_t>()
                   : s.contains("exclusiveMaximum") ? s["exclusiveMaximum"].get<int64_t>() - 1
                                                    : 1000000;
      switch (pick(3)) {
        case 0: return lo;
        case 1: return hi;
      }
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
    }
    if (type == "number") return number();
    if (type == "boolean") return pick(2) == 0;
    if (type == "null") return nullptr;
    return any(depth);
  }

 private:
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  json object(const json& s, int depth) {
    const json props = s.value("properties", json::object());
    json req = s.value("required", json::array());
    std::vector<std::string> keys;
    for (const auto& [k, v] : props.items())
      if (std::find(req.begin(), req.end(), k) != req.end() || (depth < 4 && pick(2))) keys.push_back(k);
    for (const auto& r : req)
      if (std::find(keys.begin(), keys.end(), r.get<std::string>()) == keys.end()) keys.push_back(r);
    bool extra_ok = !(s.contains("additionalProperties") && s["additionalProperties"] == false);
    for (int i = 0; extra_ok && depth < 4 && i < 2; ++i)
      if (pick(3) == 0) keys.push_back("x" + std::to_string(i) + string(pick(3), true).get<std::string>());
    std::shuffle(keys.begin(), keys.end(), rng_);
    json o = json::object();
    for (const std::string& k : keys) {
      const json& sub = props.contains(k) ? props[k] : s.value("additionalProperties", json(true));
      o[k] = value(sub, depth + 1);
    }
    return o;
  }

  // Keys have no characters that JSON writes as \u escapes (see json_constraint.h).
  json string(size_t n, bool key = false) {
    static const char* kChars[] = {"a", "Z", " ", "7", "é", "中", "😀", "\"", "\\", "/", "\n", "\t", "\x7f", "\x01"};
    std::string s;
    for (size_t i = 0; i < n; ++i) s += kChars[pick(std::size(kChars) - key)];
    return s;
  }

  json number() {
    switch (pick(5)) {
      case 0: return int64_t(pick(1000)) - 500;
      case 1: return (double(pick(100000)) - 50000) / 64;
      case 2: return double(pick(1000)) * 1e-9;
      case 3: return double(pick(1000) + 1) * 1e15;
    }
    return 0.0;
  }

  json any(int depth) {
    switch (pick(depth < 3 ? 8 : 6)) {
      case 0: return nullptr;
      case 1: return pick(2) == 0;
      case 2: return number();
      case 3: return int64_t(pick(100));
      case 4:
      case 5: return string(pick(5));
      case 6: {
        json a = json::array();
        for (size_t i = pick(3); i > 0; --i) a.push_back(any(depth + 1));
        return a;
      }
    }
    json o = json::object();
    for (size_t i = pick(3); i > 0; --i) o["k" + std::to_string(i)] = any(depth + 1);
    return o;
  }

  const json& root_;
  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------------
// Feeding helpers

// Index of the first byte refused when the text is fed byte by byte; npos when none is.
size_t first_refused(JsonConstraint c, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!c.allows(text.substr(i, 1))) return i;
    c.accept(text.substr(i, 1));
  }
  return std::string::npos;
}

// Every byte prefix is allowed, complete() holds only at the end (the top level is an object);
// the same in random chunks, where each chunk is allowed as a whole.
void expect_document(const JsonConstraint& start, const std::string& text, std::mt19937_64& rng) {
  SCOPED_TRACE(text);
  JsonConstraint c = start;
  for (size_t i = 0; i < text.size(); ++i) {
    ASSERT_FALSE(c.complete()) << "complete after " << i << " bytes";
    ASSERT_TRUE(c.allows(text.substr(i, 1))) << "byte " << i << " refused";
    c.accept(text.substr(i, 1));
  }
  EXPECT_TRUE(c.complete());
  EXPECT_FALSE(c.can_continue());
  EXPECT_TRUE(c.allows(" "));  // trailing whitespace
  EXPECT_FALSE(c.allows("x"));

  JsonConstraint d = start;
  for (size_t i = 0; i < text.size();) {
    size_t n = std::min(text.size() - i, size_t(1 + rng() % 12));
    ASSERT_TRUE(d.allows(text.substr(i, n))) << "chunk at " << i;
    d.accept(text.substr(i, n));
    i += n;
  }
  EXPECT_TRUE(d.complete());
  EXPECT_EQ(d.size(), text.size());
}

// ---------------------------------------------------------------------------------------------
// Random walks: a vocabulary of JSON-ish tokens, every single byte among them, so that "no
// token allowed" means a dead end.

std::vector<std::string> vocabulary(const json* schema) {
  std::vector<std::string> v;
  for (int b = 0; b < 256; ++b) v.emplace_back(1, char(b));
  for (const char* t : {"{", "}", "[", "]", "{\"", "\"}", "\":", "\",", "\"]", "},", "],", "},{\"", "[\"", ",\"", "\": ",
                        ", ", "\n", "\n  ", "\n    ", "  ", "true", "false", "null", "12", "0.5", "-3", "1e5", "e-",
                        "00", "\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\/", "é", "中", "😀",
                        "\xC3", "\xA9", "\xE4\xB8", "\xAD", "\xF0\x9F", "\x98\x80", "hello", " world", "name", "ab"})
    v.push_back(t);
  // Whole keys and enum strings of the schema, as a tokenizer's vocabulary would have them.
  auto visit = [&](auto& self, const json& s) -> void {
    if (s.is_object()) {
      for (const auto& [k, x] : s.items()) {
        if (k == "properties")
          for (const auto& [name, sub] : x.items()) {
            v.push_back("\"" + name + "\"");
            v.push_back("\"" + name + "\":");
            v.push_back(name);
          }
        if (k == "required")
          for (const json& name : x) v.push_back("\"" + name.get<std::string>() + "\"");
        if (k == "enum" || k == "const") v.push_back(x.dump());
        self(self, x);
      }
    } else if (s.is_array()) {
      for (const auto& x : s) self(self, x);
    }
  };
  if (schema) visit(visit, *schema);
  return v;
}

// Walks from the start state picking allowed tokens at random, preferring tokens that close
// things once the text is long. Returns the text; *finished: it ended complete.
std::string random_walk(const JsonConstraint& start, const std::vector<std::string>& vocab, uint64_t seed,
                        bool* finished) {
  std::mt19937_64 rng(seed);
  JsonConstraint c = start;
  std::string text;
  *finished = false;
  std::vector<size_t> ok, tier;
  for (int step = 0; step < 4000; ++step) {
    if (c.complete() && (!c.can_continue() || rng() % 4 == 0)) {
      *finished = true;
      return text;
    }
    ok.clear();
    for (size_t i = 0; i < vocab.size(); ++i)
      if (c.allows(vocab[i])) ok.push_back(i);
    if (ok.empty()) {
      ADD_FAILURE() << "dead end after: " << text;
      return text;
    }
    size_t choice = ok[rng() % ok.size()];
    if (text.size() > 80 && rng() % 10 != 0) {
      // Closing tiers: '}' / ']' first, then tokens starting with a quote, then anything ASCII.
      for (const char* firsts : {"}]", "\"", ",:0123456789-tfn"}) {
        tier.clear();
        for (size_t i : ok)
          if (std::string_view(firsts).find(vocab[i][0]) != std::string_view::npos) tier.push_back(i);
        if (!tier.empty()) {
          choice = tier[rng() % tier.size()];
          break;
        }
      }
    } else if ((unsigned char)vocab[choice][0] >= 0x80 && vocab[choice].size() == 1 && rng() % 4 != 0) {
      continue;  // lone non-ASCII bytes are rare in real output; keep the walks mostly readable
    }
    c.accept(vocab[choice]);
    text += vocab[choice];
  }
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST(JsonConstraint, HandWrittenDocuments) {
  std::mt19937_64 rng(1);
  struct Doc {
    const char* schema;
    const char* text;
  };
  const Doc docs[] = {
      {nullptr, "{}"},
      {nullptr, R"({"a":1})"},
      {nullptr, " {\"a\": [1, 2.5, -3e10, 0, -0.0, 1E+2, true, false, null, \"x\"], \"b\": {\"c\": {}}}"},
      {nullptr, "{\n  \"a\": {\n    \"b\": []\n  },\n\t\"c\":\"\\ud83d\\ude00\\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\"\n}"},
      {nullptr, R"({"é中😀":"é中😀","":""})"},
      {kPerson, R"({"name":"Ann","age":0})"},
      {kPerson, R"({"age":150,"name":"Bob","role":"guest","nickname":null,"tags":[],"active":false})"},
      {kPerson, R"({"name":"x","age":42,"tags":["a","bb","ccccc"],"address":{"zip":"12345","city":"Z"},"score":-1.5e-3})"},
      {kPerson, R"({"name":"\u00e9\ud83d\ude00","age":7,"nickname":"12345678"})"},
      {kOpenObject, R"({"extra":[1,{"x":null}],"id":-5,"other":"o"})"},
      {kOpenObject, R"({"label":"l","id":0,"extra":{}})"},
      {kTree, R"({"value":-5,"children":[{"value":1000},{"value":3,"children":[]}]})"},
      {kShapes, R"({"shape":{"kind":"circle","r":2.5}})"},
      {kShapes, R"({"shape":{"kind":"cir"},"value":"s"})"},
      {kShapes, R"({"value":7,"shape":{"w":1,"kind":"rect","h":2}})"},
      {kShapes, R"({"shape":{"kind":"dot"},"value":null})"},
      {kLimits, R"({"code":"ab","list":[10,20],"neg":-99,"any":[{}]})"},
      {kLimits, R"({"list":[15,16,17,18],"code":"中中中中","neg":-11})"},
      {kMap, R"({"a":0,"b":9,"a":5})"},
      {kEnums, R"({"v":"b\"c","w":"fixed"})"},
      {kEnums, R"({"w":"fixed","v":{"k":"v"}})"},
      {kEnums, R"({"v":10,"w":"fixed"})"},
      {kEnums, R"({"v":1,"w":"fixed"})"},
      {kEnums, R"({"v":-2.5,"w":"fixed"})"},
      {kEnums, R"({"v":[1,2],"w":"fixed"})"},
      {kEnums, R"({"v":"é","w":"fixed"})"},
  };
  for (const Doc& d : docs) expect_document(make(d.schema), d.text, rng);
}

TEST(JsonConstraint, GeneratedDocuments) {
  for (const Case& k : kCases) {
    SCOPED_TRACE(k.name);
    json schema = k.schema ? json::parse(k.schema) : json{{"type", "object"}};
    JsonConstraint c = make(k.schema);
    Validator oracle(schema);
    for (uint64_t seed = 0; seed < 60; ++seed) {
      Generator gen(schema, seed);
      json v = gen.value(schema, 0);
      ASSERT_TRUE(oracle.valid(v)) << v.dump();  // the generator itself
      std::mt19937_64 rng(seed);
      expect_document(c, v.dump(), rng);
      if (k.pretty_ok) expect_document(c, v.dump(2), rng);
    }
  }
}

TEST(JsonConstraint, RandomWalksEndInValidDocuments) {
  for (const Case& k : kCases) {
    SCOPED_TRACE(k.name);
    json schema = k.schema ? json::parse(k.schema) : json{{"type", "object"}};
    JsonConstraint c = make(k.schema);
    Validator oracle(schema);
    std::vector<std::string> vocab = vocabulary(k.schema ? &schema : nullptr);
    int finished = 0, walks = 40;
    for (int seed = 0; seed < walks; ++seed) {
      bool done = false;
      std::string text = random_walk(c, vocab, uint64_t(seed) * 7919 + 13, &done);
      if (::testing::Test::HasFailure()) return;
      if (!done) continue;
      ++finished;
      json v;
      ASSERT_NO_THROW(v = json::parse(text)) << text;
      EXPECT_TRUE(oracle.valid(v)) << text;
      JsonConstraint whole = c;  // the same text in one piece
      ASSERT_TRUE(whole.allows(text)) << text;
      whole.accept(text);
      EXPECT_TRUE(whole.complete());
    }
    EXPECT_GE(finished, walks * 9 / 10);
  }
}

TEST(JsonConstraint, RefusesAtTheRightByte) {
  struct Bad {
    const char* schema;
    const char* ok;   // accepted
    const char* bad;  // its first byte is refused
  };
  const Bad cases[] = {
      {nullptr, "", "["},  // json_object: the top level is an object
      {nullptr, "", "\"x\""},
      {nullptr, "{\"a\":1,", "}"},  // trailing comma
      {nullptr, "{\"a\":[1,", "]"},
      {nullptr, "{\"a\":0", "1"},  // leading zero
      {nullptr, "{\"a\":-", "x"},
      {nullptr, "{\"a\":1.", "e"},
      {nullptr, "{\"a\":1e", "}"},
      {nullptr, "{\"a\":1e99", "9"},  // exponents stay below 100
      {nullptr, "{\"a\":\"\\", "x"},  // bad escape
      {nullptr, "{\"a\":\"\\u12", "g"},
      {nullptr, "{\"a\":\"", "\n"},  // raw control character
      {nullptr, "{\"a\":\"\\uD", "C00"},  // lone low surrogate
      {nullptr, "{\"a\":\"\\uD83D", "x"},  // high surrogate without its low half
      {nullptr, "{\"a\":\"\\uD83D\\u", "0041"},
      {nullptr, "{\"a\":\"", "\xC0\x80"},  // overlong
      {nullptr, "{\"a\":\"\xED", "\xA0\x80"},  // UTF-8 surrogate
      {nullptr, "{\"a\":\"\xF4", "\x90"},  // above U+10FFFF
      {nullptr, "{\"a\":\"\xC3", "A"},
      {nullptr, "{\"\\", "u0061\":1}"},  // no u-escapes in keys
      {nullptr, "{ ", " "},  // whitespace is bounded
      {nullptr, "{\n                    ", " "},
      {nullptr, "{\"a\" ", "\n"},
      {nullptr, "{}", "x"},
      {nullptr, "{} ", "{"},
      {nullptr, "{\"a\":tru", "x"},
      {nullptr, "{\"a\":1 ", "2"},
      {kPerson, "{\"name\":\"x\"", "}"},  // missing required age
      {kPerson, "{\"name\":", "1"},  // wrong type
      {kPerson, "{\"name\":\"", "\""},  // shorter than minLength
      {kPerson, "{\"name\":\"12345678901234567890", "1"},  // longer than maxLength
      {kPerson, "{\"name\":\"x\",\"age\":15", "1"},  // 151 > maximum
      {kPerson, "{\"name\":\"x\",\"age\":20", "0"},
      {kPerson, "{\"name\":\"x\",\"age\":", "-"},  // minimum 0
      {kPerson, "{\"name\":\"x\",\"age\":1", "."},  // integers have no fraction
      {kPerson, "{\"name\":\"x\",\"age\":1", "e"},
      {kPerson, "{\"", "x"},  // additionalProperties: false
      {kPerson, "{\"nam", "x"},
      {kPerson, "{\"name", "s"},
      {kPerson, "{\"name\":\"a\",\"n", "a"},  // already used: only "nickname" is left
      {kPerson, "{\"role\":\"adm", "x"},  // enum mismatch
      {kPerson, "{\"role\":\"admin", "s"},
      {kPerson, "{\"tags\":[\"a\",\"b\",\"c\"", ","},  // maxItems
      {kPerson, "{\"address\":{", "}"},  // city is required
      {kPerson, "{\"address\":{\"zip\":\"1234", "\""},
      {kPerson, "{\"active\":", "1"},
      {kPerson, "{\"nickname\":", "0"},
      {kOpenObject, "{\"id\":1", "}"},  // "extra" is required though not in properties
      {kOpenObject, "{\"id\":1,\"id", "\""},  // duplicate
      {kOpenObject, "{\"id\":", "\""},
      {kTree, "{\"value\":-", "6"},
      {kTree, "{\"value\":100", "1"},
      {kTree, "{\"value\":1,\"children\":[", "1"},
      {kShapes, "{\"shape\":{", "}"},
      {kShapes, "{\"shape\":{\"kind\":\"circle\",\"", "w"},
      {kShapes, "{\"shape\":{\"kind\":\"c", "x"},
      {kShapes, "{\"shape\":{\"kind\":\"cir\"", ","},
      {kShapes, "{\"value\":", "8"},
      {kShapes, "{\"value\":", "-"},
      {kLimits, "{\"code\":\"ab\",\"list\":[10", "]"},  // minItems
      {kLimits, "{\"list\":[", "9"},
      {kLimits, "{\"list\":[2", "1"},
      {kLimits, "{\"neg\":-1", "0"},  // exclusive bounds: -10 and -10x are out
      {kLimits, "{\"neg\":-1", "}"},
      {kLimits, "{\"neg\":-", "0"},
      {kMap, "{\"a\":1", "0"},
      {kMap, "{\"a\":", "\""},
      {kEnums, "{\"v\":1", "1"},
      {kEnums, "{\"v\":\"", "\\u00e9"},  // enum values in their compact spelling only
      {kEnums, "{\"w\":\"fixe", "x"},
      {kEnums, "{\"v\":[1,", " "},
  };
  for (const Bad& b : cases) {
    std::string ok = b.ok, bad = b.bad;
    SCOPED_TRACE(ok + " | " + bad);
    JsonConstraint c = make(b.schema);
    ASSERT_EQ(first_refused(c, ok), std::string::npos);
    c.accept(ok);
    EXPECT_FALSE(c.allows(bad.substr(0, 1)));
    EXPECT_FALSE(c.allows(bad));
    EXPECT_THROW(c.accept(bad), frugal::Error);
  }
}

TEST(JsonConstraint, SplitUtf8AndEscapesAcrossTokens) {
  JsonConstraint c(nullptr);
  for (const char* t : {"{\"", "\xF0\x9F", "\x98", "\x80", "\":\"", "\\u", "D8", "3D\\", "uDE", "00", "\xE4", "\xB8\xAD\"", "}"}) {
    ASSERT_TRUE(c.allows(t)) << t;
    c.accept(t);
  }
  EXPECT_TRUE(c.complete());
}

TEST(JsonConstraint, TopLevelScalars) {
  JsonConstraint n = make(R"({"type": "integer", "minimum": 10, "maximum": 4200})");
  EXPECT_TRUE(n.allows("500"));
  EXPECT_FALSE(n.allows("5000"));
  EXPECT_FALSE(n.allows("0"));
  EXPECT_FALSE(n.allows("-"));
  n.accept("4");
  EXPECT_FALSE(n.complete());
  n.accept("2");
  EXPECT_TRUE(n.complete());  // 42, though 420 or 4200 may follow
  EXPECT_TRUE(n.can_continue());
  n.accept("00");
  EXPECT_TRUE(n.complete());
  EXPECT_FALSE(n.allows("0"));
  n.accept(" ");
  EXPECT_TRUE(n.complete());
  EXPECT_FALSE(n.can_continue());

  JsonConstraint s = make(R"({"enum": ["on", "off", 1, 12]})");
  s.accept("\"o");
  EXPECT_TRUE(s.allows("ff\""));
  EXPECT_FALSE(s.allows("x"));
  s.accept("n\"");
  EXPECT_TRUE(s.complete());
  EXPECT_FALSE(s.can_continue());
  JsonConstraint one = make(R"({"enum": ["on", "off", 1, 12]})");
  one.accept("1");
  EXPECT_TRUE(one.complete());
  EXPECT_TRUE(one.allows("2"));
  EXPECT_FALSE(one.allows("3"));

  JsonConstraint any = make("true");
  EXPECT_TRUE(any.allows("[1, \"x\", null]"));
  EXPECT_TRUE(any.allows("-0.5e-3"));
  EXPECT_FALSE(any.allows("nul "));
}

TEST(JsonConstraint, CopiesAreIndependent) {
  JsonConstraint a = make(kPerson);
  a.accept("{\"name\":\"A\"");
  JsonConstraint b = a;
  b.accept(",\"age\":3}");
  EXPECT_TRUE(b.complete());
  EXPECT_FALSE(a.complete());
  EXPECT_FALSE(a.allows("}"));
  a = b;
  EXPECT_TRUE(a.complete());
}

TEST(JsonConstraint, AnyOfBranchesSharingAPrefix) {
  // Both branches start `{"kind":"c`; the text decides between them only at the fourth letter.
  JsonConstraint c = make(kShapes);
  c.accept("{\"shape\":{\"kind\":\"ci");
  EXPECT_TRUE(c.allows("rcle\",\"r\":1}}"));
  EXPECT_TRUE(c.allows("r\"}}"));
  EXPECT_FALSE(c.allows("r\",\"r\""));
  c.accept("r");
  c.accept("\"");
  EXPECT_FALSE(c.allows(","));
  EXPECT_TRUE(c.allows("}}"));
}

TEST(JsonConstraint, NestingLimitNeverDeadEnds) {
  // Arrays of any value nest until the limit, where only scalars and empty containers fit.
  JsonConstraint c = make(R"({"type": "array"})");
  std::string text;
  while (c.allows("[")) {
    c.accept("[");
    text += "[";
  }
  EXPECT_EQ(text.size(), 31u);
  EXPECT_TRUE(c.allows("]"));  // the innermost array can only be empty
  EXPECT_FALSE(c.allows("1"));
  c.accept("]");
  EXPECT_TRUE(c.allows(",1"));
  EXPECT_TRUE(c.allows(",[]"));
  EXPECT_FALSE(c.allows(",[1"));
  c.accept(std::string(30, ']'));
  EXPECT_TRUE(c.complete());
}

TEST(JsonConstraint, SchemaErrorsNameTheKeywordAndPath) {
  auto error = [](const char* schema, const char* where = "schema") {
    return frugal::test::error_of([&] {
      json s = json::parse(schema);
      JsonConstraint c(&s, where);
    });
  };
  EXPECT_EQ(error(R"({"type":"object","properties":{"age":{"type":"integer","patternProperties":{}}}})",
                  "response_format.json_schema.schema"),
            "response_format.json_schema.schema/properties/age: unsupported keyword \"patternProperties\"");
  EXPECT_EQ(error(R"({"properties":{"email":{"type":"string","format":"email"}}})"),
            "schema/properties/email: unsupported keyword \"format\" (string formats and patterns are not enforced)");
  EXPECT_EQ(error(R"({"type":"string","pattern":"^a"})"),
            "schema: unsupported keyword \"pattern\" (string formats and patterns are not enforced)");
  EXPECT_EQ(error(R"({"type":"int"})"), "schema/type: unknown type \"int\"");
  EXPECT_EQ(error(R"({"type":"number","minimum":0})"),
            "schema: \"minimum\" is supported for type integer only (bounds on other numbers are not enforced)");
  EXPECT_EQ(error(R"({"minimum":0})"),
            "schema: minimum / maximum need \"type\": \"integer\" (bounds on other numbers are not supported)");
  EXPECT_EQ(error(R"({"type":"string","minItems":1})"), "schema: keyword \"minItems\" does not apply to the schema's type");
  EXPECT_EQ(error(R"({"type":"array","items":[{"type":"string"}]})"),
            "schema/items: tuple form (an array of schemas) is not supported");
  EXPECT_EQ(error(R"({"type":"string","minLength":3,"maxLength":2})"), "schema: minLength > maxLength");
  EXPECT_EQ(error(R"({"type":"integer","minimum":5,"exclusiveMaximum":5})"), "schema: no integer lies within the bounds");
  EXPECT_EQ(error(R"({"type":"object","properties":{},"required":["a"],"additionalProperties":false})"),
            "schema/required: required property \"a\" is not in properties (and additionalProperties is false)");
  EXPECT_EQ(error(R"({"properties":{"a/b":{"$ref":"http://example.com/s"}}})"),
            "schema/properties/a~1b/$ref: unsupported reference \"http://example.com/s\" (only \"#\", "
            "\"#/$defs/...\" and \"#/definitions/...\")");
  EXPECT_EQ(error(R"({"$ref":"#/$defs/missing"})"), "schema/$ref: \"#/$defs/missing\" does not resolve");
  EXPECT_EQ(error(R"({"type":"object","anyOf":[{"type":"object"}]})"),
            "schema: \"type\" alongside \"anyOf\" is not supported");
  EXPECT_EQ(error(R"({"allOf":[{"type":"object"},{"required":["a"]}]})"),
            "schema/allOf: allOf with more than one schema is not supported");
  EXPECT_EQ(error(R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"})"),
            "schema/$defs/a: $ref / anyOf cycle that never reaches a typed schema");
  EXPECT_EQ(error(R"({"$defs":{"n":{"type":"object","properties":{"c":{"$ref":"#/$defs/n"}},"required":["c"]}},
                      "$ref":"#/$defs/n"})"),
            "schema: no JSON document satisfies the schema within 30 levels of nesting");
  EXPECT_EQ(error(R"({"enum":[]})"), "schema/enum: must be a non-empty array");
  EXPECT_EQ(error(R"({"type":"string","enum":[1,2]})"), "schema: no \"enum\" value has the schema's type");
  EXPECT_EQ(error(R"({"enum":["a"],"maxLength":3})"), "schema: \"maxLength\" alongside \"enum\" is not supported");
  EXPECT_EQ(error("42"), "schema: a schema must be an object or a boolean");
  EXPECT_EQ(error("false"), "schema: no JSON document satisfies the schema within 30 levels of nesting");
  EXPECT_EQ(error(R"({"type":"object","properties":{"a":{"uniqueItems":true}}})"),
            "schema/properties/a: unsupported keyword \"uniqueItems\"");
  std::string many = R"({"type":"object","properties":{)";
  for (int i = 0; i < 65; ++i) many += (i ? ",\"p" : "\"p") + std::to_string(i) + "\":{}";
  EXPECT_EQ(error((many + "}}").c_str()), "schema/properties: more than 64 properties are not supported");
}

TEST(JsonConstraint, OptionalBranchesThatCannotFinishAreClosed) {
  // "loop" can never be completed (it requires itself), so its key is never offered; the array
  // of unsatisfiable items can only stay empty.
  JsonConstraint c = make(R"({
    "type": "object",
    "properties": {
      "loop": {"$ref": "#/$defs/loop"},
      "list": {"type": "array", "items": {"$ref": "#/$defs/loop"}},
      "ok": {"type": "null"}
    },
    "additionalProperties": false,
    "$defs": {"loop": {"type": "object", "properties": {"x": {"$ref": "#/$defs/loop"}}, "required": ["x"]}}
  })");
  EXPECT_FALSE(c.allows("{\"lo"));
  EXPECT_TRUE(c.allows("{\"list\":[]"));
  EXPECT_FALSE(c.allows("{\"list\":[{"));
  EXPECT_TRUE(c.allows("{\"ok\":null}"));
}

// The server may check every vocabulary token in one decoding step (~150k; this runs in a few
// milliseconds in a release build). Checks that allows() agrees with accepting on a copy.
TEST(JsonConstraint, ManyCandidatesAgreeWithAccept) {
  std::mt19937_64 rng(7);
  std::vector<std::string> vocab;
  const char* pieces[] = {"a", "e", "n", "s", "t", " ", "\"", ":", ",", "{", "}", "1", "0", ".", "\\", "é", "\n", "_"};
  for (int i = 0; i < 150000; ++i) {
    std::string t;
    for (size_t n = 1 + rng() % 6; t.size() < n;) t += pieces[rng() % std::size(pieces)];
    vocab.push_back(t);
  }
  for (const char* prefix : {"{\"name\":\"Alice ", "{\"name\":\"A\",", "{\"name\":\"A\",\"age\":", "{", "{\"tags\":[\"x\""}) {
    JsonConstraint c = make(kPerson);
    c.accept(prefix);
    size_t allowed = 0;
    for (const std::string& t : vocab) allowed += c.allows(t);
    EXPECT_GT(allowed, 0u) << prefix;
    for (size_t i = 0; i < vocab.size(); i += 97) {
      JsonConstraint d = c;
      bool accepted = true;
      try {
        d.accept(vocab[i]);
      } catch (const frugal::Error&) {
        accepted = false;
      }
      EXPECT_EQ(accepted, c.allows(vocab[i])) << prefix << vocab[i];
    }
  }
}

TEST(JsonConstraint, AmbiguousBranchesDoNotMultiply) {
  // Every item may be read as either branch until it closes; 200 items in one call would be
  // 2^200 readings if they were not merged.
  JsonConstraint c = make(R"({"type": "object", "properties": {"a": {"type": "array", "items":
      {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "string", "minLength": 3}]}}}})");
  std::string text = "{\"a\":[\"abcd\"";
  for (int i = 0; i < 200; ++i) text += ",\"abcd\"";
  EXPECT_TRUE(c.allows(text + "]}"));
  EXPECT_FALSE(c.allows(text + "]]"));
  c.accept(text);
  EXPECT_TRUE(c.allows(",\"ab\""));
  EXPECT_TRUE(c.allows(",\"abcdefg\""));
  EXPECT_FALSE(c.allows(",\"abcdefg\\x"));
}

TEST(JsonConstraint, RecursiveSchemaAtTheNestingLimit) {
  JsonConstraint c = make(kTree);
  const std::string open = "{\"value\":1,\"children\":[";
  int levels = 0;
  for (; c.allows(open); ++levels) c.accept(open);
  EXPECT_EQ(levels, 15);  // root + 15 objects + 15 arrays + no room for the 16th object's value
  EXPECT_FALSE(c.allows("{"));
  EXPECT_TRUE(c.allows("]"));
  std::string close;
  for (int i = 0; i < levels; ++i) close += "]}";
  c.accept(close);
  EXPECT_TRUE(c.complete());
}
