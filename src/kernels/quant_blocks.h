// Block structs with the byte layouts of ggml / GGUF files. Values are little-endian; f16 fields
// are IEEE half bit patterns (core/half.h). Element order inside each block:
//
//   Q4_0  32 weights  w[j] = (q[j] - 8) * d; q[j] = qs[j] & 15 for j < 16, qs[j-16] >> 4 after.
//   Q5_0  32 weights  as Q4_0 plus a fifth bit: bit j of the little-endian u32 qh is bit 4 of
//                     q[j]; w[j] = (q[j] - 16) * d.
//   Q8_0  32 weights  w[j] = qs[j] * d.
//   Q4_K  256 weights in 8 sub-blocks of 32, each with a 6-bit scale sc[s] and min m[s]:
//                     w = d * sc[s] * q - dmin * m[s]. qs holds 4 chunks of 64 weights, 32 bytes
//                     each: low nibbles are sub-block 2c, high nibbles sub-block 2c+1.
//                     scales[12] packs sc/m: for s < 4 sc = scales[s] & 63, m = scales[s+4] & 63;
//                     for s >= 4 sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4,
//                                m = (scales[s+4] >> 4) | (scales[s] >> 6) << 4.
//   Q5_K  as Q4_K with a fifth bit: for chunk c, bit 2c of qh[l] is bit 4 of sub-block 2c's
//                     element l, bit 2c+1 that of sub-block 2c+1's element l.
//   Q6_K  256 weights in 16 groups of 16 with int8 scales: w = d * scales[i / 16] * (q - 32).
//                     Two halves of 128 (ql += 64, qh += 32 per half); inside a half, element
//                     l + 32k (l < 32, k < 4) has low 4 bits from ql[l + 32 * (k & 1)] (low
//                     nibble for k < 2, high for k >= 2) and high 2 bits (qh[l] >> 2k) & 3.
//   Q8_K  256 weights w = qs[j] * d (float d); bsums[g] = sum of qs over group g of 16.
#pragma once
#include <cstdint>

namespace frugal::kernels {

constexpr int kQK = 32;    // weights per block of the _0 formats
constexpr int kQKK = 256;  // weights per K-quant super-block

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// 6-bit scale and min of sub-block s (0..7) from the packed 12 bytes of Q4_K / Q5_K.
inline void unpack_scale_min_k4(const uint8_t* q, int s, uint8_t* sc, uint8_t* m) {
  if (s < 4) {
    *sc = q[s] & 63;
    *m = q[s + 4] & 63;
  } else {
    *sc = uint8_t((q[s + 4] & 15) | (q[s - 4] >> 6) << 4);
    *m = uint8_t((q[s + 4] >> 4) | (q[s] >> 6) << 4);
  }
}

// Inverse of unpack_scale_min_k4 for all 8 sub-blocks (sc, m < 64).
inline void pack_scale_min_k4(const uint8_t sc[8], const uint8_t m[8], uint8_t q[12]) {
  for (int s = 0; s < 4; ++s) {
    q[s] = uint8_t(sc[s] | (sc[s + 4] >> 4) << 6);
    q[s + 4] = uint8_t(m[s] | (m[s + 4] >> 4) << 6);
    q[s + 8] = uint8_t((sc[s + 4] & 15) | (m[s + 4] & 15) << 4);
  }
}

}  // namespace frugal::kernels
