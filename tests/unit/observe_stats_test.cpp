// Unit tests of the observe module's statistics kernels, names and measurement conditions, and
// of the shared RNG (include/lrid/rng.hpp). Hand-derived values on tiny arrays; the radix path
// (n >= 512) is checked against a sort-based reference written here.
#include "lrid/observe/stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "lrid/error.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/rng.hpp"

namespace ob = lrid::observe;
using ob::Function;
using ob::Measure;
using ob::Statistic;

namespace {

double at(const ob::VectorStats& v, Function f, Statistic s) { return v[ob::vector_index(f, s)]; }

// Sort-based reference for one function's values (numpy semantics; sums in long double, so it
// is more accurate than the kernel under test on ill-conditioned data).
struct Ref {
  double norm, mean, median, q3, var, skew, kurt;
  double mean_abs;  // sum |y| / n: the scale of the rounding error of any sum of the y
};
Ref reference(std::vector<double> y) {
  const std::size_t n = y.size();
  Ref r{};
  long double s = 0, s2 = 0, sa = 0;
  for (double v : y) s += v, s2 += static_cast<long double>(v) * v, sa += std::fabs(v);
  r.mean_abs = static_cast<double>(sa / n);
  r.norm = static_cast<double>(std::sqrt(s2));
  const long double mean = s / n;
  r.mean = static_cast<double>(mean);
  long double c2 = 0, c4 = 0;
  for (double v : y) {
    const long double d = v - mean;
    c2 += d * d;
    c4 += d * d * d * d;
  }
  r.var = static_cast<double>(c2 / n);
  std::sort(y.begin(), y.end());
  auto pct = [&](double q) {
    const double pos = q * (n - 1);
    const std::size_t k = static_cast<std::size_t>(std::floor(pos));
    const double frac = pos - k;
    if (frac == 0) return y[k];
    // numpy's _lerp, written out here rather than calling the kernel's helper
    const double diff = y[k + 1] - y[k];
    return frac >= 0.5 ? y[k + 1] - diff * (1 - frac) : y[k] + diff * frac;
  };
  r.median = pct(0.5);
  r.q3 = pct(0.75);
  r.skew = static_cast<double>(3 * (mean - r.median) / std::sqrt(c2 / n));
  r.kurt = static_cast<double>((c4 / n) / ((c2 / n) * (c2 / n)));
  return r;
}

template <typename T>
void expect_matches_reference(const std::vector<T>& x, const std::string& what) {
  ob::StatsScratch scratch;
  const ob::VectorStats got = ob::vector_statistics(x.data(), x.size(), scratch);
  for (int f = 0; f < 3; ++f) {
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = static_cast<double>(x[i]);
      y[i] = f == 0 ? v : (f == 1 ? v * v : std::fabs(v));
    }
    const Ref r = reference(y);
    const Function fn = static_cast<Function>(f);
    SCOPED_TRACE(what + " function " + std::to_string(f));
    // Order statistics are exact (same values, same interpolation).
    EXPECT_EQ(at(got, fn, Statistic::median), r.median);
    EXPECT_EQ(at(got, fn, Statistic::thirdquartile), r.q3);
    auto near = [](double a, double b) {
      return std::fabs(a - b) <= 1e-10 * std::fabs(b) + 1e-300;
    };
    EXPECT_PRED2(near, at(got, fn, Statistic::norm), r.norm);
    EXPECT_PRED2(near, at(got, fn, Statistic::var), r.var);
    // The mean is a sum with cancellation when |mean| << mean |y| (e.g. +-1 data): the kernel's
    // documented bound is O((64 + log2(n / 256)) eps sum |y|) absolute (stats.cpp).
    const double eps = std::numeric_limits<double>::epsilon();
    const double mean_tol = 1e-10 * std::fabs(r.mean) + 128 * eps * r.mean_abs;
    EXPECT_NEAR(at(got, fn, Statistic::mean), r.mean, mean_tol);
    // skew = 3 (mean - median) / std magnifies the error of the mean (and its double rounding,
    // ~1 ulp) by 1 / std.
    const double skew_tol = 1e-9 * (1 + std::fabs(r.skew)) +
                            3 * (mean_tol + 8 * eps * std::fabs(r.mean)) / std::sqrt(r.var);
    EXPECT_NEAR(at(got, fn, Statistic::skew), r.skew, skew_tol);
    EXPECT_PRED2(near, at(got, fn, Statistic::kurtosis), r.kurt);
  }
}

}  // namespace

