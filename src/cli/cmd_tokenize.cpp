// frugal tokenize -m FILE_OR_DIR (--text STR | --file F.jsonl) [--add-special] [--split-special]
// Prints token ids as a JSON array; with --file, one array per input line (each line a JSON
// string or an object with a "text" field). The oracle test compares this output with the
// Hugging Face reference.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/json_file.h"
#include "model/vocab_gguf.h"
#include "tokenizer/tokenizer.h"

namespace frugal::cli {
namespace {

Tokenizer load_tokenizer(const std::string& path) {
  if (std::filesystem::is_directory(path)) return Tokenizer::from_hf_dir(path);
  return Tokenizer::from_vocab(vocab_from_gguf(*GgufFile::open(path)));
}

void print_ids(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += "]\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
}

std::string text_of_line(const std::string& line, const std::string& file, size_t lineno) {
  const nlohmann::json j = parse_untrusted_json(line);
  if (j.is_discarded())
    fail("%s:%zu: not JSON (or nested deeper than %d levels)", file.c_str(), lineno, kMaxJsonDepth);
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("text") && j["text"].is_string()) return j["text"].get<std::string>();
  fail("%s:%zu: expected a JSON string or an object with a \"text\" string", file.c_str(), lineno);
}

const CommandHelp kHelp{
    "frugal tokenize -m MODEL (--text TEXT | --file F.jsonl) [options]",
    "Print the token ids of a text as a JSON list (or one list per line of a JSONL file of\n"
    "strings or {\"text\": ...} objects).",
    {{"options",
      {{"-m, --model", "FILE|DIR", "a GGUF file or a folder with tokenizer.json"},
       {"--text, -p, --prompt", "TEXT", "the text"},
       {"--file, -f", "FILE", "a JSONL file"},
       {"--add-special", "", "add the model's BOS/EOS as it is configured to"},
       {"--split-special", "", "tokenize special-token text as plain text"}}}},
    "frugal tokenize -m models/frugal-r1-tiny.gguf --text 'What is 2+2?'"};

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  try {
    Args a(argc, argv, kHelp);
    std::string model = a.get({"-m", "--model"});
    std::string text = a.get({"--text", "-p", "--prompt"});
    std::string file = a.get({"--file", "-f"});
    EncodeOptions o;
    o.add_special = a.flag({"--add-special"});
    o.parse_special = !a.flag({"--split-special"});
    a.check_unused();
    if (model.empty()) fail("-m FILE_OR_DIR is required (a GGUF file or a folder with tokenizer.json)");
    if (a.has("--text") + a.has("-p") + a.has("--prompt") + !file.empty() != 1)
      fail("give exactly one of --text STR or --file F.jsonl");

    Tokenizer tok = load_tokenizer(model);
    if (file.empty()) {
      print_ids(tok.encode(text, o));
      return 0;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) fail("cannot read %s", file.c_str());
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      print_ids(tok.encode(text_of_line(line, file, lineno), o));
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "frugal tokenize: %s\n", e.what());
    return 1;
  }
}

}  // namespace frugal::cli
