#include "train/grpo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "train/byte_vocab.h"
#include "train/rewards.h"
#include "train/rollout.h"
#include "train/run_log.h"

namespace frugal::train {

GrpoLoss parse_grpo_loss(const std::string& s) {
  if (s == "grpo") return GrpoLoss::grpo;
  if (s == "dr_grpo" || s == "dr-grpo") return GrpoLoss::dr_grpo;
  if (s == "dapo") return GrpoLoss::dapo;
  fail("--loss %s: expected grpo, dr_grpo or dapo", s.c_str());
}

const char* grpo_loss_name(GrpoLoss l) { return l == GrpoLoss::grpo ? "grpo" : l == GrpoLoss::dr_grpo ? "dr_grpo" : "dapo"; }

// Every trained bucket: RL on the hard ones alone shifted the easy ones (a 2-digit sum fell
// from 71 % to 9 % in one run) because nothing rewarded keeping them.
std::vector<Bucket> GrpoOptions::default_buckets() { return trained_buckets(); }

nlohmann::ordered_json GrpoOptions::to_json() const {
  nlohmann::ordered_json b = nlohmann::ordered_json::array();
  for (const Bucket& k : buckets) b.push_back(k.name());
  return {{"prompts", prompts},     {"group", group},         {"max_tokens", max_tokens},
          {"temperature", temperature}, {"minibatches", minibatches}, {"eps_low", eps_low},
          {"eps_high", eps_high},   {"beta", beta},           {"ref_reset", ref_reset},
          {"loss", grpo_loss_name(loss)}, {"dynamic_sampling", dynamic_sampling},
          {"format_weight", format_weight}, {"buckets", b}};
}

std::vector<float> group_advantages(const std::vector<float>& r, GrpoLoss loss) {
  double mean = 0;
  for (float x : r) mean += x;
  mean /= double(r.size());
  double var = 0;
  for (float x : r) var += (x - mean) * (x - mean);
  // The sample standard deviation, as DeepSeekMath's implementation (torch.std) takes it.
  const double sd = r.size() > 1 ? std::sqrt(var / double(r.size() - 1)) : 0.0;
  std::vector<float> a(r.size());
  for (size_t i = 0; i < r.size(); ++i)
    a[i] = float(loss == GrpoLoss::dr_grpo ? r[i] - mean : (r[i] - mean) / (sd + 1e-4));
  return a;
}

GrpoObjective grpo_objective(const std::vector<GrpoSeq>& seqs, int n_groups, int group_size, const GrpoOptions& o) {
  if (int64_t(seqs.size()) != int64_t(n_groups) * group_size) fail("internal: %zu sequences for %d groups of %d", seqs.size(), n_groups, group_size);
  GrpoObjective out;
  int64_t total_tokens = 0;
  for (const GrpoSeq& s : seqs) total_tokens += int64_t(s.logp.size());
  int64_t clipped = 0;
  double kl_sum = 0;
  for (const GrpoSeq& s : seqs) {
    const int64_t L = int64_t(s.logp.size());
    std::vector<float>& d = out.dlogp.emplace_back(size_t(L), 0.f);
    if (L == 0) continue;
    double w = 0;
    switch (o.loss) {
      case GrpoLoss::grpo: w = 1.0 / (double(n_groups) * group_size * double(L)); break;
      case GrpoLoss::dr_grpo: w = 1.0 / (double(n_groups) * group_size * double(o.max_tokens)); break;
      case GrpoLoss::dapo: w = 1.0 / double(total_tokens); break;
    }
    for (int64_t t = 0; t < L; ++t) {
      const double lp = s.logp[size_t(t)], ratio = std::exp(lp - double(s.logp_old[size_t(t)])), A = s.adv;
      const double unclipped = ratio * A;
      const double clipped_v = std::clamp(ratio, 1.0 - o.eps_low, 1.0 + o.eps_high) * A;
      double term, dterm;  // loss term and its derivative in logp
      if (unclipped <= clipped_v) {
        term = -unclipped;
        dterm = -unclipped;  // d(ratio)/d(logp) = ratio
      } else {
        term = -clipped_v;
        dterm = 0;
        ++clipped;
      }
      if (o.beta > 0) {
        const double x = double(s.logp_ref[size_t(t)]) - lp;  // log(pi_ref / pi)
        const double kl = std::exp(x) - x - 1;
        kl_sum += kl;
        term += o.beta * kl;
        dterm += o.beta * (1 - std::exp(x));
      }
      out.loss += w * term;
      d[size_t(t)] = float(w * dterm);
    }
  }
  out.tokens = total_tokens;
  out.clip_frac = total_tokens ? double(clipped) / double(total_tokens) : 0;
  out.kl = total_tokens ? kl_sum / double(total_tokens) : 0;
  return out;
}

namespace {

struct Sample {
  int group;
  std::vector<int32_t> prompt, response;  // response includes the end token when it ended
  float reward = 0, adv = 0;
  bool correct = false, format = false;
};

// Log-probabilities of each sample's response tokens under m, micro-batched; with grads: the
// loss's dlogp is seeded and back-propagated, accumulating into m's gradients.
void response_logprobs(TrainModel& m, Tape& t, const std::vector<const Sample*>& ss, int64_t micro_tokens,
                       float temperature, std::vector<std::vector<float>>& out,
                       const std::vector<std::vector<float>>* seed) {
  out.assign(ss.size(), {});
  for (size_t i0 = 0; i0 < ss.size();) {
    TrainBatch b;
    size_t i1 = i0;
    std::vector<int64_t> first;  // row of each sample's first response prediction
    while (i1 < ss.size()) {
      const int64_t n = int64_t(ss[i1]->prompt.size() + ss[i1]->response.size());
      if (i1 > i0 && b.size() + n > micro_tokens) break;
      std::vector<int32_t> seq = ss[i1]->prompt;
      seq.insert(seq.end(), ss[i1]->response.begin(), ss[i1]->response.end());
      first.push_back(b.size() + int64_t(ss[i1]->prompt.size()) - 1);
      b.add(seq, int64_t(ss[i1]->prompt.size()));
      ++i1;
    }
    t.clear();
    ForwardOptions fo;
    fo.temperature = temperature;
    const ForwardOut f = m.forward(t, b, fo);
    std::vector<float> g(size_t(b.size()), 0.f);
    for (size_t i = i0; i < i1; ++i) {
      const int64_t r0 = first[i - i0], L = int64_t(ss[i]->response.size());
      out[i].assign(t.val(f.logprobs) + r0, t.val(f.logprobs) + r0 + L);
      if (seed) std::copy((*seed)[i].begin(), (*seed)[i].end(), g.begin() + r0);
    }
    if (seed) t.backward(f.logprobs, g.data());
    i0 = i1;
  }
}

}  // namespace

void train_grpo(TrainModel& m, const Vocab& v, const GrpoOptions& g, const LoopOptions& o, ThreadPool& pool,
                const Metadata& provenance) {
  AdamW opt(m.params(), o.adam);
  int64_t start = 0;
  if (o.resume) {
    if (!std::filesystem::exists(o.checkpoint)) fail("--resume: no checkpoint at '%s'", o.checkpoint.c_str());
    if (g.beta > 0 && g.ref_reset > 0) fail("--resume with --beta and --ref-reset is not supported");
    const RunState s = load_checkpoint(m, opt, o.checkpoint);
    if (s.stage != "grpo" || s.options != o.options_json)
      fail("%s: a checkpoint of another run (%s %s); resuming needs the same options", o.checkpoint.c_str(), s.stage.c_str(),
           s.options.c_str());
    start = s.step;
  }
  std::unique_ptr<TrainModel> ref = g.beta > 0 ? m.clone() : nullptr;
  if (ref && o.resume) {  // the reference is the model the run started from
    LoadedModel init = load_train_model(nlohmann::json::parse(o.options_json).value("from", ""));
    ref = std::move(init.model);
  }
  const Tokenizer tok = Tokenizer::from_vocab(v);
  EncodeOptions eo;
  eo.parse_special = true;
  RunLog log("grpo", o.steps, o.log_csv,
             {"reward", "accuracy", "format", "mean_len", "mean_len_correct", "kl", "clip_frac", "groups_used", "loss",
              "lr", "grad_norm", "rollout_tok_s", "step_s"},
             o.resume, o.quiet);
  if (!o.quiet)
    std::fprintf(stderr, "grpo: %d prompts x %d samples per step, %d mini-batches, loss %s, eps %.2f/%.2f, beta %g, %lld steps\n",
                 g.prompts, g.group, g.minibatches, grpo_loss_name(g.loss), double(g.eps_low), double(g.eps_high),
                 double(g.beta), (long long)o.steps);
  Tape t(pool);
  auto save = [&](int64_t step) {
    if (!o.checkpoint.empty()) save_checkpoint(m, v, opt, {"grpo", step, o.steps, o.options_json}, o.checkpoint, provenance);
  };
  for (int64_t step = start; step < o.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    if (ref && g.ref_reset > 0 && step > 0 && step % g.ref_reset == 0) ref = m.clone();
    Rng rng(step_seed(o.seed, step, 0x6790ull));
    const int n_prompts = g.dynamic_sampling ? 2 * g.prompts : g.prompts;
    std::vector<Problem> problems;
    std::vector<RolloutRequest> reqs;
    for (int p = 0; p < n_prompts; ++p) {
      problems.push_back(training_problem(g.buckets[rng.next() % g.buckets.size()], rng));
      const std::vector<int32_t> prompt = tok.encode(chat_prompt(problems.back().text), eo);
      for (int k = 0; k < g.group; ++k) {
        reqs.push_back(plain_sampling(prompt, g.temperature, rng.next(), g.max_tokens));
      }
    }
    RolloutStats rs;
    const std::vector<RolloutResult> res = rollout(model_image(m, v, "policy"), reqs, m.n_ctx(), int(pool.size()),
                                                   int64_t(reqs.size()), &rs);
    // Rewards, advantages, and the groups that carry a signal.
    std::vector<Sample> samples(res.size());
    double reward = 0, acc = 0, fmt = 0, len = 0, len_ok = 0, n_ok = 0;
    std::vector<int> used;
    for (int p = 0; p < n_prompts; ++p) {
      std::vector<float> r;
      for (int k = 0; k < g.group; ++k) {
        const size_t i = size_t(p * g.group + k);
        Sample& s = samples[i];
        s.group = p;
        s.prompt = reqs[i].prompt;
        s.response = res[i].tokens;
        if (res[i].ended) s.response.push_back(v.eos_id);
        const Graded gr = grade(tok.decode(res[i].tokens), res[i].ended, problems[size_t(p)].answer());
        s.correct = gr.correct;
        s.format = gr.format;
        s.reward = float(gr.correct) + g.format_weight * float(gr.format);
        r.push_back(s.reward);
        if (p < g.prompts || !g.dynamic_sampling) {
          reward += s.reward;
          acc += s.correct;
          fmt += s.format;
          len += double(s.response.size());
          if (s.correct) len_ok += double(s.response.size()), ++n_ok;
        }
      }
      const auto a = group_advantages(r, g.loss);
      bool differs = false;
      for (int k = 0; k < g.group; ++k) {
        samples[size_t(p * g.group + k)].adv = a[size_t(k)];
        differs |= r[size_t(k)] != r[0];
      }
      if (differs && int(used.size()) < g.prompts) used.push_back(p);
    }
    const double n_shown = double(g.prompts) * g.group;
    // Mini-batches of whole groups; each is one optimizer step.
    double loss = 0, kl = 0, clip = 0, gnorm = 0;
    const float lr = scheduled_lr(o.adam, step, o.steps);
    const int mbs = std::max(1, std::min<int>(g.minibatches, int(used.size())));
    std::vector<std::vector<const Sample*>> mb(static_cast<size_t>(mbs));
    for (size_t u = 0; u < used.size(); ++u)
      for (int k = 0; k < g.group; ++k) mb[u % size_t(mbs)].push_back(&samples[size_t(used[u] * g.group + k)]);
    // Old log-probabilities: the policy that sampled, before this step's first update.
    std::vector<std::vector<std::vector<float>>> old(static_cast<size_t>(mbs)), refp(static_cast<size_t>(mbs));
    for (int b = 0; b < mbs && !used.empty(); ++b) {
      response_logprobs(m, t, mb[size_t(b)], o.micro_tokens, g.temperature, old[size_t(b)], nullptr);
      if (ref) response_logprobs(*ref, t, mb[size_t(b)], o.micro_tokens, g.temperature, refp[size_t(b)], nullptr);
    }
    for (int b = 0; b < mbs && !used.empty(); ++b) {
      auto& ss = mb[size_t(b)];
      std::vector<std::vector<float>> cur;
      std::vector<GrpoSeq> gs(ss.size());
      // The first mini-batch is on-policy: its current log-probabilities are the old ones.
      if (b == 0) cur = old[0];
      else response_logprobs(m, t, ss, o.micro_tokens, g.temperature, cur, nullptr);
      for (size_t i = 0; i < ss.size(); ++i) {
        gs[i].adv = ss[i]->adv;
        gs[i].logp = cur[i];
        gs[i].logp_old = old[size_t(b)][i];
        if (ref) gs[i].logp_ref = refp[size_t(b)][i];
      }
      const GrpoObjective obj = grpo_objective(gs, int(ss.size()) / g.group, g.group, g);
      std::vector<std::vector<float>> ignored;
      response_logprobs(m, t, ss, o.micro_tokens, g.temperature, ignored, &obj.dlogp);
      gnorm = opt.step(lr);
      m.params().zero_grad();
      m.after_step(o.bias_gamma);
      loss += obj.loss / mbs;
      kl += obj.kl / mbs;
      clip += obj.clip_frac / mbs;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.row(step + 1, {reward / n_shown, acc / n_shown, fmt / n_shown, len / n_shown, n_ok ? len_ok / n_ok : 0, kl, clip,
                       double(used.size()), loss, lr, gnorm, double(rs.tokens) / rs.seconds, secs});
    log.show(step + 1, {{"reward", strfmt("%.3f", reward / n_shown)},
                        {"acc", strfmt("%.3f", acc / n_shown)},
                        {"len", strfmt("%.0f", len / n_shown)},
                        {"kl", strfmt("%.4f", kl)},
                        {"groups", strfmt("%zu", used.size())},
                        {"rollout tok/s", strfmt("%.0f", double(rs.tokens) / rs.seconds)}});
    const bool stop = o.stop_after >= 0 && step + 1 - start >= o.stop_after;
    if ((o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0) || step + 1 == o.steps || stop) save(step + 1);
    if (stop) return;
  }
  if (!o.out.empty()) save_model(m, v, o.out, provenance);
  log.done("done");
}

}  // namespace frugal::train
