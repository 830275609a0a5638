#pragma once
// Internal to the classifier definitions (src/analyze/classifiers/*.cpp): reading typed
// hyperparameters out of a JSON object, and the Classifier wrapper of a model class.
#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/classifier.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze::detail {

using nlohmann::json;

inline constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// Reads typed hyperparameters out of a JSON object, rejecting unknown keys.
class ParamReader {
 public:
  ParamReader(const std::string& classifier, const json& params, std::vector<std::string> known)
      : who_(classifier), params_(params), known_(std::move(known)) {
    if (!params_.is_null() && !params_.is_object())
      throw BadInput(who_ + ": hyperparameters must be an object, got " + params_.dump());
    if (params_.is_object())
      for (auto it = params_.begin(); it != params_.end(); ++it)
        if (std::find(known_.begin(), known_.end(), it.key()) == known_.end())
          throw BadInput(who_ + ": unknown hyperparameter '" + it.key() + "'" + util::did_you_mean(it.key(), known_) +
                         "; known: " + util::join(known_));
  }
  bool has(const std::string& key) const { return params_.is_object() && params_.contains(key); }
  const json& at(const std::string& key) const { return params_.at(key); }

  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    int64_t r = 0;
    if (v.is_number_integer()) {
      r = v.get<int64_t>();
    } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e15) {
      r = static_cast<int64_t>(v.get<double>());
    } else {
      fail(key, "an integer", v);
    }
    if (r < lo || r > hi) fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v);
    return r;
  }
  uint64_t seed(const std::string& key) const {
    if (!has(key)) return 0;
    const json& v = at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    fail(key, "a non-negative integer", v);
  }
  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_number()) fail(key, "a number", v);
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "true or false", v);
    return v.get<bool>();
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = at(key);
    if (!v.is_string()) fail(key, "a string", v);
    return v.get<std::string>();
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected, const json& got) const {
    throw BadInput(who_ + ": hyperparameter '" + key + "' must be " + expected + ", got " + got.dump());
  }

 private:
  std::string who_;
  const json& params_;
  std::vector<std::string> known_;
};

// A Classifier around a model with fit(X, y, n, d, n_classes): fit records the sizes; each
// subclass says how it predicts and describes its parameters.
template <class Model>
class ModelClassifier : public Classifier {
 public:
  template <class Params>
  explicit ModelClassifier(const Params& p) : model_(p) {}
  void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) override {
    model_.fit(X, y, n, d, n_classes);
    n_classes_ = n_classes;
    n_features_ = d;
  }

 protected:
  Model model_;
};

/// Row-wise softmax of an n x C score matrix (-inf scores get probability 0).
std::vector<double> softmax_rows(const std::vector<double>& v, size_t n, size_t C);

}  // namespace lrid::analyze::detail
