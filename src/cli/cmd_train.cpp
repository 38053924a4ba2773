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
    "usage: frugal train STAGE [options]   (frugal train STAGE --help lists a stage's options)\n"
    "stages:\n"
    "  pretrain (--preset NAME | -m MODEL) -o OUT    next-token on generated worked problems\n"
    "  sft (-m MODEL | --preset NAME) -o OUT [--data FILE.jsonl]   cold-start SFT on chat-formatted reasoning\n"
    "  grpo -m MODEL -o OUT                          GRPO with accuracy + format rewards\n"
    "  rs -m MODEL -o OUT [--traces FILE.jsonl]      rejection sampling, then SFT on the kept traces\n"
    "  distill --teacher MODEL (--preset NAME | -m STUDENT) -o OUT   SFT a dense student on filtered traces\n";

OptionGroup loop_options() {
  return {"training",
          {{"-o, --output", "FILE", "the trained GGUF to write (required)"},
           {"--steps", "N", "optimizer steps [100]"},
           {"--batch-tokens", "N", "tokens per optimizer step, whole examples [16384]"},
           {"--micro-tokens", "N", "tokens per forward/backward pass [4096]"},
           {"--lr", "X", "peak learning rate of AdamW [1e-3]"},
           {"--min-lr-frac", "X", "the cosine decay ends at lr * X [0.1]"},
           {"--warmup", "X", "fraction of the steps in linear warm-up [0.05]"},
           {"--wd", "X", "decoupled weight decay [0.1]"},
           {"--clip", "X", "global gradient-norm clip; <= 0 = off [1]"},
           {"--seed", "N", "data and initialization seed [1]"},
           {"--mtp-lambda", "X", "weight of the multi-token-prediction loss, as DeepSeek-V3's lambda [0.3]"},
           {"--no-mtp", "", "no MTP loss (--mtp-lambda 0)"},
           {"--balance-alpha", "X", "weight of V3's sequence-wise expert-balance loss [1e-4]"},
           {"--bias-gamma", "X", "speed of V3's auxiliary-loss-free routing-bias updates [1e-3]"},
           {"--checkpoint", "FILE", "checkpoint file (written atomically; the last good one is kept)"},
           {"--checkpoint-every", "N", "steps between checkpoints; 0 = at the end only [0]"},
           {"--resume", "", "continue from --checkpoint, bit-identically to an uninterrupted run"},
           {"--stop-after", "N", "stop, with a checkpoint, after N steps [-1: run all]"},
           {"--log", "FILE", "CSV log of every step"},
           {"--quiet", "", "no progress bar"},
           {"-t, --threads", "N", "worker threads [all cores]"}}};
}

OptionGroup mix_options() {
  return {"data",
          {{"--buckets", "LIST", "problem buckets, e.g. 'add 2x2,mul 3x2' [every trained bucket]"},
           {"--style-mix", "E,S,D", "fractions of empty-think, short and detailed reasoning [0.4,0.35,0.25]"},
           {"--chat-fraction", "X", "fraction of self-introduction chat turns [0.03]"}}};
}

OptionGroup trace_options(const char* problems, const char* samples) {
  return {"traces",
          {{"--problems", "N", std::string("training problems to sample [") + problems + "]"},
           {"--samples", "N", std::string("samples per problem [") + samples + "]"},
           {"--max-tokens", "N", "tokens per sample [640]"},
           {"--temperature", "X", "sampling temperature [1]"},
           {"--traces", "FILE", "the kept traces (JSONL): read if it exists, else sampled into it [OUT.traces.jsonl]"}}};
}

Option model_option(const char* help) { return {"-m, --model", "FILE", help}; }
Option preset_option() { return {"--preset", "NAME", "start from random weights of this shape (frugal-r1-tiny, frugal-r1-distill-tiny, ...)"}; }

const CommandHelp kPretrainHelp{
    "frugal train pretrain (--preset NAME | -m MODEL) -o OUT.gguf [options]",
    "Next-token prediction on generated plain-text worked problems of every style and bucket.",
    {{"model", {preset_option(), model_option("continue from this model")}}, mix_options(), loop_options()},
    "frugal train pretrain --preset frugal-r1-tiny --steps 900 --batch-tokens 8192 --lr 2e-3 -o pretrain.gguf"};

