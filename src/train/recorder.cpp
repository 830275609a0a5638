#include "lrid/train/recorder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <cmath>
#include <limits>

namespace lrid::train {

using observe::Condition;
using observe::Measure;

Recorder::Recorder(nn::Model& model, torch::Tensor observation_images,
                   std::vector<Condition> conditions, std::vector<int> statistics, int64_t points,
                   DiagnosticLoss diagnostic_loss)
    : model_(model),
      obs_(std::move(observation_images)),
      conditions_(std::move(conditions)),
      stats_(std::move(statistics)),
      points_(points),
      diagnostic_loss_(std::move(diagnostic_loss)) {
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
  wb_angle_.assign(L * static_cast<size_t>(points_), std::numeric_limits<float>::quiet_NaN());
  act_units_.assign(L, -1);
  weight_entries_.assign(L, -1);
  grad_angle_ = wb_angle_;
}

double angle_degrees(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.is_same(b)) return 0.0;  // backprop: B is W
  const torch::Tensor x = a.detach().reshape({-1}).to(torch::kFloat64);
  const torch::Tensor y = b.detach().reshape({-1}).to(torch::kFloat64);
  const double nx = x.norm().item<double>(), ny = y.norm().item<double>();
  if (!(nx > 0) || !(ny > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double c = std::clamp(x.dot(y).item<double>() / (nx * ny), -1.0, 1.0);
  return std::acos(c) * 180.0 / M_PI;
}

namespace {
template <class T>
torch::Tensor to_tensor(const std::vector<T>& v, torch::ScalarType t) {
  // host: the recorder's state is host memory, saved in a checkpoint
  return torch::from_blob(const_cast<T*>(v.data()), {static_cast<int64_t>(v.size())}, t).clone();
}
template <class T>
void from_tensor(const torch::Tensor& x, std::vector<T>& v) {
  const torch::Tensor c = x.to(torch::kCPU).contiguous();  // host memory, read below
  if (static_cast<size_t>(c.numel()) != v.size() || c.element_size() != static_cast<int64_t>(sizeof(T)))
    throw std::runtime_error("checkpoint: recorder state of another size or type");
  std::memcpy(v.data(), c.data_ptr(), v.size() * sizeof(T));
}
}  // namespace

void Recorder::save(torch::serialize::OutputArchive& a) const {
  a.write("values", to_tensor(values_, torch::kFloat32));
  a.write("wb_angle", to_tensor(wb_angle_, torch::kFloat32));
  a.write("grad_angle", to_tensor(grad_angle_, torch::kFloat32));
  a.write("act_units", to_tensor(act_units_, torch::kInt64));
  a.write("weight_entries", to_tensor(weight_entries_, torch::kInt64));
}

void Recorder::load(torch::serialize::InputArchive& a) {
  // A fresh tensor per entry: InputArchive::read into a defined tensor set_()s it in place and
  // keeps its dtype (an int64 entry read into the float32 tensor of the one before).
  auto read = [&a](const char* key, auto& v) {
    torch::Tensor t;
    a.read(key, t);
    from_tensor(t, v);
  };
  read("values", values_);
  read("wb_angle", wb_angle_);
  read("grad_angle", grad_angle_);
  read("act_units", act_units_);
  read("weight_entries", weight_entries_);
}

void Recorder::record_diagnostics(int64_t point) {
  const auto& layers = model_.plastic_layers();
  const size_t T = static_cast<size_t>(points_);
  for (size_t l = 0; l < layers.size(); ++l)
    wb_angle_[l * T + static_cast<size_t>(point)] = static_cast<float>(
        angle_degrees(layers[l].weight(), layers[l].feedback_kernel()));
  if (!diagnostic_loss_) return;
  std::vector<torch::Tensor> weights;
  for (const auto& p : layers) weights.push_back(p.layer->weight());
  const bool was_training = model_.is_training();
  model_.eval();
  torch::AutoGradMode grad_on(true);
  auto gradients = [&](bool exact) {
    model_.set_exact_backward(exact);
    const torch::Tensor loss = diagnostic_loss_(model_);
    auto g = torch::autograd::grad({loss}, weights, {}, /*retain_graph=*/false,
                                   /*create_graph=*/false, /*allow_unused=*/true);
    model_.set_exact_backward(false);
    return g;
  };
  const auto rule = gradients(false);
  const auto exact = gradients(true);
  if (was_training) model_.train();
  for (size_t l = 0; l < layers.size(); ++l)
    grad_angle_[l * T + static_cast<size_t>(point)] =
        rule[l].defined() && exact[l].defined()
            ? static_cast<float>(angle_degrees(rule[l], exact[l]))
            : std::numeric_limits<float>::quiet_NaN();
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

// One trajectory point: the forward pass on the observation batch with the activations hooked,
// the backward pass for gradavg, then every statistic of every layer under every condition.
// ~100 lines because the order matters (forward, backward, the statistics of the same pass,
// the model's training mode restored) and is easiest to check in one place.
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
    const bool relu = layers[l].relu;
    // The statistics kernels run on the host: what they need is copied there.
    const torch::Tensor w = layer.weight().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const torch::Tensor in = layer.captured_input();
    torch::Tensor out = layer.captured_output().to(torch::kCPU, torch::kFloat32);
    if (relu) out = out.clamp_min(0);
    out = out.contiguous();
    const int64_t N = out.size(0);
    const int64_t act_units = out.numel() / N;
    const int64_t in_units = in.numel() / N;
    prepare(l, w.numel(), act_units, in_units);
    act_units_[l] = act_units;
    weight_entries_[l] = w.numel();
    if (sink_) sink_(point, l, out.data_ptr<float>(), N, act_units);
    const LayerUnits& u = units_[l];

    // gradavg: per example, d(sum of kept outputs)/d(input). The op is linear in its input: its
    // Jacobian sum is the same for every example, so one backward on a single example per
    // output subset gives it exactly (then broadcast to the batch). After a ReLU it depends on
    // which units are active: one batched backward per output subset (each example's outputs
    // depend on its own input only). Noise, added per example and entry by gradavg_values, is
    // what else differs between examples.
    std::vector<torch::Tensor> grads;
    if (want_gradavg_) {
      torch::AutoGradMode grad_on(true);
      const int64_t rows = relu ? N : 1;
      torch::Tensor x = in.narrow(0, 0, rows).detach().clone().requires_grad_(true);
      torch::Tensor y = layer.apply_forward(x).reshape({rows, act_units});
      const torch::Tensor gate = relu ? y.detach().gt(0).to(y.scalar_type()) : torch::Tensor();
      for (size_t k = 0; k < u.gout.size(); ++k) {
        torch::Tensor mask;
        if (static_cast<int64_t>(u.gout[k].size()) == act_units) {
          mask = torch::ones({1, act_units}, y.options());
        } else {
          mask = torch::zeros({1, act_units}, y.options());
          mask.index_fill_(1, torch::tensor(u.gout[k], torch::kLong).to(y.device()), 1.0);
        }
        const torch::Tensor go = relu ? (gate * mask) : mask;
        const bool last = k + 1 == u.gout.size();
        auto g = torch::autograd::grad({y}, {x}, {go}, /*retain_graph=*/!last);
        torch::Tensor gf = g[0].detach().to(torch::kCPU, torch::kFloat32).reshape({rows, in_units});
        grads.push_back(relu ? gf.contiguous() : gf.expand({N, in_units}).contiguous());
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
  record_diagnostics(point);
}

}  // namespace lrid::train
