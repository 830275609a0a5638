// Statistics kernels of the observe module. See include/lrid/observe/stats.hpp for the
// definitions; this file is about computing them fast and accurately.
//
// Algorithm for one vector x of n values (the hot path: 10^4..10^7 entries):
//   pass 1  sums of x, x^2, x^4, |x| (means of raw/sq/abs, norms), min/max of x and |x| (exact
//           constancy test, histogram range), and, for n >= kRadixMinN, a histogram of the top
//           16 bits of an order-preserving integer key of x (65536 bins).
//   pass 2  central moments of the three functions at once: sums of d, d^2, d^3, d^4 with
//           d = y - mean(y) (pass-1 mean). The variance is the compensated two-pass one,
//           (sum d^2 - (sum d)^2 / n) / n, and the mean and the 4th moment are corrected the
//           same way (see finish()). The one-pass raw-moment formula (E[y^2] - E[y]^2)
//           cancels catastrophically and is not used.
//           Fused into the same pass: collect the keys of the (at most 4 + 4) histogram bins
//           that contain the order statistics needed for the median and the 75th percentile,
//           grouped by bin (a bucket step; the histogram says how many keys each bin holds).
//           "Heavy" bins (> n/32 values: ties such as ReLU zeros, or very narrow data) are not
//           collected; pass 2 tracks their min and max key instead (branch-free). A heavy bin
//           with min == max gives its value directly; otherwise pass 3 collects it.
//   select  inside each target bin (typically << 1% of n): if its min == max, that is the
//           value; otherwise std::nth_element on the bin, successively for increasing ranks on
//           the remaining upper part (once rank k is in place, rank k + 1 is the min of the
//           upper part, and the 75th percentile only needs the upper part).
//   The order statistics of sq are the squares of those of abs, so only raw and abs are
//   selected, and for non-negative data (ReLU activations) abs is raw, so only raw is.
//   abs keys are the bit patterns with the sign bit cleared; the abs histogram is derived from
//   the raw one (bin b and its sign mirror), so one histogram serves both.
// For n < kRadixMinN (small vectors, e.g. per-example activations of a small layer) the
// histogram does not pay: the keys are copied to the scratch buffers and std::nth_element
// selects there, in the same successive way.
// Everything is O(n); no allocation once the scratch buffers have grown.
//
// Accuracy and determinism: sums use 4 lanes inside blocks of 256 values and a pairwise cascade
// over the blocks (error O((64 + log2(n / 256)) eps sum |y|), numpy's class), combined in a
// fixed order, so the result is bitwise identical whatever SIMD width the compiler uses. The
// order statistics are exact (they are input values), so the two paths agree exactly on them.
#include "lrid/observe/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

#if defined(__GNUC__) && !defined(__clang__)
// The 32-byte vector helpers below are internal (inlined, never across an ABI boundary).
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace lrid::observe {

// ---------------------------------------------------------------------------------------------
// names

namespace {

constexpr const char* kMeasureNames[] = {"weight", "act", "gradavg"};
constexpr const char* kFunctionNames[] = {"raw", "sq", "abs"};
constexpr const char* kStatisticNames[] = {"norm", "mean", "median",  "thirdquartile",
                                           "var",  "skew", "kurtosis"};

std::vector<std::string> make_all_names() {
  std::vector<std::string> names;
  names.reserve(kNumStatistics);
  for (int m = 0; m < 2; ++m)
    for (int f = 0; f < kNumFunctions; ++f)
      for (int s = 0; s < kNumVectorStatistics; ++s)
        names.push_back(std::string(kMeasureNames[m]) + kFunctionNames[f] + "_" +
                        kStatisticNames[s]);
  for (int f = 0; f < kNumFunctions; ++f)
    names.push_back(std::string("gradavg") + kFunctionNames[f] + "_id");
  return names;
}

std::vector<int> admissible_indices() {
  using F = Function;
  using S = Statistic;
  std::vector<int> idx;
  for (S s : {S::norm, S::mean, S::median, S::thirdquartile, S::var}) {
    idx.push_back(statistic_index(Measure::weight, F::raw, s));
    idx.push_back(statistic_index(Measure::weight, F::abs, s));
  }
  for (S s : {S::mean, S::median, S::thirdquartile})
    idx.push_back(statistic_index(Measure::weight, F::sq, s));
  for (S s : {S::norm, S::mean, S::median, S::thirdquartile}) {
    idx.push_back(statistic_index(Measure::act, F::raw, s));
    idx.push_back(statistic_index(Measure::act, F::abs, s));
  }
  for (F f : {F::raw, F::sq, F::abs}) idx.push_back(gradavg_index(f));
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Set names accepted by resolve_statistics, with their members.
struct NamedSet {
  const char* name;
  std::vector<int> members;
};

const std::vector<NamedSet>& named_sets() {
  static const std::vector<NamedSet> sets = [] {
    std::vector<int> all(kNumStatistics);
    for (int i = 0; i < kNumStatistics; ++i) all[i] = i;
    const std::vector<int> adm = admissible_indices();
    auto block = [&](const std::vector<int>& from, Measure m) {
      std::vector<int> out;
      for (int i : from)
        if (measure_of(i) == m) out.push_back(i);
      return out;
    };
    return std::vector<NamedSet>{
        {"all", all},
        {"admissible", adm},
        {"weight", block(all, Measure::weight)},
        {"act", block(all, Measure::act)},
        {"gradavg", block(all, Measure::gradavg)},
        {"admissible_weight", block(adm, Measure::weight)},
        {"admissible_act", block(adm, Measure::act)},
        {"admissible_gradavg", block(adm, Measure::gradavg)},
    };
  }();
  return sets;
}

}  // namespace

const char* measure_name(Measure m) { return kMeasureNames[static_cast<int>(m)]; }

Measure parse_measure(const std::string& s) {
  for (int m = 0; m < 3; ++m)
    if (s == kMeasureNames[m]) return static_cast<Measure>(m);
  throw BadInput("unknown measure '" + s + "' (expected weight, act or gradavg)");
}

const std::vector<std::string>& all_statistic_names() {
  static const std::vector<std::string> names = make_all_names();
  return names;
}

const std::vector<std::string>& admissible_statistic_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i : admissible_indices()) out.push_back(all_statistic_names()[i]);
    return out;
  }();
  return names;
}