const CommandHelp kSftHelp{
    "frugal train sft (-m MODEL | --preset NAME) -o OUT.gguf [--data FILE.jsonl] [options]",
    "Cold-start supervised fine-tuning on chat-formatted reasoning (generated, or your JSONL of\n"
    "{\"messages\": [...]} conversations); the loss covers the assistant turns.",
    {{"model",
      {model_option("the model to fine-tune"), preset_option(),
       {"--data", "FILE", "JSONL conversations instead of the generated data"}}},
     mix_options(),
     loop_options()},
    "frugal train sft -m pretrain.gguf --steps 60 --batch-tokens 8192 --lr 5e-4 -o sft.gguf"};

const CommandHelp kGrpoHelp{
    "frugal train grpo -m MODEL -o OUT.gguf [options]",
    "GRPO: G samples per prompt through the engine's batched decode, rewards = exact answer +\n"
    "well-formed <think>/<answer>, group-relative advantages, clipped per-token ratios.",
    {{"model", {model_option("the policy to start from")}},
     {"grpo",
      {{"--prompts", "N", "prompts per step [16]"},
       {"--group", "N", "samples per prompt (G), >= 2 [8]"},
       {"--max-tokens", "N", "tokens per sample [640]"},
       {"--temperature", "X", "sampling temperature; ratios are taken under it [1]"},
       {"--minibatches", "N", "policy updates per step [2]"},
       {"--loss", "grpo|dr_grpo|dapo", "loss aggregation: per-sequence means, Dr. GRPO's constant, DAPO's per-token [grpo]"},
       {"--eps-low", "X", "lower clip of the ratio [0.2]"},
       {"--eps-high", "X", "upper clip; DAPO's clip-higher uses 0.28 [0.2]"},
       {"--beta", "X", "weight of the k3 KL to a frozen reference; 0 = no reference [0]"},
       {"--ref-reset", "N", "replace the reference by the policy every N steps; 0 = never [0]"},
       {"--dynamic-sampling", "", "DAPO: oversample, keep the groups whose rewards differ"},
       {"--buckets", "LIST", "problem buckets [every trained bucket]"}}},
     loop_options()},
    "frugal train grpo -m sft.gguf --steps 60 --prompts 16 --group 8 --temperature 0.7 --loss dr_grpo -o grpo.gguf"};

const CommandHelp kRsHelp{
    "frugal train rs -m MODEL -o OUT.gguf [options]",
    "Rejection sampling, R1's third stage: sample the model on training problems, keep the\n"
    "correct traces, fine-tune the model on them (with the chat turns mixed in).",
    {{"model", {model_option("the policy that samples and is fine-tuned")}},
     trace_options("3000", "4"),
     mix_options(),
     loop_options()},
    "frugal train rs -m grpo.gguf --problems 1500 --samples 2 --temperature 0.7 --steps 40 -o rs.gguf"};

const CommandHelp kDistillHelp{
    "frugal train distill --teacher MODEL (--preset NAME | -m STUDENT) -o OUT.gguf [options]",
    "Distillation as R1-Distill was made: fine-tune a dense student on the teacher's correct traces.",
    {{"model",
      {{"--teacher", "FILE", "the model that samples the traces"}, preset_option(),
       model_option("a student to continue from instead of a preset")}},
     trace_options("6000", "2"),
     mix_options(),
     loop_options()},
    "frugal train distill --teacher rs.gguf --preset frugal-r1-distill-tiny --steps 400 -o distill.gguf"};

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
  const std::string preset = allow_preset ? a.get({"--preset"}) : "";
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
  if (stage == "-h" || stage == "--help") throw HelpRequested{kUsage};
  const struct {
    const char* name;
    const CommandHelp* help;
    int (*run)(Args&);
  } stages[] = {{"pretrain", &kPretrainHelp, stage_pretrain},
                {"sft", &kSftHelp, stage_sft},
                {"grpo", &kGrpoHelp, stage_grpo},
                {"rs", &kRsHelp, [](Args& a) { return stage_from_traces(a, false); }},
                {"distill", &kDistillHelp, [](Args& a) { return stage_from_traces(a, true); }}};
  for (const auto& st : stages)
    if (stage == st.name) {
      Args a(argc - 1, argv + 1, *st.help);
      return st.run(a);
    }
  fail("unknown stage '%s'\n%s", stage.c_str(), kUsage);
}

}  // namespace frugal::cli
