#include "train/eval.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "model/vocab_gguf.h"
#include "runtime/generator.h"
#include "train/byte_vocab.h"
#include "train/rewards.h"
#include "train/rollout.h"

namespace frugal::train {

double pass_at_k(int n, int c, int k) {
  if (k > n || k <= 0) fail("pass@%d needs at least %d samples per problem (have %d)", k, k, n);
  if (n - c < k) return 1.0;
  // C(n-c, k) / C(n, k) as a product, which stays in range for any n.
  double q = 1.0;
  for (int i = 0; i < k; ++i) q *= double(n - c - i) / double(n - i);
  return 1.0 - q;
}

void wilson95(int64_t k, int64_t n, double* lo, double* hi) {
  if (n <= 0) {
    *lo = 0;
    *hi = 1;
    return;
  }
  const double z = 1.959963984540054, p = double(k) / double(n), z2n = z * z / double(n);
  const double centre = (p + z2n / 2) / (1 + z2n);
  const double half = z * std::sqrt(p * (1 - p) / double(n) + z2n / (4 * double(n))) / (1 + z2n);
  *lo = std::max(0.0, centre - half);
  *hi = std::min(1.0, centre + half);
}

std::vector<BucketEval> evaluate(const std::string& model_path, const EvalOptions& o, bool quiet) {
  std::shared_ptr<GgufFile> image(GgufFile::open(model_path));
  const Tokenizer tok = Tokenizer::from_vocab(vocab_from_gguf(*image));
  EncodeOptions enc;
  enc.parse_special = true;
  const std::vector<int32_t> end_think = tok.encode(kEndThink, enc);
  if (end_think.size() != 1 || !tok.is_special(end_think[0]))
    fail("%s: its vocabulary has no %s token: not a model frugal train made, so it cannot be graded here", model_path.c_str(), kEndThink);
  const int64_t n_ctx = image->get_int(image->architecture() + ".context_length").value_or(1024);
  const std::vector<Bucket> buckets = buckets_or_all(o.buckets);
  for (int k : o.ks)
    if (o.pass_problems > 0 && (k <= 0 || k > o.samples)) fail("pass@%d needs --samples >= %d", k, k);
  std::vector<BucketEval> out;
  for (const Bucket& bk : buckets) {
    BucketEval e;
    e.bucket = bk.name();
    e.held_out = bk.held_out();
    // The greedy problems and the pass@k problems are the first n and the first pass_problems
    // of one list, so the two counts are independent (pass@k on 100 problems with -n 1 works).
    const std::vector<Problem> all = eval_problems(bk, std::max(o.n, o.pass_problems), o.seed);
    const std::vector<Problem> probs(all.begin(), all.begin() + std::min<int64_t>(o.n, int64_t(all.size())));
    const int64_t np = std::min<int64_t>(o.pass_problems, int64_t(all.size()));
    std::vector<RolloutRequest> reqs;
    Rng rng(o.seed ^ std::hash<std::string>{}(e.bucket));
    for (const Problem& p : probs) reqs.push_back(plain_sampling(tok.encode(chat_prompt(p.text), enc), 0, 0, o.max_tokens));
    for (int64_t i = 0; i < np; ++i) {
      const std::vector<int32_t> prompt = tok.encode(chat_prompt(all[size_t(i)].text), enc);
      for (int s = 0; s < o.samples; ++s) reqs.push_back(plain_sampling(prompt, o.temperature, rng.next(), o.max_tokens));
    }
    RolloutStats rs;
    const std::vector<RolloutResult> res = rollout(image, reqs, n_ctx, o.threads, 256, &rs);
    double len = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
      const Graded g = grade(tok.decode(res[i].tokens), res[i].ended, probs[i].answer());
      e.correct += g.correct;
      e.formatted += g.format;
      len += double(res[i].tokens.size());
    }
    e.n = int64_t(probs.size());
    e.accuracy = e.n ? double(e.correct) / double(e.n) : 0;
    e.mean_len = e.n ? len / double(e.n) : 0;
    wilson95(e.correct, e.n, &e.ci_lo, &e.ci_hi);
    e.pass_n = np;
    if (np > 0) {
      std::vector<int> c(size_t(np), 0);
      for (int64_t i = 0; i < np; ++i)
        for (int s = 0; s < o.samples; ++s) {
          const size_t j = probs.size() + size_t(i * o.samples + s);
          c[size_t(i)] += grade(tok.decode(res[j].tokens), res[j].ended, all[size_t(i)].answer()).correct;
        }
      for (int k : o.ks) {
        double sum = 0, sum2 = 0;
        for (int ci : c) {
          const double v = pass_at_k(o.samples, ci, k);
          sum += v;
          sum2 += v * v;
        }
        const double mean = sum / double(np), var = std::max(0.0, sum2 / double(np) - mean * mean);
        e.pass_at_k.push_back(mean);
        e.pass_se.push_back(np > 1 ? std::sqrt(var / double(np - 1)) : 0);
      }
    }
    if (!quiet)
      std::fprintf(stderr, "eval %-8s %5lld problems  acc %.3f  (%lld tokens, %.0f tok/s)\n", e.bucket.c_str(),
                   (long long)e.n, e.accuracy, (long long)rs.tokens, double(rs.tokens) / std::max(1e-9, rs.seconds));
    out.push_back(std::move(e));
  }
  return out;
}

MtpEval evaluate_mtp(const std::string& model_path, const std::vector<Problem>& problems, int64_t max_tokens, int threads) {
  std::shared_ptr<GgufFile> image(GgufFile::open(model_path));
  std::unique_ptr<Model> model = load_model(image);
  if (!model->has_mtp()) fail("%s has no MTP module", model_path.c_str());
  const Tokenizer tok = Tokenizer::from_vocab(vocab_from_gguf(*image));
  EncodeOptions enc;
  enc.parse_special = true;
  ThreadPool pool(threads);
  SamplerParams greedy;
  greedy.temperature = 0;
  MtpEval out;
  for (const Problem& p : problems) {
    const std::vector<int32_t> prompt = tok.encode(chat_prompt(p.text), enc);
    const int64_t n_ctx = int64_t(prompt.size()) + max_tokens + 2;
    std::vector<int32_t> got[2];
    for (int use = 0; use < 2; ++use) {
      Generator g(*model, n_ctx, greedy, pool, use == 1);
      std::vector<int32_t>& o = got[use];
      o.push_back(g.start(prompt, 512));
      const auto t0 = std::chrono::steady_clock::now();
      while (int64_t(o.size()) < max_tokens && !tok.is_end_of_generation(o.back()) && g.room() >= 2) g.next(o);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // The draft may confirm one token past the end; what counts is up to the end token.
      for (size_t i = 0; i < o.size(); ++i)
        if (tok.is_end_of_generation(o[i])) o.resize(i + 1);
      if (int64_t(o.size()) > max_tokens) o.resize(size_t(max_tokens));
      (use ? out.mtp_s : out.plain_s) += s;
      if (use) {
        out.drafted += g.stats().drafted;
        out.accepted += g.stats().accepted;
      } else {
        out.tokens += int64_t(o.size());
      }
    }
    out.identical += got[0] == got[1];
    ++out.problems;
  }
  return out;
}

}  // namespace frugal::train