int find_statistic(const std::string& name) {
  const auto& all = all_statistic_names();
  const auto it = std::find(all.begin(), all.end(), name);
  return it == all.end() ? -1 : static_cast<int>(it - all.begin());
}

std::vector<int> resolve_statistics(const std::vector<std::string>& names_or_sets) {
  std::vector<int> out;
  for (const auto& arg : names_or_sets) {
    std::stringstream ss(arg);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = trim(item);
      if (item.empty()) continue;
      const int i = find_statistic(item);
      if (i >= 0) {
        out.push_back(i);
        continue;
      }
      bool found = false;
      for (const auto& set : named_sets())
        if (item == set.name) {
          out.insert(out.end(), set.members.begin(), set.members.end());
          found = true;
        }
      if (found) continue;
      // Unknown: suggest the nearest statistic or set name.
      std::string best;
      std::size_t best_d = std::numeric_limits<std::size_t>::max();
      auto consider = [&](const std::string& cand) {
        const std::size_t d = util::edit_distance(item, cand);
        if (d < best_d) best_d = d, best = cand;
      };
      for (const auto& n : all_statistic_names()) consider(n);
      for (const auto& set : named_sets()) consider(set.name);
      throw BadInput("unknown statistic '" + item + "' (did you mean '" + best +
                     "'? names are <weight|act><raw|sq|abs>_<norm|mean|median|thirdquartile|var|"
                     "skew|kurtosis>, gradavg<raw|sq|abs>_id, or the sets all, admissible, "
                     "weight, act, gradavg, admissible_weight, admissible_act, "
                     "admissible_gradavg)");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) throw BadInput("no statistics selected (empty list)");
  return out;
}

// ---------------------------------------------------------------------------------------------
// kernels

double lerp_percentile(double lo, double hi, double frac) {
  if (frac == 0.0) return lo;
  // numpy.lib.function_base._lerp: a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5.
  const double diff = hi - lo;
  return frac >= 0.5 ? hi - diff * (1.0 - frac) : lo + diff * frac;
}

