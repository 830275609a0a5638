#include "lrid/analyze/metrics.hpp"

#include <algorithm>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lrid::analyze {

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (int64_t v : counts) s += v;
  return s;
}

int64_t ConfusionMatrix::row(int truth) const {
  int64_t s = 0;
  for (int p = 0; p < n_classes; ++p) s += at(truth, p);
  return s;
}

int64_t ConfusionMatrix::column(int pred) const {
  int64_t s = 0;
  for (int t = 0; t < n_classes; ++t) s += at(t, pred);
  return s;
}

std::vector<int32_t> argmax_rows(const std::vector<double>& proba, size_t n, int n_classes) {
  const size_t C = static_cast<size_t>(n_classes);
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double* r = &proba[i * C];
    out[i] = static_cast<int32_t>(std::max_element(r, r + C) - r);
  }
  return out;
}

ConfusionMatrix confusion_matrix(const int32_t* truth, const int32_t* pred, size_t n,
                                 int n_classes) {
  if (n_classes < 1) throw std::invalid_argument("confusion_matrix: n_classes must be >= 1");
  ConfusionMatrix m;
  m.n_classes = n_classes;
  m.counts.assign(static_cast<size_t>(n_classes) * static_cast<size_t>(n_classes), 0);
  for (size_t i = 0; i < n; ++i) {
    if (truth[i] < 0 || truth[i] >= n_classes || pred[i] < 0 || pred[i] >= n_classes)
      throw std::invalid_argument("confusion_matrix: label outside [0, n_classes)");
    ++m.counts[static_cast<size_t>(truth[i]) * static_cast<size_t>(n_classes) +
               static_cast<size_t>(pred[i])];
  }
  return m;
}

double accuracy(const ConfusionMatrix& m) {
  const int64_t total = m.total();
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  int64_t diag = 0;
  for (int c = 0; c < m.n_classes; ++c) diag += m.at(c, c);
  return static_cast<double>(diag) / static_cast<double>(total);
}

double balanced_accuracy(const ConfusionMatrix& m) {
  double sum = 0;
  int present = 0;
  for (int c = 0; c < m.n_classes; ++c) {
    const int64_t r = m.row(c);
    if (r == 0) continue;
    sum += static_cast<double>(m.at(c, c)) / static_cast<double>(r);
    ++present;
  }
  return present ? sum / present : std::numeric_limits<double>::quiet_NaN();
}

double normal_quantile(double p) {
  // Wichura, M. J. (1988) Algorithm AS 241: The percentage points of the normal distribution.
  // Applied Statistics 37, 477-484 (PPND16).
  if (std::isnan(p) || p < 0.0 || p > 1.0) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q *
           (((((((2509.0809287301226727 * r + 33430.575583588128105) * r +
                 67265.770927008700853) * r + 45921.953931549871457) * r +
               13731.693765509461125) * r + 1971.5909503065514427) * r +
             133.14166789178437745) * r + 3.387132872796366608) /
           (((((((5226.495278852545925 * r + 28729.085735721942674) * r +
                 39307.89580009271061) * r + 21213.794301586595867) * r +
               5394.1960214247511077) * r + 687.1870074920579083) * r +
             42.313330701600911252) * r + 1.0);
  }
  double r = q < 0 ? p : 1.0 - p;
  r = std::sqrt(-std::log(r));
  double val;
  if (r <= 5.0) {
    r -= 1.6;
    val = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r +
                0.24178072517745061177) * r + 1.27045825245236838258) * r +
              3.64784832476320460504) * r + 5.7694972214606914055) * r +
            4.6303378461565452959) * r + 1.42343711074968357734) /
          (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r +
                0.0151986665636164571966) * r + 0.14810397642748007459) * r +
              0.68976733498510000455) * r + 1.6763848301838038494) * r +
            2.05319162663775882187) * r + 1.0);
  } else {
    r -= 5.0;
    val = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r +
                0.0012426609473880784386) * r + 0.026532189526576123093) * r +
              0.29656057182850489123) * r + 1.7848265399172913358) * r +
            5.4637849111641143699) * r + 6.6579046435011037772) /
          (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r +
                1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
              0.0148753612908506148525) * r + 0.13692988092273580531) * r +
            0.59983220655588793769) * r + 1.0);
  }
  return q < 0 ? -val : val;
}

