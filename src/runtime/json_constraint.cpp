// The schema is compiled into a graph of nodes (object, array, string, number, literal set and
// union); the recognizer keeps a stack of small frames per reading of the text. A node is only
// entered when the shortest document it needs fits under the nesting limit, and every frame
// refuses the bytes after which no valid continuation exists (a closing brace while a required
// key is missing, a digit that takes an integer out of range, a key byte that no unused
// property name continues), so a text the recognizer accepts can always be completed.
//
// allows() runs on a Cursor that copies a frame of the committed stack only when it touches it:
// checking a short token costs one or two 32-byte copies and no allocation.
#include "runtime/json_constraint.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/error.h"

namespace frugal {
namespace json_constraint_detail {

constexpr uint32_t kNone = UINT32_MAX;      // no node: additionalProperties false, an additional key
constexpr uint32_t kInf = 1u << 20;         // min_depth of a node that no finite document satisfies
constexpr uint32_t kMaxDepth = 32;          // frames in a stack: the root, 30 containers, a scalar
constexpr size_t kMaxThreads = 16;
constexpr int kMaxForks = 32;               // per allows() before it falls back to merging readings
constexpr size_t kMaxProperties = 64;       // used properties are one bit each in a frame
constexpr uint32_t kMaxNumberDigits = 20;   // integer and fraction parts of a non-integer number
constexpr uint32_t kMaxExponentDigits = 2;  // beyond e99, strtod-based parsers report overflow
constexpr uint8_t kMaxIndent = 20;
constexpr int kMaxSchemaDepth = 64;

struct Node {
  enum Kind : uint8_t { kUnion, kObject, kArray, kString, kNumber, kLiteral };
  Kind kind = kUnion;
  std::vector<uint32_t> alts;         // kUnion, as written
  std::vector<uint32_t> leaves;       // kUnion, flattened to non-union nodes
  std::vector<std::string> names;     // kObject: property names as JSON string bytes, sorted
  std::vector<uint32_t> props;        // kObject: the node of each name
  uint64_t required = 0;              // kObject: bits over names
  uint32_t additional = kNone;        // kObject: the node of other keys' values
  uint32_t items = kNone;             // kArray
  uint32_t min_count = 0;             // kArray: items; kString: code points
  uint32_t max_count = UINT32_MAX;
  bool integer = false;               // kNumber
  int64_t min = INT64_MIN;            // kNumber, integer only
  int64_t max = INT64_MAX;
  std::vector<std::string> literals;  // kLiteral: compact JSON texts, sorted
  uint32_t min_depth = kInf;          // frames the shortest document of this node needs
};

// Nodes every grammar has, at these indices.
enum Builtin : uint32_t { kAny, kAnyObject, kAnyArray, kAnyString, kAnyNumber, kAnyScalar, kNever };

struct Grammar {
  std::vector<Node> nodes;
  uint32_t root = kAnyObject;
};

// Trivial (no member initializers) so that a Cursor's frame array costs nothing to create; make
// frames with Frame{}.
struct Frame {
  uint32_t node;
  uint8_t kind, phase, ws, flags;
  uint8_t utf8_left, utf8_lo, utf8_hi, hex;  // string lexer
  uint32_t a, b, c;                          // per kind, see FrameKind
  uint64_t u;
  bool operator==(const Frame&) const = default;
};

}  // namespace json_constraint_detail

namespace {

using json = nlohmann::ordered_json;
using namespace json_constraint_detail;

// ---------------------------------------------------------------------------------------------
// Schema compilation

enum TypeBit : uint32_t {
  kTObject = 1, kTArray = 2, kTString = 4, kTNumber = 8, kTInteger = 16, kTBoolean = 32, kTNull = 64,
};
constexpr const char* kTypeNames[] = {"object", "array", "string", "number", "integer", "boolean", "null"};

// Keywords that constrain one type (the bit), or that combine schemas (0).
struct Keyword {
  const char* name;
  uint32_t type;
};
constexpr Keyword kKeywords[] = {
    {"properties", kTObject}, {"required", kTObject},  {"additionalProperties", kTObject},
    {"items", kTArray},       {"minItems", kTArray},   {"maxItems", kTArray},
    {"minLength", kTString},  {"maxLength", kTString}, {"minimum", kTInteger},
    {"maximum", kTInteger},   {"exclusiveMinimum", kTInteger}, {"exclusiveMaximum", kTInteger},
    {"type", 0},              {"enum", 0},             {"const", 0},
    {"anyOf", 0},             {"oneOf", 0},            {"allOf", 0},
    {"$ref", 0},
};

bool is_annotation(std::string_view k) {
  return k == "title" || k == "description" || k == "$schema" || k == "default" || k == "examples" ||
         k == "$comment";
}
bool is_container(std::string_view k) { return k == "$defs" || k == "definitions"; }
const Keyword* keyword(std::string_view k) {
  for (const Keyword& kw : kKeywords)
    if (k == kw.name) return &kw;
  return nullptr;
}

std::string pointer_token(const std::string& s) {  // RFC 6901 escaping
  std::string r;
  for (char ch : s) r += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return r;
}

class Compiler {
 public:
  Compiler(Grammar& g, const json& root, std::string_view where) : g_(g), root_(root), where_(where) {}

  uint32_t compile(const json& s, const std::string& ptr, int depth) {
    if (s.is_boolean()) return s.get<bool>() ? kAny : kNever;
    if (auto it = memo_.find(ptr); it != memo_.end()) return it->second;
    if (depth > kMaxSchemaDepth) err(ptr, "schema nested more than %d levels deep", kMaxSchemaDepth);
    if (!s.is_object()) err(ptr, "a schema must be an object or a boolean");
    uint32_t id = add(Node{}, ptr);
    memo_[ptr] = id;  // before the body, so that a $ref back to here finds it
    Node n = body(s, ptr, depth);
    g_.nodes[id] = std::move(n);
    return id;
  }

