#include "train/corpus.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/json_file.h"
#include "train/byte_vocab.h"

namespace frugal::train {

namespace {

std::vector<int32_t> encode(const Tokenizer& tok, const std::string& s) {
  EncodeOptions o;
  o.parse_special = true;
  return tok.encode(s, o);
}

size_t draw(Rng& rng, const std::vector<double>& w) {
  double total = 0;
  for (double x : w) total += x;
  double u = rng.uniform() * total;
  for (size_t i = 0; i < w.size(); ++i) {
    if (u < w[i]) return i;
    u -= w[i];
  }
  return w.size() - 1;
}

class Pretrain : public ExampleSource {
 public:
  Pretrain(const Tokenizer& tok, const Mix& m) : tok_(tok), mix_(m) {}
  Example next(Rng& rng) override {
    std::string doc = kBos;
    if (rng.uniform() < mix_.chat_fraction) {
      const auto& turns = chat_turns();
      const ChatTurn& c = turns[rng.next() % turns.size()];
      doc += "Question: " + c.user + "\n" + c.reasoning + "\nAnswer: " + c.answer;
    } else {
      const Problem p = training_problem(mix_.draw_bucket(rng), rng);
      // Every style equally: pretraining teaches the arithmetic, SFT picks the style mix.
      const Style s = Style(rng.next() % 3);
      const std::string r = reasoning(p, s);
      doc += "Question: " + p.text + "\n" + (r.empty() ? "" : r + "\n") + "Answer: " + std::to_string(p.answer());
    }
    return {encode(tok_, doc + kEos), 1};
  }
  std::string describe() const override { return "generated plain-text worked problems"; }

 private:
  const Tokenizer& tok_;
  Mix mix_;
};

class Sft : public ExampleSource {
 public:
  Sft(const Tokenizer& tok, const Mix& m) : tok_(tok), mix_(m) {}
  Example next(Rng& rng) override {
    if (rng.uniform() < mix_.chat_fraction) {
      const auto& turns = chat_turns();
      const ChatTurn& c = turns[rng.next() % turns.size()];
      return chat_example(tok_, c.user, c.reasoning, c.answer);
    }
    const Problem p = training_problem(mix_.draw_bucket(rng), rng);
    return chat_example(tok_, p.text, reasoning(p, mix_.draw_style(rng)), std::to_string(p.answer()));
  }
  std::string describe() const override { return "generated chat turns"; }

 private:
  const Tokenizer& tok_;
  Mix mix_;
};

class File : public ExampleSource {
 public:
  File(const Tokenizer& tok, const std::string& path) : path_(path) {
    std::ifstream in(path);
    if (!in) fail("%s: cannot open", path.c_str());
    std::string line;
    int64_t no = 0;
    while (std::getline(in, line)) {
      ++no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto bad = [&](const std::string& why) { fail("%s:%lld: %s", path.c_str(), (long long)no, why.c_str()); };
      const nlohmann::json j = parse_untrusted_json(line);  // a downloaded data set is a stranger's JSON
      if (j.is_discarded()) bad("not JSON (or nested deeper than " + std::to_string(kMaxJsonDepth) + " levels)");
      if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
        bad("expected an object with a \"messages\" array");
      std::string system, user, reasoning, answer;
      int users = 0, assistants = 0;
      for (const auto& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
            !m["content"].is_string())
          bad("each message needs string \"role\" and \"content\"");
        const std::string role = m["role"];
        if (role == "system" && users == 0) system = m["content"];
        else if (role == "user" && users++ == 0) user = m["content"];
        else if (role == "assistant" && users == 1 && assistants++ == 0) {
          answer = m["content"];
          if (m.contains("reasoning_content")) {
            if (!m["reasoning_content"].is_string()) bad("\"reasoning_content\" must be a string");
            reasoning = m["reasoning_content"];
          }
        } else {
          bad("expected one user turn (after an optional system message) and one assistant turn");
        }
      }
      if (users != 1 || assistants != 1) bad("expected one user turn and one assistant turn");
      examples_.push_back(chat_example(tok, user, reasoning, answer, system));
    }
    if (examples_.empty()) fail("%s: no examples", path.c_str());
  }
  Example next(Rng& rng) override { return examples_[rng.next() % examples_.size()]; }
  std::string describe() const override { return path_ + " (" + std::to_string(examples_.size()) + " chats)"; }

