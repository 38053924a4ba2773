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
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/quant.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

constexpr size_t kMinFootprint = size_t(96) << 20;

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

}  // namespace

int main(int argc, char** argv) {
  const Shape shapes[] = {{"qwen", 6, 128, 128, 2, false}, {"qwen1", 6, 128, 128, 1, false}, {"mla", 16, 576, 512, 1, true}};
  for (const auto& s : shapes)
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0})
      for (int64_t n : {512, 4096, 16384})
        benchmark::RegisterBenchmark((std::string(s.name) + "/" + dtype_name(t) + "/" + std::to_string(n)).c_str(),
                                     [=](benchmark::State& st) { run(st, s, t, n); })
            ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
