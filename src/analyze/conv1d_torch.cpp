#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "lrid/analyze/conv1d.hpp"
#include "lrid/util/text.hpp"
#include "lrid/analyze/metrics.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"

namespace lrid::analyze {

struct Conv1dClassifier::Impl {
  int64_t S = 0, T = 0, E = 0, k = 1, stride = 1, F = 1, C = 1, L = 1, Lp = 1;
  std::string pooling;
  torch::Tensor wc, bc, wl, bl;

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& extra) const {
    torch::Tensor h = torch::relu(torch::conv1d(x, wc, bc, stride));
    if (L >= 2 && pooling == "max") h = torch::max_pool1d(h, 2, 2);
    if (L >= 2 && pooling == "avg") h = torch::avg_pool1d(h, 2, 2);
    h = h.flatten(1);
    if (E > 0) h = torch::cat({h, extra}, 1);
    return torch::linear(h, wl, bl);
  }
};

namespace {

torch::Tensor uniform_init(std::vector<int64_t> shape, double bound, uint64_t seed, uint64_t tag) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  float* p = t.data_ptr<float>();
  const uint64_t s = rng::hash_combine(seed, tag);
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>((2.0 * rng::counter_uniform(s, static_cast<uint64_t>(i)) - 1.0) * bound);
  return t.requires_grad_(true);
}

// Splits row-major n x d doubles into the signal [n, S, T] and the extra features [n, E].
void to_tensors(const double* X, size_t n, size_t d, int64_t S, int64_t T, int64_t E,
                torch::Tensor& signal, torch::Tensor& extra) {
  signal = torch::empty({static_cast<int64_t>(n), S, T}, torch::kFloat32);
  extra = torch::empty({static_cast<int64_t>(n), E}, torch::kFloat32);
  float* ps = signal.data_ptr<float>();
  float* pe = extra.data_ptr<float>();
  const size_t st = static_cast<size_t>(S * T);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < st; ++j) ps[i * st + j] = static_cast<float>(X[i * d + j]);
    for (size_t j = 0; j < static_cast<size_t>(E); ++j)
      pe[i * static_cast<size_t>(E) + j] = static_cast<float>(X[i * d + st + j]);
  }
}

}  // namespace

Conv1dClassifier::Conv1dClassifier(Conv1dParams params) : params_(std::move(params)) {}
Conv1dClassifier::~Conv1dClassifier() = default;
Conv1dClassifier::Conv1dClassifier(Conv1dClassifier&&) noexcept = default;
Conv1dClassifier& Conv1dClassifier::operator=(Conv1dClassifier&&) noexcept = default;

int Conv1dClassifier::resolved_kernel_size() const {
  const int T = std::max(1, params_.points);
  int k = params_.kernel_size > 0
              ? params_.kernel_size
              : static_cast<int>(std::ceil(params_.kernel_fraction * T - 1e-9));
  return std::min(std::max(k, 1), T);
}

