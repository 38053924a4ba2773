// Grammar-constrained sampling for `response_format` (OpenAI API: json_object, json_schema): a
// byte-level pushdown recognizer that accepts exactly the prefixes of JSON documents valid for a
// schema, so the sampler can drop every token whose bytes would leave that set.
//
// Supported schema subset (anything else is an Error naming the keyword and its JSON pointer,
// never silently ignored; title, description, $schema, default, examples, $comment are ignored):
// type (one or a list), properties, required, additionalProperties (bool or schema; default
// true), items (one schema), minItems, maxItems, enum, const, anyOf, oneOf (read as anyOf),
// allOf with one schema, minLength, maxLength (code points), minimum / maximum /
// exclusiveMinimum / exclusiveMaximum for integers, $ref to "#", "#/$defs/..." or
// "#/definitions/..." (recursion allowed).
//
// Where JSON allows several spellings the recognizer allows a subset that still covers every
// value, so that a model cannot stall or loop:
// - whitespace between tokens is "", " " or "\n" followed by up to 20 spaces / tabs (llama.cpp's
//   json.gbnf rule: compact or pretty-printed output, never an endless run);
// - enum / const values are written as nlohmann's compact dump (`"é"`, not `"\u00e9"`);
// - object keys use no \u or \/ escapes, so a key's bytes decide which property it names;
// - non-integer numbers have at most 20 integer and 20 fraction digits and a 2-digit exponent;
//   integers stay within int64 (or the schema's bounds);
// - containers nest at most 30 deep around a value (a 31st can only be empty); a schema that
//   needs more is an Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal {

namespace json_constraint_detail {
struct Grammar;
struct Frame;
}  // namespace json_constraint_detail

class JsonConstraint {
 public:
  // schema == nullptr: any JSON object at the top level (OpenAI's json_object mode). Otherwise a
  // JSON Schema; errors read "<where><pointer>: ...", e.g. with where =
  // "response_format.json_schema.schema": "response_format.json_schema.schema/properties/age:
  // unsupported keyword \"patternProperties\"".
  explicit JsonConstraint(const nlohmann::ordered_json* schema, std::string_view where = "schema");
  JsonConstraint(const JsonConstraint&);  // shares the compiled schema; copies the parse state
  JsonConstraint(JsonConstraint&&) noexcept;
  JsonConstraint& operator=(const JsonConstraint&);
  JsonConstraint& operator=(JsonConstraint&&) noexcept;
  ~JsonConstraint();

  // Would appending these bytes keep the text a prefix of some valid document? Does not change
  // state and is safe to call from several threads at once; allocates nothing unless anyOf
  // branches fork more than 32 times within the bytes.
  bool allows(std::string_view bytes) const;
  // Appends bytes; throws Error when !allows(bytes).
  void accept(std::string_view bytes);
  // The text so far is a complete valid document (only whitespace may follow; the caller then
  // ends generation). A top-level number is complete while more digits could still follow.
  bool complete() const;
  // Whether more non-whitespace text may still follow (false once the top-level value is closed).
  bool can_continue() const;
  // Bytes accepted so far.
  size_t size() const { return n_bytes_; }

 private:
  std::shared_ptr<const json_constraint_detail::Grammar> g_;
  // One frame stack per reading of the text so far: anyOf branches that share a prefix each
  // keep one until the text tells them apart.
  std::vector<std::vector<json_constraint_detail::Frame>> threads_;
  size_t n_bytes_ = 0;
};

}  // namespace frugal
