// What each command accepts, declared once: the parser (cli/args.h) takes its option names and
// which of them take a value from here, `-h/--help` prints it, a mistyped option is matched
// against it, and reading an option that is not declared here is an error, so the help cannot
// lose an option the code reads.
#pragma once
#include <string>
#include <vector>

namespace frugal::cli {

struct Option {
  std::string names;  // spellings, ", "-separated: "-m, --model"
  std::string arg;    // the value's placeholder ("FILE", "N" an integer, "X" a number,
                      // "on|off" choices); empty for a flag
  std::string help;   // one line; the default in [brackets]
};

struct OptionGroup {
  std::string title;
  std::vector<Option> options;
};

struct CommandHelp {
  std::string usage;  // "frugal run -m MODEL (-p TEXT | -f FILE) [options]"
  std::string about;  // what the command does, a sentence or two
  std::vector<OptionGroup> groups;
  std::string example;  // one or more command lines, newline-separated
};

// Thrown by Args when -h or --help is given: main prints the text to stdout and exits 0.
// Not a std::exception, so no error handler on the way up mistakes it for a failure.
struct HelpRequested {
  std::string text;
};

std::string format_help(const CommandHelp& h);

// An option's spellings: "-m, --model" -> {"-m", "--model"}.
std::vector<std::string> option_spellings(const Option& o);

// The declared spelling nearest to an unknown one (edit distance, at most about a third of
// its length), or "" when none is close.
std::string nearest_option(const std::string& unknown, const CommandHelp& h);

// Option groups several commands share (cli/common.cpp reads them).
OptionGroup sampling_options();
OptionGroup model_load_options();  // --load-as, --cache-type
OptionGroup split_options();       // --split, --split-layers
Option threads_option();

}  // namespace frugal::cli