void Conv1dClassifier::fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) {
  const Conv1dParams& p = params_;
  auto bad = [](const std::string& what) { throw BadInput("conv1d: " + what); };
  if (p.points < 1) bad("points must be >= 1");
  if (p.extra_features < 0) bad("extra_features must be >= 0");
  if (p.kernel_size < 0) bad("kernel_size must be >= 0 (0: from kernel_fraction)");
  if (p.kernel_size == 0 && !(p.kernel_fraction > 0 && p.kernel_fraction <= 1))
    bad("kernel_fraction must be in (0, 1]");
  if (p.stride < 1) bad("stride must be >= 1");
  if (p.filters < 1) bad("filters must be >= 1");
  if (p.epochs < 0) bad("epochs must be >= 0");
  if (p.batch_size < 1) bad("batch_size must be >= 1");
  if (!(p.lr > 0)) bad("lr must be > 0");
  if (p.weight_decay < 0) bad("weight_decay must be >= 0");
  if (p.pooling != "none" && p.pooling != "max" && p.pooling != "avg")
    bad("pooling must be none, max or avg, got '" + p.pooling + "'" +
        util::did_you_mean(p.pooling, {"none", "max", "avg"}));
  if (n == 0) bad("no training samples");
  if (n_classes < 1) bad("n_classes must be >= 1");
  const size_t E = static_cast<size_t>(p.extra_features), T = static_cast<size_t>(p.points);
  if (d <= E || (d - E) % T != 0) {
    std::ostringstream os;
    os << d << " features do not split into statistics x " << T << " points + " << E
       << " extra features";
    bad(os.str());
  }
  for (size_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= n_classes)
      bad("label " + std::to_string(y[i]) + " of sample " + std::to_string(i) +
          " is outside [0, " + std::to_string(n_classes) + ")");
  for (size_t i = 0; i < n * d; ++i)
    if (!std::isfinite(X[i]))
      bad("non-finite value in X at sample " + std::to_string(i / d) + ", feature " +
          std::to_string(i % d));

  torch::NoGradGuard outer_guard;  // re-enabled below for the training steps only
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.S = static_cast<int64_t>((d - E) / T);
  m.T = static_cast<int64_t>(T);
  m.E = static_cast<int64_t>(E);
  m.k = resolved_kernel_size();
  m.stride = p.stride;
  m.F = p.filters;
  m.C = n_classes;
  m.pooling = p.pooling;
  m.L = (m.T - m.k) / m.stride + 1;
  m.Lp = (m.L >= 2 && p.pooling != "none") ? (m.L - 2) / 2 + 1 : m.L;
  const int64_t fan_conv = m.S * m.k, fan_lin = m.F * m.Lp + m.E;
  const double bconv = 1.0 / std::sqrt(static_cast<double>(fan_conv));
  const double blin = 1.0 / std::sqrt(static_cast<double>(fan_lin));
  m.wc = uniform_init({m.F, m.S, m.k}, bconv, p.seed, 1);
  m.bc = uniform_init({m.F}, bconv, p.seed, 2);
  m.wl = uniform_init({m.C, fan_lin}, blin, p.seed, 3);
  m.bl = uniform_init({m.C}, blin, p.seed, 4);

  torch::Tensor signal, extra;
  to_tensors(X, n, d, m.S, m.T, m.E, signal, extra);
  torch::Tensor labels = torch::empty({static_cast<int64_t>(n)}, torch::kInt64);
  for (size_t i = 0; i < n; ++i) labels.data_ptr<int64_t>()[i] = y[i];

  torch::optim::Adam opt({m.wc, m.bc, m.wl, m.bl},
                         torch::optim::AdamOptions(p.lr).weight_decay(p.weight_decay));
  std::vector<int64_t> perm(n);
  const size_t bs = static_cast<size_t>(p.batch_size);
  for (int epoch = 0; epoch < p.epochs; ++epoch) {
    std::iota(perm.begin(), perm.end(), 0);
    rng::Xoshiro256ss r(rng::hash_combine(rng::hash_combine(p.seed, 0x5348554646ULL),
                                          static_cast<uint64_t>(epoch)));
    for (size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[r.below(i)]);
    for (size_t b = 0; b < n; b += bs) {
      const size_t e = std::min(n, b + bs);
      torch::Tensor idx =
          torch::from_blob(perm.data() + b, {static_cast<int64_t>(e - b)}, torch::kInt64);
      torch::Tensor xb = signal.index_select(0, idx), eb = extra.index_select(0, idx),
                    yb = labels.index_select(0, idx);
      torch::AutoGradMode enable(true);
      opt.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(m.forward(xb, eb), yb);
      loss.backward();
      opt.step();
    }
  }
  for (torch::Tensor* t : {&m.wc, &m.bc, &m.wl, &m.bl}) *t = t->detach();
  impl_ = std::move(impl);
  n_classes_ = n_classes;
  d_ = d;
}

std::vector<double> Conv1dClassifier::predict_proba(const double* X, size_t n) const {
  if (!impl_) throw std::logic_error("conv1d: predict before fit");
  torch::NoGradGuard guard;
  const Impl& m = *impl_;
  torch::Tensor signal, extra;
  to_tensors(X, n, d_, m.S, m.T, m.E, signal, extra);
  torch::Tensor prob = torch::softmax(m.forward(signal, extra), 1).to(torch::kFloat64).contiguous();
  const double* p = prob.data_ptr<double>();
  return std::vector<double>(p, p + n * static_cast<size_t>(m.C));
}

std::vector<int32_t> Conv1dClassifier::predict(const double* X, size_t n) const {
  return argmax_rows(predict_proba(X, n), n, n_classes_);
}

}  // namespace lrid::analyze
