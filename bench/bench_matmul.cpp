// matmul() speed per weight type and ISA, on Qwen2-1.5B's FFN shapes (8960 x 1536 up/gate,
// 1536 x 8960 down). GEMV (n_tok 1) is memory-bound: read "GB/s" (weight bytes per second)
// against the machine's read bandwidth (~19 GB/s with 2 threads here; "roof" is the fraction
// of that). GEMM (n_tok 128, 512) is compute-bound: read "GFLOP/s" (2 * rows * cols * n_tok).
// On a shared machine compare the *_min aggregates of --benchmark_repetitions=N runs.
//
//   bench_matmul --benchmark_filter='gemv/Q4_K'   (threads via FRUGAL_BENCH_THREADS, default 2)
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

constexpr double kRoofGBs = 19.0;  // 2-thread read bandwidth of the reference machine

ThreadPool& pool() {
  static ThreadPool p([] {
    const char* e = std::getenv("FRUGAL_BENCH_THREADS");
    return e ? std::atoi(e) : 2;
  }());
  return p;
}

// Weights of one type and shape: 16 distinct quantized rows, repeated (speed does not depend
// on the values, and quantizing 14M weights with the K-quant search would take seconds). The
// buffer holds enough copies of the matrix to exceed the 32 MB L3 three times over, and
// iterations rotate through them, so GEMV reads DRAM as it does in a real forward pass.
constexpr size_t kMinFootprint = size_t(96) << 20;

const std::vector<uint8_t>& weights(DType t, int64_t rows, int64_t cols) {
  static std::map<std::string, std::vector<uint8_t>> cache;
  std::string key = std::string(dtype_name(t)) + std::to_string(rows) + "x" + std::to_string(cols);
  auto& w = cache[key];
  if (!w.empty()) return w;
  size_t rb = row_bytes(t, cols);
  std::vector<uint8_t> seed_rows(rb * 16);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int i = 0; i < 16; ++i) {
    for (auto& v : row) v = nd(rng);
    quantize_row(t, row.data(), seed_rows.data() + size_t(i) * rb, cols);
  }
  size_t one = rb * size_t(rows), copies = (kMinFootprint + one - 1) / one;
  w.resize(one * copies);
  for (int64_t r = 0; r < rows * int64_t(copies); ++r)
    std::copy_n(seed_rows.data() + size_t(r % 16) * rb, rb, w.data() + size_t(r) * rb);
  return w;
}

void run(benchmark::State& st, DType t, Isa isa, int64_t rows, int64_t cols, int64_t n_tok) {
  if (int(isa) > int(detected_isa())) {
    st.SkipWithError("ISA not available");
    return;
  }
  const auto& w = weights(t, rows, cols);
  const size_t one = row_bytes(t, cols) * size_t(rows), copies = w.size() / one;
  std::vector<float> x(size_t(cols * n_tok)), y(size_t(rows * n_tok));
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& v : x) v = nd(rng);
  set_isa(isa);
  size_t it = 0;
  for (auto _ : st) {
    WeightView view{t, rows, cols, w.data() + (it++ % copies) * one};
    matmul(view, x.data(), cols, n_tok, y.data(), rows, pool());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  double bytes = double(one), flops = 2.0 * double(rows) * double(cols) * double(n_tok);
  st.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["roof"] =
      benchmark::Counter(bytes * 1e-9 / kRoofGBs, benchmark::Counter::kIsIterationInvariantRate);
  set_isa(detected_isa());
}

// With other jobs on a 2-core machine the fastest repetition is the meaningful one.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// The compute roof of the integer GEMMs: every pool thread runs independent vpdpbusd chains
// (12 accumulators, more than latency x ports) on registers. One 512-bit vpdpbusd is 64 u8 x s8
// multiply-adds, counted as 128 ops, so "GOP/s" compares directly with the GEMMs' GFLOP/s
// (2 * rows * cols * n_tok: the kernels' work in vpdpbusd lanes).
__attribute__((target("avx512f,avx512vnni"), noinline)) int64_t dpbusd_loop(int64_t iters) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i u = _mm512_set1_epi8(3), q = _mm512_set1_epi8(5);
  for (int64_t n = 0; n < iters; ++n) {
#pragma GCC unroll 12  // otherwise the accumulators live in memory
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], u, q);
    __asm__ volatile("" : "+v"(u), "+v"(q));  // keeps the loop from being folded
  }
  __m512i s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, acc[i]);
  return _mm512_reduce_add_epi32(s);
}

void vnni_peak(benchmark::State& st) {
  if (detected_isa() < Isa::Avx512) {
    st.SkipWithError("no AVX-512 VNNI");
    return;
  }
  constexpr int64_t kIters = 1 << 16;
  std::vector<int64_t> sink(64);
  for (auto _ : st) {
    pool().run([&](int ith, int) { sink[size_t(ith)] += dpbusd_loop(kIters); });
    benchmark::DoNotOptimize(sink.data());
  }
  st.counters["GOP/s"] = benchmark::Counter(double(kIters) * 12 * 128 * pool().size() * 1e-9,
                                            benchmark::Counter::kIsIterationInvariantRate);
}

// The roofline itself: every pool thread sums its share of a buffer larger than L3.
void read_bandwidth(benchmark::State& st) {
  static std::vector<uint64_t> buf(kMinFootprint / 8, 1);
  std::vector<uint64_t> sums(64);
  for (auto _ : st) {
    pool().parallel_for(int64_t(buf.size()), 4096, [&](int64_t b, int64_t e) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = b; i < e; i += 4)
        s0 += buf[size_t(i)], s1 += buf[size_t(i + 1)], s2 += buf[size_t(i + 2)],
            s3 += buf[size_t(i + 3)];
      sums[size_t(b * 8 / int64_t(buf.size()))] += s0 + s1 + s2 + s3;
    });
    benchmark::DoNotOptimize(sums.data());
  }
  st.counters["GB/s"] = benchmark::Counter(double(kMinFootprint) * 1e-9,
                                           benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  benchmark::RegisterBenchmark("vnni_peak", vnni_peak)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime()
      ->MinTime(0.1)
      ->ComputeStatistics("min", min_of);
  benchmark::RegisterBenchmark("read_bandwidth", read_bandwidth)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime()
      ->MinTime(0.1)
      ->ComputeStatistics("min", min_of);
  const DType types[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q5_0,
                         DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  struct Shape {
    const char* name;
    int64_t rows, cols;
  };
  const Shape shapes[] = {{"up", 8960, 1536}, {"down", 1536, 8960}};
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    for (DType t : types) {
      for (const Shape& s : shapes) {
        // 32 and 64: a MoE expert's share of a prefill batch (512 tokens x 6 of 64 experts).
        for (int64_t n_tok : {int64_t(1), int64_t(4), int64_t(8), int64_t(16), int64_t(32), int64_t(64), int64_t(128), int64_t(512)}) {
          if (isa == Isa::Scalar && n_tok > 1) continue;  // minutes, and not a real path
          if (isa != Isa::Avx512 && (n_tok > 128 || n_tok == 8 || n_tok == 16 || n_tok == 32 || n_tok == 64)) continue;
          std::string name = std::string(n_tok == 1 ? "gemv/" : "gemm/") + dtype_name(t) + "/" +
                             isa_name(isa) + "/" + s.name + "/tok:" + std::to_string(n_tok);
          benchmark::RegisterBenchmark(
              name.c_str(), [=](benchmark::State& st) { run(st, t, isa, s.rows, s.cols, n_tok); })
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime()
              ->MinTime(0.1)
              ->ComputeStatistics("min", min_of);
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