std::vector<double> dprime(const ConfusionMatrix& m) {
  std::vector<double> out(static_cast<size_t>(m.n_classes),
                          std::numeric_limits<double>::quiet_NaN());
  const int64_t total = m.total();
  for (int c = 0; c < m.n_classes; ++c) {
    const int64_t P = m.row(c), N = total - P;
    if (P == 0 || N == 0) continue;
    const int64_t hits = m.at(c, c), false_alarms = m.column(c) - hits;
    auto clip = [](double rate, int64_t count) {
      const double lo = 0.5 / static_cast<double>(count);
      return std::min(std::max(rate, lo), 1.0 - lo);
    };
    const double H = clip(static_cast<double>(hits) / static_cast<double>(P), P);
    const double F = clip(static_cast<double>(false_alarms) / static_cast<double>(N), N);
    out[static_cast<size_t>(c)] = normal_quantile(H) - normal_quantile(F);
  }
  return out;
}

MeanSem mean_sem(const std::vector<double>& values) {
  MeanSem r;
  r.count = values.size();
  if (values.empty()) {
    r.mean = r.sem = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  double s = 0;
  for (double v : values) s += v;
  r.mean = s / static_cast<double>(values.size());
  if (values.size() < 2) {
    r.sem = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  const double k = static_cast<double>(values.size());
  r.sem = std::sqrt(ss / (k - 1.0)) / std::sqrt(k);
  return r;
}

TestMetrics evaluate_predictions(const int32_t* truth, const int32_t* pred, size_t n,
                                 int n_classes) {
  TestMetrics t;
  t.confusion = confusion_matrix(truth, pred, n, n_classes);
  t.accuracy = accuracy(t.confusion);
  t.balanced_accuracy = balanced_accuracy(t.confusion);
  t.dprime = dprime(t.confusion);
  return t;
}

MetricsSummary summarize(const std::vector<TestMetrics>& per_split) {
  MetricsSummary s;
  s.splits = per_split.size();
  if (per_split.empty()) return s;
  const int C = per_split.front().confusion.n_classes;
  s.n_classes = C;
  const size_t CC = static_cast<size_t>(C) * static_cast<size_t>(C);
  std::vector<double> acc, bacc;
  std::vector<std::vector<double>> dp(static_cast<size_t>(C)), cm(CC);
  s.confusion_total.n_classes = C;
  s.confusion_total.counts.assign(CC, 0);
  for (const auto& t : per_split) {
    if (t.confusion.n_classes != C)
      throw std::invalid_argument("summarize: splits with different class counts");
    acc.push_back(t.accuracy);
    bacc.push_back(t.balanced_accuracy);
    for (int c = 0; c < C; ++c) {
      const double v = t.dprime.at(static_cast<size_t>(c));
      if (!std::isnan(v)) dp[static_cast<size_t>(c)].push_back(v);
      const int64_t r = t.confusion.row(c);
      for (int p = 0; p < C; ++p) {
        const size_t k = static_cast<size_t>(c) * static_cast<size_t>(C) + static_cast<size_t>(p);
        s.confusion_total.counts[k] += t.confusion.counts[k];
        if (r > 0)
          cm[k].push_back(static_cast<double>(t.confusion.counts[k]) / static_cast<double>(r));
      }
    }
  }
  s.accuracy = mean_sem(acc);
  s.balanced_accuracy = mean_sem(bacc);
  for (auto& v : dp) s.dprime.push_back(mean_sem(v));
  for (auto& v : cm) s.confusion.push_back(mean_sem(v));
  return s;
}

}  // namespace lrid::analyze
