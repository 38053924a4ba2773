// frugal train STAGE: DeepSeek-R1's recipe in miniature. Each stage reads and writes GGUF
// files that `frugal run / serve` load unchanged:
//   pretrain  next-token on generated worked problems (from a preset, or -m to continue)
//   sft       cold start on chat-formatted reasoning (generated, or --data FILE.jsonl)
//   grpo      reinforcement learning with rule-checked rewards (train/grpo.h)
//   rs        rejection sampling: keep the policy's correct traces, SFT on them
//   distill   SFT a dense student on a teacher's filtered traces
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "train/byte_vocab.h"
#include "train/corpus.h"
#include "train/grpo.h"
#include "train/model_io.h"
#include "train/presets.h"
#include "train/traces.h"

namespace frugal::cli {

using namespace frugal::train;

namespace {

const char* kUsage =
    "usage: frugal train STAGE [options]\n"
    "stages:\n"
    "  pretrain (--preset NAME | -m MODEL) -o OUT    next-token on generated worked problems\n"
    "  sft (-m MODEL | --preset NAME) -o OUT [--data FILE.jsonl]   cold-start SFT on chat-formatted reasoning\n"
    "  grpo -m MODEL -o OUT                          GRPO with accuracy + format rewards\n"
    "  rs -m MODEL -o OUT [--traces FILE.jsonl]      rejection sampling, then SFT on the kept traces\n"
    "  distill --teacher MODEL (--preset NAME | -m STUDENT) -o OUT   SFT a dense student on filtered traces\n"
    "common options: --steps N --batch-tokens N --micro-tokens N --lr X --min-lr-frac X --warmup X --wd X\n"
    "  --clip X --seed N --mtp-lambda X --balance-alpha X --bias-gamma X -t THREADS --log FILE.csv\n"
    "  --checkpoint FILE [--checkpoint-every N] [--resume] [--stop-after N] [--quiet]\n"
    "pretrain / sft mix: --style-mix EMPTY,SHORT,DETAILED (fractions) --chat-fraction X --buckets 'add 2x2,...'\n"
    "grpo: --prompts P --group G --max-tokens N --temperature T --minibatches M --loss grpo|dr_grpo|dapo\n"
    "  --eps-low X --eps-high X --beta X --dynamic-sampling --buckets 'mul 3x2,add 3x2' --ref-reset N\n"
    "rs / distill: --problems N --samples K --max-tokens N --temperature T --traces FILE.jsonl";

const std::set<std::string> kFlags = {"--resume", "--quiet", "--dynamic-sampling", "--no-mtp"};

struct Common {
  LoopOptions loop;
  int threads = 0;
  nlohmann::ordered_json fixed;  // options that decide the result (a resume must repeat them)
};

Common parse_common(Args& a, const std::string& stage) {
  Common c;
  LoopOptions& o = c.loop;
  o.stage = stage;
  o.out = a.get({"-o", "--output"});
  if (o.out.empty()) fail("-o OUT.gguf is required\n%s", kUsage);
  o.steps = a.get_int({"--steps"}, o.steps);
  o.batch_tokens = a.get_int({"--batch-tokens"}, o.batch_tokens);
  o.micro_tokens = a.get_int({"--micro-tokens"}, o.micro_tokens);
  o.adam.lr = float(a.get_float({"--lr"}, o.adam.lr));
  o.adam.min_lr_frac = float(a.get_float({"--min-lr-frac"}, o.adam.min_lr_frac));
  o.adam.warmup_frac = float(a.get_float({"--warmup"}, o.adam.warmup_frac));
  o.adam.weight_decay = float(a.get_float({"--wd"}, o.adam.weight_decay));
  o.adam.clip = float(a.get_float({"--clip"}, o.adam.clip));
  o.seed = uint64_t(a.get_int({"--seed"}, 1));
  o.mtp_lambda = float(a.get_float({"--mtp-lambda"}, o.mtp_lambda));
  if (a.flag({"--no-mtp"})) o.mtp_lambda = 0;
  o.balance_alpha = float(a.get_float({"--balance-alpha"}, o.balance_alpha));
  o.bias_gamma = float(a.get_float({"--bias-gamma"}, o.bias_gamma));
  o.checkpoint = a.get({"--checkpoint"});
  o.checkpoint_every = a.get_int({"--checkpoint-every"}, 0);
  o.resume = a.flag({"--resume"});
  o.stop_after = a.get_int({"--stop-after"}, -1);
  o.log_csv = a.get({"--log"});
  o.quiet = a.flag({"--quiet"});
  c.threads = int(a.get_int({"-t", "--threads"}, 0));
  if (c.threads <= 0) c.threads = int(std::thread::hardware_concurrency());
  if (o.steps <= 0 || o.batch_tokens <= 0 || o.micro_tokens <= 0) fail("--steps, --batch-tokens and --micro-tokens must be > 0");
  if (!(o.adam.lr > 0) || o.adam.min_lr_frac < 0 || o.adam.warmup_frac < 0 || o.adam.warmup_frac >= 1)
    fail("--lr must be > 0, --min-lr-frac >= 0, 0 <= --warmup < 1");
  if (o.resume && o.checkpoint.empty()) fail("--resume needs --checkpoint FILE");
  c.fixed = {{"stage", stage},
             {"steps", o.steps},
             {"batch_tokens", o.batch_tokens},
             {"micro_tokens", o.micro_tokens},
             {"lr", o.adam.lr},
             {"min_lr_frac", o.adam.min_lr_frac},
             {"warmup", o.adam.warmup_frac},
             {"wd", o.adam.weight_decay},
             {"clip", o.adam.clip},
             {"seed", o.seed},
             {"mtp_lambda", o.mtp_lambda},
             {"balance_alpha", o.balance_alpha},
             {"bias_gamma", o.bias_gamma},
             {"threads", c.threads}};
  return c;
}

Mix parse_mix(Args& a, nlohmann::ordered_json& fixed) {
  Mix mix = Mix::standard();
  if (const std::string b = a.get({"--buckets"}); !b.empty()) {
    mix.buckets = parse_buckets(b);
    mix.weights.assign(mix.buckets.size(), 1.0);
    fixed["buckets"] = b;
  }
  const std::string sm = a.get({"--style-mix"});
  if (!sm.empty()) {
    double e, s, d;
    if (std::sscanf(sm.c_str(), "%lf,%lf,%lf", &e, &s, &d) != 3 || e < 0 || s < 0 || d < 0 || e + s + d <= 0)
      fail("--style-mix %s: expected three non-negative fractions EMPTY,SHORT,DETAILED", sm.c_str());
    mix.p_empty = e / (e + s + d);
    mix.p_short = s / (e + s + d);
  }
  mix.chat_fraction = a.get_float({"--chat-fraction"}, mix.chat_fraction);
  if (mix.chat_fraction < 0 || mix.chat_fraction > 1) fail("--chat-fraction must be in [0, 1]");
  fixed["style_mix"] = {mix.p_empty, mix.p_short, 1 - mix.p_empty - mix.p_short};
  fixed["chat_fraction"] = mix.chat_fraction;
  return mix;
}

// Provenance written into every trained file.
Metadata provenance(const std::string& name, const std::string& stage, const std::string& from,
                    const nlohmann::ordered_json& fixed) {
  return {{"general.name", GgufValue::str(name)},
          {"frugal.train.recipe", GgufValue::str(stage)},
          {"frugal.train.from", GgufValue::str(from)},
          {"frugal.train.stage_options", GgufValue::str(fixed.dump())}};
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

LoadedModel load_or_preset(Args& a, nlohmann::ordered_json& fixed, uint64_t seed, bool allow_preset) {
  const std::string path = a.get({"-m", "--model"});
  const std::string preset = a.get({"--preset"});
  if (!path.empty() && !preset.empty()) fail("give -m MODEL or --preset NAME, not both");
  if (!path.empty()) {
    fixed["from"] = path;
    return load_train_model(path);
  }
  if (preset.empty() || !allow_preset) fail(allow_preset ? "-m MODEL or --preset NAME is required\n%s" : "-m MODEL is required\n%s", kUsage);
  LoadedModel lm;
  lm.vocab = byte_vocab();
  lm.model = make_preset(preset, int64_t(lm.vocab.tokens.size()), seed);
  fixed["from"] = "preset " + preset;
  return lm;
}

void run_loop(Common& c, LoadedModel& lm, ExampleSource& src, const std::string& from) {
  c.loop.options_json = c.fixed.dump();
  ThreadPool pool(c.threads);
  if (!c.loop.quiet)
    std::fprintf(stderr, "%s: %s, %.2fM parameters, %lld steps of %lld tokens from %s\n", c.loop.stage.c_str(),
                 lm.model->arch().c_str(), double(lm.model->params().count()) / 1e6, (long long)c.loop.steps,
                 (long long)c.loop.batch_tokens, src.describe().c_str());
  train_supervised(*lm.model, lm.vocab, src, c.loop, pool, provenance(stem(c.loop.out), c.loop.stage, from, c.fixed));
}

int stage_pretrain(Args& a) {
  Common c = parse_common(a, "pretrain");
  LoadedModel lm = load_or_preset(a, c.fixed, c.loop.seed, true);
  Mix mix = parse_mix(a, c.fixed);
  a.check_unused();
  const Tokenizer tok = Tokenizer::from_vocab(lm.vocab);
  auto src = pretrain_source(tok, mix);
  run_loop(c, lm, *src, c.fixed["from"]);
  return 0;
}

int stage_sft(Args& a) {
  Common c = parse_common(a, "sft");
  LoadedModel lm = load_or_preset(a, c.fixed, c.loop.seed, true);
  Mix mix = parse_mix(a, c.fixed);
  const std::string data = a.get({"--data"});
  a.check_unused();
  const Tokenizer tok = Tokenizer::from_vocab(lm.vocab);
  std::unique_ptr<ExampleSource> src = data.empty() ? sft_source(tok, mix) : file_source(tok, data);
  if (!data.empty()) c.fixed["data"] = data;
  run_loop(c, lm, *src, c.fixed["from"]);
  return 0;
}

SampleOptions parse_sampling(Args& a, nlohmann::ordered_json& fixed, int64_t problems, int samples) {
  SampleOptions s;
  s.problems = a.get_int({"--problems"}, problems);
  s.samples = int(a.get_int({"--samples"}, samples));
  s.max_tokens = a.get_int({"--max-tokens"}, s.max_tokens);
  s.temperature = float(a.get_float({"--temperature"}, s.temperature));
  if (s.problems <= 0 || s.samples <= 0 || s.max_tokens <= 0 || s.temperature < 0)
    fail("--problems, --samples and --max-tokens must be > 0, --temperature >= 0");
  fixed["problems"] = s.problems;
  fixed["samples"] = s.samples;
  fixed["max_tokens"] = s.max_tokens;
  fixed["temperature"] = s.temperature;
  return s;
}

// rs and distill: traces from a model (sampled now, or read from --traces), SFT on them,
// with the self-introduction turns mixed in so the chat behaviour survives.
int stage_from_traces(Args& a, bool distill) {
  Common c = parse_common(a, distill ? "distill" : "rs");
  std::string teacher = distill ? a.get({"--teacher"}) : a.get({"-m", "--model"});
  if (teacher.empty()) fail("%s is required\n%s", distill ? "--teacher MODEL" : "-m MODEL", kUsage);
  c.fixed["teacher"] = teacher;
  LoadedModel lm = distill ? load_or_preset(a, c.fixed, c.loop.seed, true) : load_train_model(teacher);
  Mix mix = parse_mix(a, c.fixed);
  SampleOptions so = parse_sampling(a, c.fixed, distill ? 6000 : 3000, distill ? 2 : 4);
  std::string traces = a.get({"--traces"});
  a.check_unused();
  if (traces.empty()) traces = c.loop.out + ".traces.jsonl";
  if (!c.loop.resume && !std::filesystem::exists(traces)) {
    ThreadPool pool(c.threads);
    so.seed = c.loop.seed;
    const TraceStats st = sample_traces(teacher, mix, so, traces, c.loop.quiet);
    if (!c.loop.quiet)
      std::fprintf(stderr, "%s: kept %lld correct traces of %lld samples (%.1f %%) -> %s\n", c.loop.stage.c_str(),
                   (long long)st.kept, (long long)st.sampled, 100.0 * double(st.kept) / double(std::max<int64_t>(1, st.sampled)),
                   traces.c_str());
  }
  c.fixed["traces"] = traces;
  const Tokenizer tok = Tokenizer::from_vocab(lm.vocab);
  Mix chat_only = mix;
  chat_only.chat_fraction = 1.0;
  auto src = mixed_source(file_source(tok, traces), sft_source(tok, chat_only), 1.0 - mix.chat_fraction);
  run_loop(c, lm, *src, teacher);
  return 0;
}

int stage_grpo(Args& a) {
  Common c = parse_common(a, "grpo");
  LoadedModel lm = load_or_preset(a, c.fixed, c.loop.seed, false);
  GrpoOptions g;
  g.prompts = int(a.get_int({"--prompts"}, g.prompts));
  g.group = int(a.get_int({"--group"}, g.group));
  g.max_tokens = a.get_int({"--max-tokens"}, g.max_tokens);
  g.temperature = float(a.get_float({"--temperature"}, g.temperature));
  g.minibatches = int(a.get_int({"--minibatches"}, g.minibatches));
  g.eps_low = float(a.get_float({"--eps-low"}, g.eps_low));
  g.eps_high = float(a.get_float({"--eps-high"}, g.eps_high));
  g.beta = float(a.get_float({"--beta"}, g.beta));
  g.ref_reset = a.get_int({"--ref-reset"}, g.ref_reset);
  g.loss = parse_grpo_loss(a.get({"--loss"}, "grpo"));
  g.dynamic_sampling = a.flag({"--dynamic-sampling"});
  const std::string buckets = a.get({"--buckets"});
  a.check_unused();
  if (!buckets.empty()) g.buckets = parse_buckets(buckets);
  if (g.prompts <= 0 || g.group < 2 || g.max_tokens <= 0 || g.minibatches <= 0 || g.temperature <= 0)
    fail("--prompts > 0, --group >= 2, --max-tokens > 0, --minibatches > 0 and --temperature > 0 are required");
  c.fixed["grpo"] = g.to_json();
  c.loop.options_json = c.fixed.dump();
  ThreadPool pool(c.threads);
  train_grpo(*lm.model, lm.vocab, g, c.loop, pool, provenance(stem(c.loop.out), "grpo", c.fixed["from"], c.fixed));
  return 0;
}

}  // namespace

int cmd_train(int argc, char** argv) {
  if (argc < 1) fail("%s", kUsage);
  const std::string stage = argv[0];
  Args a(argc - 1, argv + 1, kFlags);
  if (stage == "pretrain") return stage_pretrain(a);
  if (stage == "sft") return stage_sft(a);
  if (stage == "grpo") return stage_grpo(a);
  if (stage == "rs") return stage_from_traces(a, false);
  if (stage == "distill") return stage_from_traces(a, true);
  fail("unknown stage '%s'\n%s", stage.c_str(), kUsage);
}

}  // namespace frugal::cli
