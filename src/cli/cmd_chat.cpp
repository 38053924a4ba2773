// frugal chat -m MODEL: an interactive chat in the terminal. Each turn renders the whole
// conversation with the model's own chat template, runs only what the cache does not already
// hold (Generator's prefix reuse), and streams the answer through the output parser, so the
// reasoning is shown apart from the answer (dimmed, or collapsed with /think off) and tool calls
// are recognised. Ctrl-C stops the current answer and keeps the session. Works from a pipe too.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>

#include "chat/messages.h"
#include "chat/model_template.h"
#include "chat/output_parser.h"
#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/common.h"
#include "cli/line_input.h"
#include "core/tmp_file.h"
#include "formats/gguf.h"
#include "formats/json_file.h"
#include "runtime/generator.h"
#include "template/template.h"

namespace frugal::cli {

namespace {

using ojson = nlohmann::ordered_json;

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

// SIGINT sets a flag while an answer is generated; outside, Ctrl-C behaves as usual.
class InterruptScope {
 public:
  InterruptScope() {
    g_interrupted = false;
    struct sigaction sa = {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~InterruptScope() { sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ = {};
};

const char* kHelp =
    "commands: /think on|off (show or collapse the reasoning), /thinking on|off|default (ask the\n"
    "template to enable or disable thinking), /max N (tokens per answer), /system TEXT, /reset,\n"
    "/save FILE, /quit\n";

struct ChatOptions {
  int64_t n_predict = 2048;         // per answer
  int64_t reasoning_budget = -1;    // tokens of reasoning before "</think>" is forced; -1: none
  bool show_reasoning = true;
  std::optional<bool> thinking;     // template variable enable_thinking / thinking
  bool color = false;
  bool terminal = false;  // stdout is a terminal (print_model_text)
};

// Prints deltas as they come: reasoning dimmed (or counted when collapsed), then the answer.
class Printer {
 public:
  explicit Printer(const ChatOptions& o) : o_(o) {}
  void delta(const chat::Delta& d) {
    switch (d.kind) {
      case chat::DeltaKind::reasoning:
        ++reasoning_pieces_;
        if (!o_.show_reasoning) return;
        if (!in_reasoning_) {
          in_reasoning_ = true;
          out(o_.color ? "\x1b[2m" : "[reasoning]\n");
        }
        model_text(d.text);
        break;
      case chat::DeltaKind::content:
        end_reasoning();
        model_text(d.text);
        break;
      case chat::DeltaKind::tool_call:
        end_reasoning();
        out("\n[tool call ");
        model_text(d.call.name + "(" + d.call.arguments + ")");
        out("]\n");
        break;
      case chat::DeltaKind::reasoning_to_content:
        end_reasoning();
        out(o_.color ? "\x1b[2m(that was the answer: the model did not think)\x1b[0m\n"
                     : "(that was the answer: the model did not think)\n");
        break;
    }
  }
  void end_reasoning() {
    if (in_reasoning_) {
      out(o_.color ? "\x1b[0m\n\n" : "\n[/reasoning]\n");
      in_reasoning_ = false;
    } else if (!o_.show_reasoning && reasoning_pieces_ && !said_collapsed_) {
      said_collapsed_ = true;
      out(o_.color ? "\x1b[2m[reasoning hidden: /think on shows it]\x1b[0m\n" : "[reasoning hidden]\n");
    }
  }
  void out(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }
  void model_text(const std::string& s) { print_model_text(s, o_.terminal); }

 private:
  const ChatOptions& o_;
  bool in_reasoning_ = false, said_collapsed_ = false;
  int64_t reasoning_pieces_ = 0;
};

const CommandHelp kCommandHelp{
    "frugal chat [-m MODEL] [options]",
    "Talk with a model in the terminal, through its chat template; a reasoning model's thinking\n"
    "is shown dimmed (or collapsed: /think on|off). /help lists the in-chat commands.",
    {{"options",
      {{"-m, --model", "FILE|DIR", "GGUF file or Hugging Face folder [the shipped default model]"},
       {"--system", "TEXT", "system message"},
       {"--template", "FILE", "a Jinja chat template to use instead of the model's"},
       {"--thinking", "on|off|default", "ask the template for thinking (templates that support it) [default]"},
       {"--reasoning-budget", "N", "at most N tokens of thinking, then </think> is forced; -1 = no limit [-1]"},
       {"-n, --n-predict", "N", "tokens per answer, thinking included [2048]"},
       {"-c, --ctx-size", "N", "context length; 0 = the model's [0]"},
       {"--mtp", "", "speculative decoding with the model's multi-token-prediction head"},
       {"--no-color", "", "plain text (also when stdout is not a terminal)"},
       {"--ignore-eos", "", "keep generating past the end-of-turn token"},
       {"--verbose-prompt", "", "print each rendered prompt"},
       threads_option()}},
     sampling_options(),
     model_load_options()},
    "frugal chat\n"
    "frugal chat -m DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf --thinking on --temp 0.6"};

}  // namespace

int cmd_chat(int argc, char** argv) {
  Args a(argc, argv, kCommandHelp);
  const std::string model_path = model_or_default(a.get({"-m", "--model"}));
  const std::string template_file = a.get({"--template"});
  std::string system = a.get({"--system"});
  ChatOptions o;
  o.n_predict = a.get_int({"-n", "--n-predict"}, o.n_predict);
  o.reasoning_budget = a.get_int({"--reasoning-budget"}, -1);
  const std::string thinking = a.get({"--thinking"}, "default");
  int64_t n_ctx = a.get_int({"-c", "--ctx-size"}, 0);
  const bool use_mtp = a.flag({"--mtp"});
  const bool no_color = a.flag({"--no-color"});
  const bool ignore_eos = a.flag({"--ignore-eos"});
  const bool verbose_prompt = a.flag({"--verbose-prompt"});
  SamplerParams sp = sampler_params_from(a);
  const int threads = threads_from(a);
  const LoadOptions lo = load_options_from(a);
  a.check_unused();
  if (model_path.empty())
    fail("usage: frugal chat -m MODEL [--system TEXT] [--thinking on|off] [--reasoning-budget N] [-n N] "
         "[--template FILE] [--mtp] [sampling flags]");
  if (thinking == "on") o.thinking = true;
  else if (thinking == "off") o.thinking = false;
  else if (thinking != "default") fail("--thinking must be on, off or default");

  LoadedModel lm = load_with_tokenizer(model_path, lo);
  Model& model = *lm.model;
  const Tokenizer& tok = *lm.tokenizer;
  prefetch_weights(model, threads, lo);
  // --template replaces the model's template (which the model then need not have); the
  // special-token strings come from its tokenizer.
  const chat::ModelTemplate mt = chat_template_for(model_path, template_file, tok);
  const tmpl::Template tmpl = tmpl::Template::parse(mt.source, mt.name);
  const chat::ParserConfig base_pc = chat::parser_config_for(mt.source, model.config().name);
  n_ctx = default_ctx(model, n_ctx);

  LineInput input;
  o.terminal = isatty(STDOUT_FILENO);
  o.color = input.interactive() && !no_color && o.terminal;
  ThreadPool pool(threads);
  Generator gen(model, n_ctx, sp, pool, use_mtp);
  ojson history = ojson::array();
  Printer pr(o);
  if (model.file().get_bool("frugal.random_weights").value_or(false))
    std::fprintf(stderr, "note: %s has random weights: its answers are noise, not language.\n", model_path.c_str());
  if (input.interactive()) pr.out("frugal chat: /help for commands, Ctrl-C stops an answer, Ctrl-D quits\n");

  while (auto line = input.read("> ")) {
    if (line->empty()) continue;
    if ((*line)[0] == '/') {
      const std::string cmd = line->substr(0, line->find(' '));
      const std::string arg = line->find(' ') == std::string::npos ? "" : line->substr(line->find(' ') + 1);
      if (cmd == "/quit" || cmd == "/exit") break;
      if (cmd == "/help") pr.out(kHelp);
      else if (cmd == "/think" && (arg == "on" || arg == "off")) o.show_reasoning = arg == "on";
      else if (cmd == "/thinking" && (arg == "on" || arg == "off" || arg == "default"))
        o.thinking = arg == "default" ? std::optional<bool>() : std::optional<bool>(arg == "on");
      else if (cmd == "/system") system = arg;
      else if (cmd == "/max" && !arg.empty() && std::all_of(arg.begin(), arg.end(), ::isdigit))
        o.n_predict = std::stoll(arg);
      else if (cmd == "/reset") history = ojson::array();
      else if (cmd == "/save" && !arg.empty()) {
        ojson all = ojson::array();
        if (!system.empty()) all.push_back({{"role", "system"}, {"content", system}});
        for (const auto& m : history) all.push_back(m);
        write_file_atomically(arg, all.dump(2) + "\n");
        pr.out("saved " + std::to_string(all.size()) + " messages to " + arg + "\n");
      } else {
        pr.out("unknown command: " + *line + "\n" + kHelp);
      }
      continue;
    }
    history.push_back({{"role", "user"}, {"content", *line}});
    ojson messages = ojson::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    for (const auto& m : history) messages.push_back(m);

    chat::TemplateContextOptions co;
    co.add_generation_prompt = true;
    // DeepSeek's templates concatenate tool-call arguments as a string; the others tojson them.
    co.tool_arguments_as_text = base_pc.tool_format == chat::ToolFormat::deepseek;
    co.thinking = o.thinking;
    co.bos_token = mt.special_token("bos_token");
    co.eos_token = mt.special_token("eos_token");
    std::string prompt;
    std::vector<int32_t> ids;
    try {
      prompt = tmpl.render(chat::build_template_context(chat::decode_messages(messages), {}, co));
      EncodeOptions eo;
      eo.add_special = false;  // the template writes BOS itself
      ids = tok.encode(prompt, eo);
      if (int64_t(ids.size()) + 1 >= n_ctx) fail("the conversation (%zu tokens) fills the context of %lld: /reset", ids.size(), (long long)n_ctx);
    } catch (const Error& e) {
      history.erase(history.end() - 1);
      pr.out(std::string("error: ") + e.what() + "\n");
      continue;
    }

    if (verbose_prompt)
      std::fprintf(stderr, "[prompt: %zu tokens]\n%s\n[/prompt]\n", ids.size(), prompt.c_str());
    chat::ParserConfig pc = base_pc;
    pc.starts_in_reasoning = chat::prompt_opens_reasoning(prompt);
    chat::OutputParser parser(pc);
    StreamDecoder dec(tok);
    InterruptScope interrupt;
    int64_t n_gen = 0, n_reasoning = 0;
    bool answering = false, truncated = false, budget_done = false;
    auto feed = [&](const std::string& text) {
      auto r = parser.push(text);
      for (const auto& d : r.deltas) {
        if (d.kind != chat::DeltaKind::reasoning) answering = true;
        pr.delta(d);
      }
      return r.stopped;
    };
    std::vector<int32_t> toks = {gen.start(ids, 512)};
    if (verbose_prompt) std::fprintf(stderr, "[%lld prompt tokens reused from the cache]\n", (long long)gen.reused());
    for (size_t i = 0;; ++i) {
      if (i == toks.size()) {
        if (g_interrupted || gen.room() < 2) break;
        toks.clear();
        i = 0;
        // Reasoning budget: past it, close the block as if the model had, and go on answering.
        if (!budget_done && o.reasoning_budget >= 0 && !answering && n_reasoning >= o.reasoning_budget &&
            (pc.starts_in_reasoning || n_reasoning > 0)) {
          budget_done = true;
          const std::string close = "\n</think>\n\n";
          EncodeOptions eo;
          const std::vector<int32_t> forced = tok.encode(close, eo);
          if (feed(close)) break;
          toks.push_back(gen.inject(forced));
        } else {
          gen.next(toks);
        }
      }
      const int32_t t = toks[i];
      if ((!ignore_eos && tok.is_end_of_generation(t)) || g_interrupted) break;
      if (n_gen++ >= o.n_predict) {
        truncated = true;
        break;
      }
      if (!answering) ++n_reasoning;
      if (feed(dec.push(t))) break;
    }
    feed(dec.flush());
    for (const auto& d : parser.finish(truncated || bool(g_interrupted))) pr.delta(d);
    pr.end_reasoning();
    pr.out(g_interrupted ? "\n[stopped]\n" : "\n");
    history.push_back(parser.result().to_json());
  }
  if (input.interactive()) pr.out("\n");
  return 0;
}

}  // namespace frugal::cli