namespace {

constexpr std::size_t kRadixMinN = 512;  // below: keys + nth_element (tuned with a bench)
constexpr int kLanes = 4;                // fixed accumulation lanes (determinism)
constexpr int kHistBits = 16;
constexpr std::size_t kHistSize = std::size_t{1} << kHistBits;
constexpr int kHistCopiesLog2 = 1;
constexpr std::size_t kHistCopies = std::size_t{1} << kHistCopiesLog2;
constexpr int kSuperBinLog2 = 8;  // blocks of 256 bins with a "touched" flag each
constexpr std::size_t kSuperBin = std::size_t{1} << kSuperBinLog2;

template <typename T>
struct Traits;
template <>
struct Traits<float> {
  using Bits = std::uint32_t;
};
template <>
struct Traits<double> {
  using Bits = std::uint64_t;
};

template <typename T>
inline typename Traits<T>::Bits bits_of(T v) {
  typename Traits<T>::Bits b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
template <typename T>
inline T value_of(typename Traits<T>::Bits b) {
  T v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

template <typename Bits>
constexpr Bits kSign = Bits(1) << (8 * sizeof(Bits) - 1);

// Order-preserving key: unsigned comparison of keys == numeric comparison of (non-NaN) values
// (-0 sorts just below +0, which compare equal as values; harmless for order statistics).
template <typename Bits>
inline Bits order_key(Bits b) {
  const Bits neg = Bits(0) - (b >> (8 * sizeof(Bits) - 1));  // all ones if negative
  return b ^ (neg | kSign<Bits>);
}
template <typename T>
inline double value_of_key(typename Traits<T>::Bits key) {
  using Bits = typename Traits<T>::Bits;
  const Bits b = (key & kSign<Bits>) ? (key ^ kSign<Bits>) : ~key;
  return static_cast<double>(value_of<T>(b));
}
// abs keys are the bit patterns with the sign cleared: a non-negative float of that value.
template <typename T>
inline double value_of_abs_key(typename Traits<T>::Bits key) {
  return static_cast<double>(value_of<T>(key));
}

// Percentile positions (numpy "linear": q (n - 1)).
struct Positions {
  std::size_t kmed, kq;  // floor(0.5 (n-1)), floor(0.75 (n-1))
  double fmed, fq;       // fractional parts
};
Positions positions(std::size_t n) {
  Positions p;
  const double pm = 0.5 * static_cast<double>(n - 1);
  const double pq = 0.75 * static_cast<double>(n - 1);
  p.kmed = static_cast<std::size_t>(std::floor(pm));
  p.kq = static_cast<std::size_t>(std::floor(pq));
  p.fmed = pm - static_cast<double>(p.kmed);
  p.fq = pq - static_cast<double>(p.kq);
  return p;
}

// The order statistics the percentiles need, ascending, de-duplicated (at most 4).
struct RankSet {
  std::size_t r[4];
  int count = 0;
  void add(std::size_t k) {
    for (int i = 0; i < count; ++i)
      if (r[i] == k) return;
    int i = count++;
    for (; i > 0 && r[i - 1] > k; --i) r[i] = r[i - 1];  // insertion keeps r ascending
    r[i] = k;
  }
  int find(std::size_t k) const {
    for (int i = 0; i < count; ++i)
      if (r[i] == k) return i;
    return -1;
  }
};
RankSet needed_ranks(std::size_t n, const Positions& p) {
  RankSet rs;
  rs.add(p.kmed);
  if (p.fmed > 0 && p.kmed + 1 < n) rs.add(p.kmed + 1);
  rs.add(p.kq);
  if (p.fq > 0 && p.kq + 1 < n) rs.add(p.kq + 1);
  return rs;
}

// Selects the ranks of rs (ascending) in a[0..m) in place; writes the values to out[].
template <typename V>
void select_ranks(V* a, std::size_t m, const std::size_t* ranks, int nr, V* out) {
  std::size_t lo = 0;  // a[0..lo) are <= everything from lo on
  for (int i = 0; i < nr; ++i) {
    const std::size_t k = ranks[i];
    if (i > 0 && k == ranks[i - 1]) {
      out[i] = out[i - 1];
      continue;
    }
    if (k == lo) {
      // The smallest of the upper part (after the previous selection, this is the next order
      // statistic): a linear min, no partitioning.
      V* mn = std::min_element(a + lo, a + m);
      std::iter_swap(a + lo, mn);
    } else {
      std::nth_element(a + lo, a + k, a + m);
    }
    out[i] = a[k];
    lo = k + 1;
  }
}

struct Sums {
  double s1 = 0, s2 = 0, s4 = 0, sa = 0;  // sum x, x^2, x^4, |x|
  double mn = 0, mx = 0, amn = 0, amx = 0;
};

struct Central {
  double d1[3] = {0, 0, 0};  // per function: sum d
  double d2[3] = {0, 0, 0};  // sum d^2
  double d3[3] = {0, 0, 0};  // sum d^3
  double d4[3] = {0, 0, 0};  // sum d^4
};

// Summation scheme of both passes (accuracy and determinism): the data is cut into blocks of
// kBlock values; inside a block kLanes independent accumulators (lane = position mod kLanes),
// combined as (l0 + l1) + (l2 + l3) at the end of the block; the block sums are then added
// pairwise (a binary-counter cascade, as in numpy's pairwise summation). The rounding error of
// a sum is then O((kBlock / kLanes + log2(n / kBlock)) eps sum |y|) instead of O(n eps sum |y|)
// for a running sum, with no extra work per element. The order of operations is fixed, so the
// result does not depend on the SIMD width the compiler picks.
constexpr std::size_t kBlock = 256;

// Pairwise accumulation of K-vectors of block sums: level l holds the sum of 2^l blocks.
template <int K>
struct Cascade {
  static constexpr int kLevels = 64;
  double level[kLevels][K];
  std::uint64_t occupied = 0;
  void push(const double (&v)[K]) {
    double carry[K];
    for (int k = 0; k < K; ++k) carry[k] = v[k];
    int l = 0;
    while (occupied >> l & 1) {
      for (int k = 0; k < K; ++k) carry[k] = level[l][k] + carry[k];
      occupied &= ~(std::uint64_t{1} << l);
      ++l;
    }
    for (int k = 0; k < K; ++k) level[l][k] = carry[k];
    occupied |= std::uint64_t{1} << l;
  }
  void total(double (&out)[K]) const {
    for (int k = 0; k < K; ++k) out[k] = 0;
    bool first = true;
    for (int l = 0; l < kLevels; ++l)
      if (occupied >> l & 1) {
        for (int k = 0; k < K; ++k) out[k] = first ? level[l][k] : out[k] + level[l][k];
        first = false;
      }
  }
};

// Four double lanes as one GCC/Clang vector: element-wise IEEE operations, so the lanes give
// exactly what four scalar accumulators would; the compiler maps a V4 to one AVX register or two
// SSE2 registers.
typedef double V4 __attribute__((vector_size(32)));
typedef float F4 __attribute__((vector_size(16)));
typedef long long I4 __attribute__((vector_size(32)));

inline V4 load4(const float* p) {
  F4 f;
  std::memcpy(&f, p, sizeof f);
  return __builtin_convertvector(f, V4);
}
inline V4 load4(const double* p) {
  V4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline V4 abs4(const V4& x) {
  V4 v = x;
  I4 i;
  std::memcpy(&i, &v, sizeof i);
  i &= 0x7FFFFFFFFFFFFFFFLL;
  std::memcpy(&v, &i, sizeof v);
  return v;
}
inline V4 splat(double d) { return V4{d, d, d, d}; }
inline double lane_sum(const V4& v) { return (v[0] + v[1]) + (v[2] + v[3]); }

// Pass 1 over x: sums and min/max. OnValue(i, value) is then called for every element of the
// block (histogram or copy), in a separate loop so the arithmetic above stays vectorised.
template <typename T, typename OnValue>
Sums pass1(const T* x, std::size_t n, OnValue&& on_value) {
  V4 mn = splat(static_cast<double>(x[0])), mx = mn;
  V4 amn = abs4(mn), amx = amn;
  Cascade<4> sums;
  for (std::size_t base = 0; base < n; base += kBlock) {
    const std::size_t end = std::min(n, base + kBlock);
    V4 s1 = splat(0), s2 = s1, s4 = s1, sa = s1;
    std::size_t i = base;
    for (; i + kLanes <= end; i += kLanes) {
      const V4 v = load4(x + i);
      const V4 a = abs4(v);
      const V4 v2 = v * v;
      s1 += v;
      s2 += v2;
      s4 += v2 * v2;
      sa += a;
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
      amn = a < amn ? a : amn;
      amx = a > amx ? a : amx;
    }
    for (int l = 0; i < end; ++i, ++l) {  // block tail, lane = position mod 4
      const double v = static_cast<double>(x[i]);
      const double a = std::fabs(v);
      s1[l] += v;
      s2[l] += v * v;
      s4[l] += (v * v) * (v * v);
      sa[l] += a;
      mn[l] = v < mn[l] ? v : mn[l];
      mx[l] = v > mx[l] ? v : mx[l];
      amn[l] = a < amn[l] ? a : amn[l];
      amx[l] = a > amx[l] ? a : amx[l];
    }
    for (std::size_t j = base; j < end; ++j) on_value(j, x[j]);
    sums.push({lane_sum(s1), lane_sum(s2), lane_sum(s4), lane_sum(sa)});
  }
  double tot[4];
  sums.total(tot);
  Sums s;
  s.s1 = tot[0];
  s.s2 = tot[1];
  s.s4 = tot[2];
  s.sa = tot[3];
  s.mn = std::min(std::min(mn[0], mn[1]), std::min(mn[2], mn[3]));
  s.mx = std::max(std::max(mx[0], mx[1]), std::max(mx[2], mx[3]));
  s.amn = std::min(std::min(amn[0], amn[1]), std::min(amn[2], amn[3]));
  s.amx = std::max(std::max(amx[0], amx[1]), std::max(amx[2], amx[3]));
  return s;
}

// Pass 2 over x: central moments of raw, sq, abs about the given means. OnValue as in pass1.
template <typename T, typename OnValue>
Central pass2(const T* x, std::size_t n, const double mean[3], OnValue&& on_value) {
  const V4 m0 = splat(mean[0]), m1 = splat(mean[1]), m2 = splat(mean[2]);
  Cascade<12> sums;
  for (std::size_t base = 0; base < n; base += kBlock) {
    const std::size_t end = std::min(n, base + kBlock);
    V4 a1 = splat(0), b1 = a1, c1 = a1, a2s = a1, b2s = a1, c2s = a1;
    V4 a3 = a1, b3 = a1, c3 = a1, a4 = a1, b4 = a1, c4 = a1;
    std::size_t i = base;
    for (; i + kLanes <= end; i += kLanes) {
      const V4 v = load4(x + i);
      const V4 a = v - m0, b = v * v - m1, c = abs4(v) - m2;
      const V4 aa = a * a, bb = b * b, cc = c * c;
      a1 += a;
      b1 += b;
      c1 += c;
      a2s += aa;
      b2s += bb;
      c2s += cc;
      a3 += aa * a;
      b3 += bb * b;
      c3 += cc * c;
      a4 += aa * aa;
      b4 += bb * bb;
      c4 += cc * cc;
    }
    for (int l = 0; i < end; ++i, ++l) {  // block tail, lane = position mod 4
      const double v = static_cast<double>(x[i]);
      const double a = v - mean[0], b = v * v - mean[1], c = std::fabs(v) - mean[2];
      const double aa = a * a, bb = b * b, cc = c * c;
      a1[l] += a;
      b1[l] += b;
      c1[l] += c;
      a2s[l] += aa;
      b2s[l] += bb;
      c2s[l] += cc;
      a3[l] += aa * a;
      b3[l] += bb * b;
      c3[l] += cc * c;
      a4[l] += aa * aa;
      b4[l] += bb * bb;
      c4[l] += cc * cc;
    }
    for (std::size_t j = base; j < end; ++j) on_value(j, x[j]);
    sums.push({lane_sum(a1), lane_sum(b1), lane_sum(c1), lane_sum(a2s), lane_sum(b2s),
               lane_sum(c2s), lane_sum(a3), lane_sum(b3), lane_sum(c3), lane_sum(a4), lane_sum(b4),
               lane_sum(c4)});
  }
  double tot[12];
  sums.total(tot);
  Central c;
  for (int f = 0; f < 3; ++f) {
    c.d1[f] = tot[f];
    c.d2[f] = tot[3 + f];
    c.d3[f] = tot[6 + f];
    c.d4[f] = tot[9 + f];
  }
  return c;
}

struct OrderStats {
  // values at the ranks of a RankSet, for raw and abs
  double raw[4];
  double abs[4];
};

// Fills the statistics from sums, central moments and the selected order statistics.
VectorStats finish(std::size_t n, const Sums& s, const Central& c, const RankSet& rs,
                   const OrderStats& os, const Positions& p) {
  VectorStats out;
  const double nn = static_cast<double>(n);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool raw_const = s.mn == s.mx;
  const bool abs_const = s.amn == s.amx;
  auto pct = [&](const double* v, std::size_t k, double frac, bool square) {
    const int i = rs.find(k);
    double lo = v[i];
    double hi = lo;
    if (frac > 0) hi = v[rs.find(k + 1)];
    if (square) lo *= lo, hi *= hi;
    return lerp_percentile(lo, hi, frac);
  };
  for (int f = 0; f < 3; ++f) {
    const Function fn = static_cast<Function>(f);
    const bool is_const = fn == Function::raw ? raw_const : abs_const;
    const double* ov = fn == Function::raw ? os.raw : os.abs;
    const bool square = fn == Function::sq;
    double mean, median, q3, var, skew, kurt;
    if (is_const) {
      const double v = fn == Function::raw ? s.mn : (fn == Function::abs ? s.amn : s.amn * s.amn);
      mean = median = q3 = v;
      var = 0;
      skew = kurt = nan;
    } else {
      // m0 = pass-1 mean, about which pass 2 took d = y - m0; delta = sum d / n is the rounding
      // error of m0 (pass 2's sums are of small, nearly exact terms), so m0 + delta is the
      // accurate mean, and the moments about it follow by the binomial expansion:
      //   sum (d - delta)^2 = S2 - S1^2 / n                      (the compensated variance)
      //   sum (d - delta)^4 = S4 - 4 delta S3 + 6 delta^2 S2 - 3 n delta^4
      // This matters for ill-conditioned data (|mean| >> std): skew = 3 (mean - median) / std
      // magnifies any error of the mean by mean / std.
      const double sum = fn == Function::raw ? s.s1 : (fn == Function::sq ? s.s2 : s.sa);
      const double m0 = sum / nn;
      const double delta = c.d1[f] / nn;
      mean = m0 + delta;
      median = pct(ov, p.kmed, p.fmed, square);
      q3 = pct(ov, p.kq, p.fq, square);
      var = (c.d2[f] - c.d1[f] * delta) / nn;
      if (var < 0) var = 0;  // cannot happen mathematically; rounding guard
      if (var > 0) {
        const double d2 = delta * delta;
        const double m4 =
            (c.d4[f] - 4.0 * delta * c.d3[f] + 6.0 * d2 * c.d2[f] - 3.0 * nn * d2 * d2) / nn;
        skew = 3.0 * (mean - median) / std::sqrt(var);
        kurt = m4 / (var * var);
      } else {
        skew = kurt = nan;
      }
    }
    const double norm = std::sqrt(fn == Function::sq ? s.s4 : s.s2);
    out[vector_index(fn, Statistic::norm)] = norm;
    out[vector_index(fn, Statistic::mean)] = mean;
    out[vector_index(fn, Statistic::median)] = median;
    out[vector_index(fn, Statistic::thirdquartile)] = q3;
    out[vector_index(fn, Statistic::var)] = var;
    out[vector_index(fn, Statistic::skew)] = skew;
    out[vector_index(fn, Statistic::kurtosis)] = kurt;
  }
  return out;
}

VectorStats all_nan() {
  VectorStats out;
  out.fill(std::numeric_limits<double>::quiet_NaN());
  return out;
}

void means_of(const Sums& s, std::size_t n, double mean[3]) {
  const double nn = static_cast<double>(n);
  mean[0] = s.s1 / nn;
  mean[1] = s.s2 / nn;
  mean[2] = s.sa / nn;
}

template <typename T>
std::vector<typename Traits<T>::Bits>& key_buffer(StatsScratch& s, int which);
template <>
std::vector<std::uint32_t>& key_buffer<float>(StatsScratch& s, int which) {
  return which == 0 ? s.keys32_a : s.keys32_b;
}
template <>
std::vector<std::uint64_t>& key_buffer<double>(StatsScratch& s, int which) {
  return which == 0 ? s.keys_a : s.keys_b;
}

template <typename V>
V* grown(std::vector<V>& v, std::size_t n) {
  if (v.size() < n) v.resize(std::max(n, v.size() + v.size() / 2));
  return v.data();
}

// Small vectors: order keys copied to the scratch buffers, then nth_element on them (integer
// comparisons). Non-negative data (ReLU activations) has abs == raw: only raw is selected.
template <typename T>
VectorStats small_path(const T* x, std::size_t n, StatsScratch& scratch) {
  using Bits = typename Traits<T>::Bits;
  Bits* raw = grown(key_buffer<T>(scratch, 0), n);
  Bits* ab = grown(key_buffer<T>(scratch, 1), n);
  const Sums s = pass1(x, n, [raw, ab](std::size_t i, T v) {
    const Bits b = bits_of(v);
    raw[i] = order_key(b);
    ab[i] = b & ~kSign<Bits>;
  });
  if (std::isnan(s.s2)) return all_nan();
  double mean[3];
  means_of(s, n, mean);
  const Central c = pass2(x, n, mean, [](std::size_t, T) {});
  const Positions p = positions(n);
  const RankSet rs = needed_ranks(n, p);
  OrderStats os;
  Bits sel[4];
  select_ranks(raw, n, rs.r, rs.count, sel);
  for (int i = 0; i < rs.count; ++i) os.raw[i] = value_of_key<T>(sel[i]);
  if (s.mn >= 0) {
    for (int i = 0; i < rs.count; ++i) os.abs[i] = os.raw[i];
  } else {
    select_ranks(ab, n, rs.r, rs.count, sel);
    for (int i = 0; i < rs.count; ++i) os.abs[i] = value_of_abs_key<T>(sel[i]);
  }
  return finish(n, s, c, rs, os, p);
}

// A histogram bin holding some of the wanted order statistics.
template <typename Bits>
struct TargetBin {
  std::size_t bin;     // bin index (raw: key >> shift; abs: abs key >> shift)
  std::size_t before;  // number of elements in lower bins
  std::size_t count;   // elements in the bin
  std::size_t offset;  // start of its segment in the candidate buffer
  std::size_t fill;    // write position during collection
  bool heavy;          // not collected in pass 2; min/max tracked instead
  Bits kmin, kmax;     // heavy bins: smallest and largest key seen in the bin
};

// Finds the bins holding the ranks (ascending); count_of(b) is the count of bin b in order.
// Bins holding more than heavy_limit elements are marked heavy.
// Bins in blocks (kSuperBin bins) that is_empty(block) says hold nothing are skipped.
template <typename Bits, typename CountOf, typename IsEmpty>
int find_bins(const RankSet& rs, std::size_t first_bin, std::size_t last_bin, CountOf&& count_of,
              IsEmpty&& is_empty, std::size_t heavy_limit, TargetBin<Bits>* bins,
              int* bin_of_rank) {
  int nb = 0;
  std::size_t cum = 0;
  int r = 0;
  for (std::size_t b = first_bin; b <= last_bin && r < rs.count; ++b) {
    if ((b & (kSuperBin - 1)) == 0 || b == first_bin) {
      if (is_empty(b >> kSuperBinLog2)) {
        b |= kSuperBin - 1;  // ++b moves to the next block
        continue;
      }
    }
    const std::size_t c = count_of(b);
    if (c == 0) continue;
    bool used = false;
    while (r < rs.count && rs.r[r] < cum + c) {
      if (!used) {
        bins[nb] = TargetBin<Bits>{b, cum, c, 0, 0, c > heavy_limit, ~Bits(0), Bits(0)};
        ++nb;
        used = true;
      }
      bin_of_rank[r] = nb - 1;
      ++r;
    }
    cum += c;
  }
  std::size_t off = 0;
  for (int i = 0; i < nb; ++i) {
    bins[i].offset = bins[i].fill = off;
    off += bins[i].count;
  }
  return nb;
}

// Selects the ranks inside their bins: a heavy bin with one distinct key gives it directly,
// other bins are searched in their segment of cand (filled by pass 2 or pass 3).
template <typename Bits, typename ToValue>
void select_in_bins(Bits* cand, const RankSet& rs, const TargetBin<Bits>* bins,
                    const int* bin_of_rank, double* out, ToValue&& to_value) {
  int r = 0;
  while (r < rs.count) {
    const int b = bin_of_rank[r];
    const TargetBin<Bits>& tb = bins[b];
    std::size_t local[4];
    int nr = 0;
    const int first = r;
    while (r < rs.count && bin_of_rank[r] == b) local[nr++] = rs.r[r++] - tb.before;
    Bits sel[4];
    Bits lo, hi;
    Bits* seg = cand + tb.offset;
    if (tb.heavy && tb.kmin == tb.kmax) {
      lo = hi = tb.kmin;
    } else {
      const auto mm = std::minmax_element(seg, seg + tb.count);
      lo = *mm.first, hi = *mm.second;
    }
    if (lo == hi) {
      for (int i = 0; i < nr; ++i) sel[i] = lo;  // one distinct value (ties)
    } else {
      select_ranks(seg, tb.count, local, nr, sel);
    }
    for (int i = 0; i < nr; ++i) out[first + i] = to_value(sel[i]);
  }
}

// Branch-free min/max of the keys that fall into the heavy bins during pass 2. N is the
// number of tracked bins (the unused ones never match); with a compile-time N and local
// copies the compiler keeps everything in registers.
template <typename Bits>
struct HeavyBins {
  int n = 0;
  Bits bin[8];
  bool abs[8];
  Bits kmin[8], kmax[8];
  void add(Bits b, bool is_abs) {
    bin[n] = b, abs[n] = is_abs, kmin[n] = ~Bits(0), kmax[n] = 0, ++n;
  }
};

template <typename Bits, int N, bool AnyAbs>
struct HeavyTracker {
  Bits bin[N], mn[N], mx[N];
  bool abs[N];
  explicit HeavyTracker(const HeavyBins<Bits>& hv) {
    for (int i = 0; i < N; ++i) {
      // unused slots get a bin no key can fall into (bins are < 2^kHistBits)
      bin[i] = i < hv.n ? hv.bin[i] : ~Bits(0);
      abs[i] = i < hv.n ? hv.abs[i] : false;
      mn[i] = ~Bits(0);
      mx[i] = 0;
    }
  }
  void see(Bits b, int shift) {
    const Bits key = order_key(b);
    const Bits akey = b & ~kSign<Bits>;
    for (int i = 0; i < N; ++i) {
      const Bits k = (AnyAbs && abs[i]) ? akey : key;
      // mask arithmetic rather than ?: so that the compiler emits no branch (a branch on "in
      // the heavy bin" mispredicts all the time, e.g. on ReLU zeros)
      const Bits m = Bits(0) - static_cast<Bits>((k >> shift) == bin[i]);  // all ones if in
      mn[i] = std::min(mn[i], k | ~m);
      mx[i] = std::max(mx[i], k & m);
    }
  }
  void store(HeavyBins<Bits>& hv) const {
    for (int i = 0; i < hv.n && i < N; ++i) hv.kmin[i] = mn[i], hv.kmax[i] = mx[i];
  }
};

// Pass 2 of radix_path when some target bins are heavy: the light bins are collected while a
// HeavyTracker takes the min and max key falling in each heavy bin (at most 4 raw + 4 abs),
// branch-free; pass 3 then collects the heavy bins that hold several distinct keys (they become
// light: searched in their segment). A heavy bin left with a single key (kmin == kmax) is done.
// Returns pass 2's central sums. collect / set_marks / clear_marks are radix_path's.
template <typename T, typename Bin, typename Collect, typename SetMarks, typename ClearMarks>
Central pass2_heavy(const T* x, std::size_t n, const double mean[3], Bin* rbins, int nrb, Bin* abins, int nab,
                    const Collect& collect, const SetMarks& set_marks, const ClearMarks& clear_marks) {
  using Bits = typename Traits<T>::Bits;
  constexpr int shift = 8 * static_cast<int>(sizeof(Bits)) - kHistBits;
  int heavy_r[4], heavy_a[4], nhr = 0, nha = 0;
  for (int i = 0; i < nrb; ++i)
    if (rbins[i].heavy) heavy_r[nhr++] = i;
  for (int i = 0; i < nab; ++i)
    if (abins[i].heavy) heavy_a[nha++] = i;
  Central c;
  HeavyBins<Bits> hv;
  for (int i = 0; i < nhr; ++i) hv.add(rbins[heavy_r[i]].bin, false);
  for (int i = 0; i < nha; ++i) hv.add(abins[heavy_a[i]].bin, true);
  auto run = [&](auto tracker) {
    c = pass2(x, n, mean, [&](std::size_t, T v) {
      collect(v);
      tracker.see(bits_of(v), shift);
    });
    tracker.store(hv);
  };
  if (hv.n == 1 && !hv.abs[0])
    run(HeavyTracker<Bits, 1, false>(hv));
  else if (hv.n == 1)
    run(HeavyTracker<Bits, 1, true>(hv));
  else
    run(HeavyTracker<Bits, 8, true>(hv));
  int j = 0;
  for (int i = 0; i < nhr; ++i, ++j) rbins[heavy_r[i]].kmin = hv.kmin[j], rbins[heavy_r[i]].kmax = hv.kmax[j];
  for (int i = 0; i < nha; ++i, ++j) abins[heavy_a[i]].kmin = hv.kmin[j], abins[heavy_a[i]].kmax = hv.kmax[j];
  // Pass 3.
  clear_marks();
  for (int i = 0; i < nrb; ++i) rbins[i].heavy = rbins[i].heavy && rbins[i].kmin != rbins[i].kmax;
  for (int i = 0; i < nab; ++i) abins[i].heavy = abins[i].heavy && abins[i].kmin != abins[i].kmax;
  if (set_marks(true))
    for (std::size_t i = 0; i < n; ++i) collect(x[i]);
  for (int i = 0; i < nrb; ++i) rbins[i].heavy = rbins[i].kmin == rbins[i].kmax;  // light bins have kmin > kmax
  for (int i = 0; i < nab; ++i) abins[i].heavy = abins[i].kmin == abins[i].kmax;
  return c;
}

// The statistics of one vector by histogram selection (the module comment above describes the
// passes). Kept as one function of ~130 lines on purpose: the passes share the histogram, the
// target bins and the mark table through lambdas that the compiler inlines into the hot loops
// of pass1/pass2; split into functions, that state would go through memory in the innermost
// loops (tools/bench/stats.sh measures this kernel). pass2_heavy holds the heavy-bin case.
template <typename T>
VectorStats radix_path(const T* x, std::size_t n, StatsScratch& scratch) {
  using Bits = typename Traits<T>::Bits;
  using Bin = TargetBin<Bits>;
  constexpr int shift = 8 * static_cast<int>(sizeof(Bits)) - kHistBits;
  constexpr std::size_t half = kHistSize / 2;
  // The histogram has kHistCopies interleaved copies (element j counts in copy
  // j mod kHistCopies; the copies of bin b are adjacent): runs of equal bins (ReLU zeros) would
  // otherwise serialise on store-to-load forwarding of one counter.
  // Invariant: scratch.hist and scratch.marks are all zeros between calls; a call zeroes only
  // the bins it touched (the key range [min, max]), so small vectors do not pay for 65536 bins.
  auto& hist = scratch.hist;
  if (hist.size() != kHistSize * kHistCopies) hist.assign(kHistSize * kHistCopies, 0);
  auto& marks = scratch.marks;
  if (marks.size() != kHistSize) marks.assign(kHistSize, 0);
  auto& touched_v = scratch.touched;
  if (touched_v.size() != kHistSize / kSuperBin) touched_v.assign(kHistSize / kSuperBin, 0);
  std::uint32_t* h = hist.data();
  std::uint8_t* mk = marks.data();
  std::uint8_t* touched = touched_v.data();
  // Besides the counts, pass 1 flags the blocks of kSuperBin bins it touches: mixed-sign data
  // spans ~32k bins between min and max (all the small magnitudes of both signs) but fills few
  // blocks, and the scans and the clearing then visit only the flagged blocks.
  const Sums s = pass1(x, n, [h, touched](std::size_t j, T v) {
    const std::size_t bin = order_key(bits_of(v)) >> shift;
    ++h[(bin << kHistCopiesLog2) | (j & (kHistCopies - 1))];
    touched[bin >> kSuperBinLog2] = 1;
  });
  auto clear_hist = [h, touched] {
    for (std::size_t sb = 0; sb < kHistSize / kSuperBin; ++sb)
      if (touched[sb]) {
        std::fill(h + ((sb * kSuperBin) << kHistCopiesLog2),
                  h + (((sb + 1) * kSuperBin) << kHistCopiesLog2), 0u);
        touched[sb] = 0;
      }
  };
  if (std::isnan(s.s2)) {
    clear_hist();
    return all_nan();
  }
  // Bin range in use. -0.0 == +0.0 as doubles but -0.0 has the smaller key: take the key of
  // -0.0 for a zero minimum and of +0.0 for a zero maximum.
  const T tmin = s.mn == 0 ? T(-0.0) : static_cast<T>(s.mn);
  const T tmax = s.mx == 0 ? T(0.0) : static_cast<T>(s.mx);
  const std::size_t lo_bin = order_key(bits_of(tmin)) >> shift;
  const std::size_t hi_bin = order_key(bits_of(tmax)) >> shift;
  const std::size_t alo_bin = (bits_of(static_cast<T>(s.amn)) & ~kSign<Bits>) >> shift;
  const std::size_t ahi_bin = (bits_of(static_cast<T>(s.amx)) & ~kSign<Bits>) >> shift;
  auto count = [h](std::size_t b) {
    const std::uint32_t* c = h + (b << kHistCopiesLog2);
    std::size_t t = 0;
    for (std::size_t i = 0; i < kHistCopies; ++i) t += c[i];
    return t;
  };
  double mean[3];
  means_of(s, n, mean);
  const Positions p = positions(n);
  const RankSet rs = needed_ranks(n, p);
  const bool nonneg = s.mn >= 0;  // then abs == raw: select raw only

  // Target bins. Raw bins are key bins; abs bin b (abs key >> shift, b < half) collects raw key
  // bins half + b (positive values) and half - 1 - b (negative values).
  // A bin holding more than n / 32 values (ties such as ReLU zeros, or a very narrow
  // distribution) is "heavy": collecting it with a data-dependent branch would mispredict often,
  // so pass 2 only tracks its min and max key (branch-free); if they differ, pass 3 collects it.
  const std::size_t heavy_limit = std::max<std::size_t>(n / 32, 256);
  Bin rbins[4], abins[4];
  int rbin_of[4], abin_of[4];
  const int nrb = find_bins<Bits>(
      rs, lo_bin, hi_bin, count, [touched](std::size_t sb) { return touched[sb] == 0; },
      heavy_limit, rbins, rbin_of);
  // abs bin b is raw bins half + b and half - 1 - b: block sb mirrors onto the blocks
  // (half / kSuperBin) + sb and (half / kSuperBin) - 1 - sb.
  constexpr std::size_t hb = half / kSuperBin;
  const int nab =
      nonneg ? 0
             : find_bins<Bits>(
                   rs, alo_bin, ahi_bin,
                   [&count](std::size_t b) { return count(half + b) + count(half - 1 - b); },
                   [touched](std::size_t sb) { return !touched[hb + sb] && !touched[hb - 1 - sb]; },
                   heavy_limit, abins, abin_of);
  clear_hist();

  // Mark table over raw key bins: low nibble = raw slot + 1, high nibble = abs slot + 1.
  // Only the bins to collect in the coming pass are marked.
  auto set_marks = [&](bool want_heavy) {
    bool any = false;
    for (int i = 0; i < nrb; ++i)
      if (rbins[i].heavy == want_heavy) {
        mk[rbins[i].bin] |= static_cast<std::uint8_t>(i + 1);
        any = true;
      }
    for (int i = 0; i < nab; ++i)
      if (abins[i].heavy == want_heavy) {
        mk[half + abins[i].bin] |= static_cast<std::uint8_t>((i + 1) << 4);
        mk[half - 1 - abins[i].bin] |= static_cast<std::uint8_t>((i + 1) << 4);
        any = true;
      }
    return any;
  };
  auto clear_marks = [&] {
    for (int i = 0; i < nrb; ++i) mk[rbins[i].bin] = 0;
    for (int i = 0; i < nab; ++i) mk[half + abins[i].bin] = mk[half - 1 - abins[i].bin] = 0;
  };
  set_marks(false);
  Bits* rcp = grown(key_buffer<T>(scratch, 0), rbins[nrb - 1].offset + rbins[nrb - 1].count);
  Bits* acp = nab ? grown(key_buffer<T>(scratch, 1), abins[nab - 1].offset + abins[nab - 1].count)
                  : nullptr;
  auto collect = [mk, rcp, acp, &rbins, &abins](T v) {
    const Bits b = bits_of(v);
    const Bits key = order_key(b);
    const unsigned m = mk[key >> shift];
    if (m != 0) {
      if (m & 15) rcp[rbins[(m & 15) - 1].fill++] = key;
      if (m >> 4) acp[abins[(m >> 4) - 1].fill++] = b & ~kSign<Bits>;
    }
  };
  bool any_heavy = false;
  for (int i = 0; i < nrb; ++i) any_heavy = any_heavy || rbins[i].heavy;
  for (int i = 0; i < nab; ++i) any_heavy = any_heavy || abins[i].heavy;
  const Central c = any_heavy ? pass2_heavy(x, n, mean, rbins, nrb, abins, nab, collect, set_marks, clear_marks)
                              : pass2(x, n, mean, [&collect](std::size_t, T v) { collect(v); });
  clear_marks();
  OrderStats os;
  select_in_bins(rcp, rs, rbins, rbin_of, os.raw, [](Bits k) { return value_of_key<T>(k); });
  if (nonneg) {
    for (int i = 0; i < rs.count; ++i) os.abs[i] = os.raw[i];
  } else {
    select_in_bins(acp, rs, abins, abin_of, os.abs, [](Bits k) { return value_of_abs_key<T>(k); });
  }
  return finish(n, s, c, rs, os, p);
}

// The two paths, compiled twice on x86-64 Linux with GCC: for AVX2 and for the baseline ISA,
// picked at load time (ifunc). AVX2 has the registers for pass 2's 48 accumulators; the
// baseline spills. AVX2 does not enable FMA, and the lane structure fixes the order of every
// operation, so both clones give bitwise identical results. (A build with -march=native or
// -mfma would let GCC contract a * b + c into FMAs: still accurate, not bitwise identical.)
// flatten inlines the callees into each clone so that they get the clone's ISA too.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(LRID_STATS_NO_CLONES)
#define LRID_STATS_KERNEL __attribute__((target_clones("avx2", "default"), flatten))
#else
#define LRID_STATS_KERNEL
#endif

LRID_STATS_KERNEL VectorStats small_path_f(const float* x, std::size_t n, StatsScratch& s) {
  return small_path(x, n, s);
}
LRID_STATS_KERNEL VectorStats small_path_d(const double* x, std::size_t n, StatsScratch& s) {
  return small_path(x, n, s);
}
LRID_STATS_KERNEL VectorStats radix_path_f(const float* x, std::size_t n, StatsScratch& s) {
  return radix_path(x, n, s);
}
LRID_STATS_KERNEL VectorStats radix_path_d(const double* x, std::size_t n, StatsScratch& s) {
  return radix_path(x, n, s);
}

template <typename T>
VectorStats vector_stats_impl(const T* x, std::size_t n, StatsScratch& scratch) {
  if (n == 0) throw std::invalid_argument("vector_statistics: no values (n == 0)");
  // The clones above are per type (target_clones needs plain functions).
  if constexpr (std::is_same<T, float>::value)
    return n < kRadixMinN ? small_path_f(x, n, scratch) : radix_path_f(x, n, scratch);
  else
    return n < kRadixMinN ? small_path_d(x, n, scratch) : radix_path_d(x, n, scratch);
}

template <typename T>
VectorStats act_stats_impl(const T* a, std::size_t batch, std::size_t units,
                           StatsScratch& scratch) {
  if (batch == 0 || units == 0)
    throw std::invalid_argument("act_statistics: empty [batch, units] array");
  VectorStats acc{};
  for (std::size_t b = 0; b < batch; ++b) {
    const VectorStats v = vector_stats_impl(a + b * units, units, scratch);
    for (int i = 0; i < kNumVectorValues; ++i) acc[i] += v[i];
  }
  for (auto& v : acc) v /= static_cast<double>(batch);
  return acc;
}

template <typename T>
GradavgStats gradavg_impl(const T* v, std::size_t batch) {
  if (batch == 0) throw std::invalid_argument("gradavg_statistics: empty batch");
  double s[3] = {0, 0, 0};
  for (std::size_t i = 0; i < batch; ++i) {
    const double x = static_cast<double>(v[i]);
    s[0] += x;
    s[1] += x * x;
    s[2] += std::fabs(x);
  }
  const double nb = static_cast<double>(batch);
  return GradavgStats{s[0] / nb, s[1] / nb, s[2] / nb};
}

}  // namespace

VectorStats vector_statistics(const float* x, std::size_t n, StatsScratch& scratch) {
  return vector_stats_impl(x, n, scratch);
}
VectorStats vector_statistics(const double* x, std::size_t n, StatsScratch& scratch) {
  return vector_stats_impl(x, n, scratch);
}
VectorStats act_statistics(const float* a, std::size_t batch, std::size_t units,
                           StatsScratch& scratch) {
  return act_stats_impl(a, batch, units, scratch);
}
VectorStats act_statistics(const double* a, std::size_t batch, std::size_t units,
                           StatsScratch& scratch) {
  return act_stats_impl(a, batch, units, scratch);
}
GradavgStats gradavg_statistics(const double* v, std::size_t batch) {
  return gradavg_impl(v, batch);
}
GradavgStats gradavg_statistics(const float* v, std::size_t batch) {
  return gradavg_impl(v, batch);
}

}  // namespace lrid::observe
