// AVX-512 prefill for Q4_K / Q5_K / Q6_K against Q8_K_Lanes activations (matmul_kernels.h).
// The tile's rows are decoded once per token chunk into LDec: the codes in lane order (i32
// lane l of each of the 4 steps holds 4 codes of group l of 16), the 16 group scales as
// floats and, for Q4_K/Q5_K, the 16 group mins. Because a lane never changes group within a
// super-block, a (row, token) pair sums its 4 vpdpbusd in i32 and then pays, once per
// super-block, one convert, one scale product and one FMA:
//   acc += cvt(sum_k dot(u_k, q_k) [+ init]) * (gs * dx)          (16 lanes = 16 groups)
// Q6_K's -32 offset is the init: -32 * (group sums of q), the same for every row, so it
// costs nothing per row. Q4_K/Q5_K's mins cost one more FMA per super-block:
//   acc += mf * (dx * bsum)        mf = -dmin * m[group], dx * bsum stored with the codes.
// The old per-step form spent a convert, a multiply and an FMA on every vpdpbusd; all four
// share the two vector ports that vpdpbusd runs on here (measured on Zen 5: mixing them
// keeps the per-op rate of either alone), so the i32 sum is where the time comes back.
#pragma once
#include <memory>
#include <type_traits>

#include "kernels/matmul_simd_k.h"

#if defined(__AVX512F__)
namespace frugal::kernels {
namespace {

// One decoded unit of a row: kSteps * 64 codes in lane order, the 16 group scales (sc) and,
// for Q4_K/Q5_K, the 16 group mins (mf).
template <int kSteps>
struct alignas(64) LaneDec {
  uint8_t u[64 * kSteps];
  float sc[16];
  float mf[16];
};

// Where the decoder (KRegs order, Map) keeps natural dword 4g + k, for lane g of lane-order
// step k: a 2-source permute index (dword mod 32) and whether it lies in u[2..3].
template <class Map>
struct LaneTable {
  alignas(64) int32_t idx[4][16] = {};
  uint16_t hi[4] = {};
  constexpr LaneTable() {
    for (int p = 0; p < 64; ++p) {
      const int n = Map::dword(p / 16, p % 16);
      idx[n % 4][n / 4] = p & 31;
      if (p >= 32) hi[n % 4] = uint16_t(hi[n % 4] | 1u << (n / 4));
    }
  }
};
template <class Map>
constexpr LaneTable<Map> kLaneTable{};

// A weight format's side of the lane kernel (the Q8_0 one is in matmul_simd_q32lanes.h):
//   kSteps, kUnit (codes per unit = 64 * kSteps), Dec, decode_row(row, n_cols, out),
//   row_bytes(k) (bytes of a row's first k columns),
//   kShift: init = -(group sums << kShift) (a power-of-two code offset; 0 = none),
//   kMins: whether acc += mf * (dx * group sums) follows, kDxVec: dx per lane (Q8_0's
//   per-block scales) instead of one per unit, kSumStride: int32 words of sums per unit.
template <class D>
struct LanesK {
  static constexpr int kSteps = 4;
  static constexpr int64_t kUnit = kQKK;
  using Dec = LaneDec<4>;
  static constexpr int kShift = std::is_same_v<D, DecQ6_K> ? 5 : 0;
  static constexpr bool kMins = !std::is_same_v<D, DecQ6_K>;
  static constexpr bool kDxVec = false;
  static constexpr int64_t kSumStride = 32;  // 16 int sums, then 16 float sums * d
  static size_t row_bytes(int64_t k) { return size_t(k / kQKK) * sizeof(typename D::Block); }
  static void decode_row(const uint8_t* row, int64_t n_cols, Dec* out) {
    const auto* b = reinterpret_cast<const typename D::Block*>(row);
    for (int64_t sb = 0; sb < n_cols / kQKK; ++sb) {
      KRegs k;
      D::decode(b + sb, &k);
      Dec* o = out + sb;
      const auto& tb = kLaneTable<typename D::Map>;
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) {
        const __m512i idx = _mm512_load_si512(tb.idx[s]);
        __m512i lo = _mm512_permutex2var_epi32(k.u[0], idx, k.u[1]);
        __m512i hi = _mm512_permutex2var_epi32(k.u[2], idx, k.u[3]);
        _mm512_store_si512(o->u + 64 * s, _mm512_mask_blend_epi32(__mmask16(tb.hi[s]), lo, hi));
      }
      _mm512_store_ps(o->sc, k.gs);
      _mm512_store_ps(o->mf, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(k.m16)),
                                           _mm512_set1_ps(-k.kmin)));
    }
  }
};

