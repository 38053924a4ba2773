// Every attention kernel against its scalar twin, over odd shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "model/kv_cache.h"

using namespace frugal::kernels;
using frugal::DType;

namespace {
struct Case {
  int64_t n_q, n_kv, hd, hdv;
};

// Case c's arguments over cached rows at k / v (strides in bytes).
AttendArgs case_args(const Case& c, const float* q, DType t, const void* k, int64_t k_stride, const void* v, int64_t v_stride,
                     float* scratch) {
  AttendArgs a;
  a.q = q;
  a.n_q = c.n_q;
  a.kv_type = t;
  a.k = k;
  a.k_stride = k_stride;
  a.v = v;
  a.v_stride = v_stride;
  a.n_kv = c.n_kv;
  a.head_dim = c.hd;
  a.head_dim_v = c.hdv;
  a.scale = 1.0f / std::sqrt(float(c.hd));
  a.scratch = scratch;
  return a;
}

// The scalar reference into o_ref, the ISA's kernel into o.
void attend_both(AttendArgs a, Isa isa, float* o_ref, float* o) {
  a.out = o_ref;
  attend_ref(a);
  a.out = o;
  if (isa == Isa::Avx512) attend_avx512(a); else attend_avx2(a);
}
}  // namespace

TEST(Attention, SimdMatchesReference) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case cases[] = {{1, 1, 16, 16}, {6, 37, 128, 128}, {4, 300, 64, 64}, {3, 5, 24, 40}, {8, 129, 192, 128}, {2, 17, 7, 9}};
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(detected_isa())) continue;
    for (const auto& c : cases) {
      const int64_t ks = c.hd + 3, vs = c.hdv + 5;  // strided rows, as in the cache
      std::vector<float> q(size_t(c.n_q * c.hd)), k(size_t(c.n_kv * ks)), v(size_t(c.n_kv * vs));
      for (auto& x : q) x = nd(rng);
      for (auto& x : k) x = nd(rng);
      for (auto& x : v) x = nd(rng);
      std::vector<float> o_ref(size_t(c.n_q * c.hdv)), o(size_t(c.n_q * c.hdv)), sc(size_t(c.n_q * c.n_kv));
      const AttendArgs a = case_args(c, q.data(), DType::F32, k.data(), ks * 4, v.data(), vs * 4, sc.data());
      attend_both(a, isa, o_ref.data(), o.data());
      // Scores differ by summation order: |Δs| <= hd * eps * Σ|q||k| * scale; the output is a
      // convex combination of values, so its error is bounded by max|v| * Σ|Δp| <= max|v| * 2 * max|Δs|.
      float qmax = 0, kmax = 0, vmax = 0;
      for (auto x : q) qmax = std::max(qmax, std::fabs(x));
      for (auto x : k) kmax = std::max(kmax, std::fabs(x));
      for (auto x : v) vmax = std::max(vmax, std::fabs(x));
      const float eps = 1.2e-7f;
      const float ds = float(c.hd) * eps * float(c.hd) * qmax * kmax * a.scale;
      const float tol = vmax * (2 * ds + float(c.n_kv + c.hdv) * eps) * 4;
      for (size_t i = 0; i < o.size(); ++i)
        ASSERT_NEAR(o[i], o_ref[i], tol) << isa_name(isa) << " n_q=" << c.n_q << " n_kv=" << c.n_kv << " i=" << i;
    }
  }
}

