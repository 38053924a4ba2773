// The ops of the tape, each a forward that records its output and a hand-written backward.
// Matrices are [rows, cols] row-major; a batch is many sequences packed one after another
// (`Segments`), so attention is causal within each sequence and never across.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "train/tape.h"

namespace frugal::train {

// Sequence i of a packed batch is rows [start[i], start[i + 1]); start.back() is the total.
struct Segments {
  std::vector<int64_t> start{0};
  int64_t n_seq() const { return int64_t(start.size()) - 1; }
  int64_t n_tok() const { return start.back(); }
  int64_t max_len() const;
  void add(int64_t len) { start.push_back(start.back() + len); }
};

// cos/sin of every token's position, [T, n_rot/2] each (inv_freq[i] = theta^(-2i/n_rot)).
struct RopeTable {
  int64_t half = 0;
  std::vector<float> cos, sin;
};
RopeTable make_rope_table(const std::vector<int32_t>& pos, int64_t n_rot, double theta);

// y = x · Wᵀ: x [T, in], w [out, in] -> [T, out].
Id linear(Tape& t, Id x, Id w);
// Flops (2·M·N·K) and wall seconds of every linear() matmul so far, forward and backward:
// what `frugal bench --train` divides by the FMA peak. Linear ops run on the calling thread
// (each sgemm uses the whole pool), so the seconds add up to wall time.
struct MatmulTotals {
  double flops = 0, seconds = 0;
};
MatmulTotals linear_totals();
// a + b, same shape.
Id add(Tape& t, Id a, Id b);
// x + b (b [1, cols] broadcast over rows).
Id add_bias(Tape& t, Id x, Id b);
// x * s.
Id scale(Tape& t, Id x, float s);
// Row-wise RMSNorm: x / rms(x) * w, w [1, cols].
Id rms_norm(Tape& t, Id x, Id w, float eps);
// silu(g) * u, same shape.
Id swiglu(Tape& t, Id g, Id u);
// Element-wise logistic sigmoid.
Id sigmoid(Tape& t, Id x);
// [a | b] along columns (same rows).
Id concat_cols(Tape& t, Id a, Id b);
// out[:, j] = x[:, idx[j]]; an index may repeat (its gradient is summed).
Id gather_cols(Tape& t, Id x, std::shared_ptr<const std::vector<int32_t>> idx);
// out[i] = x[rows[i]]; a row may repeat.
Id gather_rows(Tape& t, Id x, std::shared_ptr<const std::vector<int32_t>> rows);
// Rows of the embedding table: table [V, E], ids [T] -> [T, E].
Id embed(Tape& t, Id table, std::shared_ptr<const std::vector<int32_t>> ids);
// Rotates dims [off, off + n_rot) of each of the n_head heads of width head_dim in every row
// (row r at position table row r). neox: pairs (i, i + n_rot/2); else adjacent pairs (2i, 2i+1).
Id rope(Tape& t, Id x, int64_t n_head, int64_t head_dim, int64_t off, int64_t n_rot,
        std::shared_ptr<const RopeTable> table, bool neox);
// Causal softmax attention within each segment. q [T, H*dk], k [T, Hk*dk], v [T, Hk*dv]
// (query head h reads key/value head h / (H/Hk)) -> [T, H*dv]. Backward recomputes the
// probabilities from the saved log-sum-exp (no T² matrix is kept).
Id attention(Tape& t, Id q, Id k, Id v, int64_t n_head, int64_t n_head_kv, int64_t dk, int64_t dv,
             std::shared_ptr<const Segments> seg, float scale);
// log softmax(logits[r])[target[r]] per row -> [T, 1]; rows with target < 0 give 0.
Id token_logprobs(Tape& t, Id logits, std::shared_ptr<const std::vector<int32_t>> targets);
// sum_r w[r] * x[r] -> [1, 1] (x [T, 1]).
Id weighted_sum(Tape& t, Id x, std::shared_ptr<const std::vector<float>> w);

// DeepSeekMoE. moe_gate: scores [T, N] (after the sigmoid) and the selected experts ids
// [T * k] -> routing weights [T, k] = score of the selected expert, normalized over the k
// selected when `norm`, times `scale` (the selection bias chose the ids but never weights).
Id moe_gate(Tape& t, Id scores, std::shared_ptr<const std::vector<int32_t>> ids, int64_t k, bool norm, float scale);
// out[tok] = base[tok] + sum over (expert e, row i) routed to tok of weight * y_e[i].
// rows_of[e] lists, for each row of y_e, the flat route index tok * k + slot (y_e null when
// expert e got no tokens). base may be -1 (zeros).
Id moe_combine(Tape& t, Id base, const std::vector<Id>& y, std::shared_ptr<const std::vector<std::vector<int32_t>>> rows_of,
               Id weights, int64_t k);
// DeepSeek-V3's sequence-wise balance loss: alpha * sum_i f_i * P_i per sequence (summed over
// sequences), f_i = N / (k L) * #tokens choosing i, P_i = mean over the sequence of
// s_i / sum_j s_j. Gradient flows into the scores.
Id balance_loss(Tape& t, Id scores, std::shared_ptr<const std::vector<int32_t>> ids, int64_t k,
                std::shared_ptr<const Segments> seg, float alpha);

}  // namespace frugal::train
