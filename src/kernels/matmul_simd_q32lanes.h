// AVX-512 prefill for Q8_0 against Q8_0_Lanes activations: the lane kernel of
// matmul_simd_klanes.h over units of 16 blocks (512 codes, 8 steps), i32 lane l holding block
// l throughout. Per (row, token, unit) 8 vpdpbusd, then one convert, one product of the 16
// weight scales with the 16 activation scales, and one FMA, where the per-step kernel
// (matmul_simd_q32x2.h) spent a convert, a multiply and an FMA on every vpdpbusd. The codes
// are stored as u = w + 128 (vpdpbusd wants them unsigned); the init -128 * (block sums of q)
// takes the offset back out.
#pragma once
#include "kernels/matmul_simd_klanes.h"
#include "kernels/matmul_simd_q32x2.h"

#if defined(__AVX512F__)
namespace frugal::kernels {
namespace {

// Permute indices for the 16 x 8 dword transpose of a unit (block l's dword k -> step k, lane
// l) in three rounds of 2-source permutes. Lane contents, as block * 8 + dword:
//   Z[m] (loaded)   lane x: block 2m + x / 8, dword x % 8
//   A[p][e]         lane x: block 4p + x % 4, dword 4e + x / 4       from Z[2p], Z[2p + 1]
//   B[q][e][f]      lane x: block 8q + x % 8, dword 4e + 2f + x / 8  from A[2q][e], A[2q + 1][e]
//   out[4e + 2f + g] lane x: block x, dword 4e + 2f + g              from B[0][e][f], B[1][e][f]
// The patterns do not depend on p or q, so they are found once for p = q = 0.
struct Q8Transpose {
  alignas(64) int32_t s1[2][16] = {};
  alignas(64) int32_t s2[2][2][16] = {};
  alignas(64) int32_t s3[2][2][2][16] = {};
  template <class Src0, class Src1>
  static constexpr int32_t find(int want, Src0 a, Src1 b) {
    for (int y = 0; y < 16; ++y)
      if (a(y) == want) return y;
    for (int y = 0; y < 16; ++y)
      if (b(y) == want) return 16 + y;
    return -1;
  }
  constexpr Q8Transpose() {
    auto z = [](int m, int x) { return (2 * m + x / 8) * 8 + x % 8; };
    auto A = [](int p, int e, int x) { return (4 * p + x % 4) * 8 + 4 * e + x / 4; };
    auto B = [](int q, int e, int f, int x) { return (8 * q + x % 8) * 8 + 4 * e + 2 * f + x / 8; };
    for (int e = 0; e < 2; ++e)
      for (int x = 0; x < 16; ++x)
        s1[e][x] = find(A(0, e, x), [&](int y) { return z(0, y); }, [&](int y) { return z(1, y); });
    for (int e = 0; e < 2; ++e)
      for (int f = 0; f < 2; ++f)
        for (int x = 0; x < 16; ++x)
          s2[e][f][x] = find(B(0, e, f, x), [&](int y) { return A(0, e, y); },
                             [&](int y) { return A(1, e, y); });
    for (int e = 0; e < 2; ++e)
      for (int f = 0; f < 2; ++f)
        for (int g = 0; g < 2; ++g)
          for (int x = 0; x < 16; ++x)
            s3[e][f][g][x] = find(x * 8 + 4 * e + 2 * f + g, [&](int y) { return B(0, e, f, y); },
                                  [&](int y) { return B(1, e, f, y); });
  }
};
constexpr Q8Transpose kQ8Transpose{};

struct LanesQ8_0 {
  static constexpr int kSteps = 8;
  static constexpr int64_t kUnit = 16 * kQK;
  using Dec = LaneDec<8>;
  static constexpr int kShift = 7;
  static constexpr bool kMins = false;
  static constexpr bool kDxVec = true;
  static constexpr int64_t kSumStride = 16;
  static size_t row_bytes(int64_t k) { return size_t(k / kQK) * sizeof(BlockQ8_0); }