// --- names -------------------------------------------------------------------------------------

TEST(StatsNames, CountsAndCanonicalOrder) {
  const auto& all = ob::all_statistic_names();
  ASSERT_EQ(all.size(), 45u);
  EXPECT_EQ(all[0], "weightraw_norm");
  EXPECT_EQ(all[1], "weightraw_mean");
  EXPECT_EQ(all[2], "weightraw_median");
  EXPECT_EQ(all[3], "weightraw_thirdquartile");
  EXPECT_EQ(all[4], "weightraw_var");
  EXPECT_EQ(all[5], "weightraw_skew");
  EXPECT_EQ(all[6], "weightraw_kurtosis");
  EXPECT_EQ(all[7], "weightsq_norm");
  EXPECT_EQ(all[14], "weightabs_norm");
  EXPECT_EQ(all[20], "weightabs_kurtosis");
  EXPECT_EQ(all[21], "actraw_norm");
  EXPECT_EQ(all[31], "actsq_thirdquartile");
  EXPECT_EQ(all[41], "actabs_kurtosis");
  EXPECT_EQ(all[42], "gradavgraw_id");
  EXPECT_EQ(all[43], "gradavgsq_id");
  EXPECT_EQ(all[44], "gradavgabs_id");
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 45u);
  for (int i = 0; i < 45; ++i) EXPECT_EQ(ob::find_statistic(all[i]), i);
  EXPECT_EQ(ob::statistic_index(Measure::act, Function::sq, Statistic::thirdquartile), 31);
  EXPECT_EQ(ob::gradavg_index(Function::abs), 44);
  EXPECT_EQ(ob::find_statistic("weightraw_id"), -1);
}

TEST(StatsNames, AdmissibleIsThePapers24) {
  const std::set<std::string> expected = {
      "weightabs_mean",          "weightabs_median", "weightabs_norm",   "weightabs_thirdquartile",
      "weightabs_var",           "weightraw_mean",   "weightraw_median", "weightraw_norm",
      "weightraw_thirdquartile", "weightraw_var",    "weightsq_mean",    "weightsq_median",
      "weightsq_thirdquartile",  "actabs_mean",      "actabs_median",    "actabs_norm",
      "actabs_thirdquartile",    "actraw_mean",      "actraw_median",    "actraw_norm",
      "actraw_thirdquartile",    "gradavgraw_id",    "gradavgsq_id",     "gradavgabs_id"};
  const auto& adm = ob::admissible_statistic_names();
  ASSERT_EQ(adm.size(), 24u);
  EXPECT_EQ(std::set<std::string>(adm.begin(), adm.end()), expected);
  // canonical order
  std::vector<int> idx;
  for (const auto& n : adm) idx.push_back(ob::find_statistic(n));
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
}

TEST(StatsNames, ResolveSetsAndNames) {
  EXPECT_EQ(ob::resolve_statistics({"all"}).size(), 45u);
  EXPECT_EQ(ob::resolve_statistics({"admissible"}).size(), 24u);
  const auto w = ob::resolve_statistics({"weight"});
  ASSERT_EQ(w.size(), 21u);
  EXPECT_EQ(w.front(), 0);
  EXPECT_EQ(w.back(), 20);
  EXPECT_EQ(ob::resolve_statistics({"act"}).front(), 21);
  EXPECT_EQ(ob::resolve_statistics({"gradavg"}), (std::vector<int>{42, 43, 44}));
  EXPECT_EQ(ob::resolve_statistics({"admissible_weight"}).size(), 13u);
  EXPECT_EQ(ob::resolve_statistics({"admissible_act"}).size(), 8u);
  EXPECT_EQ(ob::resolve_statistics({"admissible_gradavg"}).size(), 3u);
  // sorted, de-duplicated, comma lists
  EXPECT_EQ(ob::resolve_statistics({"gradavgabs_id", "weightraw_norm, gradavgabs_id"}),
            (std::vector<int>{0, 44}));
}

