// frugal eval -m MODEL: greedy pass@1 (with a 95 % interval) and sampled pass@k per bucket on
// held-out arithmetic, through the engine the server uses; a table, or JSON for scripts.
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/default_model.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/tmp_file.h"
#include "train/arith.h"
#include "train/eval.h"

namespace frugal::cli {

using namespace frugal::train;

namespace {

const CommandHelp kHelp{
    "frugal eval [-m MODEL] [options]   |   frugal eval --problems-out FILE.jsonl [--buckets ...] [-n N]",
    "Accuracy of a trained reasoner on held-out arithmetic, per bucket, through the engine the\n"
    "server uses: greedy pass@1 with a 95 % interval, and sampled pass@k; a table, or JSON.",
    {{"options",
      {{"-m, --model", "FILE", "the model [the shipped default model]"},
       {"--buckets", "LIST", "e.g. 'mul 3x2,add 3x3' [every trained and held-out bucket]"},
       {"-n", "N", "greedy problems per bucket (all of a smaller bucket) [2000]"},
       {"--pass-problems", "N", "problems per bucket sampled for pass@k; 0 = none [0]"},
       {"--samples", "N", "samples per problem for pass@k [8]"},
       {"--k", "LIST", "the k of pass@k [1,2,4,8]"},
       {"--temperature", "X", "of the pass@k samples [1]"},
       {"--max-tokens", "N", "per answer, thinking included [640]"},
       {"--seed", "N", "problem and sampling seed [1]"},
       {"--mtp-problems", "N", "also decode N problems per bucket with and without the MTP draft head [0]"},
       {"--json", "FILE|-", "write the results as JSON (- = stdout)"},
       {"--problems-out", "FILE", "write the problems as {bucket, question, answer} lines instead (no model)"},
       {"--quiet", "", "no progress"},
       threads_option()}}},
    "frugal eval --buckets 'mul 3x2' -n 500\n"
    "frugal eval -m models/frugal-r1-distill-tiny.gguf --pass-problems 200 --samples 8 --json out.json"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);) {
    while (!x.empty() && x.front() == ' ') x.erase(0, 1);
    while (!x.empty() && x.back() == ' ') x.pop_back();
    if (!x.empty()) out.push_back(x);
  }
  return out;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  Args a(argc, argv, kHelp);
  const std::string problems_out = a.get({"--problems-out"});
  const std::string model = problems_out.empty() ? model_or_default(a.get({"-m", "--model"})) : "";
  EvalOptions o;
  o.buckets = parse_buckets(a.get({"--buckets"}));
  o.n = a.get_int({"-n"}, o.n);
  o.pass_problems = a.get_int({"--pass-problems"}, o.pass_problems);
  o.samples = int(a.get_int({"--samples"}, o.samples));
  const std::string ks = a.get({"--k"});
  if (!ks.empty()) {
    o.ks.clear();
    for (const std::string& k : split(ks, ',')) o.ks.push_back(std::atoi(k.c_str()));
  }
  o.temperature = float(a.get_float({"--temperature"}, o.temperature));
  o.max_tokens = a.get_int({"--max-tokens"}, o.max_tokens);
  o.seed = uint64_t(a.get_int({"--seed"}, 1));
  o.threads = int(a.get_int({"-t", "--threads"}, 0));
  const int64_t mtp_problems = a.get_int({"--mtp-problems"}, 0);
  const std::string json = a.get({"--json"});
  const bool quiet = a.flag({"--quiet"});
  a.check_unused();
  if (o.n <= 0 || o.max_tokens <= 0 || o.samples <= 0 || o.pass_problems < 0)
    fail("-n, --max-tokens and --samples must be > 0, --pass-problems >= 0");
  if (!(o.temperature > 0)) fail("--temperature must be > 0 (the greedy figures need no flag)");

  if (!problems_out.empty()) {
    std::string lines;
    for (const Bucket& bk : buckets_or_all(o.buckets))
      for (const Problem& p : eval_problems(bk, o.n, o.seed))
        lines += nlohmann::ordered_json({{"bucket", bk.name()}, {"question", p.text}, {"answer", p.answer()}}).dump() + "\n";
    write_file_atomically(problems_out, lines);
    return 0;
  }
  const std::vector<BucketEval> res = evaluate(model, o, quiet);
  MtpEval mtp;
  if (mtp_problems > 0) {
    std::vector<Problem> ps;
    for (const Bucket& bk : buckets_or_all(o.buckets))
      for (const Problem& p : eval_problems(bk, std::min(mtp_problems, o.n), o.seed)) ps.push_back(p);
    mtp = evaluate_mtp(model, ps, o.max_tokens, o.threads);
  }

  nlohmann::ordered_json j = {{"model", model}, {"n", o.n}, {"pass_problems", o.pass_problems},
                              {"samples", o.samples}, {"temperature", o.temperature}, {"seed", o.seed}};
  j["ks"] = o.ks;
  j["buckets"] = nlohmann::json::array();
  for (const BucketEval& e : res) {
    nlohmann::ordered_json b = {{"bucket", e.bucket}, {"held_out", e.held_out}, {"n", e.n}, {"correct", e.correct},
                                {"accuracy", e.accuracy}, {"ci95", {e.ci_lo, e.ci_hi}}, {"format", e.formatted},
                                {"mean_len", e.mean_len}};
    if (e.pass_n > 0) {
      b["pass_n"] = e.pass_n;
      b["pass_at_k"] = e.pass_at_k;
      b["pass_se"] = e.pass_se;
    }
    j["buckets"].push_back(b);
  }
  if (mtp.problems > 0)
    j["mtp"] = {{"problems", mtp.problems}, {"identical", mtp.identical},   {"tokens", mtp.tokens},
                {"drafted", mtp.drafted},   {"accepted", mtp.accepted},     {"acceptance", mtp.acceptance()},
                {"plain_tok_s", double(mtp.tokens) / mtp.plain_s}, {"mtp_tok_s", double(mtp.tokens) / mtp.mtp_s},
                {"speedup", mtp.speedup()}};
  if (json == "-") {
    std::puts(j.dump(1).c_str());
    return 0;
  }
  if (!json.empty()) write_file_atomically(json, j.dump(1) + "\n");
  std::printf("%-9s %-8s %6s %8s %17s %7s %8s", "bucket", "split", "n", "pass@1", "95% CI", "format", "len");
  if (o.pass_problems > 0)
    for (int k : o.ks) std::printf("  pass@%-3d", k);
  std::printf("\n");
  for (const BucketEval& e : res) {
    std::printf("%-9s %-8s %6lld %8.3f   [%.3f, %.3f] %7.3f %8.1f", e.bucket.c_str(), e.held_out ? "held-out" : "trained",
                (long long)e.n, e.accuracy, e.ci_lo, e.ci_hi, e.n ? double(e.formatted) / double(e.n) : 0, e.mean_len);
    for (double p : e.pass_at_k) std::printf("  %8.3f", p);
    std::printf("\n");
  }
  if (mtp.problems > 0)
    std::printf("MTP (one stream, greedy, %lld problems): draft acceptance %.1f%%, %.1f tok/s with vs %.1f without = "
                "%.2fx; identical output %lld/%lld\n",
                (long long)mtp.problems, 100 * mtp.acceptance(), double(mtp.tokens) / mtp.mtp_s,
                double(mtp.tokens) / mtp.plain_s, mtp.speedup(), (long long)mtp.identical, (long long)mtp.problems);
  return 0;
}

}  // namespace frugal::cli
