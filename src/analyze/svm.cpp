#include "lrid/analyze/svm.hpp"

#include <linear.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>

#include "lrid/util/text.hpp"
#include "lrid/error.hpp"

namespace lrid::analyze {

namespace {

void quiet(const char*) {}

std::mutex& rand_mutex() {
  static std::mutex m;
  return m;
}

struct ModelDeleter {
  void operator()(model* m) const {
    if (m) free_and_destroy_model(&m);
  }
};

// BadInput for bad parameters or data (naming the value); returns which classes occur in y.
std::vector<char> validate(const SvmParams& p, const double* X, const int32_t* y, size_t n, size_t d, int n_classes) {
  if (!(p.C > 0) || !std::isfinite(p.C)) {
    std::ostringstream os;
    os << "linear_svm: C must be a positive number, got " << p.C;
    throw BadInput(os.str());
  }
  if (p.pca_components < 0)
    throw BadInput("linear_svm: pca_components must be >= 0 (0 = no PCA), got " +
                   std::to_string(p.pca_components));
  if (p.solver != "primal" && p.solver != "dual")
    throw BadInput("linear_svm: solver must be primal or dual, got '" + p.solver + "'" +
                   util::did_you_mean(p.solver, {"primal", "dual"}));
  if (p.eps < 0) throw BadInput("linear_svm: eps must be >= 0");
  if (n == 0 || d == 0) throw BadInput("linear_svm: no training samples or no features");
  if (n > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      d >= static_cast<size_t>(std::numeric_limits<int>::max()))
    throw BadInput("linear_svm: data too large for liblinear");
  if (n_classes < 1) throw BadInput("linear_svm: n_classes must be >= 1");
  std::vector<char> present(static_cast<size_t>(n_classes), 0);
  for (size_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= n_classes)
      throw BadInput("linear_svm: label " + std::to_string(y[i]) + " of sample " +
                     std::to_string(i) + " is outside [0, " + std::to_string(n_classes) + ")");
    present[static_cast<size_t>(y[i])] = 1;
  }
  for (size_t i = 0; i < n * d; ++i)
    if (!std::isfinite(X[i]))
      throw BadInput("linear_svm: non-finite value in X at sample " + std::to_string(i / d) +
                     ", feature " + std::to_string(i % d));
  return present;
}

}  // namespace

LinearSvm::LinearSvm(SvmParams params) : params_(std::move(params)) {}

