// The project's own seeded RNG (splitmix64) and normal deviates from it: the same seed gives
// the same numbers with every standard library, so samples, test models and training runs
// are reproducible everywhere.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

namespace frugal {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ^ 0x9E3779B97F4A7C15ull) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)

 private:
  uint64_t s_;
};

// Box-Muller normal deviates N(mean, std) into out[0..n).
inline void fill_normal(float* out, int64_t n, uint64_t seed, float mean, float std) {
  Rng rng(seed);
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = (double(rng.next() >> 11) + 1.0) * (1.0 / 9007199254740993.0), u2 = rng.uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = mean + std * float(r * std::cos(6.283185307179586 * u2));
    if (i + 1 < n) out[i + 1] = mean + std * float(r * std::sin(6.283185307179586 * u2));
  }
}

// Seeds per (tensor name, row): rows can be generated in parallel, in any order.
inline uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
inline uint64_t row_seed(const std::string& tensor, uint64_t seed, int64_t row) {
  return (hash_name(tensor) ^ (seed * 0x9E3779B97F4A7C15ull)) + uint64_t(row) * 0x2545F4914F6CDD1Dull;
}

}  // namespace frugal
