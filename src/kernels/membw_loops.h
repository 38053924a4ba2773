// The probe's inner loops, written once over a GCC vector type and compiled per ISA
// (membw.cpp: SSE2, membw_avx2.cpp: 32-byte, membw_avx512.cpp: 64-byte vectors). Four
// independent accumulators or streams per iteration keep enough loads in flight that memory,
// not the loop, is the limit. Lengths are multiples of 4 vectors, pointers 64-byte aligned.
#pragma once
#include <cstddef>
#include <cstdint>

namespace frugal::kernels {

struct MembwLoops {
  uint64_t (*read)(const char* p, size_t bytes);
  uint64_t (*read_prefetched)(const char* p, size_t bytes);
  void (*copy)(char* dst, const char* src, size_t bytes);
  void (*triad)(double* a, const double* b, const double* c, double s, size_t n);
};

const MembwLoops& membw_loops_avx512();
const MembwLoops& membw_loops_avx2();

namespace membw_detail {

template <size_t W>
struct Vec {
  typedef uint64_t U __attribute__((vector_size(W), aligned(W), may_alias));
  typedef double D __attribute__((vector_size(W), aligned(W), may_alias));
};

// Read every word once. With Prefetch > 0 each line is also asked for Prefetch bytes ahead,
// as the decode kernels ask for their weights (matmul_simd_common.h, kPfAhead): a core's read
// rate is bounded by the misses it keeps in flight, and software prefetches add to what the
// hardware prefetcher issues. With few cores the plain loop can read slower than decoding does
// (measured: 25.8 GB/s against decode's 28 GB/s, 2 cores), which made a roofline fraction
// above 100 %.
constexpr size_t kReadPrefetch = 8192;
template <size_t W, size_t Prefetch>
uint64_t read(const char* p, size_t bytes) {
  using U = typename Vec<W>::U;
  const U* v = reinterpret_cast<const U*>(p);
  U a0 = {}, a1 = {}, a2 = {}, a3 = {};
  for (size_t i = 0, n = bytes / W; i < n; i += 4) {
    // Past the end it only names lines nobody reads; prefetches never fault.
    if constexpr (Prefetch > 0)
      for (size_t o = 0; o < 4 * W; o += 64) __builtin_prefetch(p + i * W + Prefetch + o, 0, 2);
    a0 += v[i];
    a1 += v[i + 1];
    a2 += v[i + 2];
    a3 += v[i + 3];
  }
  U s = (a0 + a1) + (a2 + a3);
  uint64_t r = 0;
  for (size_t k = 0; k < W / 8; ++k) r += s[k];
  return r;
}

// Without this GCC turns the loop into a call to memcpy, whose large-size path uses
// non-temporal stores: a different kernel from the one STREAM's copy measures.
template <size_t W>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void copy(char* dst, const char* src,
                                                                        size_t bytes) {
  using U = typename Vec<W>::U;
  const U* s = reinterpret_cast<const U*>(src);
  U* d = reinterpret_cast<U*>(dst);
  for (size_t i = 0, n = bytes / W; i < n; i += 4) {
    d[i] = s[i];
    d[i + 1] = s[i + 1];
    d[i + 2] = s[i + 2];
    d[i + 3] = s[i + 3];
  }
}

template <size_t W>
void triad(double* a, const double* b, const double* c, double scalar, size_t n) {
  using D = typename Vec<W>::D;
  D* va = reinterpret_cast<D*>(a);
  const D* vb = reinterpret_cast<const D*>(b);
  const D* vc = reinterpret_cast<const D*>(c);
  const D s = D{} + scalar;
  for (size_t i = 0, m = n * sizeof(double) / W; i < m; i += 4) {
    va[i] = vb[i] + s * vc[i];
    va[i + 1] = vb[i + 1] + s * vc[i + 1];
    va[i + 2] = vb[i + 2] + s * vc[i + 2];
    va[i + 3] = vb[i + 3] + s * vc[i + 3];
  }
}

template <size_t W>
const MembwLoops& loops() {
  static const MembwLoops l = {&read<W, 0>, &read<W, kReadPrefetch>, &copy<W>, &triad<W>};
  return l;
}

}  // namespace membw_detail
}  // namespace frugal::kernels
