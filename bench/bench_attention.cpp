// Decode attention speed: one query position, one KV head group (GQA), over n_kv cached rows
// of each cache type, one thread. Shapes are R1-Distill-Qwen-1.5B's (6 query heads per KV
// head, head_dim 128, two KV heads interleaved in each cached row) and DeepSeek's MLA decode
// (16 heads over one 512+64 latent). "GB/s" counts the cache bytes one call reads (its K and V
// runs); "GFLOP/s" counts 2 * n_q * n_kv * (head_dim + head_dim_v). Calls rotate through
// copies of the cache that together exceed the last-level cache three times over, so every
// call reads DRAM, as decode at depth does (a layer's cache is read once per token).
//
//   bench_attention --benchmark_filter='qwen/F16/4096'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/quant.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

const size_t kMinFootprint = getenv("BENCH_HOT") ? 1 : size_t(96) << 20;

struct Shape {
  const char* name;
  int64_t n_q, head_dim, head_dim_v, row_heads;  // row_heads: KV heads sharing one cached row
  bool shared_kv;                                // MLA: values are the first head_dim_v of the key
};

void run(benchmark::State& st, Shape s, DType t, int64_t n_kv) {
  const int64_t k_cols = s.head_dim * s.row_heads, v_cols = s.head_dim_v * s.row_heads;
  const size_t kb = row_bytes(t, k_cols), vb = row_bytes(t, v_cols);
  const size_t one = (kb + vb) * size_t(n_kv), copies = (kMinFootprint + one - 1) / one;
  std::vector<uint8_t> k(kb * size_t(n_kv) * copies), v(vb * size_t(n_kv) * copies);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> row(size_t(std::max(k_cols, v_cols)));
  for (int64_t j = 0; j < n_kv; ++j) {
    for (auto& x : row) x = nd(rng);
    quantize_row(t, row.data(), k.data() + size_t(j) * kb, k_cols);
    quantize_row(t, row.data(), v.data() + size_t(j) * vb, v_cols);
  }
  for (size_t c = 1; c < copies; ++c) {
    std::copy_n(k.data(), kb * size_t(n_kv), k.data() + c * kb * size_t(n_kv));
    std::copy_n(v.data(), vb * size_t(n_kv), v.data() + c * vb * size_t(n_kv));
  }
  std::vector<float> q(size_t(s.n_q * s.head_dim)), out(size_t(s.n_q * s.head_dim_v)), scratch(size_t(s.n_q * n_kv));
  for (auto& x : q) x = nd(rng) * 0.1f;
  AttendArgs a;
  a.q = q.data();
  a.n_q = s.n_q;
  a.kv_type = t;
  a.k = k.data();
  a.k_stride = int64_t(kb);
  a.v = s.shared_kv ? k.data() : v.data();
  a.v_stride = s.shared_kv ? int64_t(kb) : int64_t(vb);
  a.n_kv = n_kv;
  a.head_dim = s.head_dim;
  a.head_dim_v = s.head_dim_v;
  a.scale = 0.088f;
  a.out = out.data();
  a.scratch = scratch.data();
  size_t c = 0;
  for (auto _ : st) {
    a.k = k.data() + c * kb * size_t(n_kv);
    a.v = s.shared_kv ? a.k : v.data() + c * vb * size_t(n_kv);
    c = (c + 1) % copies;
    attend(a);
    benchmark::DoNotOptimize(out.data());
  }
  const double calls = double(st.iterations());
  const double bytes = double(n_kv) * (double(row_bytes(t, s.head_dim)) + (s.shared_kv ? 0.0 : double(row_bytes(t, s.head_dim_v))));
  st.counters["GB/s"] = benchmark::Counter(calls * bytes / 1e9, benchmark::Counter::kIsRate);
  st.counters["GFLOP/s"] = benchmark::Counter(
      calls * 2.0 * double(s.n_q * n_kv * (s.head_dim + s.head_dim_v)) / 1e9, benchmark::Counter::kIsRate);
}