  // A union whose alternatives lead back to itself through unions only never starts a value.
  void check_union_cycles() {
    std::vector<uint8_t> state(g_.nodes.size(), 0);  // 0 new, 1 on the path, 2 done
    auto visit = [&](auto& self, uint32_t id) -> void {
      if (g_.nodes[id].kind != Node::kUnion || state[id] == 2) return;
      if (state[id] == 1) err(ptrs_[id], "$ref / anyOf cycle that never reaches a typed schema");
      state[id] = 1;
      for (uint32_t a : g_.nodes[id].alts) self(self, a);
      state[id] = 2;
    };
    for (uint32_t id = 0; id < g_.nodes.size(); ++id) visit(visit, id);
  }

  [[noreturn, gnu::format(printf, 3, 4)]] void err(const std::string& ptr, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string msg = vstrfmt(fmt, ap);
    va_end(ap);
    fail("%s%s: %s", where_.c_str(), ptr.c_str(), msg.c_str());
  }

 private:
  uint32_t add(Node n, const std::string& ptr) {
    g_.nodes.push_back(std::move(n));
    ptrs_.resize(g_.nodes.size());
    ptrs_.back() = ptr;
    return uint32_t(g_.nodes.size() - 1);
  }

  Node body(const json& s, const std::string& ptr, int depth) {
    uint32_t families = 0;
    for (const auto& [k, v] : s.items()) {
      if (is_annotation(k)) continue;
      if (is_container(k)) {
        if (!v.is_object()) err(ptr + "/" + k, "must be an object of schemas");
        continue;
      }
      if (k == "format" || k == "pattern")
        err(ptr, "unsupported keyword \"%s\" (string formats and patterns are not enforced)", k.c_str());
      const Keyword* kw = keyword(k);
      if (!kw) err(ptr, "unsupported keyword \"%s\"", k.c_str());
      families |= kw->type;
    }
    for (const char* kw : {"$ref", "anyOf", "oneOf", "allOf"})
      if (s.contains(kw)) return combinator(s, ptr, kw, depth);
    if (s.contains("enum") || s.contains("const")) return literal(s, ptr);

    uint32_t types = 0;
    if (s.contains("type")) {
      types = parse_types(s["type"], ptr + "/type");
    } else {
      // No type: the keywords present say which types the author means; none means any value.
      if (families == 0) return alias(kAny);
      if (families & kTInteger) err(ptr, "minimum / maximum need \"type\": \"integer\" (bounds on other numbers are not supported)");
      types = families;
    }
    if ((types & kTNumber) && (types & kTInteger)) types &= ~uint32_t(kTInteger);  // number covers it
    for (const auto& [k, v] : s.items()) {
      const Keyword* kw = keyword(k);
      if (!kw || kw->type == 0 || (types & kw->type)) continue;
      if (kw->type == kTInteger && (types & kTNumber))
        err(ptr, "\"%s\" is supported for type integer only (bounds on other numbers are not enforced)", k.c_str());
      err(ptr, "keyword \"%s\" does not apply to the schema's type", k.c_str());
    }

    std::vector<Node> parts;
    if (types & kTObject) parts.push_back(object(s, ptr, depth));
    if (types & kTArray) parts.push_back(array(s, ptr, depth));
    if (types & kTString) parts.push_back(string(s, ptr));
    if (types & kTNumber) parts.push_back(number(s, ptr, false));
    if (types & kTInteger) parts.push_back(number(s, ptr, true));
    if (types & kTBoolean) parts.push_back(literals({"false", "true"}));
    if (types & kTNull) parts.push_back(literals({"null"}));
    if (parts.size() == 1) return std::move(parts[0]);
    Node u;
    for (Node& p : parts) u.alts.push_back(add(std::move(p), ptr));
    return u;
  }

  static Node alias(uint32_t target) {
    Node u;
    u.alts = {target};
    return u;
  }

  static Node literals(std::vector<std::string> texts) {
    Node n;
    n.kind = Node::kLiteral;
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    n.literals = std::move(texts);
    return n;
  }

  // Keywords other than annotations, containers and those allowed may not sit beside kw: their
  // meaning (an intersection) is not supported.
  void only(const json& s, const std::string& ptr, const char* kw, const char* also = nullptr) {
    for (const auto& [k, v] : s.items())
      if (!is_annotation(k) && !is_container(k) && k != kw && !(also && k == also))
        err(ptr, "\"%s\" alongside \"%s\" is not supported", k.c_str(), kw);
  }

  Node combinator(const json& s, const std::string& ptr, const std::string& kw, int depth) {
    only(s, ptr, kw.c_str());
    const json& v = s[kw];
    if (kw == "$ref") {
      if (!v.is_string()) err(ptr + "/$ref", "must be a string");
      std::string ref = v.get<std::string>();
      if (ref != "#" && ref.rfind("#/$defs/", 0) != 0 && ref.rfind("#/definitions/", 0) != 0)
        err(ptr + "/$ref", "unsupported reference \"%s\" (only \"#\", \"#/$defs/...\" and \"#/definitions/...\")",
            ref.c_str());
      std::string target = ref.substr(1);
      const json* t = nullptr;
      try {
        json::json_pointer jp(target);
        if (root_.contains(jp)) t = &root_.at(jp);
      } catch (const json::exception&) {
      }
      if (!t) err(ptr + "/$ref", "\"%s\" does not resolve", ref.c_str());
      return alias(compile(*t, target, depth + 1));
    }
    if (!v.is_array() || v.empty()) err(ptr + "/" + kw, "must be a non-empty array of schemas");
    if (kw == "allOf" && v.size() != 1) err(ptr + "/allOf", "allOf with more than one schema is not supported");
    Node u;
    for (size_t i = 0; i < v.size(); ++i) u.alts.push_back(compile(v[i], ptr + "/" + kw + "/" + std::to_string(i), depth + 1));
    return u;
  }

  uint32_t parse_types(const json& t, const std::string& ptr) {
    auto one = [&](const json& name) -> uint32_t {
      if (name.is_string())
        for (size_t i = 0; i < std::size(kTypeNames); ++i)
          if (name.get<std::string>() == kTypeNames[i]) return 1u << i;
      err(ptr, "unknown type %s", name.dump().c_str());
    };
    if (!t.is_array()) return one(t);
    if (t.empty()) err(ptr, "an empty list of types");
    uint32_t types = 0;
    for (const json& name : t) types |= one(name);
    return types;
  }

