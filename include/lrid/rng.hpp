#pragma once
// Small, fully specified random number generation shared by every module.
//
// Why not <random>: std::normal_distribution, std::uniform_int_distribution and std::shuffle
// are implementation-defined, so the same seed gives different numbers with libstdc++ and
// libc++. Everything here is specified down to the bit (the normal deviates go through
// std::log/std::sqrt/std::cos/std::sin, so they are bitwise reproducible for a given libm and
// agree to the last ulp or so across libms).
//
// Two kinds of generator:
//  - counter-based: a value is a pure function of (seed, counter), e.g. counter_normal(seed, i)
//    for the noise on tensor entry i. Adding noise to every entry and then keeping a subset
//    gives exactly the same numbers as keeping the subset and adding noise to the kept entries,
//    and no noise is ever generated for discarded entries.
//  - sequential: Xoshiro256ss (xoshiro256**, Blackman & Vigna 2018) seeded from one uint64
//    through splitmix64; satisfies UniformRandomBitGenerator.
//
// Derive independent seeds with hash_combine(seed, tag) (e.g. per layer, per trajectory point)
// instead of seed + 1, which would give correlated streams in a weaker generator.
#include <cmath>
#include <cstdint>
#include <limits>

namespace lrid::rng {

/// splitmix64 step: advances `state` by the golden-ratio increment and returns its mix.
inline constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// splitmix64's finaliser applied to `z + golden ratio`: a bijective, well-avalanched hash.
inline constexpr std::uint64_t mix64(std::uint64_t z) {
  std::uint64_t s = z;
  return splitmix64(s);
}

/// Combines two 64-bit values into one well-mixed seed. Not symmetric:
/// hash_combine(a, b) != hash_combine(b, a) in general.
inline constexpr std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) {
  return mix64(mix64(a) ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2)));
}

/// The top 53 bits of `bits` as a double in [0, 1).
inline constexpr double uniform01(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

/// Counter-based uniform in [0, 1): depends only on (seed, counter).
inline constexpr double counter_uniform(std::uint64_t seed, std::uint64_t counter) {
  return uniform01(hash_combine(seed, counter));
}

namespace detail {
// Marsaglia & Tsang's ziggurat (J. Stat. Softw. 5(8), 2000) with 128 layers, tables computed
// at first use from the published constants r = 3.442619855899 and v = 9.91256303526217e-3.
struct Ziggurat {
  std::uint32_t k[128];
  double w[128], f[128];
  Ziggurat() {
    const double m1 = 2147483648.0;
    double dn = 3.442619855899, tn = dn;
    const double vn = 9.91256303526217e-3;
    const double q = vn / std::exp(-0.5 * dn * dn);
    k[0] = static_cast<std::uint32_t>((dn / q) * m1);
    k[1] = 0;
    w[0] = q / m1;
    w[127] = dn / m1;
    f[0] = 1.0;
    f[127] = std::exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; --i) {
      dn = std::sqrt(-2.0 * std::log(vn / dn + std::exp(-0.5 * dn * dn)));
      k[i + 1] = static_cast<std::uint32_t>((dn / tn) * m1);
      tn = dn;
      f[i] = std::exp(-0.5 * dn * dn);
      w[i] = dn / m1;
    }
  }
};
inline const Ziggurat& ziggurat() {
  static const Ziggurat z;
  return z;
}
}  // namespace detail

/// Counter-based standard normal: depends only on (seed, counter). Ziggurat method: one hash
/// and a table look-up for ~99% of the values (a few times faster than Box-Muller's
/// log/sqrt/sincos); the rare tail and wedge cases draw more bits by re-hashing.
inline double counter_normal(std::uint64_t seed, std::uint64_t counter) {
  const detail::Ziggurat& z = detail::ziggurat();
  std::uint64_t h = hash_combine(seed, counter);
  for (;;) {
    const auto hz = static_cast<std::int32_t>(static_cast<std::uint32_t>(h));
    const std::uint32_t iz = static_cast<std::uint32_t>(h >> 32) & 127u;
    const std::uint32_t mag = hz < 0 ? static_cast<std::uint32_t>(-(static_cast<std::int64_t>(hz)))
                                     : static_cast<std::uint32_t>(hz);
    if (mag < z.k[iz]) return hz * z.w[iz];
    h = mix64(h);
    const double u = uniform01(h);
    if (iz == 0) {
      // the tail beyond r: Marsaglia's exponential method
      const double r = 3.442619855899;
      double x, y;
      do {
        x = -std::log(1.0 - uniform01(h = mix64(h))) / r;
        y = -std::log(1.0 - uniform01(h = mix64(h)));
      } while (y + y < x * x);
      return hz > 0 ? r + x : -r - x;
    }
    const double x = hz * z.w[iz];
    if (z.f[iz] + u * (z.f[iz - 1] - z.f[iz]) < std::exp(-0.5 * x * x)) return x;
    h = mix64(h);  // rejected: new candidate from fresh bits
  }
}

/// xoshiro256** seeded from one uint64 via splitmix64 (the authors' recommended seeding).
class Xoshiro256ss {
 public:
  using result_type = std::uint64_t;

  explicit Xoshiro256ss(std::uint64_t seed = 0) {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() { return next(); }

  result_type next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1).
  double uniform() { return uniform01(next()); }

  /// Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
    std::uint64_t low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal (Box-Muller, one value per call; the sine half is discarded so the stream
  /// position after k calls does not depend on caching).
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925286766559 * u2);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace lrid::rng
