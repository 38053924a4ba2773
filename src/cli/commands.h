// Subcommands of `frugal`. Each takes the arguments after its name and returns the exit code.
#pragma once

namespace frugal::cli {

int cmd_run(int argc, char** argv);
int cmd_logits(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_make_test_model(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_template(int argc, char** argv);
int cmd_chat(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_list(int argc, char** argv);
int cmd_ps(int argc, char** argv);
int cmd_load(int argc, char** argv);
int cmd_unload(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);

}  // namespace frugal::cli