  static bool has_type(const json& v, uint32_t types) {
    return ((types & kTObject) && v.is_object()) || ((types & kTArray) && v.is_array()) ||
           ((types & kTString) && v.is_string()) || ((types & kTNumber) && v.is_number()) ||
           ((types & kTInteger) && (v.is_number_integer() ||
                                    (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))) ||
           ((types & kTBoolean) && v.is_boolean()) || ((types & kTNull) && v.is_null());
  }

  // enum / const: the values' compact dumps, optionally filtered by "type".
  Node literal(const json& s, const std::string& ptr) {
    if (s.contains("enum") && s.contains("const")) err(ptr, "both \"enum\" and \"const\" are not supported");
    const char* kw = s.contains("enum") ? "enum" : "const";
    only(s, ptr, kw, "type");
    json values = s[kw];
    if (s.contains("const")) values = json::array({values});
    if (!values.is_array() || values.empty()) err(ptr + "/enum", "must be a non-empty array");
    uint32_t types = s.contains("type") ? parse_types(s["type"], ptr + "/type") : ~0u;
    std::vector<std::string> texts;
    for (const json& v : values) {
      if (!has_type(v, types)) continue;
      try {
        texts.push_back(v.dump());
      } catch (const json::exception&) {
        err(ptr + "/" + kw, "a value is not valid UTF-8");
      }
    }
    if (texts.empty()) err(ptr, "no \"%s\" value has the schema's type", kw);
    return literals(std::move(texts));
  }

  uint32_t count(const json& s, const char* kw, const std::string& ptr, uint32_t dflt) {
    if (!s.contains(kw)) return dflt;
    const json& v = s[kw];
    double d = v.is_number() ? v.get<double>() : -1;
    if (!v.is_number() || d < 0 || std::floor(d) != d) err(ptr + "/" + kw, "must be a non-negative integer");
    return d >= double(UINT32_MAX) ? UINT32_MAX : uint32_t(d);
  }

  Node object(const json& s, const std::string& ptr, int depth) {
    std::vector<std::pair<std::string, uint32_t>> props;  // (name as JSON string bytes, node)
    auto name_bytes = [&](const std::string& name, const std::string& at) {
      for (unsigned char ch : name)
        if (ch < 0x20 && ch != '\b' && ch != '\f' && ch != '\n' && ch != '\r' && ch != '\t')
          err(at, "property names with control characters are not supported");
      try {
        std::string d = json(name).dump();
        return d.substr(1, d.size() - 2);
      } catch (const json::exception&) {
        err(at, "property name is not valid UTF-8");
      }
    };
    uint32_t additional = kAny;
    if (s.contains("additionalProperties")) {
      const json& a = s["additionalProperties"];
      if (a.is_boolean()) additional = a.get<bool>() ? kAny : kNone;
      else if (a.is_object()) additional = compile(a, ptr + "/additionalProperties", depth + 1);
      else err(ptr + "/additionalProperties", "must be a boolean or a schema");
    }
    if (s.contains("properties")) {
      const json& p = s["properties"];
      if (!p.is_object()) err(ptr + "/properties", "must be an object of schemas");
      for (const auto& [k, v] : p.items()) {
        std::string at = ptr + "/properties/" + pointer_token(k);
        std::string nb = name_bytes(k, at);
        props.emplace_back(nb, compile(v, at, depth + 1));
      }
    }
    std::vector<std::string> required;
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array()) err(ptr + "/required", "must be an array of strings");
      for (const json& k : r) {
        if (!k.is_string()) err(ptr + "/required", "must be an array of strings");
        std::string nb = name_bytes(k.get<std::string>(), ptr + "/required");
        required.push_back(nb);
        bool known = std::any_of(props.begin(), props.end(), [&](const auto& p) { return p.first == nb; });
        if (known) continue;
        // A required key the properties do not describe takes additionalProperties' schema.
        if (additional == kNone)
          err(ptr + "/required", "required property \"%s\" is not in properties (and additionalProperties is false)",
              k.get<std::string>().c_str());
        props.emplace_back(nb, additional);
      }
    }
    if (props.size() > kMaxProperties) err(ptr + "/properties", "more than %zu properties are not supported", kMaxProperties);
    std::sort(props.begin(), props.end());
    Node n;
    n.kind = Node::kObject;
    n.additional = additional;
    for (size_t i = 0; i < props.size(); ++i) {
      n.names.push_back(props[i].first);
      n.props.push_back(props[i].second);
      if (std::find(required.begin(), required.end(), props[i].first) != required.end()) n.required |= uint64_t(1) << i;
    }
    return n;
  }

  Node array(const json& s, const std::string& ptr, int depth) {
    Node n;
    n.kind = Node::kArray;
    n.items = kAny;
    if (s.contains("items")) {
      const json& it = s["items"];
      if (it.is_array()) err(ptr + "/items", "tuple form (an array of schemas) is not supported");
      n.items = compile(it, ptr + "/items", depth + 1);
    }
    n.min_count = count(s, "minItems", ptr, 0);
    n.max_count = count(s, "maxItems", ptr, UINT32_MAX);
    if (n.min_count > n.max_count) err(ptr, "minItems > maxItems");
    return n;
  }

  Node string(const json& s, const std::string& ptr) {
    Node n;
    n.kind = Node::kString;
    n.min_count = count(s, "minLength", ptr, 0);
    n.max_count = count(s, "maxLength", ptr, UINT32_MAX);
    if (n.min_count > n.max_count) err(ptr, "minLength > maxLength");
    return n;
  }