// The layout decode reads in the model (model/kv_cache.h): per (layer, KV head) an array of
// 16-position runs indexed by physical block. One call reads one head of one layer; calls
// rotate through the layers, as decode does, and the pool is far beyond the LLC. `shuffled`:
// the sequence's blocks in random order (a pool churned by many sequences and the prefix
// cache) instead of the order a fresh pool hands them out.
void run_paged(benchmark::State& st, DType t, int64_t n_kv, bool shuffled, int64_t n_tok = 1) {
  constexpr int64_t kLayers = 28, kHeads = 2, kNq = 6, kHd = 128, kBlock = 16;
  const size_t stride = row_bytes(t, kHd), run_bytes = stride * kBlock;
  const int64_t n_blocks = (n_kv + kBlock - 1) / kBlock;
  std::vector<uint8_t> k(run_bytes * size_t(n_blocks * kHeads * kLayers)), v(k.size());
  std::vector<int64_t> order(static_cast<size_t>(n_blocks));
  for (int64_t b = 0; b < n_blocks; ++b) order[size_t(b)] = b;
  if (shuffled) std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> row(kHd);
  for (size_t o = 0; o < k.size(); o += stride) {
    for (auto& x : row) x = nd(rng);
    quantize_row(t, row.data(), k.data() + o, kHd);
    quantize_row(t, row.data(), v.data() + o, kHd);
  }
  std::vector<float> q(size_t(n_tok * kNq * kHd)), out(q.size()), scratch(size_t(n_tok * kNq * n_kv));
  for (auto& x : q) x = nd(rng) * 0.1f;
  std::vector<const void*> kp(static_cast<size_t>(n_blocks)), vp(static_cast<size_t>(n_blocks));
  AttendArgs a;
  a.q = q.data();
  a.n_q = kNq;
  a.kv_type = t;
  a.k_stride = a.v_stride = int64_t(stride);
  a.k_pages = kp.data();
  a.v_pages = vp.data();
  a.page_shift = 4;
  a.n_kv = n_kv;
  a.head_dim = a.head_dim_v = kHd;
  a.scale = 0.088f;
  a.out = out.data();
  a.scratch = scratch.data();
  a.n_tok = n_tok;
  a.q_tok_stride = a.out_tok_stride = kNq * kHd;
  int64_t il = 0;
  for (auto _ : st) {
    st.PauseTiming();
    for (int64_t b = 0; b < n_blocks; ++b) {
      const size_t at = size_t(il * kHeads * n_blocks + order[size_t(b)]) * run_bytes;  // head 0 of layer il
      kp[size_t(b)] = k.data() + at;
      vp[size_t(b)] = v.data() + at;
    }
    il = (il + 1) % kLayers;
    st.ResumeTiming();
    attend(a);
    benchmark::DoNotOptimize(out.data());
  }
  const double calls = double(st.iterations());
  st.counters["GB/s"] = benchmark::Counter(calls * double(n_kv) * 2.0 * double(stride) / 1e9, benchmark::Counter::kIsRate);
  st.counters["GFLOP/s"] =
      benchmark::Counter(calls * 2.0 * double(n_tok * kNq * n_kv * 2 * kHd) / 1e9, benchmark::Counter::kIsRate);
  st.counters["positions/s"] = benchmark::Counter(calls * double(n_tok), benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const Shape shapes[] = {{"qwen", 6, 128, 128, 2, false}, {"qwen1", 6, 128, 128, 1, false}, {"mla", 16, 576, 512, 1, true}};
  for (const auto& s : shapes)
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0})
      for (int64_t n : {512, 4096, 16384})
        benchmark::RegisterBenchmark((std::string(s.name) + "/" + dtype_name(t) + "/" + std::to_string(n)).c_str(),
                                     [=](benchmark::State& st) { run(st, s, t, n); })
            ->Unit(benchmark::kMicrosecond);
  for (bool shuffled : {false, true})
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0})
      for (int64_t n : {4096, 16384})
        benchmark::RegisterBenchmark(
            (std::string(shuffled ? "shuffled/" : "paged/") + dtype_name(t) + "/" + std::to_string(n)).c_str(),
            [=](benchmark::State& st) { run_paged(st, t, n, shuffled); })
            ->Unit(benchmark::kMicrosecond);
  // Prefill at depth: runs of 16 consecutive positions over 4096 keys (GFLOP/s comparable with
  // paged/TYPE/4096, one position per call).
  for (DType t : {DType::F16, DType::Q8_0})
    benchmark::RegisterBenchmark((std::string("run16/") + dtype_name(t) + "/4096").c_str(),
                                 [=](benchmark::State& st) { run_paged(st, t, 4096, false, 16); })
        ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
