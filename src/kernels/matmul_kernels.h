// Internal contract between the matmul driver (matmul.cpp) and the per-ISA kernel sets
// (matmul_scalar.cpp, matmul_avx2.cpp, matmul_avx512.cpp). One table per ISA maps a weight
// type to the activation format it consumes and a kernel computing a range of output rows.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace frugal::kernels {

// What the kernel reads as activations. Float weights read x directly; the quantized weight
// formats read x quantized per token, as llama.cpp does: Q8_0-style blocks of 32 for the _0
// formats, Q8_K super-blocks of 256 for the K-quants.
// Q8_K_Nib is Q8_K with the codes of each 128 reordered [0,32) [64,96) [32,64) [96,128): the
// order of Q4_K/Q5_K nibbles in 64-byte vectors (AVX-512 kernels); sums stay per natural group.
// The _Lanes formats serve the AVX-512 prefill kernels (matmul_simd_klanes.h,
// matmul_simd_q32lanes.h): the codes of a unit of 16 scale groups are stored so that i32 lane l
// of every 64-byte step holds 4 codes of group l, which lets a kernel sum vpdpbusd results in
// i32 over the whole unit and convert and scale once per unit instead of once per step.
//   Q8_K_Lanes  unit = a super-block of 256, group = 16 codes: byte 64k + 4l + c (k < 4) is
//               natural code 16l + 4k + c. sum entry per super-block (128 bytes): the 16
//               group sums as int32, then as float times the super-block's d.
//   Q8_0_Lanes  unit = 16 blocks of 32 (512 codes), group = one block: byte 64k + 4l + c
//               (k < 8) is natural code 32l + 4k + c; d and sum (int32) per block. A last
//               partial unit is padded with zero codes, scales and sums.
enum class ActFormat { F32, Q8_0, Q8_K, Q8_K_Nib, Q8_K_Lanes, Q8_0_Lanes };

// Quantized activations of one token, struct-of-arrays so kernels load 32 codes per vector:
//   qs  int8 [n_cols]                 codes, x ~ qs * d[block]
//   d   float[n_cols / B]             B = 32 (Q8_0) or 256 (Q8_K)
//   sum Q8_0: int32[n_cols / 32]      sum of qs over each block (offset correction)
//       Q8_K: int16[n_cols / 16]      sum of qs over each group of 16 (ggml's bsums)
// Token t starts at base + t * stride; every array is 64-byte aligned.
struct ActLayout {
  size_t qs_off = 0, d_off = 0, sum_off = 0, stride = 0;
  int64_t block = 1, group = 1;  // codes per d entry, per sum entry
  size_t sum_size = 0;           // bytes per sum entry
};
ActLayout act_layout(ActFormat f, int64_t n_cols);
// Quantizes one token row x[0..n_cols) into dst (the token's base). Per block: codes
// round-to-nearest-even(x * 127 / amax) in [-127, 127], scale amax / 127 (Q8_0: rounded to
// f16, as ggml stores it).
void quantize_act_row(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst);
// The scalar twin and the AVX-512 version that quantize_act_row picks; they are bit-identical
// (tests/unit/test_act_quant.cpp), so every kernel set sees the same activations.
void quantize_act_row_ref(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst);
void quantize_act_row_avx512(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst);
// The _Lanes formats: moves the codes of a row quantized in natural order (qs, n_cols bytes
// rounded up to whole units, padding zero) into lane order, in place (shared by both
// quantizers; pure data movement).
void act_codes_to_lanes(ActFormat f, int8_t* qs, int64_t n_cols);

struct GemmArgs {
  const uint8_t* w = nullptr;  // row r at w + r * w_stride
  size_t w_stride = 0;
  int64_t n_cols = 0;
  const float* x = nullptr;  // F32 activations: token t at x + t * ldx
  int64_t ldx = 0;
  const uint8_t* act = nullptr;  // quantized activations (ActFormat != F32)
  ActLayout lay;
  int64_t n_tok = 0;
  float* y = nullptr;  // y[t * ldy + r]
  int64_t ldy = 0;
  // A pass over columns [k0, k0 + n_cols) of wider rows (w, x already offset by the driver;
  // act_row() offsets the activations); later passes add into y instead of storing.
  int64_t k0 = 0;
  bool accumulate = false;
};

// Computes y for rows [r0, r1) and all tokens.
using GemmFn = void (*)(const GemmArgs& a, int64_t r0, int64_t r1);

struct KernelEntry {
  ActFormat act = ActFormat::F32;
  GemmFn fn = nullptr;
  int row_tile = 1;  // threads get row ranges in multiples of this
  // From many_tok tokens on (0: never) the kernel reads act_many instead (prefill kernels
  // with their own activation order); fn itself switches at the same count.
  int64_t many_tok = 0;
  ActFormat act_many = ActFormat::F32;
  ActFormat act_for(int64_t n_tok) const { return many_tok && n_tok >= many_tok ? act_many : act; }
};

constexpr int kMaxDType = 32;
struct KernelTable {
  KernelEntry e[kMaxDType];
};

// Defined by each ISA's file; the AVX ones must only be called on a CPU that has the ISA.
const KernelTable& kernels_scalar();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();

// The table matmul() uses (dispatch.cpp).
const KernelTable& active_kernels();

}  // namespace frugal::kernels
