// AVX-512 attention: 16-wide dot products over head_dim, each cached key and value row read
// once for the whole head group. A row of another type than F32 is converted once into a
// small fp32 buffer that every head of the group then reads from L1.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention.h"
#include "kernels/exp_avx512.h"
#include "kernels/matmul_kernels.h"
#include "kernels/quant_blocks.h"

namespace frugal::kernels {

namespace {
inline float dot16(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

inline void axpy16(float p, const float* x, float* y, int64_t n) {
  const __m512 vp = _mm512_set1_ps(p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vp, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(vp, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}
}  // namespace

namespace {
// n values of a cached row of type t to fp32 (n a multiple of 16; of 32 for Q8_0): values
// [16c, 16c + 16) go to dst + c * step, so a tile can hold 16 rows chunk-interleaved.
void row_to_f32(DType t, const uint8_t* src, float* dst, int64_t n, int64_t step) {
  switch (t) {
    case DType::F16:
      for (int64_t i = 0; i < n; i += 16, dst += step)
        _mm512_storeu_ps(dst, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i))));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; i += 16, dst += step) {
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i)));
        _mm512_storeu_ps(dst, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
      }
      return;
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n; i += 32, ++b, dst += 2 * step) {
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(b->d));  // F16C: the portable fp16_to_fp32 branches
        const __m128i* q = reinterpret_cast<const __m128i*>(b->qs);
        _mm512_storeu_ps(dst, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q)))));
        _mm512_storeu_ps(dst + step, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1)))));
      }
      return;
    }
    default: {
      const auto* f = reinterpret_cast<const float*>(src);
      for (int64_t i = 0; i < n; i += 16, dst += step) _mm512_storeu_ps(dst, _mm512_loadu_ps(f + i));
    }
  }
}
}  // namespace

namespace {
// out[j] = the sum of v[j]'s 16 lanes, for 16 vectors at once: a transpose-and-add tree of 30
// shuffles and adds instead of 16 separate horizontal reductions.
inline __m512 sum16x16(const __m512* v) {
  __m512 a[8], b[4];
  // Unrolled, so that v, a and b stay in registers (GCC otherwise kept them on the stack and
  // ran these as loops of loads and stores: a fifth of the kernel's time).
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [v0_0+v0_2, v1_0+v1_2, v0_1+v0_3, v1_1+v1_3]
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)  // per 128-bit lane L: the lane's sums of four vectors
    b[i] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 d0 = _mm512_add_ps(_mm512_shuffle_f32x4(b[0], b[1], 0x44), _mm512_shuffle_f32x4(b[0], b[1], 0xEE));
  const __m512 d1 = _mm512_add_ps(_mm512_shuffle_f32x4(b[2], b[3], 0x44), _mm512_shuffle_f32x4(b[2], b[3], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xDD));
}

inline __mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// A paged cache's next tile into L2 while this one is computed, when it is not where the
// hardware prefetcher is already heading (the run after this tile's): a sequence whose
// blocks came from a churned pool or from the prefix cache jumps around the pool. Measured
// in bench_attention, 16k positions, F16: shuffled blocks 1674 -> 1318 us per call; blocks in
// order gain nothing from it (854 vs 936 us), hence the test.
inline void prefetch_next_tile(const AttendArgs& a, bool keys, int64_t j0, int64_t n) {
  if (!a.k_pages || a.page_shift != 4 || j0 + 16 >= a.n_kv) return;
  const void* const* pages = keys ? a.k_pages : a.v_pages;
  const int64_t stride = keys ? a.k_stride : a.v_stride;
  const char* next = static_cast<const char*>(pages[(j0 >> 4) + 1]);
  if (next == static_cast<const char*>(pages[j0 >> 4]) + 16 * stride) return;
  const int64_t nt = std::min<int64_t>(16, a.n_kv - j0 - 16);
  const size_t bytes = row_bytes(a.kv_type, n);
  for (int64_t r = 0; r < nt; ++r)
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(next + r * stride + o, _MM_HINT_T1);
}

