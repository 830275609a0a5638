// The Conv1D model over the trajectory axis (analyze/conv1d.hpp; the model itself is LibTorch, in
// conv1d_torch.cpp): grid kernel_fraction x stride x filters x pooling (the paper's {0.003, 0.007,
// 0.05, 0.25, 0.5, 1} x {1, 2, 4} x {20, 40} x {none, max, avg}); every fit gets the dataset's
// trajectory length and its trailing features.
#include "../classifier_params.hpp"
#include "lrid/analyze/classifiers.hpp"
#include "lrid/analyze/conv1d.hpp"

namespace lrid::analyze {

namespace {

using detail::json;
using detail::kIntMax;
using detail::ParamReader;

Conv1dParams conv1d_params(const json& params) {
  ParamReader r("conv1d", params,
                {"points", "extra_features", "kernel_fraction", "kernel_size", "stride", "filters", "pooling", "epochs",
                 "batch_size", "lr", "weight_decay", "seed"});
  Conv1dParams p;
  p.points = static_cast<int>(r.integer("points", p.points, 1, kIntMax));
  p.extra_features = static_cast<int>(r.integer("extra_features", p.extra_features, 0, kIntMax));
  p.kernel_fraction = r.number("kernel_fraction", p.kernel_fraction);
  if (!(p.kernel_fraction > 0 && p.kernel_fraction <= 1))
    r.fail("kernel_fraction", "a number in (0, 1]", r.at("kernel_fraction"));
  p.kernel_size = static_cast<int>(r.integer("kernel_size", 0, 0, kIntMax));
  p.stride = static_cast<int>(r.integer("stride", p.stride, 1, kIntMax));
  p.filters = static_cast<int>(r.integer("filters", p.filters, 1, kIntMax));
  p.pooling = r.text("pooling", p.pooling);
  if (p.pooling != "none" && p.pooling != "max" && p.pooling != "avg")
    throw BadInput("conv1d: pooling must be none, max or avg, got '" + p.pooling + "'" +
                   util::did_you_mean(p.pooling, {"none", "max", "avg"}));
  p.epochs = static_cast<int>(r.integer("epochs", p.epochs, 0, kIntMax));
  p.batch_size = static_cast<int>(r.integer("batch_size", p.batch_size, 1, kIntMax));
  p.lr = r.number("lr", p.lr);
  if (!(p.lr > 0)) r.fail("lr", "a number > 0", r.at("lr"));
  p.weight_decay = r.number("weight_decay", 0);
  if (p.weight_decay < 0) r.fail("weight_decay", "a number >= 0", r.at("weight_decay"));
  p.seed = r.seed("seed");
  return p;
}

class Conv1dWrapper : public detail::ModelClassifier<Conv1dClassifier> {
 public:
  using ModelClassifier::ModelClassifier;
  std::vector<double> predict_proba(const double* X, size_t n) const override { return model_.predict_proba(X, n); }
  std::string name() const override { return "conv1d"; }
  json params() const override {
    const Conv1dParams& p = model_.params();
    return {{"points", p.points},         {"extra_features", p.extra_features},
            {"kernel_fraction", p.kernel_fraction}, {"kernel_size", p.kernel_size},
            {"stride", p.stride},         {"filters", p.filters},
            {"pooling", p.pooling},       {"epochs", p.epochs},
            {"batch_size", p.batch_size}, {"lr", p.lr},
            {"weight_decay", p.weight_decay}, {"seed", p.seed}};
  }
};

}  // namespace

}  // namespace lrid::analyze

LRID_CLASSIFIER(conv1d) {
  using lrid::config::GridKey;
  lrid::analyze::ClassifierDef d;
  d.table.name = "conv1d";
  d.table.title = "Conv1D";
  d.table.grid = {
      {"kernel_fraction", GridKey::Type::Fractions, {}, {0.003, 0.007, 0.05, 0.25, 0.5, 1.0}, {}, "kernel size as a fraction of the points"},
      {"stride", GridKey::Type::PositiveIntegers, {}, {1, 2, 4}, {}, "stride"},
      {"filters", GridKey::Type::PositiveIntegers, {}, {20, 40}, {}, "filters"},
      {"pooling", GridKey::Type::Choices, {"none", "max", "avg"}, {}, {"none", "max", "avg"}, "pooling over the trajectory axis"}};
  d.order = 30;
  d.base_params = [](const lrid::analyze::FitContext& c) {
    return nlohmann::json{{"points", c.points}, {"extra_features", c.extra_features}};
  };
  d.make = [](const nlohmann::json& p) -> std::unique_ptr<lrid::analyze::Classifier> {
    return std::make_unique<lrid::analyze::Conv1dWrapper>(lrid::analyze::conv1d_params(p));
  };
  return d;
}
