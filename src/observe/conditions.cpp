// Measurement conditions (see include/lrid/observe/conditions.hpp for the definitions).
#include "lrid/observe/conditions.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

#include "lrid/error.hpp"
#include "lrid/rng.hpp"

namespace lrid::observe {

namespace {

std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// Salts for the derived seeds (arbitrary constants, fixed forever: changing them changes data).
constexpr std::uint64_t kNoiseSalt = 0x6E6F697365ULL;  // "noise"

}  // namespace

std::size_t Condition::kept(std::size_t n) const {
  if (units > 0) {
    if (n == 0) throw BadInput("unit subset of an empty layer (0 units)");
    return static_cast<std::size_t>(std::min<std::uint64_t>(units, n));
  }
  return subset_size(n, fraction);
}

std::string Condition::name() const {
  if (ideal()) return "ideal";
  std::string s = (units > 0 ? "n" + std::to_string(units) : "f" + shortest(fraction)) + "_s" + shortest(noise);
  if (seed != 0) s += "_seed" + std::to_string(seed);
  return s;
}

void Condition::validate(const std::string& context) const {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw BadInput(context + ": unit fraction " + shortest(fraction) +
                   " is outside (0, 1] (expected 0 < fraction <= 1)");
  if (!(noise >= 0.0 && std::isfinite(noise)))
    throw BadInput(context + ": noise " + shortest(noise) +
                   " is invalid (expected a finite standard deviation >= 0)");
}

bool operator==(const Condition& a, const Condition& b) {
  return a.fraction == b.fraction && a.noise == b.noise && a.seed == b.seed && a.units == b.units;
}

Condition parse_condition(const std::string& name) {
  Condition c;
  if (name == "ideal") return c;
  auto bad = [&](const std::string& why) {
    return BadInput("condition name '" + name + "': " + why +
                    " (expected 'ideal' or f<fraction>_s<sigma>[_seed<n>] or n<units>_s<sigma>, e.g. f0.1_s0.5)");
  };
  bool have_f = false, have_s = false;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    const std::size_t end = std::min(name.find('_', pos), name.size());
    const std::string tok = name.substr(pos, end - pos);
    if (tok.rfind("seed", 0) == 0) {
      const std::string v = tok.substr(4);
      std::uint64_t s = 0;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), s);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
        throw bad("bad seed '" + v + "'");
      c.seed = s;
    } else if (!tok.empty() && tok[0] == 'f' && !have_f) {
      if (!parse_double(tok.substr(1), c.fraction)) throw bad("bad fraction '" + tok + "'");
      have_f = true;
    } else if (!tok.empty() && tok[0] == 'n' && !have_f) {
      const std::string v = tok.substr(1);
      std::uint64_t k = 0;
      const auto r = std::from_chars(v.data(), v.data() + v.size(), k);
      if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || k == 0)
        throw bad("bad unit count '" + tok + "'");
      c.units = k;
      have_f = true;
    } else if (!tok.empty() && tok[0] == 's' && !have_s) {
      if (!parse_double(tok.substr(1), c.noise)) throw bad("bad noise '" + tok + "'");
      have_s = true;
    } else {
      throw bad("unexpected part '" + tok + "'");
    }
    pos = end + 1;
  }
  if (!have_f || !have_s) throw bad("needs f<fraction> (or n<units>) and s<sigma>");
  c.validate("condition name '" + name + "'");
  return c;
}

std::size_t subset_size(std::size_t n_units, double fraction) {
  if (n_units == 0) throw BadInput("unit subset of an empty layer (0 units)");
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw BadInput("unit fraction " + shortest(fraction) + " is outside (0, 1]");
  const double p = fraction * static_cast<double>(n_units);
  const double r = std::round(p);
  // f * n carries the rounding of f (0.1 is not 1/10): treat values within 1e-9 relative of an
  // integer as that integer before taking the ceiling.
  const double k = std::fabs(p - r) <= 1e-9 * std::max(1.0, p) ? r : std::ceil(p);
  if (k < 1.0) return 1;
  if (k >= static_cast<double>(n_units)) return n_units;
  return static_cast<std::size_t>(k);
}

std::vector<std::int64_t> unit_subset(std::size_t n_units, double fraction, std::uint64_t seed) {
  return unit_subset_of_size(n_units, subset_size(n_units, fraction), seed);
}