// A paged cache (rows in blocks of 2^shift anywhere in memory, in shuffled order) gives exactly
// what the same rows give contiguous, for every kernel.
TEST(Attention, PagedRowsEqualContiguous) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int shift = 4;
  const int64_t B = int64_t(1) << shift;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(detected_isa())) continue;
    for (int64_t n_kv : {1, 15, 16, 17, 100}) {
      const int64_t hd = 64, hdv = 48, n_q = 3, ks = hd + 8, vs = hdv;
      const int64_t n_blocks = (n_kv + B - 1) / B;
      std::vector<float> q(size_t(n_q * hd)), k(size_t(n_blocks * B * ks)), v(size_t(n_blocks * B * vs));
      for (auto& x : q) x = nd(rng);
      for (auto& x : k) x = nd(rng);
      for (auto& x : v) x = nd(rng);
      // The same rows scattered: logical block b lives at physical block perm[b].
      std::vector<int64_t> perm(static_cast<size_t>(n_blocks));
      for (int64_t b = 0; b < n_blocks; ++b) perm[size_t(b)] = b;
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<float> kp(k.size()), vp(v.size());
      std::vector<const void*> kpages(static_cast<size_t>(n_blocks)), vpages(static_cast<size_t>(n_blocks));
      for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t p = perm[size_t(b)];
        std::copy_n(k.data() + b * B * ks, B * ks, kp.data() + p * B * ks);
        std::copy_n(v.data() + b * B * vs, B * vs, vp.data() + p * B * vs);
        kpages[size_t(b)] = kp.data() + p * B * ks;
        vpages[size_t(b)] = vp.data() + p * B * vs;
      }
      std::vector<float> o1(size_t(n_q * hdv)), o2(o1.size()), sc(size_t(n_q * n_kv));
      AttendArgs a;
      a.q = q.data();
      a.n_q = n_q;
      a.k = k.data();
      a.k_stride = ks * 4;
      a.v = v.data();
      a.v_stride = vs * 4;
      a.n_kv = n_kv;
      a.head_dim = hd;
      a.head_dim_v = hdv;
      a.scale = 0.125f;
      a.scratch = sc.data();
      auto run = [&](AttendArgs& x) {
        if (isa == Isa::Avx512) attend_avx512(x);
        else if (isa == Isa::Avx2) attend_avx2(x);
        else attend_ref(x);
      };
      a.out = o1.data();
      run(a);
      AttendArgs p = a;
      p.k = p.v = nullptr;
      p.k_pages = kpages.data();
      p.v_pages = vpages.data();
      p.page_shift = shift;
      p.out = o2.data();
      run(p);
      for (size_t i = 0; i < o1.size(); ++i) ASSERT_EQ(o1[i], o2[i]) << isa_name(isa) << " n_kv=" << n_kv << " i=" << i;
    }
  }
}

// Cached rows of F16, BF16 and Q8_0: each SIMD kernel against the scalar twin, which converts
// every row with the format's reference dequantizer. Conversion is exact in both (an fp16
// scale times an int8 is exact in fp32), so only the summation order differs, as for F32.
TEST(Attention, TypedRowsMatchReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case cases[] = {{1, 1, 32, 32}, {6, 37, 128, 128}, {16, 70, 576, 512}, {3, 200, 64, 64}};
  for (DType t : {DType::F16, DType::BF16, DType::Q8_0}) {
    for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
      if (int(isa) > int(detected_isa())) continue;
      for (const auto& c : cases) {
        const int64_t w = c.hd + 64;  // row width: other heads' columns around this head's
        const size_t rb = frugal::row_bytes(t, w);
        std::vector<float> q(size_t(c.n_q * c.hd)), row(static_cast<size_t>(w));
        std::vector<uint8_t> k(size_t(c.n_kv) * rb), v(size_t(c.n_kv) * rb);
        for (auto& x : q) x = nd(rng);
        for (int64_t j = 0; j < c.n_kv; ++j) {
          for (auto& x : row) x = nd(rng);
          quantize_row(t, row.data(), k.data() + size_t(j) * rb, w);
          for (auto& x : row) x = nd(rng);
          quantize_row(t, row.data(), v.data() + size_t(j) * rb, w);
        }
        std::vector<float> o_ref(size_t(c.n_q * c.hdv)), o(o_ref.size()), sc(size_t(c.n_q * c.n_kv));
        // The key head starts one block into its rows.
        const AttendArgs a = case_args(c, q.data(), t, k.data() + frugal::row_bytes(t, 32), int64_t(rb), v.data(), int64_t(rb), sc.data());
        attend_both(a, isa, o_ref.data(), o.data());
        const float eps = 1.2e-7f, qk = 5.f * 5.f;  // |q|, |k| < 5 for these normals
        const float tol = 5.f * (2 * float(c.hd) * eps * float(c.hd) * qk * a.scale + float(c.n_kv + c.hdv) * eps) * 4;
        for (size_t i = 0; i < o.size(); ++i)
          ASSERT_NEAR(o[i], o_ref[i], tol) << frugal::dtype_name(t) << " " << isa_name(isa) << " n_kv=" << c.n_kv;
      }
    }
  }
}