// The tile `ahead` tiles past j0 into L1, line by line (its 16 rows are one run of a page,
// or of the contiguous cache, when the rows are dense: stride == row size).
inline void prefetch_ahead(const AttendArgs& a, bool keys, int64_t j0, int64_t n, int64_t ahead) {
  const int64_t jf = j0 + 16 * ahead;
  const int64_t stride = keys ? a.k_stride : a.v_stride;
  const size_t bytes = row_bytes(a.kv_type, n);
  if (jf >= a.n_kv || int64_t(bytes) != stride || (a.k_pages && a.page_shift < 4)) return;
  const char* p = reinterpret_cast<const char*>(keys ? a.key(jf) : a.value(jf));
  const int64_t len = std::min<int64_t>(16, a.n_kv - jf) * stride;
  for (int64_t o = 0; o < len; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

// 16 cached rows (keys or values j0.., nt of them valid) as fp32, chunk-interleaved: values
// [16c, 16c + 16) of row r at tile + 256c + 16r, so one moving pointer with constant offsets
// reaches all 16 rows of a chunk (16 accumulators and no row pointers in registers). Rows
// past nt are zeros: their scores are dropped and their values weighted by nothing.
void load_tile(const AttendArgs& a, bool keys, int64_t j0, int64_t nt, int64_t n, float* tile) {
  for (int64_t r = 0; r < 16; ++r) {
    float* dst = tile + 16 * r;
    if (r < nt) {
      row_to_f32(a.kv_type, keys ? a.key(j0 + r) : a.value(j0 + r), dst, n, 256);
    } else {
      for (int64_t c = 0; c < n / 16; ++c) _mm512_storeu_ps(dst + 256 * c, _mm512_setzero_ps());
    }
  }
}

// Queries rounded to Q8_0 by the activation quantizer (round_query_q8_0's rounding; its
// AVX-512 version, bit-identical to the scalar twin's): query qi's codes, block scales and
// block code sums at base + qi * layout.stride.
struct QueryQ8 {
  const uint8_t* base;
  ActLayout layout;
  const int8_t* qs(int64_t qi) const { return reinterpret_cast<const int8_t*>(base + qi * layout.stride + layout.qs_off); }
  const float* d(int64_t qi) const { return reinterpret_cast<const float*>(base + qi * layout.stride + layout.d_off); }
  const int32_t* sum(int64_t qi) const { return reinterpret_cast<const int32_t*>(base + qi * layout.stride + layout.sum_off); }
};

QueryQ8 quantize_queries(const AttendArgs& a) {
  const ActLayout l = act_layout(ActFormat::Q8_0, a.head_dim);
  thread_local std::vector<uint8_t> buf;
  buf.resize(size_t(a.n_tok * a.n_q) * l.stride);
  for (int64_t i = 0; i < a.n_tok; ++i)
    for (int64_t h = 0; h < a.n_q; ++h)
      quantize_act_row_avx512(ActFormat::Q8_0, a.q + i * a.q_tok_stride + h * a.head_dim, a.head_dim,
                              buf.data() + size_t(i * a.n_q + h) * l.stride);
  return {buf.data(), l};
}

// A tile of 16 Q8_0 keys for vpdpbusd: lane r of t[g] holds quants [4g, 4g + 4) of row r,
// plus 128 (unsigned); d[b] holds the 16 rows' block-b scales. Each 32-value block of the 16
// rows is a 16 x 8 transpose of 32-bit words: rows r and r + 4 (r + 4 and r + 8 for the
// second four) share a register, so two 8 x 8 transposes run in its halves and one 128-bit
// lane shuffle puts the rows in order. Rows past nt read a zero row (scale 0; their scores
// are masked anyway).
void load_key_tile_q8(const AttendArgs& a, int64_t j0, int64_t nt, int64_t hd, __m512i* t, __m512* d) {
  alignas(64) static const uint8_t zero_row[1024 / 32 * sizeof(BlockQ8_0)] = {};
  const uint8_t* rows[16];
  for (int64_t r = 0; r < 16; ++r) rows[r] = r < nt ? a.key(j0 + r) : zero_row;
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  alignas(32) uint16_t sc[16];
  for (int64_t b = 0, off = 0; b < hd / 32; ++b, off += int64_t(sizeof(BlockQ8_0))) {
    for (int r = 0; r < 16; ++r) std::memcpy(&sc[r], rows[r] + off, 2);
    d[b] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(sc)));
    __m512i z[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      const int lo = r < 4 ? r : r + 4;
      const auto* p0 = reinterpret_cast<const __m256i*>(rows[lo] + off + 2);
      const auto* p1 = reinterpret_cast<const __m256i*>(rows[lo + 4] + off + 2);
      z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(p0)), _mm256_loadu_si256(p1), 1);
    }
    __m512i c[2][4];
