// The one dispatch point: the best ISA is detected once (cpuid + the OS's saved register
// state), and its kernel table serves every matmul() until a test calls set_isa().
#include <cpuid.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

namespace frugal::kernels {

namespace {

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return uint64_t(hi) << 32 | lo;
}

Isa detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::Scalar;
  bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave || !fma || !f16c) return Isa::Scalar;
  uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::Scalar;  // XMM and YMM state saved by the OS
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::Scalar;
  bool avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
  if (!avx2 || !bmi2) return Isa::Scalar;
  bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  bool vnni = c & (1u << 11);
  unsigned a1 = 0, b1, c1, d1;
  __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
  bool bf16 = a1 & (1u << 5);
  bool zmm_state = (xcr0 & 0xe0) == 0xe0;  // opmask and ZMM registers saved
  if (f && dq && bw && vl && vnni && bf16 && zmm_state) return Isa::Avx512;
  return Isa::Avx2;
}

const KernelTable& table_for(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return kernels_avx512();
    case Isa::Avx2: return kernels_avx2();
    default: return kernels_scalar();
  }
}

std::atomic<int> g_active{-1};

}  // namespace

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

// FRUGAL_ISA=scalar|avx2|avx512 caps the start-up choice (debugging, A/B comparisons).
Isa initial_isa() {
  Isa isa = detected_isa();
  if (const char* e = std::getenv("FRUGAL_ISA")) {
    for (Isa c : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
      if (std::strcmp(e, isa_name(c)) == 0 && int(c) < int(isa)) isa = c;
  }
  return isa;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v < 0) {
    v = int(initial_isa());
    g_active.store(v, std::memory_order_relaxed);
  }
  return Isa(v);
}

void set_isa(Isa isa) {
  if (int(isa) > int(detected_isa())) isa = detected_isa();
  g_active.store(int(isa), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

const KernelTable& active_kernels() { return table_for(active_isa()); }

}  // namespace frugal::kernels