// Over a Q8_0 cache the queries are rounded to Q8_0 too: the scalar twin over Q8_0 rows equals,
// bit for bit, the scalar twin over the same rows dequantized to F32 with the query rounded
// beforehand; and it differs from the unrounded query (the rounding is not a no-op).
TEST(Attention, Q8_0CacheScoresTheRoundedQuery) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case c{6, 45, 128, 128};
  const size_t rb = frugal::row_bytes(DType::Q8_0, c.hd);
  std::vector<float> q(size_t(c.n_q * c.hd)), qr(q.size()), row(size_t(c.hd));
  std::vector<uint8_t> k(size_t(c.n_kv) * rb), v(k.size());
  std::vector<float> kf(size_t(c.n_kv * c.hd)), vf(kf.size());
  for (auto& x : q) x = nd(rng);
  for (int64_t j = 0; j < c.n_kv; ++j) {
    for (auto& x : row) x = nd(rng);
    quantize_row(DType::Q8_0, row.data(), k.data() + size_t(j) * rb, c.hd);
    dequantize_row(DType::Q8_0, k.data() + size_t(j) * rb, kf.data() + j * c.hd, c.hd);
    for (auto& x : row) x = nd(rng);
    quantize_row(DType::Q8_0, row.data(), v.data() + size_t(j) * rb, c.hd);
    dequantize_row(DType::Q8_0, v.data() + size_t(j) * rb, vf.data() + j * c.hd, c.hd);
  }
  round_query_q8_0(q.data(), c.n_q, c.hd, qr.data());
  std::vector<float> sc(size_t(c.n_q * c.n_kv)), o_q8(size_t(c.n_q * c.hdv)), o_f32(o_q8.size()), o_raw(o_q8.size());
  AttendArgs a = case_args(c, q.data(), DType::Q8_0, k.data(), int64_t(rb), v.data(), int64_t(rb), sc.data());
  a.out = o_q8.data();
  attend_ref(a);
  AttendArgs f = case_args(c, qr.data(), DType::F32, kf.data(), c.hd * 4, vf.data(), c.hd * 4, sc.data());
  f.out = o_f32.data();
  attend_ref(f);
  f.q = q.data();
  f.out = o_raw.data();
  attend_ref(f);
  float moved = 0;
  for (size_t i = 0; i < o_q8.size(); ++i) {
    ASSERT_EQ(o_q8[i], o_f32[i]) << i;
    moved = std::max(moved, std::fabs(o_q8[i] - o_raw[i]));
  }
  EXPECT_GT(moved, 1e-5f);
}

// The cache converts rows on the way in: what comes back is the type's rounding of what went
// in, and a type whose block does not divide a head is refused with a message.
TEST(KvCacheTypes, RowsRoundTripWithinTheTypesPrecision) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    frugal::KvCache c(2, 1, 40, 64, 64, t, 32);
    EXPECT_EQ(c.bytes_per_token(), 2 * 2 * int64_t(frugal::row_bytes(t, 64)));
    std::vector<float> in(64), out(64);
    for (int64_t pos : {0, 17, 39}) {
      for (auto& x : in) x = nd(rng);
      c.store_k(1, 0, pos, in.data());
      c.load_k(1, 0, pos, 1, out.data());
      float amax = 0;
      for (float x : in) amax = std::max(amax, std::fabs(x));
      // Relative rounding of each type (Q8_0: half a step of amax/127 per 32-block).
      const float tol = t == DType::F32 ? 0.f : t == DType::F16 ? 1e-3f : t == DType::BF16 ? 8e-3f : amax / 127.f;
      for (int i = 0; i < 64; ++i) ASSERT_NEAR(out[size_t(i)], in[size_t(i)], tol * (t == DType::Q8_0 ? 1.f : std::fabs(in[size_t(i)]) + 1e-30f)) << frugal::dtype_name(t);
    }
  }
  EXPECT_THROW(frugal::KvCache(1, 1, 16, 48, 48, DType::Q8_0, 16), frugal::Error);
  EXPECT_NO_THROW(frugal::KvCache(1, 1, 16, 48, 48, DType::F16, 16));
}