#pragma GCC unroll 2
    for (int g = 0; g < 2; ++g) {
      const __m512i a0 = _mm512_unpacklo_epi32(z[4 * g], z[4 * g + 1]), a1 = _mm512_unpacklo_epi32(z[4 * g + 2], z[4 * g + 3]);
      const __m512i b0 = _mm512_unpackhi_epi32(z[4 * g], z[4 * g + 1]), b1 = _mm512_unpackhi_epi32(z[4 * g + 2], z[4 * g + 3]);
      c[g][0] = _mm512_unpacklo_epi64(a0, a1);  // per 128-bit lane: word 0 (4) of its four rows
      c[g][1] = _mm512_unpackhi_epi64(a0, a1);
      c[g][2] = _mm512_unpacklo_epi64(b0, b1);
      c[g][3] = _mm512_unpackhi_epi64(b0, b1);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      t[8 * b + k] = _mm512_xor_si512(_mm512_shuffle_i64x2(c[0][k], c[1][k], _MM_SHUFFLE(2, 0, 2, 0)), flip);
      t[8 * b + k + 4] = _mm512_xor_si512(_mm512_shuffle_i64x2(c[0][k], c[1][k], _MM_SHUFFLE(3, 1, 3, 1)), flip);
    }
  }
}

// The 16 scaled scores of one rounded query against a Q8_0 key tile: per block, two chains
// of four vpdpbusd (the first starting from -128 * the block's query code sum, which takes the
// keys' +128 back out), then the block's integer sums times key scale times query scale into
// fp32.
inline __m512 scores_q8(const __m512i* t, const __m512* d, const int8_t* qs, const float* qd, const int32_t* qsum,
                        float scale, int64_t nb) {
  const auto word = [](const int8_t* p) {
    int32_t w;
    std::memcpy(&w, p, 4);
    return _mm512_set1_epi32(w);
  };
  __m512 s = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, t += 8, qs += 32) {
    __m512i acc0 = _mm512_set1_epi32(-128 * qsum[b]), acc1 = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int g = 0; g < 8; g += 2) {
      acc0 = _mm512_dpbusd_epi32(acc0, t[g], word(qs + 4 * g));
      acc1 = _mm512_dpbusd_epi32(acc1, t[g + 1], word(qs + 4 * g + 4));
    }
    s = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc0, acc1)), _mm512_mul_ps(d[b], _mm512_set1_ps(qd[b] * scale)), s);
  }
  return s;
}

// The 16 scaled scores of one fp32 query against a converted key tile: 16 accumulators over
// head_dim, reduced at once by sum16x16.
inline __m512 scores_f32(const float* tile, const float* q, int64_t hd, float scale) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) acc[r] = _mm512_setzero_ps();
  const float* t = tile;
  for (int64_t d = 0; d < hd; d += 16, t += 256) {
    const __m512 qv = _mm512_loadu_ps(q + d);
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) acc[r] = _mm512_fmadd_ps(qv, _mm512_load_ps(t + 16 * r), acc[r]);
  }
  return _mm512_mul_ps(sum16x16(acc), _mm512_set1_ps(scale));
}

