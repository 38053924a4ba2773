// frugal: run, inspect and benchmark reasoning language models on a CPU.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/help.h"
#include "dist/mpi_world.h"
#include "dist/split.h"
#include "kernels/matmul.h"
#include "core/error.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"run", frugal::cli::cmd_run, "generate text: frugal run -m FILE -p PROMPT [-n N] [sampling flags]"},
    {"logits", frugal::cli::cmd_logits, "write logits: frugal logits -m FILE --ids 1,2,3 -o OUT.npy [--mode prefill|decode]"},
    {"tokenize", frugal::cli::cmd_tokenize, "token ids: frugal tokenize -m FILE_OR_DIR (--text STR | --file F.jsonl)"},
    {"inspect", frugal::cli::cmd_inspect, "describe a model file: frugal inspect FILE"},
    {"bench", frugal::cli::cmd_bench, "speed: frugal bench -m FILE [-p 512] [-n 128] [-t THREADS] [--json]"},
    {"make-test-model", frugal::cli::cmd_make_test_model,
     "random-weight model: frugal make-test-model --preset NAME -o FILE.gguf --type Q4_K_M|Q8_0|F16|F32"},
    {"convert", frugal::cli::cmd_convert, "HF folder to GGUF: frugal convert HF_DIR -o OUT.gguf [--type BF16|F16|F32|Q8_0|Q4_K_M|...]"},
    {"quantize", frugal::cli::cmd_quantize, "re-type a model: frugal quantize IN.gguf OUT.gguf Q4_K_M|Q5_K_M|Q8_0|Q4_0|F16|BF16|F32"},
    {"chat", frugal::cli::cmd_chat,
     "interactive chat: frugal chat -m MODEL [--system TEXT] [--thinking on|off] [--reasoning-budget N] [--mtp]"},
    {"serve", frugal::cli::cmd_serve,
     "API server (OpenAI, DeepSeek, Anthropic, Ollama): frugal serve [-m MODEL ...] [--models-dir DIR] [--port P]"},
    {"list", frugal::cli::cmd_list, "models in a folder, their needs and the budget: frugal list [DIR]"},
    {"ps", frugal::cli::cmd_ps, "a running server's loaded models: frugal ps [--url URL]"},
    {"load", frugal::cli::cmd_load, "load a model on a running server: frugal load NAME [--url URL]"},
    {"unload", frugal::cli::cmd_unload, "unload a model from a running server: frugal unload NAME [--url URL]"},
    {"train", frugal::cli::cmd_train,
     "train a reasoner: frugal train pretrain|sft|grpo|rs|distill [flags] (frugal train STAGE --help)"},
    {"eval", frugal::cli::cmd_eval,
     "accuracy of a trained reasoner: frugal eval -m MODEL [--buckets 'mul 3x2'] [-n 2000] [--pass-problems P --samples S] [--json FILE]"},
    {"template", frugal::cli::cmd_template,
     "render a chat template: frugal template (-m MODEL | --template FILE) --messages M.json [--tools T.json] [--add-generation-prompt] [--var NAME=JSON]"},
};

void usage(FILE* f) {
  std::fprintf(f, "usage: frugal COMMAND [options]   (frugal COMMAND --help: its options)\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(f, "  %-16s %s\n", c.name, c.help);
  std::fprintf(f, "\nfrugal --version: the version and the CPU kernels in use\n");
}

// Runs command `name` on its arguments; an unknown name prints the command list.
int run_command(const char* name, int argc, char** argv) {
  for (const auto& c : kCommands) {
    if (std::strcmp(name, c.name) != 0) continue;
    try {
      return c.fn(argc, argv);
    } catch (const frugal::cli::HelpRequested& h) {
      std::fputs(h.text.c_str(), stdout);
      return 0;
    } catch (const frugal::Error& e) {
      std::fprintf(stderr, "frugal %s: error: %s\n", c.name, e.what());
      if (frugal::dist::world().size > 1) frugal::dist::abort_world(1);  // the other ranks would wait forever
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "frugal %s: internal error: %s\n", c.name, e.what());
      if (frugal::dist::world().size > 1) frugal::dist::abort_world(2);
      return 2;
    }
  }
  std::fprintf(stderr, "frugal: unknown command '%s'\n\n", name);
  usage(stderr);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && !std::strcmp(argv[1], "help")) {  // frugal help COMMAND = frugal COMMAND --help
    char help_flag[] = "--help";
    char* args[] = {help_flag, nullptr};
    return run_command(argv[2], 1, args);
  }
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "-V") || !std::strcmp(argv[1], "version")) {
    std::printf("frugal %s (CPU kernels: %s)\n", FRUGAL_VERSION, frugal::kernels::isa_name(frugal::kernels::active_isa()));
    return 0;
  }
  try {
    frugal::dist::init_world(&argc, &argv);  // under mpirun: this rank's place in the job
  } catch (const frugal::Error& e) {
    std::fprintf(stderr, "frugal: error: %s\n", e.what());
    return 1;
  }
  const int rc = run_command(argv[1], argc - 2, argv + 2);
  frugal::dist::end_split();
  frugal::dist::finalize_world();
  return rc;
}