// The pool's layout: each (layer, head) holds its blocks' 16-row runs side by side, so a
// sequence given blocks in order is one run per head (what decode attention streams); every
// row has its own bytes; k_pages points at k(); and a block copied out (the disk tier's
// order: k rows [layer][head][position], then v rows) and into another block reads back equal.
TEST(KvCacheTypes, LayoutRunsAndBlockCopies) {
  const int64_t L = 3, heads = 2, hd = 32, n_ctx = 48;
  frugal::KvCache c(L, 2, n_ctx, heads * hd, heads * hd, DType::F16, hd);
  const int64_t stride = c.k_stride();
  ASSERT_EQ(stride, int64_t(frugal::row_bytes(DType::F16, hd)));
  std::set<const uint8_t*> seen;
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t il = 0; il < L; ++il)
      for (int64_t g = 0; g < heads; ++g) {
        std::vector<const void*> pages;
        c.k_pages(il, s, frugal::KvCache::blocks_for(n_ctx), g * hd, pages);
        for (int64_t pos = 0; pos < n_ctx; ++pos) {
          const uint8_t* p = c.k(il, s, pos, g);
          ASSERT_TRUE(seen.insert(p).second) << "row shared: layer " << il << " pos " << pos << " head " << g;
          EXPECT_EQ(p, static_cast<const uint8_t*>(pages[size_t(pos >> 4)]) + (pos & 15) * stride);
          if (pos > 0 && s == 0) EXPECT_EQ(p, c.k(il, s, pos - 1, g) + stride) << "run broken at " << pos;
        }
        std::vector<const void*> tail, vtail, vpages;  // a context segment's blocks: [1, 3)
        c.k_pages(il, s, 2, g * hd, tail, 1);
        c.v_pages(il, s, 2, g * hd, vtail, 1);
        c.v_pages(il, s, frugal::KvCache::blocks_for(n_ctx), g * hd, vpages);
        ASSERT_EQ(tail.size(), 2u);
        EXPECT_TRUE(tail[0] == pages[1] && tail[1] == pages[2] && vtail[0] == vpages[1] && vtail[1] == vpages[2]);
      }
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> row(size_t(heads * hd)), a(row.size()), b(row.size());
  for (int64_t il = 0; il < L; ++il)
    for (int64_t pos = 0; pos < 16; ++pos) {
      for (auto& x : row) x = nd(rng);
      c.store_k(il, 0, pos, row.data());
      for (auto& x : row) x = nd(rng);
      c.store_v(il, 0, pos, row.data());
    }
  std::vector<uint8_t> bytes(size_t(c.block_bytes()));
  c.copy_block_out(c.block(0, 0), bytes.data());
  // Disk order: layer 1, head 1, position 5's key row.
  EXPECT_EQ(std::memcmp(bytes.data() + size_t(((1 * heads + 1) * 16 + 5) * stride), c.k(1, 0, 5, 1), size_t(stride)), 0);
  c.copy_block_in(c.block(1, 0), bytes.data());
  for (int64_t il = 0; il < L; ++il)
    for (int64_t pos = 0; pos < 16; ++pos)
      for (int64_t g = 0; g < heads; ++g) {
        EXPECT_EQ(std::memcmp(c.k(il, 0, pos, g), c.k(il, 1, pos, g), size_t(stride)), 0);
        EXPECT_EQ(std::memcmp(c.v(il, 0, pos, g), c.v(il, 1, pos, g), size_t(stride)), 0);
      }
}

// A pipeline stage's cache (dist/pipeline) holds layers [first, first + n) under the model's
// own layer numbers: the same rows as the whole model's cache has for those layers, in a
// buffer of n layers.
TEST(KvCacheTypes, StageCacheKeepsModelLayerNumbers) {
  const int64_t heads = 2, hd = 32, n_ctx = 32;
  frugal::KvCache whole(5, 1, n_ctx, heads * hd, heads * hd, DType::F32, hd);
  frugal::KvCache stage(2, 1, n_ctx, heads * hd, heads * hd, DType::F32, hd);
  stage.set_first_layer(3);
  EXPECT_EQ(stage.bytes_per_token() * 5, whole.bytes_per_token() * 2);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> row(size_t(heads * hd)), a(row.size()), b(row.size());
  for (int64_t il = 3; il < 5; ++il)
    for (int64_t pos = 0; pos < n_ctx; ++pos) {
      for (auto& x : row) x = nd(rng);
      whole.store_k(il, 0, pos, row.data());
      stage.store_k(il, 0, pos, row.data());
      whole.store_v(il, 0, pos, row.data());
      stage.store_v(il, 0, pos, row.data());
    }
  std::set<const uint8_t*> seen;
  for (int64_t il = 3; il < 5; ++il)
    for (int64_t pos = 0; pos < n_ctx; ++pos)
      for (int64_t g = 0; g < heads; ++g) {
        ASSERT_EQ(std::memcmp(stage.k(il, 0, pos, g), whole.k(il, 0, pos, g), size_t(stage.k_stride())), 0);
        ASSERT_EQ(std::memcmp(stage.v(il, 0, pos, g), whole.v(il, 0, pos, g), size_t(stage.v_stride())), 0);
        ASSERT_TRUE(seen.insert(stage.k(il, 0, pos, g)).second) << "layers " << il << " share a row";
        std::vector<const void*> pages;
        stage.k_pages(il, 0, frugal::KvCache::blocks_for(n_ctx), g * hd, pages);
        EXPECT_EQ(static_cast<const void*>(stage.k(il, 0, pos, g)),
                  static_cast<const void*>(static_cast<const uint8_t*>(pages[size_t(pos >> 4)]) + (pos & 15) * stage.k_stride()));
      }
}

