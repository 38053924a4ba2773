// Command-line parsing for the subcommands: `-x VALUE`, `--long VALUE`, `--long=VALUE`, flags,
// and positional arguments, against the command's declared options (cli/help.h). `-h` or
// `--help` throws HelpRequested with the command's help; an undeclared option is an error that
// names the nearest declared one.
#pragma once
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/help.h"
#include "core/error.h"

namespace frugal::cli {

class Args {
 public:
  Args(int argc, char** argv, const CommandHelp& help) {
    for (const auto& g : help.groups)
      for (const auto& o : g.options)
        for (const auto& s : option_spellings(o)) takes_value_[s] = !o.arg.empty();
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      if (!(a.size() > 1 && a[0] == '-' && !isdigit(static_cast<unsigned char>(a[1])) && a[1] != '.')) {
        pos_.push_back(a);
        continue;
      }
      if (a == "-h" || a == "--help") throw HelpRequested{format_help(help)};
      const auto eq = a.find('=');
      const std::string key = a.rfind("--", 0) == 0 && eq != std::string::npos ? a.substr(0, eq) : a;
      auto it = takes_value_.find(key);
      if (it == takes_value_.end()) {
        const std::string near = nearest_option(key, help);
        fail("unknown option %s%s (see --help)", key.c_str(), near.empty() ? "" : (", did you mean " + near + "?").c_str());
      }
      if (key.size() != a.size()) {
        if (!it->second) fail("option %s takes no value", key.c_str());
        opts_[key].push_back(a.substr(eq + 1));
      } else if (!it->second) {
        opts_[key].push_back("1");
      } else {
        if (i + 1 >= argc) fail("option %s needs a value", a.c_str());
        opts_[key].push_back(argv[++i]);
      }
    }
  }
  bool has(const std::string& k) const {
    declared(k);
    return opts_.count(k) > 0;
  }
  // First of the given spellings that is present (e.g. get({"-m", "--model"})); the last value
  // if it was given more than once.
  std::string get(std::initializer_list<const char*> keys, const std::string& def = "") {
    for (auto k : keys) declared(k);
    for (auto k : keys) {
      auto it = opts_.find(k);
      if (it != opts_.end()) {
        used_.insert(k);
        return it->second.back();
      }
    }
    return def;
  }
  // Every value of a repeatable option (e.g. --var A=1 --var B=2), in order, over all spellings.
  std::vector<std::string> get_all(std::initializer_list<const char*> keys) {
    std::vector<std::string> out;
    for (auto k : keys) {
      declared(k);
      auto it = opts_.find(k);
      if (it == opts_.end()) continue;
      used_.insert(k);
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  }
  bool flag(std::initializer_list<const char*> keys) {
    for (auto k : keys) declared(k);
    for (auto k : keys)
      if (opts_.count(k)) {
        used_.insert(k);
        return true;
      }
    return false;
  }
  long long get_int(std::initializer_list<const char*> keys, long long def) {
    std::string s = get(keys);
    if (s.empty()) return def;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end) fail("option %s: expected an integer, got '%s'", *keys.begin(), s.c_str());
    return v;
  }
  double get_float(std::initializer_list<const char*> keys, double def) {
    std::string s = get(keys);
    if (s.empty()) return def;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end) fail("option %s: expected a number, got '%s'", *keys.begin(), s.c_str());
    return v;
  }
  const std::vector<std::string>& positional() const { return pos_; }
  // Call after all get()s: rejects declared options that this use of the command does not
  // read (e.g. a stage's option given to another stage), and positional arguments past the
  // command's max_positional (`run -p Go on` would otherwise drop "on" without a word).
  void check_unused(size_t max_positional = 0) const {
    for (auto& [k, v] : opts_)
      if (!used_.count(k)) fail("option %s does not apply here (see --help)", k.c_str());
    if (pos_.size() > max_positional)
      fail("unexpected argument '%s'%s (see --help)", pos_[max_positional].c_str(),
           max_positional == 0 ? "; a value with spaces needs quotes" : "");
  }

 private:
  // Reading an undeclared option is the program's bug (its help would not show it).
  void declared(const std::string& k) const {
    if (!takes_value_.count(k)) fail("internal error: option %s is read but not declared in the command's help", k.c_str());
  }

  std::map<std::string, bool> takes_value_;  // every declared spelling: does it take a value?
  std::map<std::string, std::vector<std::string>> opts_;
  std::set<std::string> used_;
  std::vector<std::string> pos_;
};

}  // namespace frugal::cli
