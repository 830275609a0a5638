// The common interface of the classifiers and the classifier registry (include/lrid/analyze/
// classifiers.hpp): the definitions the build found in src/analyze/classifiers/.
#include "lrid/analyze/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "classifier_params.hpp"
#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/metrics.hpp"
#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

// Every src/analyze/classifiers/<name>.cpp, as CMake's glob found them: LRID_CLASSIFIER_FILE(<name>).
#define LRID_CLASSIFIER_FILE(name) ::lrid::analyze::ClassifierDef lrid_classifier_##name();
#include "lrid/generated/classifier_files.inc"
#undef LRID_CLASSIFIER_FILE

namespace lrid::analyze {

using nlohmann::json;

std::vector<int32_t> Classifier::predict(const double* X, size_t n) const {
  return argmax_rows(predict_proba(X, n), n, n_classes_);
}

std::string ClassifierSpec::to_string() const {
  std::string s = name + "{";
  bool first = true;
  for (auto it = params.begin(); it != params.end(); ++it) {  // nlohmann::json sorts keys
    if (!first) s += ",";
    first = false;
    s += it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return s + "}";
}

namespace detail {

std::vector<double> softmax_rows(const std::vector<double>& v, size_t n, size_t C) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < n; ++i) {
    const double* r = &v[i * C];
    double mx = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < C; ++c) mx = std::max(mx, r[c]);
    double s = 0;
    for (size_t c = 0; c < C; ++c) s += out[i * C + c] = std::isinf(r[c]) && r[c] < 0 ? 0.0 : std::exp(r[c] - mx);
    for (size_t c = 0; c < C; ++c) out[i * C + c] /= s;
  }
  return out;
}

}  // namespace detail

const std::vector<ClassifierDef>& classifier_defs() {
  static const std::vector<ClassifierDef> defs = [] {
    std::vector<ClassifierDef> v;
#define LRID_CLASSIFIER_FILE(name) v.push_back(lrid_classifier_##name());
#include "lrid/generated/classifier_files.inc"
#undef LRID_CLASSIFIER_FILE
    std::stable_sort(v.begin(), v.end(), [](const ClassifierDef& a, const ClassifierDef& b) { return a.order < b.order; });
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].table.name.empty() || v[i].table.title.empty() || !v[i].make)
        throw std::logic_error("classifier registry: a definition needs a name, a title and a factory");
      for (size_t j = 0; j < i; ++j)
        if (v[j].table.name == v[i].table.name || v[j].order == v[i].order)
          throw std::logic_error("classifier registry: '" + v[i].table.name + "' repeats a name or an order");
    }
    return v;
  }();
  return defs;
}

const ClassifierDef& classifier_def(const std::string& name) {
  for (const auto& d : classifier_defs())
    if (d.table.name == name) return d;
  const auto names = config::classifier_names();
  throw BadInput("unknown classifier '" + name + "'" + util::did_you_mean(name, names) + "; known: " + util::join(names));
}

std::unique_ptr<Classifier> make_classifier(const std::string& name, const json& params) {
  return classifier_def(name).make(params);
}

}  // namespace lrid::analyze

namespace lrid::config {

// The tables config validates job files against, from the analyze module's definitions
// (config/classifiers.hpp).
const std::vector<ClassifierTable>& classifier_tables() {
  static const std::vector<ClassifierTable> tables = [] {
    std::vector<ClassifierTable> t;
    for (const auto& d : analyze::classifier_defs()) t.push_back(d.table);
    return t;
  }();
  return tables;
}

std::vector<std::string> classifier_names() {
  std::vector<std::string> n;
  for (const auto& t : classifier_tables()) n.push_back(t.name);
  return n;
}

}  // namespace lrid::config