TEST(StatsNames, UnknownNameSuggests) {
  try {
    ob::resolve_statistics({"weightabs_meadian"});
    FAIL() << "expected BadInput";
  } catch (const lrid::BadInput& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'weightabs_meadian'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'weightabs_median'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_THROW(ob::resolve_statistics({""}), lrid::BadInput);
  EXPECT_THROW(ob::parse_measure("activation"), lrid::BadInput);
}

// --- kernels: hand-derived values
// ------------------------------------------------------------------

TEST(StatsKernel, OneTwoThreeFour) {
  const std::vector<float> x = {4, 1, 3, 2};
  ob::StatsScratch s;
  const auto v = ob::vector_statistics(x.data(), x.size(), s);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::norm), std::sqrt(30.0));
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::mean), 2.5);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::median), 2.5);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::thirdquartile), 3.25);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::var), 1.25);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::skew), 0.0);
  // E[(x - 2.5)^4] = (2 * 1.5^4 + 2 * 0.5^4) / 4 = 2.5625; / 1.25^2
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::kurtosis), 2.5625 / 1.5625);
  // sq = {1, 4, 9, 16}
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::norm), std::sqrt(354.0));
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::mean), 7.5);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::median), 6.5);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::thirdquartile), 10.75);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::var), 32.25);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::skew), 3.0 * (7.5 - 6.5) / std::sqrt(32.25));
  // deviations -6.5 -3.5 1.5 8.5
  const double m4 = (std::pow(6.5, 4) + std::pow(3.5, 4) + std::pow(1.5, 4) + std::pow(8.5, 4)) / 4;
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::kurtosis), m4 / (32.25 * 32.25));
  // abs == raw for non-negative data
  for (int s2 = 0; s2 < 7; ++s2)
    EXPECT_EQ(v[ob::vector_index(Function::abs, static_cast<Statistic>(s2))],
              v[ob::vector_index(Function::raw, static_cast<Statistic>(s2))]);
}

TEST(StatsKernel, MixedSignsOddLength) {
  const std::vector<float> x = {2, -3, 5, 0, -1};
  ob::StatsScratch s;
  const auto v = ob::vector_statistics(x.data(), x.size(), s);
  // raw sorted -3 -1 0 2 5
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::norm), std::sqrt(39.0));
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::mean), 0.6);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::median), 0.0);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::thirdquartile), 2.0);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::var), 7.44);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::skew), 3 * 0.6 / std::sqrt(7.44));
  // abs sorted 0 1 2 3 5, sq sorted 0 1 4 9 25
  EXPECT_DOUBLE_EQ(at(v, Function::abs, Statistic::norm), std::sqrt(39.0));
  EXPECT_DOUBLE_EQ(at(v, Function::abs, Statistic::mean), 2.2);
  EXPECT_DOUBLE_EQ(at(v, Function::abs, Statistic::median), 2.0);
  EXPECT_DOUBLE_EQ(at(v, Function::abs, Statistic::thirdquartile), 3.0);
  EXPECT_DOUBLE_EQ(at(v, Function::abs, Statistic::var), 2.96);  // (.64+1.44+4.84+.04+7.84)/5
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::norm), std::sqrt(723.0));
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::mean), 7.8);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::median), 4.0);
  EXPECT_DOUBLE_EQ(at(v, Function::sq, Statistic::thirdquartile), 9.0);
}