// out[c] += sum over the tile's nt rows of p[r] * row r's chunk c, for N chunks from c0 held
// in registers across the rows. Even and odd rows go to separate accumulators: one set would
// be a chain of 16 dependent FMAs per chunk, at the FMA latency's pace rather than its
// throughput's (bench_attention: 1.2x per call).
template <int N>
inline void add_values(const float* tile, const float* p, int64_t nt, int64_t c0, float* out) {
  __m512 acc[N], odd[N];
#pragma GCC unroll 8
  for (int i = 0; i < N; ++i) acc[i] = _mm512_loadu_ps(out + 16 * (c0 + i)), odd[i] = _mm512_setzero_ps();
  int64_t r = 0;
  for (; r + 2 <= nt; r += 2) {
    const __m512 p0 = _mm512_set1_ps(p[r]), p1 = _mm512_set1_ps(p[r + 1]);
    const float* t = tile + 256 * c0 + 16 * r;
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) {
      acc[i] = _mm512_fmadd_ps(p0, _mm512_load_ps(t + 256 * i), acc[i]);
      odd[i] = _mm512_fmadd_ps(p1, _mm512_load_ps(t + 256 * i + 16), odd[i]);
    }
  }
  if (r < nt) {
    const __m512 p0 = _mm512_set1_ps(p[r]);
    const float* t = tile + 256 * c0 + 16 * r;
#pragma GCC unroll 8
    for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_ps(p0, _mm512_load_ps(t + 256 * i), acc[i]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < N; ++i) _mm512_storeu_ps(out + 16 * (c0 + i), _mm512_add_ps(acc[i], odd[i]));
}