  // The least (lower) or greatest integer a bound allows; an exclusive bound excludes itself.
  int64_t int_bound(const json& s, const char* kw, const std::string& ptr, bool lower, bool exclusive, int64_t dflt) {
    if (!s.contains(kw)) return dflt;
    const json& v = s[kw];
    if (!v.is_number()) err(ptr + "/" + kw, "must be a number");
    __int128 r;
    if (v.is_number_unsigned()) {
      r = v.get<uint64_t>();
    } else if (v.is_number_integer()) {
      r = v.get<int64_t>();
    } else {
      double d = v.get<double>();
      if (!std::isfinite(d)) err(ptr + "/" + kw, "must be finite");
      double e = lower ? std::ceil(d) : std::floor(d);
      if (e != d) exclusive = false;  // rounding already excluded the bound itself
      r = e > 1e19 ? __int128(1e19) : e < -1e19 ? -__int128(1e19) : __int128(e);
    }
    if (exclusive) r += lower ? 1 : -1;
    return int64_t(std::clamp<__int128>(r, INT64_MIN, INT64_MAX));
  }

  Node number(const json& s, const std::string& ptr, bool integer) {
    Node n;
    n.kind = Node::kNumber;
    n.integer = integer;
    if (!integer) return n;
    n.min = std::max(int_bound(s, "minimum", ptr, true, false, INT64_MIN),
                     int_bound(s, "exclusiveMinimum", ptr, true, true, INT64_MIN));
    n.max = std::min(int_bound(s, "maximum", ptr, false, false, INT64_MAX),
                     int_bound(s, "exclusiveMaximum", ptr, false, true, INT64_MAX));
    if (n.min > n.max) err(ptr, "no integer lies within the bounds");
    return n;
  }

  Grammar& g_;
  const json& root_;
  std::string where_;
  std::map<std::string, uint32_t> memo_;  // JSON pointer -> node
  std::vector<std::string> ptrs_;         // node -> JSON pointer, for errors
};

void add_builtins(Grammar& g) {
  g.nodes.resize(kNever + 1);
  g.nodes[kAny].alts = {kAnyObject, kAnyArray, kAnyString, kAnyNumber, kAnyScalar};
  g.nodes[kAnyObject].kind = Node::kObject;
  g.nodes[kAnyObject].additional = kAny;
  g.nodes[kAnyArray].kind = Node::kArray;
  g.nodes[kAnyArray].items = kAny;
  g.nodes[kAnyString].kind = Node::kString;
  g.nodes[kAnyNumber].kind = Node::kNumber;
  g.nodes[kAnyScalar].kind = Node::kLiteral;
  g.nodes[kAnyScalar].literals = {"false", "null", "true"};
  // kNever: a union of nothing.
}