// A run of consecutive positions at once (prefill): each position's output equals the
// scalar twin run for that position alone, over its own causal prefix, for every cache type,
// paged with blocks out of order, and runs that start mid-tile and end past a tile.
TEST(Attention, PositionRunsMatchOnePositionAtATime) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t n_q = 6, hd = 128, hdv = 128, B = 16;
  for (DType t : {DType::F32, DType::F16, DType::Q8_0}) {
    for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
      if (int(isa) > int(detected_isa())) continue;
      for (auto [n_kv, n_tok] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 5}, {40, 7}, {70, 33}, {100, 1}, {48, 16}}) {
        const size_t rb = frugal::row_bytes(t, hd);
        const int64_t n_blocks = (n_kv + B - 1) / B;
        std::vector<uint8_t> k(size_t(n_blocks * B) * rb), v(k.size());
        std::vector<float> row(static_cast<size_t>(hd));
        for (size_t o = 0; o < k.size(); o += rb) {
          for (auto& x : row) x = nd(rng);
          quantize_row(t, row.data(), k.data() + o, hd);
          for (auto& x : row) x = nd(rng);
          quantize_row(t, row.data(), v.data() + o, hd);
        }
        std::vector<int64_t> perm(static_cast<size_t>(n_blocks));
        for (int64_t b = 0; b < n_blocks; ++b) perm[size_t(b)] = b;
        std::shuffle(perm.begin(), perm.end(), rng);
        std::vector<const void*> kp(static_cast<size_t>(n_blocks)), vp(static_cast<size_t>(n_blocks));
        for (int64_t b = 0; b < n_blocks; ++b) {
          kp[size_t(b)] = k.data() + size_t(perm[size_t(b)] * B) * rb;
          vp[size_t(b)] = v.data() + size_t(perm[size_t(b)] * B) * rb;
        }
        // Queries and outputs of each position sit in rows of 2 groups (the model's layout).
        const int64_t q_stride = 2 * n_q * hd, o_stride = 2 * n_q * hdv;
        std::vector<float> q(size_t(n_tok * q_stride)), o(size_t(n_tok * o_stride), -1.f), o_ref(o.size(), -1.f);
        for (auto& x : q) x = nd(rng) * 0.3f;
        std::vector<float> sc(size_t(n_tok * n_q * n_kv));
        AttendArgs a;
        a.q = q.data();
        a.n_q = n_q;
        a.kv_type = t;
        a.k_pages = kp.data();
        a.v_pages = vp.data();
        a.page_shift = 4;
        a.k_stride = a.v_stride = int64_t(rb);
        a.n_kv = n_kv;
        a.head_dim = hd;
        a.head_dim_v = hdv;
        a.scale = 1.0f / std::sqrt(float(hd));
        a.scratch = sc.data();
        a.n_tok = n_tok;
        a.q_tok_stride = q_stride;
        a.out_tok_stride = o_stride;
        a.out = o.data();
        if (isa == Isa::Avx512) attend_avx512(a); else attend_avx2(a);
        for (int64_t i = 0; i < n_tok; ++i) {
          AttendArgs b = a;
          b.n_tok = 1;
          b.q = q.data() + i * q_stride;
          b.out = o_ref.data() + i * o_stride;
          b.n_kv = n_kv - (n_tok - 1 - i);
          attend_ref(b);
        }
        for (size_t i = 0; i < o.size(); ++i)
          ASSERT_NEAR(o[i], o_ref[i], 2e-5f) << frugal::dtype_name(t) << " " << isa_name(isa) << " n_kv=" << n_kv
                                            << " n_tok=" << n_tok << " i=" << i;
      }
    }
  }
}