TEST(StatsKernel, ConstantGivesNanSkewAndKurtosis) {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{10}, std::size_t{20000}}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<float> x(n, -0.1f);
    ob::StatsScratch s;
    const auto v = ob::vector_statistics(x.data(), n, s);
    const double c = static_cast<double>(-0.1f);
    EXPECT_EQ(at(v, Function::raw, Statistic::mean), c);  // exactly the value
    EXPECT_EQ(at(v, Function::raw, Statistic::median), c);
    EXPECT_EQ(at(v, Function::raw, Statistic::thirdquartile), c);
    EXPECT_EQ(at(v, Function::raw, Statistic::var), 0.0);
    EXPECT_EQ(at(v, Function::abs, Statistic::mean), -c);
    EXPECT_EQ(at(v, Function::sq, Statistic::mean), c * c);
    EXPECT_EQ(at(v, Function::sq, Statistic::var), 0.0);
    for (Function f : {Function::raw, Function::sq, Function::abs}) {
      EXPECT_TRUE(std::isnan(at(v, f, Statistic::skew)));
      EXPECT_TRUE(std::isnan(at(v, f, Statistic::kurtosis)));
    }
    EXPECT_NEAR(at(v, Function::raw, Statistic::norm), std::sqrt(double(n)) * 0.1,
                1e-7 * std::sqrt(double(n)));
  }
}

TEST(StatsKernel, SymmetricPairHasConstantAbs) {
  const std::vector<float> x = {-2, 2, -2, 2, 2};
  ob::StatsScratch s;
  const auto v = ob::vector_statistics(x.data(), x.size(), s);
  EXPECT_FALSE(std::isnan(at(v, Function::raw, Statistic::skew)));
  EXPECT_TRUE(std::isnan(at(v, Function::abs, Statistic::skew)));
  EXPECT_TRUE(std::isnan(at(v, Function::sq, Statistic::kurtosis)));
  EXPECT_EQ(at(v, Function::sq, Statistic::median), 4.0);
}

TEST(StatsKernel, NanInputGivesAllNan) {
  for (std::size_t n : {std::size_t{5}, std::size_t{10000}}) {
    std::vector<float> x(n, 1.0f);
    x[n / 2] = std::numeric_limits<float>::quiet_NaN();
    ob::StatsScratch s;
    const auto v = ob::vector_statistics(x.data(), n, s);
    for (double d : v) EXPECT_TRUE(std::isnan(d));
  }
}

TEST(StatsKernel, EmptyIsAnError) {
  ob::StatsScratch s;
  const float x = 0;
  EXPECT_THROW(ob::vector_statistics(&x, 0, s), std::invalid_argument);
}

TEST(StatsKernel, NoCancellationWithLargeMean) {
  // 1e4 + {-1, +1} pattern: the one-pass E[x^2] - E[x]^2 would lose everything.
  std::vector<double> x(1001);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1e8 + (i % 2 ? 1.0 : -1.0);
  ob::StatsScratch s;
  const auto v = ob::vector_statistics(x.data(), x.size(), s);
  const double mean = 1e8 - 1.0 / 1001;
  double var = 0;
  for (double y : x) var += (y - mean) * (y - mean);
  var /= 1001;
  EXPECT_NEAR(at(v, Function::raw, Statistic::var), var, 1e-9);
}

