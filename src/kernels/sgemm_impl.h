// The blocked SGEMM driver, instantiated once per ISA with that ISA's micro-kernel.
// Goto's scheme: B is packed Kc x Nc into NR-wide panels (stays in L2), A is packed Mc x Kc
// into MR-tall panels (stays in L1/L2) with alpha folded in, and the micro-kernel keeps an
// MR x NR tile of C in registers across the whole Kc loop. Packing also absorbs the
// transposes and zero-pads the edges, so the kernel never branches.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"

namespace frugal::kernels::sgemm_detail {

struct Args {
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

inline float a_at(const Args& g, int64_t i, int64_t k) { return g.ta ? g.A[k * g.lda + i] : g.A[i * g.lda + k]; }
inline float b_at(const Args& g, int64_t k, int64_t j) { return g.tb ? g.B[j * g.ldb + k] : g.B[k * g.ldb + j]; }

template <int MR>
void pack_a(const Args& g, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t m = std::min<int64_t>(MR, mc - ir);
    float* p = out + ir * kc;
    if (!g.ta) {
      for (int64_t i = 0; i < MR; ++i) {
        if (i < m) {
          const float* src = g.A + (i0 + ir + i) * g.lda + k0;
          for (int64_t k = 0; k < kc; ++k) p[k * MR + i] = g.alpha * src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) p[k * MR + i] = 0.f;
        }
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = g.A + (k0 + k) * g.lda + i0 + ir;
        for (int64_t i = 0; i < MR; ++i) p[k * MR + i] = i < m ? g.alpha * src[i] : 0.f;
      }
    }
  }
}

template <int NR>
void pack_b(const Args& g, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t n = std::min<int64_t>(NR, nc - jr);
    float* p = out + jr * kc;
    if (!g.tb) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = g.B + (k0 + k) * g.ldb + j0 + jr;
        if (n == NR) {
          std::memcpy(p + k * NR, src, sizeof(float) * NR);
        } else {
          for (int64_t j = 0; j < NR; ++j) p[k * NR + j] = j < n ? src[j] : 0.f;
        }
      }
    } else {
      for (int64_t j = 0; j < NR; ++j) {
        if (j < n) {
          const float* src = g.B + (j0 + jr + j) * g.ldb + k0;
          for (int64_t k = 0; k < kc; ++k) p[k * NR + j] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) p[k * NR + j] = 0.f;
        }
      }
    }
  }
}

// Kernel: void(int64_t kc, const float* a_panel, const float* b_panel, float* c, int64_t ldc,
//               int m, int n) adds the MR x NR product into C's m x n corner.
template <int MR, int NR, class Kernel>
void run_block(const Args& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, Kernel kernel) {
  constexpr int64_t kKc = 256, kMc = MR * 16, kNc = NR * 32;
  const int64_t M = i1 - i0, N = j1 - j0;
  if (M <= 0 || N <= 0) return;
  for (int64_t i = i0; i < i1; ++i) {
    float* c = g.C + i * g.ldc + j0;
    if (g.beta == 0.f) std::fill(c, c + N, 0.f);
    else if (g.beta != 1.f)
      for (int64_t j = 0; j < N; ++j) c[j] *= g.beta;
  }
  if (g.K == 0 || g.alpha == 0.f) return;
  thread_local std::vector<float> abuf, bbuf;
  abuf.resize(size_t(kMc * kKc));
  bbuf.resize(size_t(kKc * kNc));
  for (int64_t jc = 0; jc < N; jc += kNc) {
    const int64_t nc = std::min(kNc, N - jc);
    for (int64_t pc = 0; pc < g.K; pc += kKc) {
      const int64_t kc = std::min(kKc, g.K - pc);
      pack_b<NR>(g, pc, kc, j0 + jc, nc, bbuf.data());
      for (int64_t ic = 0; ic < M; ic += kMc) {
        const int64_t mc = std::min(kMc, M - ic);
        pack_a<MR>(g, i0 + ic, mc, pc, kc, abuf.data());
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = int(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = int(std::min<int64_t>(MR, mc - ir));
            kernel(kc, abuf.data() + ir * kc, bbuf.data() + jr * kc, g.C + (i0 + ic + ir) * g.ldc + j0 + jc + jr,
                   g.ldc, m, n);
          }
        }
      }
    }
  }
}

// Threads split whichever dimension has more register tiles; each thread packs its own
// panels, which duplicates one operand's packing (O(MK) or O(KN)) but needs no barrier.
template <int MR, int NR, class Kernel>
void run(const Args& g, ThreadPool& pool, Kernel kernel) {
  const int64_t tiles_m = (g.M + MR - 1) / MR, tiles_n = (g.N + NR - 1) / NR;
  const double flops = 2.0 * double(g.M) * double(g.N) * double(g.K);
  const int nth = flops < 2e5 ? 1 : pool.size();
  if (nth == 1) {
    run_block<MR, NR>(g, 0, g.M, 0, g.N, kernel);
    return;
  }
  pool.run([&](int ith, int n) {
    if (tiles_m >= tiles_n) {
      int64_t a = tiles_m * ith / n * MR, b = std::min(g.M, tiles_m * (ith + 1) / n * MR);
      run_block<MR, NR>(g, a, b, 0, g.N, kernel);
    } else {
      int64_t a = tiles_n * ith / n * NR, b = std::min(g.N, tiles_n * (ith + 1) / n * NR);
      run_block<MR, NR>(g, 0, g.M, a, b, kernel);
    }
  });
}

// Adds a full register tile held in `tile` (MR x NR, row-major) into C's m x n corner.
template <int NR>
inline void add_partial(const float* tile, float* c, int64_t ldc, int m, int n) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * ldc + j] += tile[i * NR + j];
}

}  // namespace frugal::kernels::sgemm_detail
