// What each stage trains on, as token sequences with the position where the loss starts.
//   pretrain: plain-text worked problems in every reasoning style ("Question: ... Answer: N"),
//             loss on every token;
//   sft:      chat-formatted turns (the model's own template), loss on the response only,
//             with a chosen mix of reasoning styles and the self-introduction turns;
//   files:    JSONL chats ({"messages": [{"role": "user", ...}, {"role": "assistant",
//             "content", "reasoning_content"}]}) such as rejection sampling writes.
// A source draws examples from an Rng, so a step's batch is a function of (seed, step) and a
// resumed run sees exactly the batches it would have seen.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "tokenizer/tokenizer.h"
#include "train/arith.h"

namespace frugal::train {

struct Example {
  std::vector<int32_t> tokens;
  int64_t loss_from = 0;  // first token whose prediction counts
};

struct Mix {
  std::vector<Bucket> buckets;
  std::vector<double> weights;             // per bucket
  double p_empty = 0.4, p_short = 0.35;    // detailed = the rest
  double chat_fraction = 0.03;             // self-introduction turns
  // Buckets with weights: every trained bucket, harder ones (more digits, multiplication) drawn
  // more often.
  static Mix standard();
  Style draw_style(Rng& rng) const;
  const Bucket& draw_bucket(Rng& rng) const;
};

// The fixed conversation turns: greetings, questions about the model, off-topic requests,
// each with a short reasoning and its answer.
struct ChatTurn {
  std::string user, reasoning, answer;
};
const std::vector<ChatTurn>& chat_turns();
// The self-introduction the greetings get.
const std::string& self_introduction();

class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual Example next(Rng& rng) = 0;
  virtual std::string describe() const = 0;
};

std::unique_ptr<ExampleSource> pretrain_source(const Tokenizer& tok, const Mix& mix);
std::unique_ptr<ExampleSource> sft_source(const Tokenizer& tok, const Mix& mix);
// Chats from a JSONL file, drawn uniformly; throws Error naming the file and line for a
// malformed line, an empty file, or a chat that is not one user turn (optionally after a
// system message) and one assistant turn.
std::unique_ptr<ExampleSource> file_source(const Tokenizer& tok, const std::string& path);
// Draws from a (weight a) or b (weight 1 - a).
std::unique_ptr<ExampleSource> mixed_source(std::unique_ptr<ExampleSource> a, std::unique_ptr<ExampleSource> b, double wa);

// One chat example: the template's prompt for `user`, the response with its reasoning.
Example chat_example(const Tokenizer& tok, const std::string& user, const std::string& reasoning,
                     const std::string& answer, const std::string& system = "");

}  // namespace frugal::train