void LinearSvm::fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) {
  const SvmParams& p = params_;
  const std::vector<char> present = validate(p, X, y, n, d, n_classes);

  d_ = d;
  n_classes_ = n_classes;
  const double* Z = X;
  std::vector<double> projected;
  if (p.pca_components > 0) {
    pca_.fit(X, n, d, p.pca_components);
    projected = pca_.transform(X, n);
    Z = projected.data();
    dim_ = static_cast<size_t>(pca_.components());
  } else {
    pca_ = Pca();
    dim_ = d;
  }
  const size_t stride = dim_ + 1;
  w_.assign(static_cast<size_t>(n_classes) * stride, 0.0);

  int distinct = 0;
  for (char c : present) distinct += c;
  if (distinct == 1) {
    // One class only: it always wins (liblinear needs two).
    for (int c = 0; c < n_classes; ++c)
      w_[static_cast<size_t>(c) * stride + dim_] =
          present[static_cast<size_t>(c)] ? 0.0 : -std::numeric_limits<double>::infinity();
    return;
  }

  const bool with_bias = p.bias >= 0;
  const size_t per_row = dim_ + (with_bias ? 1 : 0) + 1;
  std::vector<feature_node> nodes(n * per_row);
  std::vector<feature_node*> rows(n);
  std::vector<double> labels(n);
  for (size_t i = 0; i < n; ++i) {
    feature_node* r = &nodes[i * per_row];
    rows[i] = r;
    labels[i] = y[i];
    for (size_t j = 0; j < dim_; ++j) r[j] = {static_cast<int>(j + 1), Z[i * dim_ + j]};
    size_t k = dim_;
    if (with_bias) r[k++] = {static_cast<int>(dim_ + 1), p.bias};
    r[k] = {-1, 0.0};
  }
  problem prob{};
  prob.l = static_cast<int>(n);
  prob.n = static_cast<int>(dim_) + (with_bias ? 1 : 0);
  prob.y = labels.data();
  prob.x = rows.data();
  prob.bias = with_bias ? p.bias : -1.0;
  parameter param{};
  param.solver_type = p.solver == "dual" ? L2R_L2LOSS_SVC_DUAL : L2R_L2LOSS_SVC;
  param.eps = p.eps > 0 ? p.eps : (p.solver == "dual" ? 0.1 : 0.01);
  param.C = p.C;
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.p = 0.1;
  param.init_sol = nullptr;
  if (const char* err = check_parameter(&prob, &param))
    throw BadInput(std::string("linear_svm: ") + err);

  std::unique_ptr<model, ModelDeleter> m;
  {
    std::lock_guard<std::mutex> lock(rand_mutex());
    set_print_string_function(&quiet);
    if (p.solver == "dual") std::srand(static_cast<unsigned>(p.seed ^ (p.seed >> 32)));
    m.reset(train(&prob, &param));
  }
  if (!m) throw std::runtime_error("linear_svm: liblinear training failed");

  const int nr = m->nr_class;
  const int nr_w = nr == 2 ? 1 : nr;
  // liblinear's w: w[feature * nr_w + class_slot]; the bias feature is the last row.
  for (int c = 0; c < n_classes; ++c)
    w_[static_cast<size_t>(c) * stride + dim_] = -std::numeric_limits<double>::infinity();
  for (int slot = 0; slot < nr; ++slot) {
    const int c = m->label[slot];
    double* out = &w_[static_cast<size_t>(c) * stride];
    const int col = nr == 2 ? 0 : slot;
    const double sign = (nr == 2 && slot == 1) ? -1.0 : 1.0;
    for (size_t j = 0; j < dim_; ++j)
      out[j] = sign * m->w[j * static_cast<size_t>(nr_w) + static_cast<size_t>(col)];
    out[dim_] = with_bias
                    ? sign * p.bias * m->w[dim_ * static_cast<size_t>(nr_w) + static_cast<size_t>(col)]
                    : 0.0;
  }
}

std::vector<double> LinearSvm::decision_function(const double* X, size_t n) const {
  if (!fitted()) throw std::logic_error("linear_svm: predict before fit");
  const double* Z = X;
  std::vector<double> projected;
  if (pca_.components() > 0) {
    projected = pca_.transform(X, n);
    Z = projected.data();
  }
  const size_t C = static_cast<size_t>(n_classes_), stride = dim_ + 1;
  std::vector<double> out(n * C);
  for (size_t i = 0; i < n; ++i) {
    const double* z = Z + i * dim_;
    for (size_t c = 0; c < C; ++c) {
      const double* w = &w_[c * stride];
      if (std::isinf(w[dim_])) {
        out[i * C + c] = w[dim_];
        continue;
      }
      double s = w[dim_];
      for (size_t j = 0; j < dim_; ++j) s += w[j] * z[j];
      out[i * C + c] = s;
    }
  }
  return out;
}

std::vector<int32_t> LinearSvm::predict(const double* X, size_t n) const {
  const std::vector<double> v = decision_function(X, n);
  const size_t C = static_cast<size_t>(n_classes_);
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    size_t best = 0;
    for (size_t c = 1; c < C; ++c)
      if (v[i * C + c] > v[i * C + best]) best = c;
    out[i] = static_cast<int32_t>(best);
  }
  return out;
}

std::vector<double> Pca::transform(const double* X, size_t n) const {
  const size_t k = static_cast<size_t>(k_);
  std::vector<double> out(n * k);
  std::vector<double> row(d_);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d_; ++j) row[j] = X[i * d_ + j] - mean_[j];
    for (size_t c = 0; c < k; ++c) {
      const double* a = &axes_[c * d_];
      double s = 0;
      for (size_t j = 0; j < d_; ++j) s += a[j] * row[j];
      out[i * k + c] = s;
    }
  }
  return out;
}

}  // namespace lrid::analyze
