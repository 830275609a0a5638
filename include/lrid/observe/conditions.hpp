#pragma once
// Measurement conditions: what an experimenter would see of a layer's observables.
// (README, "Observables": measurement conditions; lr-identify's obfuscate_tensor / compute_act_gradient.)
//
// A condition is {unit fraction f in (0, 1], noise sigma >= 0, seed}; "ideal" is f = 1, sigma = 0.
// Applied to a tensor before the statistics:
//   1. Gaussian noise N(0, sigma^2) is added to every entry. The noise of entry i (the entry's
//      flat row-major index in the full tensor) is sigma * rng::counter_normal(noise_seed, i), so
//      "noise on everything, then subsample" == "subsample, then noise on the kept entries",
//      exactly; only kept entries are ever computed.
//   2. A fixed random subset of ceil(f * units) units (at least 1) is kept:
//      weight  all entries flattened are the units;
//      act     [batch, units], the same units kept for every example;
//      gradavg input units and output units are subsampled with different seeds (the recorder
//              computes, per example, sum over kept input units of d(sum over kept output
//              units)/dx, plus noise on each input-unit entry, divided by the number of kept
//              output units; see gradavg_values()).
// Choices (documented, not from the paper):
//   - The subset is the first k entries of a seeded partial Fisher-Yates shuffle of 0..n-1
//     (rng::Xoshiro256ss seeded with the subset seed, unbiased bounded integers), returned
//     sorted. Hence subsets are nested: for the same (n, seed), a smaller fraction keeps a
//     subset of the units a larger fraction keeps.
//   - Subset seeds: weight, act and gradavg inputs use the condition's seed as is; gradavg
//     outputs use rng::hash_combine(seed, 1) (lr-identify used seed for J's inputs and seed + 1
//     for the outputs). The subset does not depend on the layer, only on (n, f, seed).
//   - ceil(f * n) is computed with a tolerance for the rounding of f * n: when f * n is within
//     1e-9 relative of an integer it is that integer (f = 0.1, n = 30 keeps 3 units, not 4).
//   - noise_seed() derives the noise stream from (condition seed, layer, trajectory point,
//     measure), so noise differs between layers, points and measures but is reproducible.
//   - Noise is computed in double and the noisy value rounded to the tensor's type.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lrid/observe/stats.hpp"

namespace lrid::observe {

struct Condition {
  double fraction = 1.0;   // unit fraction f in (0, 1]
  double noise = 0.0;      // noise standard deviation sigma >= 0
  std::uint64_t seed = 0;  // subset and noise seed
  /// An absolute number of units instead of a fraction (0: use the fraction): min(units, n)
  /// of a layer's n units, the first of the same seeded shuffle (so nested with the fractions).
  std::uint64_t units = 0;

  bool ideal() const { return fraction == 1.0 && noise == 0.0 && units == 0; }
  /// The number of units kept of n.
  std::size_t kept(std::size_t n) const;
  /// "ideal" for f = 1, sigma = 0; otherwise "f<f>_s<sigma>" (or "n<units>_s<sigma>"), plus
  /// "_seed<seed>" when seed != 0. Numbers are written in the shortest form that reads back to
  /// the same double (f0.1_s0.5, f1_s2, n300_s0.5, f0.25_s0_seed3). parse_condition() reads
  /// this format back.
  std::string name() const;
  /// Throws lrid::BadInput unless 0 < f <= 1 and 0 <= sigma < inf (context names the source).
  void validate(const std::string& context = "condition") const;
};

bool operator==(const Condition& a, const Condition& b);

/// Parses a condition name (see Condition::name()); throws lrid::BadInput.
Condition parse_condition(const std::string& name);

/// Number of units kept: ceil(f * n) with the rounding tolerance above, clamped to [1, n]
/// (n >= 1; f in (0, 1], otherwise lrid::BadInput).
std::size_t subset_size(std::size_t n_units, double fraction);

/// The kept units: sorted indices of a seeded uniform random subset of exactly
/// subset_size(n_units, fraction) of 0..n_units-1 (without replacement). Identical for the same
/// (n_units, fraction, seed). int64 so the recorder can index torch tensors with it directly.
std::vector<std::int64_t> unit_subset(std::size_t n_units, double fraction, std::uint64_t seed);
/// The same for exactly k = min(k, n_units) units (k >= 1): the first k of the same shuffle.
std::vector<std::int64_t> unit_subset_of_size(std::size_t n_units, std::size_t k, std::uint64_t seed);

/// Subset seed of the gradavg output units (the input units use Condition::seed).
std::uint64_t gradavg_output_seed(const Condition& c);

/// Kept units of each role under condition c.
std::vector<std::int64_t> weight_units(std::size_t n_entries, const Condition& c);
std::vector<std::int64_t> act_units(std::size_t n_units, const Condition& c);
std::vector<std::int64_t> gradavg_input_units(std::size_t n_in, const Condition& c);
std::vector<std::int64_t> gradavg_output_units(std::size_t n_out, const Condition& c);

/// Noise stream seed for one (layer, trajectory point, measure) under condition c.
std::uint64_t noise_seed(const Condition& c, std::uint64_t layer, std::uint64_t point,
                         Measure measure);

/// Gathers x[units[j]] + sigma * counter_normal(seed, units[j]) into out[0..k) (resized to k).
/// With sigma == 0 it is a plain gather. The generic building block of the functions below.
template <typename T>
void gather_noisy(const T* x, const std::vector<std::int64_t>& units, double sigma,
                  std::uint64_t seed, std::vector<T>& out);

/// weight: the n entries of a flattened weight tensor -> the kept noisy entries (k values).
/// units must come from weight_units(n, c) (pass it in so the recorder computes it once).
template <typename T>
void observe_weight(const T* w, std::size_t n, const std::vector<std::int64_t>& units,
                    const Condition& c, std::uint64_t noise_seed, std::vector<T>& out);

/// act: row-major [batch, n_units] -> [batch, k]; the same kept units for every example;
/// the noise counter of entry (b, u) is b * n_units + u.
template <typename T>
void observe_act(const T* a, std::size_t batch, std::size_t n_units,
                 const std::vector<std::int64_t>& units, const Condition& c,
                 std::uint64_t noise_seed, std::vector<T>& out);

/// gradavg: g is row-major [batch, n_in], the per-example gradient of the sum of the kept output
/// units with respect to the layer input (the recorder computes it with the output subset of
/// gradavg_output_units()). Returns per example
///   (sum over kept input units u of (g[b, u] + sigma z(b * n_in + u))) / n_out_kept,
/// in double. The value the paper's gradavg<f>_id statistics average over the batch.
template <typename T>
std::vector<double> gradavg_values(const T* g, std::size_t batch, std::size_t n_in,
                                   const std::vector<std::int64_t>& input_units,
                                   std::size_t n_out_kept, const Condition& c,
                                   std::uint64_t noise_seed);

}  // namespace lrid::observe
