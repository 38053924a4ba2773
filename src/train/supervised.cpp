#include "train/supervised.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "train/run_log.h"

namespace frugal::train {

uint64_t step_seed(uint64_t seed, int64_t step, uint64_t salt) {
  return (seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t(step) * 0xD1B54A32D192ED03ull) ^ (salt * 0x8CB92BA72F3D8DD7ull);
}

std::vector<Example> draw_batch(ExampleSource& src, Rng& rng, int64_t tokens, int64_t max_len) {
  std::vector<Example> out;
  int64_t n = 0;
  while (n < tokens || out.empty()) {
    Example e = src.next(rng);
    if (int64_t(e.tokens.size()) > max_len) e.tokens.resize(size_t(max_len));
    if (e.loss_from >= int64_t(e.tokens.size())) continue;  // nothing left to learn from
    n += int64_t(e.tokens.size());
    out.push_back(std::move(e));
  }
  return out;
}

LoopResult train_supervised(TrainModel& m, const Vocab& v, ExampleSource& src, const LoopOptions& o, ThreadPool& pool,
                            const Metadata& provenance) {
  AdamW opt(m.params(), o.adam);
  int64_t start = 0;
  if (o.resume) {
    if (o.checkpoint.empty() || !std::filesystem::exists(o.checkpoint))
      fail("--resume: no checkpoint at '%s'", o.checkpoint.c_str());
    const RunState s = load_checkpoint(m, opt, o.checkpoint);
    if (s.stage != o.stage) fail("%s: a checkpoint of stage '%s', not '%s'", o.checkpoint.c_str(), s.stage.c_str(), o.stage.c_str());
    if (s.options != o.options_json)
      fail("%s: made with other options (%s); resuming needs the same ones (%s)", o.checkpoint.c_str(),
           s.options.c_str(), o.options_json.c_str());
    start = s.step;
    if (!o.quiet) std::fprintf(stderr, "resuming %s from step %lld of %lld\n", o.stage.c_str(), (long long)start, (long long)o.steps);
  }
  const bool mtp = m.has_mtp() && o.mtp_lambda > 0;
  RunLog log(o.stage, o.steps, o.log_csv, {"loss", "mtp_loss", "aux_loss", "token_acc", "lr", "grad_norm", "tokens", "tok_s", "gflops"},
             o.resume, o.quiet);
  Tape t(pool);
  LoopResult res;
  const int64_t V = m.n_vocab();
  auto save = [&](int64_t step) {
    if (o.checkpoint.empty()) return;
    save_checkpoint(m, v, opt, {o.stage, step, o.steps, o.options_json}, o.checkpoint, provenance);
  };
  for (int64_t step = start; step < o.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng(step_seed(o.seed, step));
    std::vector<Example> ex = draw_batch(src, rng, o.batch_tokens, m.n_ctx());
    int64_t n_tgt = 0, n_tgt2 = 0, n_tok = 0;
    for (const Example& e : ex) {
      const int64_t L = int64_t(e.tokens.size());
      n_tgt += L - std::max<int64_t>(1, e.loss_from);
      n_tgt2 += std::max<int64_t>(0, L - std::max<int64_t>(2, e.loss_from));
      n_tok += L;
    }
    double loss = 0, mtp_loss = 0, aux = 0, correct = 0, span = 0;
    for (size_t i0 = 0; i0 < ex.size();) {
      TrainBatch b;
      size_t i1 = i0;
      while (i1 < ex.size() && (i1 == i0 || b.size() + int64_t(ex[i1].tokens.size()) <= o.micro_tokens)) {
        b.add(ex[i1].tokens, ex[i1].loss_from);
        span += double(ex[i1].tokens.size()) * double(ex[i1].tokens.size()) / 2;
        ++i1;
      }
      i0 = i1;
      t.clear();
      ForwardOptions fo;
      fo.mtp = mtp;
      fo.balance_alpha = o.balance_alpha / float(ex.size());
      fo.count_load = true;
      fo.keep_logits = true;
      const ForwardOut f = m.forward(t, b, fo);
      auto w = std::make_shared<std::vector<float>>(size_t(b.size()), 0.f);
      for (int64_t r = 0; r < b.size(); ++r)
        if (b.targets[size_t(r)] >= 0) (*w)[size_t(r)] = -1.f / float(n_tgt);
      Id total = weighted_sum(t, f.logprobs, w);
      loss += t.val(total)[0];
      if (f.mtp_logprobs >= 0 && n_tgt2 > 0) {
        auto w2 = std::make_shared<std::vector<float>>(size_t(b.size()), 0.f);
        for (int64_t r = 0; r < b.size(); ++r)
          if (b.targets2[size_t(r)] >= 0) (*w2)[size_t(r)] = -o.mtp_lambda / float(n_tgt2);
        const Id ml = weighted_sum(t, f.mtp_logprobs, w2);
        mtp_loss += t.val(ml)[0] / o.mtp_lambda;
        total = add(t, total, ml);
      }
      if (f.aux >= 0) {
        aux += t.val(f.aux)[0];
        total = add(t, total, f.aux);
      }
      for (int64_t r = 0; r < b.size(); ++r) {
        const int32_t tg = b.targets[size_t(r)];
        if (tg < 0) continue;
        const float* l = t.val(f.logits) + r * V;
        correct += (std::max_element(l, l + V) - l) == tg;
      }
      t.backward(total);
    }
    const float lr = scheduled_lr(o.adam, step, o.steps);
    const double gnorm = opt.step(lr);
    m.params().zero_grad();
    m.after_step(o.bias_gamma);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tok_s = double(n_tok) / secs;
    // A token attends to L/2 earlier ones on average: the mean span is sum(L²/2) / tokens.
    const double step_flops = 3 * double(n_tok) * m.forward_flops(span / double(n_tok));
    const double flops = step_flops / secs / 1e9;
    res.last_loss = loss, res.tokens_per_s = tok_s, res.gflops = flops, res.steps_done = step + 1 - start;
    res.tokens_total += n_tok, res.flops_total += step_flops, res.seconds_total += secs;
    log.row(step + 1, {loss, mtp_loss, aux, correct / double(n_tgt), lr, gnorm, double(n_tok), tok_s, flops});
    std::vector<std::pair<std::string, std::string>> fields = {{"loss", strfmt("%.4f", loss)},
                                                               {"acc", strfmt("%.3f", correct / double(n_tgt))}};
    if (mtp) fields.push_back({"mtp", strfmt("%.3f", mtp_loss)});
    fields.push_back({"lr", strfmt("%.1e", lr)});
    fields.push_back({"tok/s", strfmt("%.0f", tok_s)});
    fields.push_back({"GFLOP/s", strfmt("%.1f", flops)});
    log.show(step + 1, fields);
    const bool stop = o.stop_after >= 0 && step + 1 - start >= o.stop_after;
    if ((o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0) || step + 1 == o.steps || stop) save(step + 1);
    if (stop) break;
  }
  if (!o.out.empty() && start + res.steps_done >= o.steps) save_model(m, v, o.out, provenance);
  log.done(strfmt("loss %.4f, %.0f tokens/s", res.last_loss, res.tokens_per_s));
  return res;
}

}  // namespace frugal::train