// The radix path (n >= 512) against the sort-based reference, on awkward data.
TEST(StatsKernel, RadixPathMatchesSortReference) {
  lrid::rng::Xoshiro256ss g(42);
  for (std::size_t n : {std::size_t{512}, std::size_t{1001}, std::size_t{8192}, std::size_t{100001},
                        std::size_t{262144}}) {
    std::vector<float> normal(n), relu(n), ties(n), negative(n), tiny(n), narrow(n);
    std::vector<float> zeros(n), nonpos(n), narrow_pm(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double z = g.normal();
      // signed zeros: -0.0 has a smaller key than +0.0 but the same value
      zeros[i] = i % 3 == 0 ? -0.0f : (i % 3 == 1 ? 0.0f : static_cast<float>(z));
      nonpos[i] = i % 2 ? -0.0f : static_cast<float>(-std::max(0.0, z));
      narrow_pm[i] = static_cast<float>((i % 2 ? 1 : -1) * (1.0 + 1e-6 * z));  // heavy abs bin
      normal[i] = static_cast<float>(0.05 * z);
      relu[i] = static_cast<float>(std::max(0.0, z - 0.3));  // > 50% exact zeros
      ties[i] = static_cast<float>(std::round(z * 2) / 2);   // few distinct values
      negative[i] = static_cast<float>(-std::fabs(z) - 3);
      tiny[i] = static_cast<float>(z * 1e-38);         // denormals
      narrow[i] = static_cast<float>(1.0 + 1e-6 * z);  // one histogram bin
    }
    const std::string ns = " n=" + std::to_string(n);
    expect_matches_reference(normal, "normal" + ns);
    expect_matches_reference(relu, "relu" + ns);
    expect_matches_reference(ties, "ties" + ns);
    expect_matches_reference(negative, "negative" + ns);
    expect_matches_reference(tiny, "tiny" + ns);
    expect_matches_reference(narrow, "narrow" + ns);
    expect_matches_reference(zeros, "signed zeros" + ns);
    expect_matches_reference(nonpos, "non-positive" + ns);
    expect_matches_reference(narrow_pm, "narrow +-" + ns);
    std::vector<double> d(n);
    for (auto& v : d) v = g.normal() * 1e3 + 7;
    expect_matches_reference(d, "double" + ns);
  }
}

TEST(StatsKernel, SmallPathMatchesSortReference) {
  lrid::rng::Xoshiro256ss g(7);
  for (std::size_t n : {2, 3, 4, 5, 6, 7, 8, 31, 100, 255, 511}) {
    std::vector<float> x(n);
    for (auto& v : x) v = static_cast<float>(std::round(g.normal() * 4) / 4 - 0.3);
    expect_matches_reference(x, "n=" + std::to_string(n));
  }
}

TEST(StatsKernel, ScratchReuseGivesSameResults) {
  lrid::rng::Xoshiro256ss g(3);
  std::vector<float> big(50000), small(17);
  for (auto& v : big) v = static_cast<float>(g.normal());
  for (auto& v : small) v = static_cast<float>(g.normal());
  ob::StatsScratch s1, s2;
  const auto a = ob::vector_statistics(small.data(), small.size(), s1);
  ob::vector_statistics(big.data(), big.size(), s2);
  const auto b = ob::vector_statistics(small.data(), small.size(), s2);
  for (int i = 0; i < ob::kNumVectorValues; ++i) EXPECT_EQ(a[i], b[i]);
}

// --- measures --------------------------------------------------------------------------------

TEST(StatsMeasure, ActAveragesPerExampleStatistics) {
  const std::vector<float> a = {4, 1,  3, 2,   // example 0
                                2, -3, 5, 0};  // example 1
  ob::StatsScratch s;
  const auto v = ob::act_statistics(a.data(), 2, 4, s);
  const auto r0 = ob::vector_statistics(a.data(), 4, s);
  const auto r1 = ob::vector_statistics(a.data() + 4, 4, s);
  for (int i = 0; i < ob::kNumVectorValues; ++i) EXPECT_DOUBLE_EQ(v[i], (r0[i] + r1[i]) / 2);
  EXPECT_DOUBLE_EQ(at(v, Function::raw, Statistic::median), (2.5 + 1.0) / 2);
}

TEST(StatsMeasure, Gradavg) {
  const std::vector<double> g = {2, -5, 1};
  const auto v = ob::gradavg_statistics(g.data(), g.size());
  EXPECT_DOUBLE_EQ(v[0], -2.0 / 3);
  EXPECT_DOUBLE_EQ(v[1], 30.0 / 3);
  EXPECT_DOUBLE_EQ(v[2], 8.0 / 3);
}

// --- conditions ------------------------------------------------------------------------------

