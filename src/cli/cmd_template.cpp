// frugal template (-m MODEL | --template FILE) --messages M.json [--tools T.json]
//                 [--add-generation-prompt] [--var NAME=JSON ...]
// Renders a chat template as Hugging Face's apply_chat_template(tokenize=False) does and prints
// the prompt exactly (no newline added). With -m the model's own template and special tokens
// (bos_token, eos_token, ...) are used; `tools` and `documents` are always defined (none when
// not given), add_generation_prompt is false unless asked for; --var sets or overrides any
// variable with a JSON value (a bare word that is not JSON is taken as a string).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "chat/model_template.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "formats/json_file.h"
#include "template/template.h"

namespace frugal::cli {
namespace {

using ojson = nlohmann::ordered_json;

const CommandHelp kHelp{
    "frugal template (-m MODEL | --template FILE) --messages M.json [options]",
    "Render a chat template as Hugging Face's apply_chat_template(tokenize=False) does and print\n"
    "the prompt exactly. With -m the model's own template and special tokens are used.",
    {{"options",
      {{"-m, --model", "FILE|DIR", "take the template and special tokens from this model"},
       {"--template", "FILE", "a Jinja template file instead"},
       {"--messages", "FILE", "a JSON list of messages"},
       {"--tools", "FILE", "a JSON list of tools [none]"},
       {"--add-generation-prompt", "", "end with the assistant turn's opening"},
       {"--var", "NAME=JSON", "set any template variable (a bare word is a string); repeatable"}}}},
    "frugal template -m models/frugal-r1-tiny.gguf --messages chat.json --add-generation-prompt"};

}  // namespace

int cmd_template(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  const std::string model = a.get({"-m", "--model"}), tmpl_file = a.get({"--template"});
  const std::string messages_file = a.get({"--messages"}), tools_file = a.get({"--tools"});
  const bool add_gen = a.flag({"--add-generation-prompt"});
  const std::vector<std::string> vars = a.get_all({"--var"});
  a.check_unused();
  if (model.empty() == tmpl_file.empty()) fail("give exactly one of -m MODEL or --template FILE");
  if (messages_file.empty()) fail("--messages F.json is required (a JSON list of messages)");

  ojson ctx = ojson::object();
  ojson messages = read_ordered_json_file(messages_file);
  if (!messages.is_array()) fail("%s: expected a JSON list of messages", messages_file.c_str());
  ojson tools = tools_file.empty() ? ojson(nullptr) : read_ordered_json_file(tools_file);

  tmpl::Template t;
  if (!tmpl_file.empty()) {
    t = tmpl::Template::parse(read_text_file(tmpl_file), tmpl_file);
  } else {
    const chat::ModelTemplate m = chat::load_model_template(model, !tools.is_null());
    t = tmpl::Template::parse(m.source, m.name);
    for (auto it = m.special.begin(); it != m.special.end(); ++it) ctx[it.key()] = it.value();
  }
  ctx["messages"] = messages;
  ctx["tools"] = tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = add_gen;
  for (const auto& v : vars) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) fail("--var expects NAME=JSON, got '%s'", v.c_str());
    std::string text = v.substr(eq + 1);
    ojson val = parse_untrusted_json<ojson>(text);
    if (val.is_discarded()) val = text;
    ctx[v.substr(0, eq)] = val;
  }
  std::string out = t.render(ctx);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace frugal::cli