  // 16 blocks' codes (block l at qs[l * stride]) into o->u in lane order, as w + 128.
  static void transpose(const int8_t* qs, size_t stride, Dec* o) {
    const auto& tp = kQ8Transpose;
    __m512i z[8], A[4][2], B[2][2][2];
#pragma GCC unroll 8
    for (int m = 0; m < 8; ++m)
      z[m] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(qs + 2 * m * stride)),
                                load256(qs + (2 * m + 1) * stride), 1);
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p)
#pragma GCC unroll 2
      for (int e = 0; e < 2; ++e)
        A[p][e] = _mm512_permutex2var_epi32(z[2 * p], _mm512_load_si512(tp.s1[e]), z[2 * p + 1]);
#pragma GCC unroll 2
    for (int q = 0; q < 2; ++q)
#pragma GCC unroll 2
      for (int e = 0; e < 2; ++e)
#pragma GCC unroll 2
        for (int f = 0; f < 2; ++f)
          B[q][e][f] =
              _mm512_permutex2var_epi32(A[2 * q][e], _mm512_load_si512(tp.s2[e][f]), A[2 * q + 1][e]);
    const __m512i flip = _mm512_set1_epi8(-128);
#pragma GCC unroll 2
    for (int e = 0; e < 2; ++e)
#pragma GCC unroll 2
      for (int f = 0; f < 2; ++f)
#pragma GCC unroll 2
        for (int g = 0; g < 2; ++g)
          _mm512_store_si512(
              o->u + 64 * (4 * e + 2 * f + g),
              _mm512_xor_si512(_mm512_permutex2var_epi32(B[0][e][f], _mm512_load_si512(tp.s3[e][f][g]),
                                                         B[1][e][f]),
                               flip));
  }

  // A last partial unit gets zero codes and scales in its missing lanes (the activations
  // there are zero too, so the codes' value does not matter).
  static void decode_row(const uint8_t* row, int64_t n_cols, Dec* out) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(row);
    const int64_t nb = n_cols / kQK;
    for (int64_t un = 0; un < (nb + 15) / 16; ++un) {
      const int64_t n = nb - 16 * un < 16 ? nb - 16 * un : 16;
      const BlockQ8_0* bu = b + 16 * un;
      Dec* o = out + un;
      float* sc = o->sc;
      if (n == 16) {
        transpose(bu[0].qs, sizeof(BlockQ8_0), o);
        for (int l = 0; l < 16; ++l) sc[l] = f16(bu[l].d);
      } else {
        alignas(64) int8_t tmp[16 * kQK] = {};
        for (int64_t l = 0; l < n; ++l) std::memcpy(tmp + kQK * l, bu[l].qs, kQK);
        transpose(tmp, kQK, o);
        for (int l = 0; l < 16; ++l) sc[l] = l < n ? f16(bu[l].d) : 0.0f;
      }
    }
  }
};

// Q4_0 / Q5_0 through the same lane kernel: a unit's 16 blocks are expanded to int8 codes
// (the per-step decoder's unsigned codes less its offset: Q4_0 q - 8, Q5_0 q - 16) in a stack
// buffer, then transposed as Q8_0's are; the block scale is the same. Q5_0 is what llama.cpp's Q4_K_M gives tensors whose rows
// are not a multiple of 256 — DeepSeek-V2-Lite's routed down projections (1408 columns), which
// in a 512-token prefill see ~48 tokens per expert: the per-step kernel (KernelQ32x2) they ran
// on took 12 % of that prefill for 1/6 of its matmul work.
template <class D>
struct LanesQ32 : LanesQ8_0 {
  using Block = typename D::Block;
  static size_t row_bytes(int64_t k) { return size_t(k / kQK) * sizeof(Block); }
  static void decode_row(const uint8_t* row, int64_t n_cols, Dec* out) {
    const auto* b = reinterpret_cast<const Block*>(row);
    const __m256i off = _mm256_set1_epi8(char(D::kOffset));
    const int64_t nb = n_cols / kQK;
    for (int64_t un = 0; un < (nb + 15) / 16; ++un) {
      const int64_t n = nb - 16 * un < 16 ? nb - 16 * un : 16;
      const Block* bu = b + 16 * un;
      alignas(64) int8_t tmp[16 * kQK];
      for (int64_t l = 0; l < 16; ++l)
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + kQK * l),
                           l < n ? _mm256_sub_epi8(D::codes(bu + l), off) : _mm256_setzero_si256());
      transpose(tmp, kQK, out + un);
      for (int l = 0; l < 16; ++l) out[un].sc[l] = l < n ? f16(bu[l].d) : 0.0f;
    }
  }
};

// The lane kernel of a 32-block type: Q8_0's transposes its blocks as they are.
template <class D>
struct LanesOf {
  using type = LanesQ32<D>;
};
template <>
struct LanesOf<DecQ8_0> {
  using type = LanesQ8_0;
};

// Decode (up to 2T tokens): the per-step kernel of the block type D; prefill: its lane kernel.
template <class D, int R, int T>
void gemm_q32_lanes(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tok <= 2 * T) {  // decode: KernelEntry::many_tok is 2 * T + 1
    gemm_tiled<KernelQ32x2<D>, R, T>(a, r0, r1);
    return;
  }
  gemm_lanes<typename LanesOf<D>::type, R, T>(a, r0, r1);
}

}  // namespace
}  // namespace frugal::kernels
#endif