// Flash-decoding: a context attended as kSegmentKeys segments (each with its lse) and merged
// equals the attention over the whole context, for the scalar twin and every kernel, with
// typed rows; the lse of a segment is the log-sum-exp of its scaled scores (checked in double).
TEST(Attention, SegmentsMergeIntoTheWholeContext) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case c{6, 2 * kSegmentKeys + 300, 64, 48};
  ASSERT_EQ(n_segments(c.n_kv), 3);
  ASSERT_EQ(n_segments(kSegmentKeys), 1);
  for (DType t : {DType::F32, DType::F16}) {
    const size_t kb = frugal::row_bytes(t, c.hd), vb = frugal::row_bytes(t, c.hdv);
    std::vector<float> q(size_t(c.n_q * c.hd)), row(size_t(c.hd));
    std::vector<uint8_t> k(size_t(c.n_kv) * kb), v(size_t(c.n_kv) * vb);
    for (auto& x : q) x = 2.f * nd(rng);  // wide scores: the segments' maxima differ
    for (int64_t j = 0; j < c.n_kv; ++j) {
      for (auto& x : row) x = nd(rng);
      quantize_row(t, row.data(), k.data() + size_t(j) * kb, c.hd);
      for (auto& x : row) x = nd(rng);
      quantize_row(t, row.data(), v.data() + size_t(j) * vb, c.hdv);
    }
    std::vector<float> sc(size_t(c.n_q * c.n_kv)), whole(size_t(c.n_q * c.hdv));
    AttendArgs a = case_args(c, q.data(), t, k.data(), int64_t(kb), v.data(), int64_t(vb), sc.data());
    a.out = whole.data();
    attend_ref(a);
    for (int isa = 0; isa <= int(Isa::Avx512); ++isa) {
      if (isa > int(detected_isa()) || (isa != 0 && isa != int(Isa::Avx2) && isa != int(Isa::Avx512))) continue;
      const int64_t ns = n_segments(c.n_kv);
      std::vector<float> outs(size_t(ns * c.n_q * c.hdv)), lses(size_t(ns * c.n_q), NAN), merged(whole.size());
      for (int64_t s = 0; s < ns; ++s) {
        AttendArgs b = a;
        const int64_t j0 = s * kSegmentKeys;
        b.k = k.data() + size_t(j0) * kb;
        b.v = v.data() + size_t(j0) * vb;
        b.n_kv = std::min(kSegmentKeys, c.n_kv - j0);
        b.out = outs.data() + s * c.n_q * c.hdv;
        b.lse = lses.data() + s * c.n_q;
        if (isa == int(Isa::Avx512)) attend_avx512(b);
        else if (isa == int(Isa::Avx2)) attend_avx2(b);
        else attend_ref(b);
        std::vector<float> kf(size_t(c.hd));
        for (int64_t h = 0; h < c.n_q; ++h) {  // lse against double sums
          double mx = -INFINITY, sum = 0;
          std::vector<double> s_d(size_t(b.n_kv));
          for (int64_t j = 0; j < b.n_kv; ++j) {
            dequantize_row(t, b.key(j), kf.data(), c.hd);
            double d = 0;
            for (int64_t i = 0; i < c.hd; ++i) d += double(q[size_t(h * c.hd + i)]) * kf[size_t(i)];
            s_d[size_t(j)] = d * a.scale;
            mx = std::max(mx, s_d[size_t(j)]);
          }
          for (double x : s_d) sum += std::exp(x - mx);
          ASSERT_NEAR(b.lse[h], mx + std::log(sum), 1e-3 * (1 + std::fabs(mx))) << "isa " << isa << " s=" << s;
        }
      }
      merge_segments(outs.data(), lses.data(), ns, c.n_q, c.hdv, merged.data());
      // Each segment's output is a convex combination of values within ~1e-5 of the exact one;
      // the merge weights move the result by at most max|v| times their relative error.
      for (size_t i = 0; i < merged.size(); ++i)
        ASSERT_NEAR(merged[i], whole[i], 2e-4f) << frugal::dtype_name(t) << " isa " << isa << " i=" << i;
    }
  }
}