TEST(Condition, SubsetSizeIsCeilWithRoundingTolerance) {
  EXPECT_EQ(ob::subset_size(30, 0.1), 3u);       // 0.1 * 30 = 3.0000000000000004
  EXPECT_EQ(ob::subset_size(10, 0.3), 3u);       // 3.0000000000000004
  EXPECT_EQ(ob::subset_size(100, 0.07), 7u);     // 7.000000000000001
  EXPECT_EQ(ob::subset_size(3, 0.1 + 0.2), 1u);  // 0.9000000000000001 -> 1
  EXPECT_EQ(ob::subset_size(7, 0.7), 5u);        // 4.9 -> 5
  EXPECT_EQ(ob::subset_size(3, 0.5), 2u);        // 1.5 -> 2
  EXPECT_EQ(ob::subset_size(31, 0.1), 4u);       // 3.1 -> 4
  EXPECT_EQ(ob::subset_size(1000, 1e-9), 1u);
  EXPECT_EQ(ob::subset_size(5, 1.0), 5u);
  EXPECT_EQ(ob::subset_size(1, 0.01), 1u);
  EXPECT_THROW(ob::subset_size(10, 0.0), lrid::BadInput);
  EXPECT_THROW(ob::subset_size(10, 1.5), lrid::BadInput);
  EXPECT_THROW(ob::subset_size(10, std::nan("")), lrid::BadInput);
  EXPECT_THROW(ob::subset_size(0, 0.5), lrid::BadInput);
}

TEST(Condition, UnitSubsetIsSeededSortedAndExact) {
  for (std::size_t n : {1, 2, 10, 30, 1000, 100000}) {
    for (double f : {0.001, 0.1, 0.5, 0.9, 1.0}) {
      const auto a = ob::unit_subset(n, f, 123);
      ASSERT_EQ(a.size(), ob::subset_size(n, f));
      EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
      EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), a.size());
      EXPECT_GE(a.front(), 0);
      EXPECT_LT(a.back(), static_cast<std::int64_t>(n));
      EXPECT_EQ(a, ob::unit_subset(n, f, 123));
    }
  }
  EXPECT_NE(ob::unit_subset(1000, 0.1, 1), ob::unit_subset(1000, 0.1, 2));
  EXPECT_NE(ob::unit_subset(1000, 0.5, 1), ob::unit_subset(1000, 0.5, 2));
  EXPECT_EQ(ob::unit_subset(5, 1.0, 9), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(Condition, SubsetsAreNestedAcrossFractions) {
  // Sparse (k < n/8) and dense paths draw the same shuffle prefix.
  const auto small = ob::unit_subset(10000, 0.01, 5);
  const auto mid = ob::unit_subset(10000, 0.2, 5);
  const auto large = ob::unit_subset(10000, 0.7, 5);
  EXPECT_TRUE(std::includes(mid.begin(), mid.end(), small.begin(), small.end()));
  EXPECT_TRUE(std::includes(large.begin(), large.end(), mid.begin(), mid.end()));
}

TEST(Condition, SubsetIsUniform) {
  // Each of 20 units is kept with probability 5/20 over 4000 seeds: counts ~ 1000 +- 27.
  std::vector<int> count(20, 0);
  for (std::uint64_t seed = 0; seed < 4000; ++seed)
    for (auto u : ob::unit_subset(20, 0.25, seed)) ++count[u];
  for (int c : count) EXPECT_NEAR(c, 1000, 150);
}

TEST(Condition, CounterNormalMomentsOnAMillion) {
  const std::size_t n = 1000000;
  const double sigma = 0.5;
  std::vector<float> zeros(n, 0.0f), noisy;
  ob::Condition c{1.0, sigma, 11};
  const auto units = ob::weight_units(n, c);
  ob::observe_weight(zeros.data(), n, units, c, ob::noise_seed(c, 0, 0, Measure::weight), noisy);
  ASSERT_EQ(noisy.size(), n);
  double s = 0, s2 = 0, s4 = 0;
  for (float v : noisy) s += v, s2 += double(v) * v;
  const double mean = s / n;
  const double sd = std::sqrt(s2 / n - mean * mean);
  for (float v : noisy) s4 += std::pow((v - mean) / sd, 4);
  EXPECT_NEAR(mean, 0.0, 5 * sigma / std::sqrt(double(n)));
  EXPECT_NEAR(sd, sigma, 0.005 * sigma);
  EXPECT_NEAR(s4 / n, 3.0, 0.03);  // Gaussian kurtosis
}

TEST(Condition, NoiseThenSubsampleEqualsSubsampleThenNoise) {
  const std::size_t batch = 3, units = 50;
  std::vector<float> a(batch * units);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) * 0.01f;
  const ob::Condition c{0.2, 0.3, 8};
  const std::uint64_t ns = ob::noise_seed(c, 2, 5, Measure::act);
  // Noise on everything (all units kept), then keep the subset.
  std::vector<std::int64_t> all(units);
  std::iota(all.begin(), all.end(), 0);
  std::vector<float> full, kept;
  ob::observe_act(a.data(), batch, units, all, c, ns, full);
  const auto sub = ob::act_units(units, c);
  ASSERT_EQ(sub.size(), 10u);
  ob::observe_act(a.data(), batch, units, sub, c, ns, kept);
  ASSERT_EQ(kept.size(), batch * sub.size());
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t j = 0; j < sub.size(); ++j)
      EXPECT_EQ(kept[b * sub.size() + j], full[b * units + sub[j]]);
  // sigma 0: a plain gather of the same units
  const ob::Condition c0{0.2, 0.0, 8};
  ob::observe_act(a.data(), batch, units, sub, c0, ns, kept);
  for (std::size_t j = 0; j < sub.size(); ++j) EXPECT_EQ(kept[units * 0 + j], a[sub[j]]);
  EXPECT_EQ(kept[sub.size() + 1], a[units + sub[1]]);
}

