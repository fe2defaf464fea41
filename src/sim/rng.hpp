#pragma once
// Deterministic randomness for the simulator. The standard library's distributions are allowed to differ
// between implementations, so the simulator draws from its own: the same --seed gives the same run on
// every platform. Every random quantity is derived from (seed, a stable key), not from a shared stream,
// so two strategies simulated on the same workload see exactly the same task durations and arrivals.

#include <cmath>
#include <cstdint>
#include <string_view>

namespace spotfit::sim {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a: stable across runs and platforms (std::hash is not).
inline uint64_t stableHash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

inline uint64_t mixKeys(uint64_t a, uint64_t b) {
  return splitmix64(a ^ splitmix64(b));
}

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) {
      x = splitmix64(x);
      s = x;
    }
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1]: safe for log().
  double uniformPositive() { return 1.0 - uniform(); }

  double exponential(double mean) { return -mean * std::log(uniformPositive()); }

  double normal() {
    // Box-Muller; the second value is discarded to keep the stream position simple.
    double u1 = uniformPositive();
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Log-normal with the given mean and standard deviation of the variable itself (not of its log).
  double lognormal(double mean, double stddev) {
    if (stddev <= 0) return mean;
    double v = (stddev * stddev) / (mean * mean);
    double sigma2 = std::log1p(v);
    double mu = std::log(mean) - sigma2 / 2;
    return std::exp(mu + std::sqrt(sigma2) * normal());
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace spotfit::sim