// Flattens unions to their non-union leaves (acyclic by check_union_cycles) and computes each
// node's min_depth by relaxation from "unsatisfiable".
void prepare(Grammar& g) {
  std::vector<uint8_t> done(g.nodes.size(), 0);
  auto flatten = [&](auto& self, uint32_t id) -> void {
    if (done[id]) return;
    done[id] = 1;
    std::vector<uint32_t> leaves;
    for (uint32_t a : g.nodes[id].alts) {
      if (g.nodes[a].kind != Node::kUnion) {
        leaves.push_back(a);
        continue;
      }
      self(self, a);
      leaves.insert(leaves.end(), g.nodes[a].leaves.begin(), g.nodes[a].leaves.end());
    }
    for (uint32_t l : leaves)
      if (std::find(g.nodes[id].leaves.begin(), g.nodes[id].leaves.end(), l) == g.nodes[id].leaves.end())
        g.nodes[id].leaves.push_back(l);
  };
  for (uint32_t id = 0; id < g.nodes.size(); ++id)
    if (g.nodes[id].kind == Node::kUnion) flatten(flatten, id);

  for (bool changed = true; changed;) {
    changed = false;
    for (Node& n : g.nodes) {
      uint32_t d = kInf;
      switch (n.kind) {
        case Node::kUnion:
          for (uint32_t l : n.leaves) d = std::min(d, g.nodes[l].min_depth);
          break;
        case Node::kObject: {
          uint32_t need = 0;  // a required key's value sits one frame above the object
          for (size_t i = 0; i < n.props.size(); ++i)
            if ((n.required >> i) & 1) need = std::max(need, g.nodes[n.props[i]].min_depth);
          d = need >= kInf ? kInf : 1 + need;
          break;
        }
        case Node::kArray:
          d = n.min_count == 0 ? 1 : std::min(kInf, 1 + g.nodes[n.items].min_depth);
          break;
        default:
          d = 1;
      }
      if (d < n.min_depth) {
        n.min_depth = d;
        changed = true;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Recognizer

// Frame fields by kind:
//   root:    node = the schema's root
//   object:  a = the property whose value comes next (kNone: an additional key), u = used
//            properties (and those too deep to enter), flags & kFreeKeys: additional keys fit
//   key:     node = the object's node; [a, b) = property names the key so far begins, c = its
//            length in bytes, u and flags copied from the object
//   array:   a = items opened
//   string:  a = code points so far, b = the \u escape's value so far
//   number:  u = the integer's magnitude, a = integer digits, b = fraction / exponent digits,
//            flags & kNegative
//   literal: [a, b) = literals the text so far begins, c = its length
enum FrameKind : uint8_t { kRootFrame, kObjectFrame, kKeyFrame, kArrayFrame, kStringFrame, kNumberFrame, kLiteralFrame };
enum : uint8_t { kFreeKeys = 1, kNegative = 2 };
enum : uint8_t { kRootBefore, kRootIn, kRootAfter };
enum : uint8_t { kObjExpect, kObjStart, kObjInKey, kObjKeyDone, kObjColon, kObjInValue, kObjValueDone, kObjComma };
enum : uint8_t { kArrExpect, kArrStart, kArrInValue, kArrValueDone, kArrComma };
enum : uint8_t { kStrExpect, kStrChars, kStrEsc, kStrUtf8, kStrHex, kStrLowBackslash, kStrLowU, kStrLowHex };
enum : uint8_t { kNumStart, kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp };
constexpr uint8_t kWsClosed = 0xFF;

enum Action : uint8_t {
  kConsumed,
  kConsumedPop,  // the frame's value ends with this byte
  kPopRetry,     // the frame's value ended before this byte: the parent reads it
  kOpen,         // a value of node `value` starts with this byte
  kPushKey,      // an object key starts (this byte is its quote)
  kReject,
};
struct Step {
  Action action;
  uint32_t value = 0;  // kOpen: the node; pops: the key's property for the object
};

// A view of a committed stack plus the frames this simulation changed or pushed.
struct Cursor {
  const Frame* base;
  uint32_t base_n;
  uint32_t n = 0;
  Frame local[kMaxDepth];

  Cursor(const Frame* b, uint32_t bn) : base(b), base_n(bn) {}
  Cursor(const Cursor& o) : base(o.base), base_n(o.base_n), n(o.n) { std::copy_n(o.local, n, local); }
  Cursor& operator=(const Cursor&) = delete;
  uint32_t size() const { return base_n + n; }
  Frame& top() {
    if (n == 0) local[n++] = base[--base_n];
    return local[n - 1];
  }
  void pop() { n ? --n : --base_n; }
};

uint64_t bit(uint32_t i) { return uint64_t(1) << i; }
uint64_t range_bits(uint32_t lo, uint32_t hi) {  // bits lo .. hi-1
  if (lo >= hi) return 0;
  uint64_t below_hi = hi >= 64 ? ~uint64_t(0) : bit(hi) - 1;
  return below_hi & ~(bit(lo) - 1);
}

enum Ws { kNotWs, kWsOk, kWsBad };
// Whitespace between tokens: "" | " " | "\n" [ \t]{0,20}.
Ws take_ws(Frame& f, uint8_t c) {
  if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
    f.ws = 0;
    return kNotWs;
  }
  if (f.ws == 0) {
    if (c == ' ') f.ws = kWsClosed;
    else if (c == '\n') f.ws = 1;  // 1 + indentation so far
    else return kWsBad;
    return kWsOk;
  }
  if (f.ws == kWsClosed || (c != ' ' && c != '\t') || f.ws > kMaxIndent) return kWsBad;
  ++f.ws;
  return kWsOk;
}

// Narrows the sorted candidates [lo, hi), which share their first pos bytes, to those whose
// next byte is c (empty range: lo == hi).
void narrow(const std::vector<std::string>& v, uint32_t& lo, uint32_t& hi, uint32_t& pos, uint8_t c) {
  auto at = [&](uint32_t i) { return v[i].size() > pos ? int(uint8_t(v[i][pos])) : -1; };
  auto first = [&](uint32_t l, uint32_t h, auto pred) {  // first i in [l, h) with pred(i), pred monotone
    while (l < h) {
      uint32_t m = l + (h - l) / 2;
      if (pred(m)) h = m;
      else l = m + 1;
    }
    return l;
  };
  uint32_t l = first(lo, hi, [&](uint32_t i) { return at(i) >= c; });
  uint32_t h = first(l, hi, [&](uint32_t i) { return at(i) > c; });
  lo = l;
  hi = h;
  ++pos;
}

enum Lex { kLexBad, kLexClose, kLexChar, kLexMore };
// One byte of a string body (after the opening quote): the closing quote, the first byte of a
// character (for length limits: an escape counts once, a surrogate pair once), or a later one.
Lex lex_string(Frame& f, uint8_t c, bool key) {
  auto hexval = [](uint8_t h) {
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
  };
  auto utf8 = [&](uint8_t left, uint8_t lo, uint8_t hi) {
    f.utf8_left = left;
    f.utf8_lo = lo;
    f.utf8_hi = hi;
    f.phase = kStrUtf8;
    return kLexChar;
  };
  switch (f.phase) {
    case kStrChars:
      if (c == '"') return kLexClose;
      if (c == '\\') {
        f.phase = kStrEsc;
        return kLexChar;
      }
      if (c < 0x20) return kLexBad;
      if (c < 0x80) return kLexChar;
      // UTF-8 lead bytes with the range their second byte must fall in (no overlong forms,
      // no surrogates, nothing above U+10FFFF).
      if (c >= 0xC2 && c <= 0xDF) return utf8(1, 0x80, 0xBF);
      if (c == 0xE0) return utf8(2, 0xA0, 0xBF);
      if (c == 0xED) return utf8(2, 0x80, 0x9F);
      if (c >= 0xE1 && c <= 0xEF) return utf8(2, 0x80, 0xBF);
      if (c == 0xF0) return utf8(3, 0x90, 0xBF);
      if (c >= 0xF1 && c <= 0xF3) return utf8(3, 0x80, 0xBF);
      if (c == 0xF4) return utf8(3, 0x80, 0x8F);
      return kLexBad;
    case kStrUtf8:
      if (c < f.utf8_lo || c > f.utf8_hi) return kLexBad;
      f.utf8_lo = 0x80;
      f.utf8_hi = 0xBF;
      if (--f.utf8_left == 0) f.phase = kStrChars;
      return kLexMore;
    case kStrEsc:
      // Keys take no \u or \/ so that a key's bytes are its only spelling.
      if (c == '"' || c == '\\' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't' || (c == '/' && !key)) {
        f.phase = kStrChars;
        return kLexMore;
      }
      if (c != 'u' || key) return kLexBad;
      f.phase = kStrHex;
      f.hex = 0;
      f.b = 0;
      return kLexMore;
    case kStrHex:
    case kStrLowHex: {
      int v = hexval(c);
      if (v < 0) return kLexBad;
      f.b = f.b * 16 + uint32_t(v);
      ++f.hex;
      if (f.phase == kStrHex) {
        if (f.hex == 2 && f.b >= 0xDC && f.b <= 0xDF) return kLexBad;  // a low surrogate alone
        if (f.hex == 4) f.phase = f.b >= 0xD800 && f.b <= 0xDBFF ? kStrLowBackslash : kStrChars;
      } else {
        if ((f.hex == 1 && f.b != 0xD) || (f.hex == 2 && f.b < 0xDC)) return kLexBad;  // not a low surrogate
        if (f.hex == 4) f.phase = kStrChars;
      }
      return kLexMore;
    }
    case kStrLowBackslash:
      if (c != '\\') return kLexBad;
      f.phase = kStrLowU;
      return kLexMore;
    case kStrLowU:
      if (c != 'u') return kLexBad;
      f.phase = kStrLowHex;
      f.hex = 0;
      f.b = 0;
      return kLexMore;
  }
  return kLexBad;
}

// Integers: the magnitudes [lo, hi] that a value of this sign may have.
struct Magnitudes {
  __int128 lo, hi;
};
Magnitudes magnitudes(const Node& n, bool neg) {
  if (!neg) return {std::max<__int128>(n.min, 1), n.max};
  return {std::max<__int128>(-__int128(n.max), 1), -__int128(n.min)};
}
bool zero_ok(const Node& n) { return n.min <= 0 && n.max >= 0; }
// Can digits appended to m (>= 1) reach a magnitude in range? The values m can lead to are the
// intervals [m * 10^k, m * 10^k + 10^k - 1].
bool int_viable(const Node& n, bool neg, __int128 m) {
  auto [lo, hi] = magnitudes(n, neg);
  for (__int128 base = m, span = 1; base <= hi; base *= 10, span *= 10)
    if (base + span - 1 >= lo) return true;
  return false;
}
bool int_in_range(const Node& n, bool neg, __int128 m) {
  auto [lo, hi] = magnitudes(n, neg);
  return m >= lo && m <= hi;
}
// "-0" is valid JSON but no way to write an integer a model should pick: integers take a minus
// sign only before a nonzero digit.
bool minus_ok(const Node& n) {
  auto [lo, hi] = magnitudes(n, true);
  return lo <= hi;
}

bool number_complete(const Node& n, const Frame& f) {
  switch (f.phase) {
    case kNumZero: return true;  // entered only when 0 is in range
    case kNumInt: return !n.integer || int_in_range(n, f.flags & kNegative, f.u);
    case kNumFrac:
    case kNumExp: return true;
  }
  return false;
}

// Can a value of leaf node n start with byte c?
bool can_start(const Node& n, uint8_t c) {
  switch (n.kind) {
    case Node::kObject: return c == '{';
    case Node::kArray: return c == '[';
    case Node::kString: return c == '"';
    case Node::kNumber:
      if (c == '-') return !n.integer || minus_ok(n);
      if (c < '0' || c > '9') return false;
      if (!n.integer) return true;
      return c == '0' ? zero_ok(n) : int_viable(n, false, c - '0');
    case Node::kLiteral: {
      uint32_t lo = 0, hi = uint32_t(n.literals.size()), pos = 0;
      narrow(n.literals, lo, hi, pos, c);
      return lo < hi;
    }
    case Node::kUnion: break;
  }
  return false;
}

// A frame for a value of leaf node id, pushed onto a stack of `size` frames.
Frame make_frame(const Grammar& g, uint32_t id, uint32_t size) {
  const Node& n = g.nodes[id];
  Frame f{};
  f.node = id;
  switch (n.kind) {
    case Node::kObject: {
      f.kind = kObjectFrame;
      uint32_t s = size + 1;  // with the object
      for (uint32_t i = 0; i < n.props.size(); ++i)
        if (s + g.nodes[n.props[i]].min_depth > kMaxDepth) f.u |= bit(i);
      if (n.additional != kNone && s + g.nodes[n.additional].min_depth <= kMaxDepth) f.flags |= kFreeKeys;
      break;
    }
    case Node::kArray: f.kind = kArrayFrame; break;
    case Node::kString: f.kind = kStringFrame; break;
    case Node::kNumber: f.kind = kNumberFrame; break;
    case Node::kLiteral:
      f.kind = kLiteralFrame;
      f.b = uint32_t(n.literals.size());
      break;
    case Node::kUnion: break;
  }
  return f;
}

bool missing_required(const Node& n, const Frame& f) { return (n.required & ~f.u) != 0; }
bool key_possible(const Node& n, const Frame& f) {
  return (f.flags & kFreeKeys) || (range_bits(0, uint32_t(n.names.size())) & ~f.u) != 0;
}

Step step_object(const Node& n, Frame& f, uint8_t c) {
  if (f.phase == kObjExpect) {
    if (c != '{') return {kReject};
    f.phase = kObjStart;
    return {kConsumed};
  }
  if (Ws w = take_ws(f, c); w != kNotWs) return {w == kWsOk ? kConsumed : kReject};
  switch (f.phase) {
    case kObjStart:
      if (c == '}') return {missing_required(n, f) ? kReject : kConsumedPop};
      [[fallthrough]];
    case kObjComma:
      if (c != '"' || !key_possible(n, f)) return {kReject};
      f.phase = kObjInKey;
      return {kPushKey};
    case kObjKeyDone:
      if (c != ':') return {kReject};
      f.phase = kObjColon;
      return {kConsumed};
    case kObjColon:
      f.phase = kObjInValue;
      return {kOpen, f.a == kNone ? n.additional : n.props[f.a]};
    case kObjValueDone:
      if (c == ',' && key_possible(n, f)) {
        f.phase = kObjComma;
        return {kConsumed};
      }
      if (c == '}' && !missing_required(n, f)) return {kConsumedPop};
      return {kReject};
  }
  return {kReject};
}

Step step_key(const Node& n, Frame& f, uint8_t c) {
  bool free = f.flags & kFreeKeys;
  if (f.phase == kStrChars && c == '"') {
    if (f.a < f.b && n.names[f.a].size() == f.c)  // the key is a property's name
      return {(f.u >> f.a) & 1 ? kReject : kConsumedPop, f.a};
    return {free ? kConsumedPop : kReject, kNone};
  }
  if (lex_string(f, c, true) == kLexBad) return {kReject};
  narrow(n.names, f.a, f.b, f.c, c);
  if (!free && (range_bits(f.a, f.b) & ~f.u) == 0) return {kReject};
  return {kConsumed};
}

Step step_array(const Grammar& g, const Node& n, Frame& f, uint8_t c, uint32_t size) {
  if (f.phase == kArrExpect) {
    if (c != '[') return {kReject};
    f.phase = kArrStart;
    return {kConsumed};
  }
  if (Ws w = take_ws(f, c); w != kNotWs) return {w == kWsOk ? kConsumed : kReject};
  bool more = f.a < n.max_count && size + g.nodes[n.items].min_depth <= kMaxDepth;
  switch (f.phase) {
    case kArrStart:
      if (c == ']') return {n.min_count == 0 ? kConsumedPop : kReject};
      [[fallthrough]];
    case kArrComma:
      if (!more) return {kReject};
      ++f.a;
      f.phase = kArrInValue;
      return {kOpen, n.items};
    case kArrValueDone:
      if (c == ',' && more) {
        f.phase = kArrComma;
        return {kConsumed};
      }
      if (c == ']' && f.a >= n.min_count) return {kConsumedPop};
      return {kReject};
  }
  return {kReject};
}

Step step_string(const Node& n, Frame& f, uint8_t c) {
  if (f.phase == kStrExpect) {
    if (c != '"') return {kReject};
    f.phase = kStrChars;
    return {kConsumed};
  }
  switch (lex_string(f, c, false)) {
    case kLexBad: return {kReject};
    case kLexClose: return {f.a >= n.min_count ? kConsumedPop : kReject};
    case kLexChar:
      if (f.a >= n.max_count) return {kReject};
      ++f.a;
      return {kConsumed};
    case kLexMore: return {kConsumed};
  }
  return {kReject};
}

Step step_number(const Node& n, Frame& f, uint8_t c) {
  bool digit = c >= '0' && c <= '9';
  unsigned d = c - '0';
  bool neg = f.flags & kNegative;
  auto go = [&](uint8_t phase) {
    f.phase = phase;
    return Step{kConsumed};
  };
  switch (f.phase) {
    case kNumStart:
      if (c == '-') {
        if (n.integer && !minus_ok(n)) return {kReject};
        f.flags |= kNegative;
        return go(kNumMinus);
      }
      [[fallthrough]];
    case kNumMinus:
      if (!digit) return {kReject};
      if (d == 0) return n.integer && (neg || !zero_ok(n)) ? Step{kReject} : go(kNumZero);
      if (n.integer && !int_viable(n, neg, d)) return {kReject};
      f.u = d;
      f.a = 1;
      return go(kNumInt);
    case kNumZero:
      if (!n.integer && c == '.') return go(kNumDot);
      if (!n.integer && (c == 'e' || c == 'E')) return go(kNumE);
      return {kPopRetry};
    case kNumInt:
      if (digit && n.integer) {
        __int128 m = __int128(f.u) * 10 + d;
        if (!int_viable(n, neg, m)) return {kReject};
        f.u = uint64_t(m);  // viable: m <= 2^63
        return {kConsumed};
      }
      if (digit) return ++f.a > kMaxNumberDigits ? Step{kReject} : Step{kConsumed};
      if (n.integer) return {int_in_range(n, neg, f.u) ? kPopRetry : kReject};
      if (c == '.') return go(kNumDot);
      if (c == 'e' || c == 'E') return go(kNumE);
      return {kPopRetry};
    case kNumDot:
      if (!digit) return {kReject};
      f.b = 1;
      return go(kNumFrac);
    case kNumFrac:
      if (digit) return ++f.b > kMaxNumberDigits ? Step{kReject} : Step{kConsumed};
      if (c == 'e' || c == 'E') return go(kNumE);
      return {kPopRetry};
    case kNumE:
      if (c == '+' || c == '-') return go(kNumESign);
      [[fallthrough]];
    case kNumESign:
      if (!digit) return {kReject};
      f.b = 1;
      return go(kNumExp);
    case kNumExp:
      if (digit) return ++f.b > kMaxExponentDigits ? Step{kReject} : Step{kConsumed};
      return {kPopRetry};
  }
  return {kReject};
}

Step step_literal(const Node& n, Frame& f, uint8_t c) {
  uint32_t lo = f.a, hi = f.b, pos = f.c;
  narrow(n.literals, lo, hi, pos, c);
  if (lo == hi) return {n.literals[f.a].size() == f.c ? kPopRetry : kReject};
  f.a = lo;
  f.b = hi;
  f.c = pos;
  return {hi - lo == 1 && n.literals[lo].size() == pos ? kConsumedPop : kConsumed};
}

Step step(const Grammar& g, Frame& f, uint8_t c, uint32_t size) {
  const Node& n = g.nodes[f.node];
  switch (f.kind) {
    case kRootFrame:
      if (Ws w = take_ws(f, c); w != kNotWs) return {w == kWsOk ? kConsumed : kReject};
      if (f.phase != kRootBefore) return {kReject};
      f.phase = kRootIn;
      return {kOpen, f.node};
    case kObjectFrame: return step_object(n, f, c);
    case kKeyFrame: return step_key(n, f, c);
    case kArrayFrame: return step_array(g, n, f, c, size);
    case kStringFrame: return step_string(n, f, c);
    case kNumberFrame: return step_number(n, f, c);
    case kLiteralFrame: return step_literal(n, f, c);
  }
  return {kReject};
}

void child_done(Frame& parent, uint32_t result) {
  switch (parent.kind) {
    case kRootFrame: parent.phase = kRootAfter; break;
    case kObjectFrame:
      if (parent.phase == kObjInKey) {
        parent.a = result;
        if (result != kNone) parent.u |= bit(result);
        parent.phase = kObjKeyDone;
      } else {
        parent.phase = kObjValueDone;
      }
      break;
    case kArrayFrame: parent.phase = kArrValueDone; break;
  }
  parent.ws = 0;
}

// Feeds [p, end) to the cursor, forking where a value may start as several anyOf branches;
// calls sink(cursor) for each reading that takes all bytes and stops when it returns true.
// Depth-first, so readings do not merge here: `forks` bounds the work, and ends at -1 when it
// ran out (the answer is then unknown).
template <class Sink>
bool feed(const Grammar& g, Cursor& cur, const uint8_t* p, const uint8_t* end, Sink& sink, int& forks) {
  for (; p < end; ++p) {
    for (;;) {
      Frame& f = cur.top();
      Step s = step(g, f, *p, cur.size());
      if (s.action == kConsumed) break;
      if (s.action == kReject) return false;
      if (s.action == kPushKey) {
        if (cur.size() >= kMaxDepth) return false;
        Frame k{};
        k.kind = kKeyFrame;
        k.node = f.node;
        k.phase = kStrChars;
        k.flags = f.flags & kFreeKeys;
        k.u = f.u;
        k.b = uint32_t(g.nodes[f.node].names.size());
        cur.local[cur.n++] = k;
        break;
      }
      if (s.action == kConsumedPop || s.action == kPopRetry) {
        cur.pop();
        child_done(cur.top(), s.value);  // the root never pops, so a parent exists
        if (s.action == kConsumedPop) break;
        continue;
      }
      // kOpen: the leaves of the node that fit and can start with this byte.
      const Node& on = g.nodes[s.value];
      const uint32_t* leaves = &s.value;
      size_t n_leaves = 1;
      if (on.kind == Node::kUnion) {
        leaves = on.leaves.data();
        n_leaves = on.leaves.size();
      }
      uint32_t first = kNone;
      for (size_t i = 0; i < n_leaves; ++i) {
        const Node& l = g.nodes[leaves[i]];
        if (cur.size() + l.min_depth > kMaxDepth || !can_start(l, *p)) continue;
        if (first == kNone) {
          first = leaves[i];
          continue;
        }
        if (--forks < 0) return false;
        Cursor fork(cur);
        fork.local[fork.n++] = make_frame(g, leaves[i], fork.size());
        if (feed(g, fork, p, end, sink, forks)) return true;
        if (forks < 0) return false;
      }
      if (first == kNone) return false;
      Frame nf = make_frame(g, first, cur.size());
      cur.local[cur.n++] = nf;
    }
  }
  return sink(cur);
}

using Threads = std::vector<std::vector<Frame>>;

// Advances every reading by the bytes one at a time, merging identical readings after each
// byte so that ambiguity never multiplies. False when no reading takes all bytes.
bool advance(const Grammar& g, Threads& threads, std::string_view bytes) {
  auto p = reinterpret_cast<const uint8_t*>(bytes.data());
  Threads next;
  auto sink = [&](Cursor& cur) {
    std::vector<Frame> t(cur.base, cur.base + cur.base_n);
    t.insert(t.end(), cur.local, cur.local + cur.n);
    if (std::find(next.begin(), next.end(), t) == next.end()) next.push_back(std::move(t));
    return next.size() >= kMaxThreads;  // dropping readings loses no completion: each has some
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    next.clear();
    for (const auto& t : threads) {
      Cursor cur(t.data(), uint32_t(t.size()));
      int forks = INT32_MAX;  // one byte forks at most once per reading
      if (feed(g, cur, p + i, p + i + 1, sink, forks)) break;
    }
    if (next.empty()) return false;
    threads.swap(next);
  }
  return true;
}

std::string printable(std::string_view bytes) {
  std::string s = "\"";
  for (unsigned char ch : bytes.substr(0, 40)) {
    if (ch == '"' || ch == '\\') s += '\\';
    if (ch >= 0x20 && ch < 0x7F) s += char(ch);
    else s += strfmt("\\x%02x", ch);
  }
  return s + (bytes.size() > 40 ? "\"..." : "\"");
}

}  // namespace

JsonConstraint::JsonConstraint(const nlohmann::ordered_json* schema, std::string_view where) {
  auto g = std::make_shared<Grammar>();
  add_builtins(*g);
  if (schema) {
    Compiler c(*g, *schema, where);
    g->root = c.compile(*schema, "", 0);
    c.check_union_cycles();
    prepare(*g);
    if (1 + g->nodes[g->root].min_depth > kMaxDepth)
      c.err("", "no JSON document satisfies the schema within %u levels of nesting", kMaxDepth - 2);
  } else {
    prepare(*g);
  }
  Frame root{};
  root.kind = kRootFrame;
  root.node = g->root;
  threads_.push_back({root});
  g_ = std::move(g);
}

JsonConstraint::JsonConstraint(const JsonConstraint&) = default;
JsonConstraint::JsonConstraint(JsonConstraint&&) noexcept = default;
JsonConstraint& JsonConstraint::operator=(const JsonConstraint&) = default;
JsonConstraint& JsonConstraint::operator=(JsonConstraint&&) noexcept = default;
JsonConstraint::~JsonConstraint() = default;

bool JsonConstraint::allows(std::string_view bytes) const {
  auto p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto sink = [](Cursor&) { return true; };
  int forks = kMaxForks;
  for (const auto& t : threads_) {
    Cursor cur(t.data(), uint32_t(t.size()));
    if (feed(*g_, cur, p, p + bytes.size(), sink, forks)) return true;
    if (forks < 0) break;
  }
  if (forks >= 0) return false;
  Threads copy = threads_;  // rare: an ambiguous schema forked too often for depth-first search
  return advance(*g_, copy, bytes);
}

void JsonConstraint::accept(std::string_view bytes) {
  Threads next = threads_;
  if (!advance(*g_, next, bytes))
    fail("JSON constraint: %s does not continue a valid document after %zu bytes", printable(bytes).c_str(), n_bytes_);
  threads_ = std::move(next);
  n_bytes_ += bytes.size();
}

bool JsonConstraint::complete() const {
  for (const auto& t : threads_) {
    if (t.size() == 1 && t[0].phase == kRootAfter) return true;
    if (t.size() != 2) continue;
    const Frame& f = t[1];
    const Node& n = g_->nodes[f.node];
    if (f.kind == kNumberFrame && number_complete(n, f)) return true;
    if (f.kind == kLiteralFrame && n.literals[f.a].size() == f.c) return true;
  }
  return false;
}

bool JsonConstraint::can_continue() const {
  for (const auto& t : threads_)
    if (!(t.size() == 1 && t[0].phase == kRootAfter)) return true;
  return false;
}

}  // namespace frugal
