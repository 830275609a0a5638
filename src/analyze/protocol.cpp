#include "lrid/analyze/protocol.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "lrid/analyze/forest.hpp"
#include "lrid/util/text.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"

namespace lrid::analyze {

using nlohmann::json;

namespace {

void shuffle(std::vector<uint32_t>& v, uint64_t seed) {
  rng::Xoshiro256ss r(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[r.below(i)]);
}

std::vector<std::vector<uint32_t>> by_class(const int32_t* y, const std::vector<uint32_t>& rows,
                                            int n_classes) {
  std::vector<std::vector<uint32_t>> out(static_cast<size_t>(n_classes));
  for (uint32_t r : rows) {
    if (y[r] < 0 || y[r] >= n_classes)
      throw BadInput("protocol: label " + std::to_string(y[r]) + " of sample " +
                     std::to_string(r) + " is outside [0, " + std::to_string(n_classes) + ")");
    out[static_cast<size_t>(y[r])].push_back(r);
  }
  return out;
}

constexpr uint64_t kSplitTag = 0x53504C4954ULL, kFoldTag = 0x464F4C44ULL, kFitTag = 0x464954ULL;

}  // namespace

std::vector<Split> balanced_splits(const int32_t* y, size_t n, int n_classes, int k,
                                   double train_fraction, uint64_t seed) {
  if (k < 1) throw BadInput("protocol: the number of splits must be >= 1, got " + std::to_string(k));
  if (!(train_fraction > 0 && train_fraction < 1)) {
    std::ostringstream os;
    os << "protocol: train_fraction must be in (0, 1), got " << train_fraction;
    throw BadInput(os.str());
  }
  if (n_classes < 1) throw BadInput("protocol: n_classes must be >= 1");
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  const auto classes = by_class(y, all, n_classes);
  std::vector<Split> out(static_cast<size_t>(k));
  for (int s = 0; s < k; ++s) {
    const uint64_t split_seed = rng::hash_combine(rng::hash_combine(seed, kSplitTag), static_cast<uint64_t>(s));
    Split& sp = out[static_cast<size_t>(s)];
    for (int c = 0; c < n_classes; ++c) {
      std::vector<uint32_t> rows = classes[static_cast<size_t>(c)];
      if (rows.empty()) continue;
      shuffle(rows, rng::hash_combine(split_seed, static_cast<uint64_t>(c)));
      const size_t nc = rows.size();
      size_t nt = static_cast<size_t>(std::floor(train_fraction * static_cast<double>(nc) + 0.5));
      if (nc >= 2) nt = std::min(std::max<size_t>(nt, 1), nc - 1);
      else nt = nc;
      sp.train.insert(sp.train.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(nt));
      sp.test.insert(sp.test.end(), rows.begin() + static_cast<std::ptrdiff_t>(nt), rows.end());
    }
    std::sort(sp.train.begin(), sp.train.end());
    std::sort(sp.test.begin(), sp.test.end());
  }
  return out;
}

namespace {

// The distinct groups of class c among `rows`, in first-appearance order, each with its rows.
std::vector<std::vector<std::vector<uint32_t>>> groups_by_class(const int32_t* y, const int64_t* groups,
                                                                 const std::vector<uint32_t>& rows, int n_classes) {
  std::vector<std::vector<std::vector<uint32_t>>> out(static_cast<size_t>(n_classes));
  std::vector<std::map<int64_t, size_t>> index(static_cast<size_t>(n_classes));
  for (uint32_t r : rows) {
    const auto c = static_cast<size_t>(y[r]);
    auto [it, fresh] = index[c].emplace(groups[r], out[c].size());
    if (fresh) out[c].emplace_back();
    out[c][it->second].push_back(r);
  }
  return out;
}

}  // namespace

std::vector<Split> grouped_splits(const int32_t* y, const int64_t* groups, size_t n, int n_classes, int k,
                                  double train_fraction, uint64_t seed) {
  if (k < 1) throw BadInput("protocol: the number of splits must be >= 1, got " + std::to_string(k));
  if (!(train_fraction > 0 && train_fraction < 1)) throw BadInput("protocol: train_fraction must be in (0, 1)");
  std::vector<uint32_t> all(n);
  std::iota(all.begin(), all.end(), 0u);
  const auto classes = groups_by_class(y, groups, all, n_classes);
  std::vector<Split> out(static_cast<size_t>(k));
  for (int s = 0; s < k; ++s) {
    const uint64_t split_seed = rng::hash_combine(rng::hash_combine(seed, kSplitTag), static_cast<uint64_t>(s));
    Split& sp = out[static_cast<size_t>(s)];
    for (int c = 0; c < n_classes; ++c) {
      std::vector<uint32_t> order(classes[static_cast<size_t>(c)].size());
      if (order.empty()) continue;
      std::iota(order.begin(), order.end(), 0u);
      shuffle(order, rng::hash_combine(split_seed, static_cast<uint64_t>(c)));
      const size_t ng = order.size();
      size_t nt = static_cast<size_t>(std::floor(train_fraction * static_cast<double>(ng) + 0.5));
      if (ng >= 2) nt = std::min(std::max<size_t>(nt, 1), ng - 1);
      else nt = ng;
      for (size_t i = 0; i < ng; ++i) {
        const auto& rows = classes[static_cast<size_t>(c)][order[i]];
        auto& part = i < nt ? sp.train : sp.test;
        part.insert(part.end(), rows.begin(), rows.end());
      }
    }
    std::sort(sp.train.begin(), sp.train.end());
    std::sort(sp.test.begin(), sp.test.end());
  }
  return out;
}

std::vector<std::vector<uint32_t>> grouped_folds(const int32_t* y, const int64_t* groups,
                                                 const std::vector<uint32_t>& rows, int n_classes, int k,
                                                 uint64_t seed) {
  if (k < 2) throw BadInput("protocol: the number of CV folds must be >= 2, got " + std::to_string(k));
  const auto classes = groups_by_class(y, groups, rows, n_classes);
  size_t count = 0;
  for (const auto& c : classes) count += c.size();
  if (count < static_cast<size_t>(k))
    throw BadInput("protocol: " + std::to_string(count) + " training networks cannot make " + std::to_string(k) +
                   " CV folds");
  std::vector<std::vector<uint32_t>> folds(static_cast<size_t>(k));
  size_t turn = 0;
  for (int c = 0; c < n_classes; ++c) {
    std::vector<uint32_t> order(classes[static_cast<size_t>(c)].size());
    std::iota(order.begin(), order.end(), 0u);
    shuffle(order, rng::hash_combine(seed, static_cast<uint64_t>(c)));
    for (uint32_t g : order) {
      auto& f = folds[turn++ % static_cast<size_t>(k)];
      const auto& r = classes[static_cast<size_t>(c)][g];
      f.insert(f.end(), r.begin(), r.end());
    }
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

std::vector<std::vector<uint32_t>> stratified_folds(const int32_t* y,
                                                    const std::vector<uint32_t>& rows,
                                                    int n_classes, int k, uint64_t seed) {
  if (k < 2) throw BadInput("protocol: the number of CV folds must be >= 2, got " + std::to_string(k));
  if (rows.size() < static_cast<size_t>(k))
    throw BadInput("protocol: " + std::to_string(rows.size()) + " training samples cannot make " +
                   std::to_string(k) + " CV folds");
  auto classes = by_class(y, rows, n_classes);
  std::vector<std::vector<uint32_t>> folds(static_cast<size_t>(k));
  // Deal class after class, continuing the turn where the previous class stopped, so that the
  // fold sizes differ by at most one overall as well.
  size_t turn = 0;
  for (int c = 0; c < n_classes; ++c) {
    auto& rc = classes[static_cast<size_t>(c)];
    std::sort(rc.begin(), rc.end());
    shuffle(rc, rng::hash_combine(seed, static_cast<uint64_t>(c)));
    for (uint32_t r : rc) folds[turn++ % static_cast<size_t>(k)].push_back(r);
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

std::vector<uint32_t> set_difference(const std::vector<uint32_t>& rows,
                                     const std::vector<uint32_t>& exclude) {
  std::vector<uint32_t> out;
  out.reserve(rows.size());
  std::set_difference(rows.begin(), rows.end(), exclude.begin(), exclude.end(),
                      std::back_inserter(out));
  return out;
}

void ZScore::fit(const double* X, size_t d, const std::vector<uint32_t>& rows) {
  mean.assign(d, 0.0);
  scale.assign(d, 1.0);
  if (rows.empty()) return;
  for (uint32_t r : rows)
    for (size_t j = 0; j < d; ++j) mean[j] += X[static_cast<size_t>(r) * d + j];
  const double k = static_cast<double>(rows.size());
  for (auto& m : mean) m /= k;
  std::vector<double> ss(d, 0.0);
  for (uint32_t r : rows)
    for (size_t j = 0; j < d; ++j) {
      const double v = X[static_cast<size_t>(r) * d + j] - mean[j];
      ss[j] += v * v;
    }
  for (size_t j = 0; j < d; ++j) {
    const double sd = std::sqrt(ss[j] / k);
    scale[j] = sd > 0 ? sd : 1.0;
  }
}

std::vector<double> ZScore::transform(const double* X, size_t d,
                                      const std::vector<uint32_t>& rows) const {
  std::vector<double> out(rows.size() * d);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < d; ++j)
      out[i * d + j] = (X[static_cast<size_t>(rows[i]) * d + j] - mean[j]) / scale[j];
  return out;
}

std::vector<double> take_rows(const double* X, size_t d, const std::vector<uint32_t>& rows) {
  std::vector<double> out(rows.size() * d);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(X + static_cast<size_t>(rows[i]) * d, X + (static_cast<size_t>(rows[i]) + 1) * d,
              out.begin() + static_cast<std::ptrdiff_t>(i * d));
  return out;
}

std::vector<int32_t> take_labels(const int32_t* y, const std::vector<uint32_t>& rows) {
  std::vector<int32_t> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = y[rows[i]];
  return out;
}

// ---------------------------------------------------------------------------------------------

json SplitOutcome::to_json() const {
  json j;
  j["split"] = split;
  j["grid_point"] = grid_point;
  j["params"] = params;
  j["n_classes"] = metrics.confusion.n_classes;
  j["confusion"] = metrics.confusion.counts;
  j["accuracy"] = metrics.accuracy;
  j["balanced_accuracy"] = metrics.balanced_accuracy;
  json dp = json::array();
  for (double v : metrics.dprime) dp.push_back(std::isnan(v) ? json(nullptr) : json(v));
  j["dprime"] = dp;
  j["test_rows"] = test_rows;
  j["predicted"] = predicted;
  j["probabilities"] = probabilities;
  j["importances"] = importances;
  return j;
}

SplitOutcome SplitOutcome::from_json(const json& j) {
  SplitOutcome o;
  o.split = j.at("split").get<int>();
  o.grid_point = j.at("grid_point").get<int>();
  o.params = j.at("params");
  o.metrics.confusion.n_classes = j.at("n_classes").get<int>();
  o.metrics.confusion.counts = j.at("confusion").get<std::vector<int64_t>>();
  auto num = [](const json& v) {
    return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
  };
  o.metrics.accuracy = num(j.at("accuracy"));
  o.metrics.balanced_accuracy = num(j.at("balanced_accuracy"));
  for (const auto& v : j.at("dprime")) o.metrics.dprime.push_back(num(v));
  o.test_rows = j.at("test_rows").get<std::vector<uint32_t>>();
  o.predicted = j.at("predicted").get<std::vector<int32_t>>();
  o.probabilities = j.at("probabilities").get<std::vector<double>>();
  o.importances = j.at("importances").get<std::vector<double>>();
  return o;
}

std::string encode_scores(const std::vector<double>& scores) {
  json j = json::array();
  for (double v : scores) j.push_back(std::isnan(v) ? json(nullptr) : json(v));
  return j.dump();
}

std::vector<double> decode_scores(const std::string& text) {
  std::vector<double> out;
  for (const auto& v : json::parse(text))
    out.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
  return out;
}

// ---------------------------------------------------------------------------------------------

Protocol::Protocol(DataView data, ClassifierSpec base, std::vector<json> grid,
                   ProtocolOptions options)
    : data_(data), base_(std::move(base)), grid_(std::move(grid)), options_(options) {
  if (!data_.X || !data_.y || data_.n == 0 || data_.d == 0)
    throw BadInput("protocol: no data");
  if (options_.grouped && !data_.groups) throw BadInput("protocol: grouped splits need the data's groups");
  splits_ = options_.grouped ? grouped_splits(data_.y, data_.groups, data_.n, data_.n_classes, options_.splits,
                                              options_.train_fraction, options_.seed)
                             : balanced_splits(data_.y, data_.n, data_.n_classes, options_.splits,
                                               options_.train_fraction, options_.seed);
  init();
}

Protocol::Protocol(DataView data, ClassifierSpec base, std::vector<json> grid,
                   std::vector<Split> splits, ProtocolOptions options)
    : data_(data), base_(std::move(base)), grid_(std::move(grid)), options_(options),
      splits_(std::move(splits)) {
  if (!data_.X || !data_.y || data_.n == 0 || data_.d == 0)
    throw BadInput("protocol: no data");
  if (splits_.empty()) throw BadInput("protocol: no splits");
  for (auto& s : splits_) {
    std::sort(s.train.begin(), s.train.end());
    std::sort(s.test.begin(), s.test.end());
    if (s.train.empty() || s.test.empty()) throw BadInput("protocol: a split has an empty part");
    if (s.train.back() >= data_.n || s.test.back() >= data_.n)
      throw BadInput("protocol: a split names a row beyond the data");
    std::vector<uint32_t> both;
    std::set_intersection(s.train.begin(), s.train.end(), s.test.begin(), s.test.end(),
                          std::back_inserter(both));
    if (!both.empty()) throw BadInput("protocol: a split's train and test parts overlap");
  }
  init();
}

void Protocol::init() {
  if (!base_.params.is_object()) base_.params = json::object();
  // Validate the classifier name and every grid point's parameters up front.
  if (grid_.empty()) grid_.push_back(json::object());
  for (size_t g = 0; g < grid_.size(); ++g) make_classifier(base_.name, params_for(static_cast<int>(g), 0));
  if (grid_.size() < 2) return;
  folds_.resize(splits_.size());
  for (size_t s = 0; s < splits_.size(); ++s)
    folds_[s] = options_.grouped && data_.groups
                    ? grouped_folds(data_.y, data_.groups, splits_[s].train, data_.n_classes, options_.folds,
                                    rng::hash_combine(rng::hash_combine(options_.seed, kFoldTag), static_cast<uint64_t>(s)))
                    : stratified_folds(data_.y, splits_[s].train, data_.n_classes, options_.folds,
                                       rng::hash_combine(rng::hash_combine(options_.seed, kFoldTag), static_cast<uint64_t>(s)));
  // Group grid points: forests that differ only in n_estimators share one fit.
  std::vector<std::vector<int>> groups;
  if (base_.name == "random_forest") {
    std::map<std::string, size_t> key_to_group;
    for (size_t g = 0; g < grid_.size(); ++g) {
      json p = params_for(static_cast<int>(g), 0);
      p.erase("n_estimators");
      const std::string key = p.dump();
      auto it = key_to_group.find(key);
      if (it == key_to_group.end()) {
        key_to_group.emplace(key, groups.size());
        groups.push_back({static_cast<int>(g)});
      } else {
        groups[it->second].push_back(static_cast<int>(g));
      }
    }
  } else {
    for (size_t g = 0; g < grid_.size(); ++g) groups.push_back({static_cast<int>(g)});
  }
  for (size_t s = 0; s < splits_.size(); ++s)
    for (const auto& grp : groups)
      for (int f = 0; f < options_.folds; ++f) {
        CvUnit u;
        u.split = static_cast<int>(s);
        u.fold = f;
        u.grid_points = grp;
        if (base_.name == "random_forest") {
          int trees = 0;
          for (int g : grp) {
            const json p = params_for(g, 0);
            trees = std::max(trees, p.value("n_estimators", 100));
          }
          const json p = params_for(grp.front(), 0);
          MaxFeatures m;
          if (p.contains("max_features") && p["max_features"].is_string())
            m = MaxFeatures::parse(p["max_features"].get<std::string>());
          else if (p.contains("max_features") && p["max_features"].is_number_integer())
            m = MaxFeatures::count(p["max_features"].get<int>());
          else if (p.contains("max_features") && p["max_features"].is_number_float())
            m = MaxFeatures::fraction(p["max_features"].get<double>());
          else if (p.contains("max_features") && p["max_features"].is_null())
            m.kind = MaxFeatures::Kind::kAll;
          u.cost = static_cast<double>(trees) * m.resolve(data_.d) / 100.0;
        }
        units_.push_back(std::move(u));
      }
}

json Protocol::params_for(int grid_point, int split) const {
  json p = base_.params.is_object() ? base_.params : json::object();
  const json& g = grid_.at(static_cast<size_t>(grid_point));
  for (auto it = g.begin(); it != g.end(); ++it) p[it.key()] = it.value();
  if (!p.contains("seed"))
    p["seed"] = rng::hash_combine(rng::hash_combine(options_.seed, kFitTag),
                                  static_cast<uint64_t>(split)) >> 11;  // fits a JSON double too
  return p;
}

std::unique_ptr<Classifier> Protocol::fit_on(const json& params, const std::vector<uint32_t>& train,
                                             const std::vector<uint32_t>& eval,
                                             std::vector<double>& eval_X) const {
  const size_t d = data_.d;
  std::vector<double> Xtr;
  if (options_.zscore) {
    ZScore z;
    z.fit(data_.X, d, train);
    Xtr = z.transform(data_.X, d, train);
    eval_X = z.transform(data_.X, d, eval);
  } else {
    Xtr = take_rows(data_.X, d, train);
    eval_X = take_rows(data_.X, d, eval);
  }
  const std::vector<int32_t> ytr = take_labels(data_.y, train);
  auto clf = make_classifier(base_.name, params);
  clf->fit(Xtr.data(), ytr.data(), train.size(), d, data_.n_classes);
  return clf;
}

std::vector<double> Protocol::run_cv_unit(size_t u) const {
  const CvUnit& unit = units_.at(u);
  const auto& val = folds_[static_cast<size_t>(unit.split)][static_cast<size_t>(unit.fold)];
  const auto train = set_difference(splits_[static_cast<size_t>(unit.split)].train, val);
  const std::vector<int32_t> yval = take_labels(data_.y, val);
  auto accuracy_of = [&](const std::vector<int32_t>& pred) {
    size_t ok = 0;
    for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == yval[i];
    return static_cast<double>(ok) / static_cast<double>(pred.size());
  };
  std::vector<double> scores;
  std::vector<double> Xval;
  if (unit.grid_points.size() == 1) {
    auto clf = fit_on(params_for(unit.grid_points[0], unit.split), train, val, Xval);
    scores.push_back(accuracy_of(clf->predict(Xval.data(), val.size())));
    return scores;
  }
  // Forest group: fit the largest forest once, score each grid point on its first trees.
  int largest = unit.grid_points.front(), most = 0;
  for (int g : unit.grid_points) {
    const int t = params_for(g, unit.split).value("n_estimators", 100);
    if (t > most) most = t, largest = g;
  }
  auto clf = fit_on(params_for(largest, unit.split), train, val, Xval);
  const RandomForest* forest = as_forest(*clf);
  for (int g : unit.grid_points) {
    const int t = params_for(g, unit.split).value("n_estimators", 100);
    scores.push_back(accuracy_of(forest->predict(Xval.data(), val.size(), t)));
  }
  return scores;
}

std::vector<std::vector<double>> Protocol::cv_accuracy(
    const std::vector<std::vector<double>>& scores) const {
  if (scores.size() != units_.size())
    throw std::invalid_argument("protocol: expected one score list per CV unit");
  std::vector<std::vector<double>> sum(splits_.size(), std::vector<double>(grid_.size(), 0.0));
  std::vector<std::vector<int>> count(splits_.size(), std::vector<int>(grid_.size(), 0));
  for (size_t u = 0; u < units_.size(); ++u) {
    const CvUnit& unit = units_[u];
    if (scores[u].size() != unit.grid_points.size())
      throw std::invalid_argument("protocol: a CV unit's score list has the wrong length");
    for (size_t k = 0; k < unit.grid_points.size(); ++k) {
      sum[static_cast<size_t>(unit.split)][static_cast<size_t>(unit.grid_points[k])] += scores[u][k];
      ++count[static_cast<size_t>(unit.split)][static_cast<size_t>(unit.grid_points[k])];
    }
  }
  for (size_t s = 0; s < sum.size(); ++s)
    for (size_t g = 0; g < grid_.size(); ++g) sum[s][g] /= std::max(1, count[s][g]);
  return sum;
}

std::vector<int> Protocol::select(const std::vector<std::vector<double>>& scores) const {
  std::vector<int> best(splits_.size(), 0);
  if (units_.empty()) return best;
  const auto acc = cv_accuracy(scores);
  for (size_t s = 0; s < acc.size(); ++s)
    for (size_t g = 1; g < acc[s].size(); ++g)
      if (acc[s][g] > acc[s][static_cast<size_t>(best[s])]) best[s] = static_cast<int>(g);
  return best;
}

SplitOutcome Protocol::run_test_unit(int split, int grid_point) const {
  const Split& sp = splits_.at(static_cast<size_t>(split));
  SplitOutcome o;
  o.split = split;
  o.grid_point = grid_point;
  o.params = params_for(grid_point, split);
  std::vector<double> Xte;
  auto clf = fit_on(o.params, sp.train, sp.test, Xte);
  o.params = clf->params();
  o.test_rows = sp.test;
  o.probabilities = clf->predict_proba(Xte.data(), sp.test.size());
  o.predicted = clf->predict(Xte.data(), sp.test.size());
  const std::vector<int32_t> yte = take_labels(data_.y, sp.test);
  o.metrics = evaluate_predictions(yte.data(), o.predicted.data(), yte.size(), data_.n_classes);
  o.importances = clf->feature_importances();
  return o;
}

ProtocolResult Protocol::combine(std::vector<SplitOutcome> outcomes,
                                 std::vector<std::vector<double>> cv_acc) const {
  std::sort(outcomes.begin(), outcomes.end(),
            [](const SplitOutcome& a, const SplitOutcome& b) { return a.split < b.split; });
  ProtocolResult r;
  std::vector<TestMetrics> m;
  for (const auto& o : outcomes) m.push_back(o.metrics);
  r.summary = summarize(m);
  if (!outcomes.empty() && !outcomes.front().importances.empty()) {
    r.importances.assign(outcomes.front().importances.size(), 0.0);
    for (const auto& o : outcomes)
      for (size_t j = 0; j < r.importances.size() && j < o.importances.size(); ++j)
        r.importances[j] += o.importances[j] / static_cast<double>(outcomes.size());
  }
  r.splits = std::move(outcomes);
  r.cv_accuracy = std::move(cv_acc);
  return r;
}

ProtocolResult Protocol::evaluate() const {
  std::vector<std::vector<double>> scores;
  for (size_t u = 0; u < units_.size(); ++u) scores.push_back(run_cv_unit(u));
  const std::vector<int> chosen = select(scores);
  std::vector<SplitOutcome> outcomes;
  for (size_t s = 0; s < splits_.size(); ++s)
    outcomes.push_back(run_test_unit(static_cast<int>(s), chosen[s]));
  return combine(std::move(outcomes), units_.empty() ? std::vector<std::vector<double>>{}
                                                     : cv_accuracy(scores));
}

}  // namespace lrid::analyze