// Sums of 4 vectors, lane j = sum of v[j].
inline __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
  __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
  s = _mm512_add_ps(s, _mm512_shuffle_ps(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
  s = _mm512_add_ps(s, _mm512_shuffle_ps(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                      0, 0, 0, 12, 8, 4, 0), s));
}

// Where a tile's sums go when a row is done in several slabs: the slabs before the last
// collect partial sums in a thread-local buffer laid out per row block (R floats per token,
// tokens consecutive), which the last slab adds into y. Adding into y itself on every slab
// read-modified-wrote one cache line per token and row block from L3 (y's chunk of 256 tokens
// x 1536 rows is 1.5 MB): measured 1.3-2x the CPU time of one slab on 1536 x 8960.
struct LaneOut {
  float* part;     // token t0 + n, row i of the block at part[n * stride + i]
  int64_t stride;  // R of the row block
  int64_t t0;
  bool first, last;
};

// Rows [r, r + R) (decoded: row i's unit u at rows[i * nu + u - u0]) x tokens [t, t + T),
// units [u0, u1). Per (row, token, unit): kSteps vpdpbusd into one i32 vector, then a convert,
// a scale product and an FMA (plus the mins FMA for Q4_K/Q5_K).
template <class P, int R, int T>
void tile_lanes(const GemmArgs& a, const typename P::Dec* rows, int64_t nu, int64_t u0,
                int64_t u1, int64_t r, int64_t t, const LaneOut& o) {
  const int8_t* q[T];
  const float* dx[T];
  const int32_t* s[T];
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) {
    const uint8_t* base = a.act + size_t(t + j) * a.lay.stride;
    q[j] = reinterpret_cast<const int8_t*>(base + a.lay.qs_off);
    dx[j] = reinterpret_cast<const float*>(base + a.lay.d_off);
    s[j] = reinterpret_cast<const int32_t*>(base + a.lay.sum_off);
  }
  __m512 acc[R][T];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t un = u0; un < u1; ++un) {
    __m512i init[T];
    __m512 dv[T];
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) {
      init[j] = P::kShift ? _mm512_sub_epi32(_mm512_setzero_si512(),
                                             _mm512_slli_epi32(_mm512_load_si512(s[j] + P::kSumStride * un),
                                                               P::kShift))
                          : _mm512_setzero_si512();
      dv[j] = P::kDxVec ? _mm512_load_ps(dx[j] + 16 * un) : _mm512_set1_ps(dx[j][un]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const typename P::Dec* w = rows + i * nu + (un - u0);
      __m512i u[P::kSteps];
#pragma GCC unroll 8
      for (int k = 0; k < P::kSteps; ++k) u[k] = _mm512_load_si512(w->u + 64 * k);
      const __m512 sc = _mm512_load_ps(w->sc);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        const int8_t* qq = q[j] + P::kUnit * un;
        __m512i v = init[j];
#pragma GCC unroll 8
        for (int k = 0; k < P::kSteps; ++k)
          v = _mm512_dpbusd_epi32(v, u[k], _mm512_load_si512(qq + 64 * k));
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(sc, dv[j]), acc[i][j]);
        if constexpr (P::kMins)
          acc[i][j] = _mm512_fmadd_ps(
              _mm512_load_ps(w->mf),
              _mm512_load_ps(reinterpret_cast<const float*>(s[j] + P::kSumStride * un + 16)), acc[i][j]);
      }
    }
  }
  float* part = o.part + (t - o.t0) * o.stride;
  if constexpr (R == 4) {
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) {
      __m128 v = hsum4(acc[0][j], acc[1][j], acc[2][j], acc[3][j]);
      float* p = part + j * o.stride;
      if (!o.first) v = _mm_add_ps(v, _mm_loadu_ps(p));
      _mm_storeu_ps(o.last ? a.y + (t + j) * a.ldy + r : p, v);
    }
  } else {
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) {
        float* p = part + j * o.stride + i;
        float v = _mm512_reduce_add_ps(acc[i][j]);
        if (!o.first) v += *p;
        *(o.last ? a.y + (t + j) * a.ldy + r + i : p) = v;
      }
  }
}

