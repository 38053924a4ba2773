#include "train/traces.h"

#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tmp_file.h"
#include "model/vocab_gguf.h"
#include "train/byte_vocab.h"
#include "train/rewards.h"
#include "train/rollout.h"

namespace frugal::train {

TraceStats sample_traces(const std::string& model_path, const Mix& mix, const SampleOptions& o,
                         const std::string& out_jsonl, bool quiet) {
  std::shared_ptr<GgufFile> image(GgufFile::open(model_path));
  const Tokenizer tok = Tokenizer::from_vocab(vocab_from_gguf(*image));
  const int64_t n_ctx = image->get_int(image->architecture() + ".context_length").value_or(1024);
  Rng rng(o.seed ^ 0x7ace5ull);
  std::vector<Problem> problems;
  std::vector<RolloutRequest> reqs;
  EncodeOptions eo;
  eo.parse_special = true;
  for (int64_t i = 0; i < o.problems; ++i) {
    problems.push_back(training_problem(mix.draw_bucket(rng), rng));
    for (int s = 0; s < o.samples; ++s) {
      reqs.push_back(plain_sampling(tok.encode(chat_prompt(problems.back().text), eo), o.temperature, rng.next(),
                                    o.max_tokens));
    }
  }
  RolloutStats rs;
  if (!quiet)
    std::fprintf(stderr, "sampling %zu traces (%lld problems x %d) from %s\n", reqs.size(), (long long)o.problems,
                 o.samples, model_path.c_str());
  const std::vector<RolloutResult> res = rollout(image, reqs, n_ctx, o.threads, 256, &rs);
  if (!quiet) std::fprintf(stderr, "sampled %lld tokens in %.1f s (%.0f tokens/s)\n", (long long)rs.tokens, rs.seconds, double(rs.tokens) / rs.seconds);
  TraceStats st;
  std::string out;
  for (size_t i = 0; i < res.size(); ++i) {
    ++st.sampled;
    const Problem& p = problems[i / size_t(o.samples)];
    const Graded g = grade(tok.decode(res[i].tokens), res[i].ended, p.answer());
    if (!g.correct || !g.format) continue;
    ++st.kept;
    nlohmann::ordered_json j = {{"messages",
                                 {{{"role", "user"}, {"content", p.text}},
                                  {{"role", "assistant"}, {"content", g.answer}, {"reasoning_content", g.reasoning}}}}};
    out += j.dump() + "\n";
  }
  if (st.kept == 0) fail("%s: no correct trace among %lld samples: nothing to train on", model_path.c_str(), (long long)st.sampled);
  write_file_atomically(out_jsonl, out);
  return st;
}

}  // namespace frugal::train