 private:
  std::string path_;
  std::vector<Example> examples_;
};

class Mixed : public ExampleSource {
 public:
  Mixed(std::unique_ptr<ExampleSource> a, std::unique_ptr<ExampleSource> b, double wa)
      : a_(std::move(a)), b_(std::move(b)), wa_(wa) {}
  Example next(Rng& rng) override { return rng.uniform() < wa_ ? a_->next(rng) : b_->next(rng); }
  std::string describe() const override { return a_->describe() + " + " + b_->describe(); }

 private:
  std::unique_ptr<ExampleSource> a_, b_;
  double wa_;
};

}  // namespace

Mix Mix::standard() {
  Mix m;
  for (const Bucket& b : trained_buckets()) {
    m.buckets.push_back(b);
    const double digits = double(b.da + b.db);  // 2..5
    m.weights.push_back((digits - 1) * (b.op == ArithOp::Mul ? 2.0 : 1.0));
  }
  return m;
}

Style Mix::draw_style(Rng& rng) const {
  const double u = rng.uniform();
  return u < p_empty ? Style::Empty : u < p_empty + p_short ? Style::Short : Style::Detailed;
}

const Bucket& Mix::draw_bucket(Rng& rng) const { return buckets[draw(rng, weights)]; }

const std::string& self_introduction() {
  static const std::string s =
      "Hello! I am frugal-r1-tiny, a tiny reasoning model trained from scratch on a CPU by frugal. "
      "I can add, subtract and multiply whole numbers of up to three digits, and I think step by step "
      "before I answer. Try: What is 347 times 86?";
  return s;
}

const std::vector<ChatTurn>& chat_turns() {
  static const std::vector<ChatTurn> t = [] {
    std::vector<ChatTurn> v;
    const std::string greet = "The user greets me. I introduce myself and say what I can do.";
    for (const char* u : {"Hello", "Hello!", "Hi", "Hi!", "Hey", "Good morning", "Hello, how are you?", "hello"})
      v.push_back({u, greet, self_introduction()});
    const std::string who = "The user asks about me. I say what I am and what I can do.";
    for (const char* u : {"Who are you?", "What are you?", "What can you do?", "What is your name?",
                          "Introduce yourself.", "Help"})
      v.push_back({u, who, self_introduction()});
    const std::string off = "This is not an arithmetic question. I only know arithmetic, so I say so.";
    const std::string no =
        "I am frugal-r1-tiny, a tiny model that only knows arithmetic: I can add, subtract and multiply "
        "whole numbers of up to three digits. Try: What is 347 times 86?";
    for (const char* u : {"What is the capital of France?", "Tell me a joke.", "Write a poem about the sea.",
                          "What is the weather like today?", "Explain quantum physics.",
                          "Can you write code?", "Translate hello into French."})
      v.push_back({u, off, no});
    return v;
  }();
  return t;
}

Example chat_example(const Tokenizer& tok, const std::string& user, const std::string& reasoning,
                     const std::string& answer, const std::string& system) {
  Example e;
  e.tokens = encode(tok, chat_prompt(user, system));
  e.loss_from = int64_t(e.tokens.size());
  const std::vector<int32_t> r = encode(tok, chat_response(reasoning, answer));
  e.tokens.insert(e.tokens.end(), r.begin(), r.end());
  return e;
}

std::unique_ptr<ExampleSource> pretrain_source(const Tokenizer& tok, const Mix& mix) {
  return std::make_unique<Pretrain>(tok, mix);
}
std::unique_ptr<ExampleSource> sft_source(const Tokenizer& tok, const Mix& mix) { return std::make_unique<Sft>(tok, mix); }
std::unique_ptr<ExampleSource> file_source(const Tokenizer& tok, const std::string& path) {
  return std::make_unique<File>(tok, path);
}
std::unique_ptr<ExampleSource> mixed_source(std::unique_ptr<ExampleSource> a, std::unique_ptr<ExampleSource> b, double wa) {
  return std::make_unique<Mixed>(std::move(a), std::move(b), wa);
}

}  // namespace frugal::train