template <class P, int R, int T>
void tokens_lanes(const GemmArgs& a, const typename P::Dec* rows, int64_t nu, int64_t u0,
                  int64_t u1, int64_t r, int64_t t0, int64_t t1, const LaneOut& o) {
  int64_t t = t0;
  for (; t + T <= t1; t += T) tile_lanes<P, R, T>(a, rows, nu, u0, u1, r, t, o);
  for (; t < t1; ++t) tile_lanes<P, R, 1>(a, rows, nu, u0, u1, r, t, o);
}


// Column slabs of 1536 codes: a tile's R rows and T tokens of one slab (8 x 6 x ~400 bytes for
// the K-quants) stay in L1 while the tile runs. Token chunks are as many tokens as keep one
// slab of the chunk's activations in ~700 KB of L2 (of 1 MB) while every row block of the
// thread passes over them; each row's slab is decoded once per chunk, so narrower slabs and
// longer chunks mean fewer decodes per token. Measured (CPU time, one thread, 512 tokens):
// slabs of 3072 codes with 96-token chunks ~1.3x these on 1536 x 8960 Q4_K; 240-token chunks
// (3 per 512 tokens) ~1.1x 256-token ones on 8960 x 1536 Q4_K / Q6_K.
constexpr int64_t kSlabCodes = 1536;
constexpr size_t kChunkActBytes = 704 * 1024;

// The prefill driver (n_tok > 2T; the caller sends fewer tokens elsewhere).
template <class P, int R, int T>
void gemm_lanes(const GemmArgs& a, int64_t r0, int64_t r1) {
  using Dec = typename P::Dec;
  const int64_t nu = (a.n_cols + P::kUnit - 1) / P::kUnit;
  const int64_t slab = nu < kSlabCodes / P::kUnit ? nu : kSlabCodes / P::kUnit;
  int64_t chunk = int64_t(kChunkActBytes / (size_t(slab) * (P::kUnit + 128 + 64))) / T * T;
  chunk = chunk < 4 * T ? 4 * T : chunk > 256 ? 256 : chunk;
  // Decoded slab of R rows: row i's unit u0 + v at dec[i * slab + v].
  Dec* dec = grow_buffer<Dec, 0>(size_t(R * slab));
  const int64_t n_blocks = (r1 - r0 + R - 1) / R;
  float* part = nu > slab ? grow_buffer<float, 1>(size_t(n_blocks * R * chunk)) : nullptr;
  for (int64_t t0 = 0; t0 < a.n_tok; t0 += chunk) {
    const int64_t t1 = a.n_tok < t0 + chunk ? a.n_tok : t0 + chunk;
    for (int64_t u0 = 0; u0 < nu; u0 += slab) {
      const int64_t u1 = nu < u0 + slab ? nu : u0 + slab;
      const int64_t cols = (u1 * P::kUnit < a.n_cols ? u1 * P::kUnit : a.n_cols) - u0 * P::kUnit;
      for (int64_t r = r0; r < r1; r += R) {
        const int rows = int(r1 - r < R ? r1 - r : R);
        // The next row block's slab into L2 while this one computes, so decode_row (~11% of
        // the Q4_K GEMM's profile) does not wait on DRAM; its gain was within this machine's
        // noise when measured, so it is a cheap guess, not a measured win.
        for (int64_t i = r + R; i < r + 2 * R && i < r1; ++i)
          prefetch_lines(a.w + size_t(i) * a.w_stride + P::row_bytes(u0 * P::kUnit),
                         P::row_bytes(cols));
        for (int i = 0; i < rows; ++i)
          P::decode_row(a.w + size_t(r + i) * a.w_stride + P::row_bytes(u0 * P::kUnit), cols,
                        dec + i * slab);
        LaneOut o{part ? part + (r - r0) / R * R * chunk : nullptr, R, t0, u0 == 0, u1 == nu};
        if (rows == R) {
          tokens_lanes<P, R, T>(a, dec, slab, u0, u1, r, t0, t1, o);
        } else {
          for (int i = 0; i < rows; ++i) {
            LaneOut oi = o;
            if (oi.part) oi.part += i;
            tokens_lanes<P, 1, T>(a, dec + i * slab, slab, u0, u1, r + i, t0, t1, oi);
          }
        }
      }
    }
  }
}

template <class D, int R, int T>
void gemm_k_lanes(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tok <= kPairMaxTokens) {  // decode: KernelEntry::many_tok is one more
    gemm_k<D, R, T>(a, r0, r1);
    return;
  }
  gemm_lanes<LanesK<D>, R, T>(a, r0, r1);
}

}  // namespace
}  // namespace frugal::kernels
#endif