std::vector<std::int64_t> unit_subset_of_size(std::size_t n_units, std::size_t k_wanted, std::uint64_t seed) {
  if (n_units == 0) throw BadInput("unit subset of an empty layer (0 units)");
  const std::size_t k = std::max<std::size_t>(1, std::min(k_wanted, n_units));
  std::vector<std::int64_t> out(k);
  if (k == n_units) {
    std::iota(out.begin(), out.end(), std::int64_t{0});
    return out;
  }
  // The first k positions of a Fisher-Yates shuffle: position i swaps with j in [i, n).
  rng::Xoshiro256ss gen(seed);
  const std::uint64_t n = n_units;
  if (k < n_units / 8) {
    // Sparse: only displaced positions are stored (same draws, same result as the dense path).
    std::unordered_map<std::uint64_t, std::uint64_t> moved;
    moved.reserve(2 * k);
    auto at = [&](std::uint64_t i) {
      const auto it = moved.find(i);
      return it == moved.end() ? i : it->second;
    };
    for (std::uint64_t i = 0; i < k; ++i) {
      const std::uint64_t j = i + gen.below(n - i);
      const std::uint64_t vi = at(i), vj = at(j);
      out[i] = static_cast<std::int64_t>(vj);
      moved[j] = vi;
    }
  } else {
    std::vector<std::uint64_t> perm(n_units);
    std::iota(perm.begin(), perm.end(), std::uint64_t{0});
    for (std::uint64_t i = 0; i < k; ++i) {
      const std::uint64_t j = i + gen.below(n - i);
      std::swap(perm[i], perm[j]);
      out[i] = static_cast<std::int64_t>(perm[i]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t gradavg_output_seed(const Condition& c) { return rng::hash_combine(c.seed, 1); }

std::vector<std::int64_t> weight_units(std::size_t n_entries, const Condition& c) {
  return unit_subset_of_size(n_entries, c.kept(n_entries), c.seed);
}
std::vector<std::int64_t> act_units(std::size_t n_units, const Condition& c) {
  return unit_subset_of_size(n_units, c.kept(n_units), c.seed);
}
std::vector<std::int64_t> gradavg_input_units(std::size_t n_in, const Condition& c) {
  return unit_subset_of_size(n_in, c.kept(n_in), c.seed);
}
std::vector<std::int64_t> gradavg_output_units(std::size_t n_out, const Condition& c) {
  return unit_subset_of_size(n_out, c.kept(n_out), gradavg_output_seed(c));
}

std::uint64_t noise_seed(const Condition& c, std::uint64_t layer, std::uint64_t point,
                         Measure measure) {
  std::uint64_t s = rng::hash_combine(c.seed, kNoiseSalt);
  s = rng::hash_combine(s, layer);
  s = rng::hash_combine(s, point);
  return rng::hash_combine(s, static_cast<std::uint64_t>(measure));
}

template <typename T>
void gather_noisy(const T* x, const std::vector<std::int64_t>& units, double sigma,
                  std::uint64_t seed, std::vector<T>& out) {
  const std::size_t k = units.size();
  out.resize(k);
  if (sigma == 0.0) {
    for (std::size_t j = 0; j < k; ++j) out[j] = x[units[j]];
    return;
  }
  for (std::size_t j = 0; j < k; ++j) {
    const auto i = static_cast<std::uint64_t>(units[j]);
    out[j] = static_cast<T>(static_cast<double>(x[i]) + sigma * rng::counter_normal(seed, i));
  }
}

template <typename T>
void observe_weight(const T* w, std::size_t n, const std::vector<std::int64_t>& units,
                    const Condition& c, std::uint64_t seed, std::vector<T>& out) {
  if (!units.empty() && static_cast<std::size_t>(units.back()) >= n)
    throw std::invalid_argument("observe_weight: unit index out of range");
  gather_noisy(w, units, c.noise, seed, out);
}

template <typename T>
void observe_act(const T* a, std::size_t batch, std::size_t n_units,
                 const std::vector<std::int64_t>& units, const Condition& c, std::uint64_t seed,
                 std::vector<T>& out) {
  if (!units.empty() && static_cast<std::size_t>(units.back()) >= n_units)
    throw std::invalid_argument("observe_act: unit index out of range");
  const std::size_t k = units.size();
  out.resize(batch * k);
  for (std::size_t b = 0; b < batch; ++b) {
    const T* row = a + b * n_units;
    T* o = out.data() + b * k;
    const std::uint64_t base = static_cast<std::uint64_t>(b) * n_units;
    if (c.noise == 0.0) {
      for (std::size_t j = 0; j < k; ++j) o[j] = row[units[j]];
    } else {
      for (std::size_t j = 0; j < k; ++j) {
        const auto u = static_cast<std::uint64_t>(units[j]);
        o[j] = static_cast<T>(static_cast<double>(row[u]) +
                              c.noise * rng::counter_normal(seed, base + u));
      }
    }
  }
}

template <typename T>
std::vector<double> gradavg_values(const T* g, std::size_t batch, std::size_t n_in,
                                   const std::vector<std::int64_t>& input_units,
                                   std::size_t n_out_kept, const Condition& c, std::uint64_t seed) {
  if (n_out_kept == 0) throw std::invalid_argument("gradavg_values: no kept output units");
  if (!input_units.empty() && static_cast<std::size_t>(input_units.back()) >= n_in)
    throw std::invalid_argument("gradavg_values: unit index out of range");
  std::vector<double> v(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    const T* row = g + b * n_in;
    const std::uint64_t base = static_cast<std::uint64_t>(b) * n_in;
    double s = 0;
    for (const std::int64_t u : input_units) {
      double x = static_cast<double>(row[u]);
      if (c.noise != 0.0)
        x = static_cast<double>(static_cast<T>(
            x + c.noise * rng::counter_normal(seed, base + static_cast<std::uint64_t>(u))));
      s += x;
    }
    v[b] = s / static_cast<double>(n_out_kept);
  }
  return v;
}

#define LRID_INSTANTIATE(T)                                                                        \
  template void gather_noisy<T>(const T*, const std::vector<std::int64_t>&, double, std::uint64_t, \
                                std::vector<T>&);                                                  \
  template void observe_weight<T>(const T*, std::size_t, const std::vector<std::int64_t>&,         \
                                  const Condition&, std::uint64_t, std::vector<T>&);               \
  template void observe_act<T>(const T*, std::size_t, std::size_t,                                 \
                               const std::vector<std::int64_t>&, const Condition&, std::uint64_t,  \
                               std::vector<T>&);                                                   \
  template std::vector<double> gradavg_values<T>(const T*, std::size_t, std::size_t,               \
                                                 const std::vector<std::int64_t>&, std::size_t,    \
                                                 const Condition&, std::uint64_t);
LRID_INSTANTIATE(float)
LRID_INSTANTIATE(double)
#undef LRID_INSTANTIATE

}  // namespace lrid::observe
