// Shared SIMD building blocks, compiled once per ISA: this header (and the matmul_simd_*.h
// kernels) are included only by matmul_avx2.cpp and matmul_avx512.cpp, inside an anonymous
// namespace so each ISA gets its own copy with its own instructions (no ODR clash). AVX2
// kernels use 256-bit vectors and maddubs for u8 x s8 dots; AVX-512 ones use 512-bit vectors,
// VNNI (vpdpbusd) and 32 registers (bigger tiles). Hot loops carry `#pragma GCC unroll`: at
// -O2 GCC otherwise keeps the R x T accumulator arrays in memory (measured 2x slower).
//
// Tiling: a kernel K provides `template <int R, int T> static void tile(a, r, t)`, computing
// the R x T block of outputs y[t..t+T) x rows [r..r+R) with R*T accumulators, decoding each
// weight block once for T tokens. gemm_tiled walks a thread's rows in tiles of R and tokens in
// tiles of T, in chunks of kTokChunk tokens so the chunk's activations stay in L2 while the
// R weight rows stay in L1.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <memory>

#include "kernels/matmul_kernels.h"

namespace frugal::kernels {
namespace {

constexpr int64_t kTokChunk = 64;

// acc + (sum of 4 adjacent u8 * s8 products) per i32 lane. Without VNNI the pairs go through
// maddubs' i16, which cannot overflow here: every caller keeps u8 <= 128 or u8 <= 63.
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__)
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float f16(uint16_t h) { return _cvtsh_ss(h); }

// 32 bytes from a 16-byte pair of nibble planes: low nibbles first, then high nibbles.
inline __m256i nibbles_32(const uint8_t* p) {
  __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(v, _mm256_set1_epi8(15));
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Writes one output (adds to it on the later column passes of a chunked row).
inline void put(const GemmArgs& a, int64_t t, int64_t r, float v) {
  float* p = a.y + t * a.ldy + r;
  *p = a.accumulate ? *p + v : v;
}

template <class K, int R, int T>
inline void tile_tail(const GemmArgs& a, int64_t r, int64_t t, int n) {
  if constexpr (T >= 1) {
    if (n == T) {
      K::template tile<R, T>(a, r, t);
    } else {
      tile_tail<K, R, T - 1>(a, r, t, n);
    }
  }
}

template <class K, int R, int T>
inline void tile_tokens(const GemmArgs& a, int64_t r, int64_t t0, int64_t t1) {
  int64_t t = t0;
  for (; t + T <= t1; t += T) K::template tile<R, T>(a, r, t);
  if (t < t1) tile_tail<K, R, T - 1>(a, r, t, int(t1 - t));
}

// Few tokens (decode): one row at a time. Reading R adjacent rows in lock-step defeats the
// hardware prefetcher on this class of CPU (measured 4.7 vs 15 GB/s from DRAM for Q4_0; 2 rows
// of the AVX-512 K kernels: Q4_K 8-17 vs 29 GB/s), and with n_tok <= 2T each row is reused
// from L1 anyway. With several tokens, rows wider than 2 * K::kChunkCols (if non-zero) are
// done in column passes of kChunkCols over all of the thread's rows, so a pass's activations
// stay in L1 across rows; whether that beats the row-jumping weight reads it causes depends
// on the kernel (measured: see the decoders). Passes pay only once the tokens' activation
// codes outgrow L1 (48 KB here) next to the weight stream: measured with the AVX-512 K kernels
// on 8960 columns, 2 tokens (18 KB) run fastest in one pass, 3 tokens (27 KB) 2x faster in
// passes.
constexpr int64_t kChunkMinCodes = 24 * 1024;

// Calls pass(b) for each column pass of a (the rule above, chunk_cols 0 = never split): b's
// weights (col_bytes(k): a row's bytes before column k), activations and accumulate flag are
// the pass's.
template <class ColBytes, class Pass>
void column_passes(const GemmArgs& a, int64_t chunk_cols, ColBytes col_bytes, Pass pass) {
  const bool chunk = chunk_cols > 0 && a.n_cols > 2 * chunk_cols && a.n_tok * a.n_cols > kChunkMinCodes;
  const int64_t kc = chunk ? chunk_cols : a.n_cols;
  for (int64_t k0 = 0; k0 < a.n_cols; k0 += kc) {
    GemmArgs b = a;
    b.k0 = k0;
    b.n_cols = a.n_cols - k0 < kc ? a.n_cols - k0 : kc;
    b.w = a.w + col_bytes(k0);
    if (a.x) b.x = a.x + k0;
    b.accumulate = k0 > 0;
    pass(b);
  }
}

template <class K, int T>
void gemm_few_tokens(const GemmArgs& a, int64_t r0, int64_t r1) {
  column_passes(a, K::kChunkCols, K::col_bytes, [&](const GemmArgs& b) {
    for (int64_t r = r0; r < r1; ++r) tile_tokens<K, 1, T>(b, r, 0, b.n_tok);
  });
}

template <class K, int R, int T>
void gemm_tiled(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tok <= 2 * T) {
    gemm_few_tokens<K, T>(a, r0, r1);
    return;
  }
  for (int64_t t0 = 0; t0 < a.n_tok; t0 += kTokChunk) {
    int64_t t1 = a.n_tok < t0 + kTokChunk ? a.n_tok : t0 + kTokChunk;
    int64_t r = r0;
    for (; r + R <= r1; r += R) tile_tokens<K, R, T>(a, r, t0, t1);
    for (; r < r1; ++r) tile_tokens<K, 1, T>(a, r, t0, t1);
  }
}

// Decode reads each weight row once, a row at a time. Software prefetch into L2 this far ahead
// of the stream lets DRAM keep up, which the hardware prefetcher alone does not: measured
// (bench_matmul gemv, DRAM, AVX-512) one thread Q4_K 29.5 -> 38-40 GB/s, Q6_K 31 -> 43,
// Q8_0 30 -> 38; two threads 51-53 -> 58. 8 to 32 KB ahead measured alike, 4 KB less, and
// into L1 (T0) alike.
constexpr size_t kPfAhead = 8192;
// Every cache line of [p, p + n) into L2.
inline void prefetch_lines(const void* p, size_t n) {
  for (size_t o = 0; o < n; o += 64) _mm_prefetch(static_cast<const char*>(p) + o, _MM_HINT_T1);
}

// Grow-only per-thread buffer (allocates only when a bigger matrix arrives); kTag keeps the
// buffers of different users apart when they hold the same type.
template <class E, int kTag>
E* grow_buffer(size_t n) {
  thread_local std::unique_ptr<E[]> buf;
  thread_local size_t cap = 0;
  if (n > cap) {
    buf.reset(new E[n]);
    cap = n;
  }
  return buf.get();
}

// Per-token views of the quantized activations (layout in matmul_kernels.h).
struct ActQ8 {
  const int8_t* qs;
  const float* d;
  const void* sum;
};
inline ActQ8 act_row(const GemmArgs& a, int64_t t) {
  const uint8_t* base = a.act + size_t(t) * a.lay.stride;
  return {reinterpret_cast<const int8_t*>(base + a.lay.qs_off) + a.k0,
          reinterpret_cast<const float*>(base + a.lay.d_off) + a.k0 / a.lay.block,
          base + a.lay.sum_off + size_t(a.k0 / a.lay.group) * a.lay.sum_size};
}

}  // namespace
}  // namespace frugal::kernels