TEST(Condition, NoiseSeedsDiffer) {
  const ob::Condition c{0.5, 1.0, 3};
  const auto base = ob::noise_seed(c, 1, 2, Measure::act);
  EXPECT_EQ(base, ob::noise_seed(c, 1, 2, Measure::act));
  EXPECT_NE(base, ob::noise_seed(c, 2, 2, Measure::act));
  EXPECT_NE(base, ob::noise_seed(c, 1, 3, Measure::act));
  EXPECT_NE(base, ob::noise_seed(c, 1, 2, Measure::weight));
  EXPECT_NE(base, ob::noise_seed(ob::Condition{0.5, 1.0, 4}, 1, 2, Measure::act));
}

TEST(Condition, GradavgInputAndOutputSubsetsDiffer) {
  const ob::Condition c{0.1, 0.0, 17};
  EXPECT_NE(ob::gradavg_input_units(1000, c), ob::gradavg_output_units(1000, c));
  EXPECT_EQ(ob::gradavg_input_units(1000, c), ob::act_units(1000, c));
  const std::vector<float> g = {1, 2, 3, 4, 5, 6};  // [2, 3]
  const auto v = ob::gradavg_values(g.data(), 2, 3, {0, 2}, 2, c, 0);
  EXPECT_EQ(v, (std::vector<double>{2.0, 5.0}));
}

