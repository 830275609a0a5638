#pragma once
// The paper's aggregate statistics of a layer's observables (no torch here: plain arrays).
//
// Names: <measure><function>_<statistic> (README, "Observables"):
//   measures   weight, act, gradavg
//   functions  raw (x), sq (x^2), abs (|x|)
//   statistics norm, mean, median, thirdquartile, var, skew, kurtosis (weight and act),
//              id (gradavg only: the batch mean of the function of the per-example value)
// Canonical order of the 45 (index = position in all_statistic_names()):
//   [0, 21)  weight block, [21, 42) act block, [42, 45) gradavg block;
//   inside the weight/act blocks function-major (raw, sq, abs) then the statistic order above,
//   i.e. index = block + 7 * function + statistic; gradavg: 42 + function.
//
// Definitions (over the n values of one vector, computed in double precision):
//   norm          sqrt(sum x^2)                                 (L2)
//   mean          sum x / n
//   median        50th percentile, numpy's default "linear" method: the value at fractional
//                 position q (n - 1) of the sorted values, linearly interpolated
//   thirdquartile 75th percentile, same method
//   var           population variance sum (x - mean)^2 / n      (two-pass, compensated)
//   skew          3 (mean - median) / sqrt(var)                 (Pearson's second coefficient)
//   kurtosis      sum (x - mean)^4 / n / var^2                  (not excess kurtosis)
// Choices (not in the paper):
//   - Zero variance (a constant vector, including n == 1): skew and kurtosis are NaN (0/0),
//     exactly. Constancy is detected from min == max of the function's values, in which case
//     mean, median and thirdquartile are exactly that value and var is exactly 0.
//   - A vector containing a NaN gives NaN for all 21 values (as numpy would for most of them).
//     Infinities propagate through the arithmetic (no special casing).
//   - n == 0 is an error (std::invalid_argument): a statistic over no units is undefined.
//   - act: the 21 values are computed per example over the units and then averaged over the
//     batch; one example with an undefined value (NaN skew of a constant example) makes the
//     batch average NaN. That is why skew/kurtosis are outside the admissible set.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::observe {

enum class Measure : int { weight = 0, act = 1, gradavg = 2 };
enum class Function : int { raw = 0, sq = 1, abs = 2 };
enum class Statistic : int { norm = 0, mean, median, thirdquartile, var, skew, kurtosis };

inline constexpr int kNumFunctions = 3;
inline constexpr int kNumVectorStatistics = 7;                                 // per function
inline constexpr int kNumVectorValues = kNumFunctions * kNumVectorStatistics;  // 21
inline constexpr int kNumStatistics = 2 * kNumVectorValues + kNumFunctions;    // 45
inline constexpr int kWeightOffset = 0;
inline constexpr int kActOffset = kNumVectorValues;          // 21
inline constexpr int kGradavgOffset = 2 * kNumVectorValues;  // 42

/// The 21 values of one vector (or one measure's block): index 7 * function + statistic.
using VectorStats = std::array<double, kNumVectorValues>;
/// gradavg{raw,sq,abs}_id, in that order.
using GradavgStats = std::array<double, kNumFunctions>;

inline constexpr int vector_index(Function f, Statistic s) {
  return kNumVectorStatistics * static_cast<int>(f) + static_cast<int>(s);
}
/// Canonical index of a weight/act statistic.
inline constexpr int statistic_index(Measure m, Function f, Statistic s) {
  return (m == Measure::weight ? kWeightOffset : kActOffset) + vector_index(f, s);
}
/// Canonical index of gradavg<f>_id.
inline constexpr int gradavg_index(Function f) { return kGradavgOffset + static_cast<int>(f); }
/// The measure a canonical index belongs to.
inline constexpr Measure measure_of(int index) {
  return index < kActOffset ? Measure::weight
                            : (index < kGradavgOffset ? Measure::act : Measure::gradavg);
}

const char* measure_name(Measure m);        // "weight", "act", "gradavg"
Measure parse_measure(const std::string&);  // throws lrid::BadInput for anything else

/// The 45 names in canonical order.
const std::vector<std::string>& all_statistic_names();
/// The paper's 24 admissible names, in canonical order.
const std::vector<std::string>& admissible_statistic_names();
/// Canonical index of one statistic name, or -1 when it is not one.
int find_statistic(const std::string& name);

/// Resolves statistic names and set names into sorted, de-duplicated canonical indices.
/// Sets: "all" (45), "admissible" (24), "weight", "act", "gradavg" (a measure's block),
/// "admissible_weight", "admissible_act", "admissible_gradavg" (the admissible part of a block).
/// Each argument may itself be a comma-separated list ("weight,actraw_mean"); surrounding blanks
/// are ignored. Throws lrid::BadInput for an unknown name, with the nearest known name
/// (Levenshtein distance) as a "did you mean" suggestion, and for an empty selection.
std::vector<int> resolve_statistics(const std::vector<std::string>& names_or_sets);

/// Reusable buffers for the kernels: keep one per thread and pass it to every call so hot loops
/// allocate nothing once the buffers have grown to the largest vector seen. Not thread-safe.
/// (About 0.6 MiB once used on a vector of >= 512 values, plus 2 x 4 or 8 bytes per value at
/// most for the candidates.)
struct StatsScratch {
  std::vector<std::uint32_t> hist;    // radix-select histogram, 2 x 65536 counters, kept zeroed
  std::vector<std::uint8_t> marks;    // 65536 bin marks for the collection pass, kept zeroed
  std::vector<std::uint8_t> touched;  // 256 flags: blocks of 256 bins in use, kept zeroed
  std::vector<std::uint32_t> keys32_a, keys32_b;  // candidates / copies (order keys), float
  std::vector<std::uint64_t> keys_a, keys_b;      // the same for double input
};

/// The 21 statistics (raw, sq, abs x 7) of the n values x[0..n). Double accumulation.
/// n >= 1. Runs in O(n): two passes over x plus a radix selection on a small candidate set.
VectorStats vector_statistics(const float* x, std::size_t n, StatsScratch& scratch);
VectorStats vector_statistics(const double* x, std::size_t n, StatsScratch& scratch);

/// weight: the statistics of all n entries of a (flattened) weight tensor.
inline VectorStats weight_statistics(const float* w, std::size_t n, StatsScratch& scratch) {
  return vector_statistics(w, n, scratch);
}
/// act: a row-major [batch, units] array (units = all non-batch axes flattened); the 21 values per
/// example over its units, averaged over the batch (batch >= 1, units >= 1).
VectorStats act_statistics(const float* a, std::size_t batch, std::size_t units,
                           StatsScratch& scratch);
VectorStats act_statistics(const double* a, std::size_t batch, std::size_t units,
                           StatsScratch& scratch);
/// gradavg: per-example values v[0..batch) -> {mean v, mean v^2, mean |v|} (batch >= 1).
GradavgStats gradavg_statistics(const double* v, std::size_t batch);
GradavgStats gradavg_statistics(const float* v, std::size_t batch);

/// numpy's default (linear) percentile of already-known neighbouring order statistics:
/// lo + (hi - lo) * frac, evaluated as numpy does (from the nearer end), so that results agree
/// to the last bit in most cases.
double lerp_percentile(double lo, double hi, double frac);

}  // namespace lrid::observe