// Rows of 16k floats (head dims that are multiples of 16, up to 1024), the decode and
// prefill hot path. Scores: per 16-key tile, position and head, 16 accumulators over
// head_dim, reduced at once by sum16x16. A vectorized softmax, left unnormalized. Values: per
// tile, position and head, up to 8 output chunks in registers across the tile's 16 rows;
// each output row is scaled by 1/sum at the end. Every cached row is converted once, into a
// tile every head of every position reads from L1; a position's keys past its own are
// masked (scores) or weighted by nothing (values).
void attend_tiled(const AttendArgs& a) {
  const int64_t hd = a.head_dim, hdv = a.head_dim_v, n_kv = a.n_kv, n_h = a.n_q, n_tok = a.n_tok;
  const auto visible = [&](int64_t i) { return n_kv - (n_tok - 1 - i); };  // keys position i sees
  const auto scores = [&](int64_t i, int64_t h) { return a.scratch + (i * n_h + h) * n_kv; };
  const auto out = [&](int64_t i, int64_t h) { return a.out + i * a.out_tok_stride + h * hdv; };
  alignas(64) float tile[16 * 1024];
  // A Q8_0 cache's keys take integer scores (the queries rounded to Q8_0, as attend_ref rounds
  // them): per 16-key tile, head and 32 values, 8 vpdpbusd and 5 other instructions where fp32
  // took 32 FMAs after converting the tile.
  const bool int_keys = a.kv_type == DType::Q8_0;
  const QueryQ8 qq = int_keys ? quantize_queries(a) : QueryQ8{};
  alignas(64) __m512i kt[1024 / 4];
  alignas(64) __m512 kd[1024 / 32];
  for (int64_t j0 = 0; j0 < n_kv; j0 += 16) {
    const int64_t nt = std::min<int64_t>(16, n_kv - j0);
    prefetch_next_tile(a, true, j0, hd);
    if (int_keys) {
      // Its compute is short enough for DRAM latency to show: the tile after next into L1
      // (bench_attention, 16k keys: 540 vs 640-1140 us per call; the fp32 tiles gain nothing).
      prefetch_ahead(a, true, j0, hd, 2);
      load_key_tile_q8(a, j0, nt, hd, kt, kd);
    } else {
      load_tile(a, true, j0, nt, hd, tile);
    }
    for (int64_t i = 0; i < n_tok; ++i) {
      const int64_t nti = std::min<int64_t>(16, visible(i) - j0);
      if (nti <= 0) continue;
      for (int64_t h = 0; h < n_h; ++h) {
        const int64_t qi = i * n_h + h;
        const __m512 s = int_keys ? scores_q8(kt, kd, qq.qs(qi), qq.d(qi), qq.sum(qi), a.scale, hd / 32)
                                  : scores_f32(tile, a.q + i * a.q_tok_stride + h * hd, hd, a.scale);
        _mm512_mask_storeu_ps(scores(i, h) + j0, first(nti), s);
      }
    }
  }
  constexpr int64_t kMaxRows = 1024;
  float inv[kMaxRows];
  for (int64_t i = 0; i < n_tok; ++i) {
    const int64_t nv = visible(i);
    for (int64_t h = 0; h < n_h; ++h) {
      float* s = scores(i, h);
      __m512 mx = _mm512_set1_ps(-INFINITY);
      for (int64_t j = 0; j < nv; j += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, first(nv - j), s + j));
      const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = 0; j < nv; j += 16) {
        const __mmask16 k = first(nv - j);
        const __m512 e = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), m)));
        _mm512_mask_storeu_ps(s + j, k, e);
        sum = _mm512_add_ps(sum, e);
      }
      const double total = double(_mm512_reduce_add_ps(sum));
      inv[i * n_h + h] = float(1.0 / total);
      if (a.lse) a.lse[h] = _mm512_cvtss_f32(m) + float(std::log(total));
      float* o = out(i, h);
      for (int64_t d = 0; d < hdv; d += 16) _mm512_storeu_ps(o + d, _mm512_setzero_ps());
    }
  }
  const int64_t n_c = hdv / 16;
  for (int64_t j0 = 0; j0 < n_kv; j0 += 16) {
    const int64_t nt = std::min<int64_t>(16, n_kv - j0);
    prefetch_next_tile(a, false, j0, hdv);
    load_tile(a, false, j0, nt, hdv, tile);
    for (int64_t i = 0; i < n_tok; ++i) {
      const int64_t nti = std::min<int64_t>(16, visible(i) - j0);
      if (nti <= 0) continue;
      for (int64_t h = 0; h < n_h; ++h) {
        const float* p = scores(i, h) + j0;
        float* o = out(i, h);
        int64_t c = 0;
        for (; c + 8 <= n_c; c += 8) add_values<8>(tile, p, nti, c, o);
        if (c + 4 <= n_c) add_values<4>(tile, p, nti, c, o), c += 4;
        if (c + 2 <= n_c) add_values<2>(tile, p, nti, c, o), c += 2;
        if (c < n_c) add_values<1>(tile, p, nti, c, o);
      }
    }
  }
  for (int64_t i = 0; i < n_tok; ++i)
    for (int64_t h = 0; h < n_h; ++h) {
      float* o = out(i, h);
      const __m512 iv = _mm512_set1_ps(inv[i * n_h + h]);
      for (int64_t d = 0; d < hdv; d += 16) _mm512_storeu_ps(o + d, _mm512_mul_ps(iv, _mm512_loadu_ps(o + d)));
    }
}
}  // namespace

void attend_avx512(const AttendArgs& a) {
  if (a.head_dim % 16 == 0 && a.head_dim_v % 16 == 0 && a.head_dim <= 1024 && a.head_dim_v <= 1024 &&
      a.n_q * a.n_tok <= 1024)
    return attend_tiled(a);
  if (a.n_tok > 1) return for_each_position(a, attend_avx512);
  // Other shapes (odd test heads): one key at a time.
  if (a.kv_type != DType::F32) return attend_ref(a);  // typed caches have 32k-wide heads (KvCache)
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* k = reinterpret_cast<const float*>(a.key(j));
    for (int64_t h = 0; h < a.n_q; ++h) a.scratch[h * a.n_kv + j] = dot16(a.q + h * a.head_dim, k, a.head_dim) * a.scale;
  }
  softmax_rows_zero_out(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* v = reinterpret_cast<const float*>(a.value(j));
    for (int64_t h = 0; h < a.n_q; ++h) axpy16(a.scratch[h * a.n_kv + j], v, a.out + h * a.head_dim_v, a.head_dim_v);
  }
}

}  // namespace frugal::kernels