TEST(Condition, NamesRoundTrip) {
  EXPECT_EQ((ob::Condition{1.0, 0.0, 0}).name(), "ideal");
  EXPECT_EQ((ob::Condition{1.0, 0.0, 7}).name(), "ideal");
  EXPECT_EQ((ob::Condition{0.1, 0.5, 0}).name(), "f0.1_s0.5");
  EXPECT_EQ((ob::Condition{1.0, 2.0, 0}).name(), "f1_s2");
  EXPECT_EQ((ob::Condition{0.25, 0.0, 3}).name(), "f0.25_s0_seed3");
  for (const ob::Condition& c :
       {ob::Condition{0.1, 0.5, 0}, ob::Condition{0.3, 1e-3, 12}, ob::Condition{1.0, 0.0, 0}})
    EXPECT_EQ(ob::parse_condition(c.name()), c);
  EXPECT_THROW(ob::parse_condition("f0_s1"), lrid::BadInput);
  EXPECT_THROW(ob::parse_condition("f0.5"), lrid::BadInput);
  EXPECT_THROW(ob::parse_condition("f0.5_s-1"), lrid::BadInput);
  EXPECT_THROW(ob::parse_condition("f0.5_sx"), lrid::BadInput);
  EXPECT_THROW((ob::Condition{1.5, 0, 0}).validate(), lrid::BadInput);
  EXPECT_THROW((ob::Condition{0.5, -1, 0}).validate(), lrid::BadInput);
  // absolute unit counts
  EXPECT_EQ((ob::Condition{1.0, 0.5, 0, 300}).name(), "n300_s0.5");
  EXPECT_EQ((ob::Condition{1.0, 0.0, 2, 100}).name(), "n100_s0_seed2");
  EXPECT_FALSE((ob::Condition{1.0, 0.0, 0, 100}).ideal());
  for (const ob::Condition& c : {ob::Condition{1.0, 0.5, 0, 300}, ob::Condition{1.0, 0.0, 2, 100}})
    EXPECT_EQ(ob::parse_condition(c.name()), c);
  EXPECT_THROW(ob::parse_condition("n0_s0"), lrid::BadInput);
  EXPECT_THROW(ob::parse_condition("nx_s0"), lrid::BadInput);
}

TEST(Condition, UnitCountsKeepMinOfCountAndUnitsNestedWithFractions) {
  const ob::Condition c100{1.0, 0.0, 9, 100};
  EXPECT_EQ(c100.kept(1000), 100u);
  EXPECT_EQ(c100.kept(40), 40u);  // a layer smaller than the count: all of it
  const auto a = ob::act_units(1000, c100);
  ASSERT_EQ(a.size(), 100u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), 100u);
  // The same units as the fraction that keeps as many, with the same seed; nested in larger counts.
  EXPECT_EQ(a, ob::act_units(1000, ob::Condition{0.1, 0.0, 9}));
  const auto b = ob::act_units(1000, ob::Condition{1.0, 0.0, 9, 300});
  EXPECT_TRUE(std::includes(b.begin(), b.end(), a.begin(), a.end()));
  EXPECT_EQ(ob::act_units(40, c100).size(), 40u);
}

// --- rng -------------------------------------------------------------------------------------

TEST(StatsRng, DeterministicAndInRange) {
  lrid::rng::Xoshiro256ss a(99), b(99), c(100);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a(), y = b(), z = c();
    EXPECT_EQ(x, y);
    differs |= x != z;
  }
  EXPECT_TRUE(differs);
  for (int i = 0; i < 10000; ++i) {
    const double u = a.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_LT(a.below(7), 7u);
  }
  EXPECT_EQ(lrid::rng::counter_normal(5, 12345), lrid::rng::counter_normal(5, 12345));
  EXPECT_NE(lrid::rng::counter_normal(5, 12345), lrid::rng::counter_normal(6, 12345));
  EXPECT_NE(lrid::rng::counter_normal(5, 12344), lrid::rng::counter_normal(5, 12345));
  EXPECT_NE(lrid::rng::hash_combine(1, 2), lrid::rng::hash_combine(2, 1));
  std::uint64_t st = 0;
  EXPECT_EQ(lrid::rng::splitmix64(st), 0xE220A8397B1DCDAFULL);  // published splitmix64(0)
  // xoshiro256** reference: state seeded by splitmix64(0) -> first output.
  lrid::rng::Xoshiro256ss z0(0);
  std::uint64_t sm = 0;
  std::uint64_t s1 = (lrid::rng::splitmix64(sm), lrid::rng::splitmix64(sm));
  const std::uint64_t expect = ((s1 * 5) << 7 | (s1 * 5) >> 57) * 9;
  EXPECT_EQ(z0(), expect);
}
