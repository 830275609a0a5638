#include "lrid/train/recorder.hpp"

#include <limits>

namespace lrid::train {

using observe::Condition;
using observe::Measure;

Recorder::Recorder(nn::Model& model, torch::Tensor observation_images,
                   std::vector<Condition> conditions, std::vector<int> statistics, int64_t points)
    : model_(model),
      obs_(std::move(observation_images)),
      conditions_(std::move(conditions)),
      stats_(std::move(statistics)),
      points_(points) {
  for (int s : stats_) {
    switch (observe::measure_of(s)) {
      case Measure::weight: want_weight_ = true; break;
      case Measure::act: want_act_ = true; break;
      case Measure::gradavg: want_gradavg_ = true; break;
    }
  }
  const size_t L = model_.plastic_layers().size();
  units_.resize(L);
  values_.assign(L * conditions_.size() * static_cast<size_t>(points_) * stats_.size(),
                 std::numeric_limits<float>::quiet_NaN());
}

void Recorder::prepare(size_t layer, int64_t w_entries, int64_t act_units, int64_t in_units) {
  LayerUnits& u = units_[layer];
  if (u.ready) return;
  for (const Condition& c : conditions_) {
    u.weight.push_back(observe::weight_units(static_cast<size_t>(w_entries), c));
    u.act.push_back(observe::act_units(static_cast<size_t>(act_units), c));
    u.gin.push_back(observe::gradavg_input_units(static_cast<size_t>(in_units), c));
    auto out = observe::gradavg_output_units(static_cast<size_t>(act_units), c);
    int found = -1;
    for (size_t k = 0; k < u.gout.size(); ++k)
      if (u.gout[k] == out) found = static_cast<int>(k);
    if (found < 0) {
      found = static_cast<int>(u.gout.size());
      u.gout.push_back(std::move(out));
    }
    u.out_subset.push_back(found);
  }
  u.ready = true;
}

void Recorder::record(int64_t point) {
  const bool was_training = model_.is_training();
  model_.eval();
  model_.set_capture(true);
  {
    torch::NoGradGuard no_grad;
    model_.forward(obs_);
  }
  if (was_training) model_.train();

  const auto& layers = model_.plastic_layers();
  const size_t C = conditions_.size(), S = stats_.size(), T = static_cast<size_t>(points_);
  observe::VectorStats wstats{}, astats{};
  observe::GradavgStats gstats{};
  std::vector<float> kept;
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& layer = *layers[l].layer;
    const torch::Tensor w = layer.weight().detach().to(torch::kFloat32).contiguous();
    const torch::Tensor in = layer.captured_input();
    const torch::Tensor out = layer.captured_output().to(torch::kFloat32).contiguous();
    const int64_t N = out.size(0);
    const int64_t act_units = out.numel() / N;
    const int64_t in_units = in.numel() / N;
    prepare(l, w.numel(), act_units, in_units);
    const LayerUnits& u = units_[l];

    // gradavg: d(sum of kept outputs)/d(input). A plastic layer is linear in its input, so this
    // Jacobian sum is the same for every example: one backward on a single example per output
    // subset gives it exactly; it is then broadcast to the batch (noise, added per example and
    // entry by gradavg_values, is what differs between examples).
    std::vector<torch::Tensor> grads;
    if (want_gradavg_) {
      torch::AutoGradMode grad_on(true);
      torch::Tensor x = in.narrow(0, 0, 1).detach().clone().requires_grad_(true);
      torch::Tensor y = layer.apply_forward(x).reshape({1, act_units});
      for (size_t k = 0; k < u.gout.size(); ++k) {
        torch::Tensor mask;
        if (static_cast<int64_t>(u.gout[k].size()) == act_units) {
          mask = torch::ones_like(y);
        } else {
          mask = torch::zeros({1, act_units}, y.options());
          mask.index_fill_(1, torch::tensor(u.gout[k], torch::kLong), 1.0);
        }
        const bool last = k + 1 == u.gout.size();
        auto g = torch::autograd::grad({y}, {x}, {mask}, /*retain_graph=*/!last);
        grads.push_back(g[0].detach().to(torch::kFloat32).reshape({1, in_units}).expand({N, in_units}).contiguous());
      }
    }

    for (size_t c = 0; c < C; ++c) {
      const Condition& cond = conditions_[c];
      if (want_weight_) {
        observe::observe_weight(w.data_ptr<float>(), static_cast<size_t>(w.numel()), u.weight[c],
                                cond, observe::noise_seed(cond, l, point, Measure::weight), kept);
        wstats = observe::weight_statistics(kept.data(), kept.size(), scratch_);
      }
      if (want_act_) {
        observe::observe_act(out.data_ptr<float>(), static_cast<size_t>(N),
                             static_cast<size_t>(act_units), u.act[c], cond,
                             observe::noise_seed(cond, l, point, Measure::act), kept);
        astats = observe::act_statistics(kept.data(), static_cast<size_t>(N), u.act[c].size(),
                                         scratch_);
      }
      if (want_gradavg_) {
        const int k = u.out_subset[c];
        const auto v = observe::gradavg_values(
            grads[static_cast<size_t>(k)].data_ptr<float>(), static_cast<size_t>(N),
            static_cast<size_t>(in_units), u.gin[c], u.gout[static_cast<size_t>(k)].size(), cond,
            observe::noise_seed(cond, l, point, Measure::gradavg));
        gstats = observe::gradavg_statistics(v.data(), v.size());
      }
      float* dst = &values_[((l * C + c) * T + static_cast<size_t>(point)) * S];
      for (size_t s = 0; s < S; ++s) {
        const int idx = stats_[s];
        double v;
        if (idx < observe::kActOffset)
          v = wstats[static_cast<size_t>(idx - observe::kWeightOffset)];
        else if (idx < observe::kGradavgOffset)
          v = astats[static_cast<size_t>(idx - observe::kActOffset)];
        else
          v = gstats[static_cast<size_t>(idx - observe::kGradavgOffset)];
        dst[s] = static_cast<float>(v);
      }
    }
  }
  model_.set_capture(false);  // drops the captured tensors
}

}  // namespace lrid::train
