// Plastic layers: forward with W, backward to the input with B, the local gradient of a learned B.
#include "lrid/nn/plastic.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "lrid/error.hpp"

namespace lrid::nn {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const char* feedback_name(Feedback f) { return config::feedback_kind_name(f); }

FeedbackSpec feedback_for_rule(const std::string& rule) {
  const config::RuleDef& def = config::rule_def(rule);
  config::RuleSettings s;
  s.feedback.kind = def.feedback;
  if (def.defaults) def.defaults(s);
  return s.feedback;
}

int64_t local_batch(const Regulariser& r, int64_t n) {
  if (r.batch_fraction >= 1.0) return n;
  const auto k = static_cast<int64_t>(std::ceil(r.batch_fraction * static_cast<double>(n)));
  return std::max<int64_t>(1, std::min(k, n));
}

// Drawn on a fresh CPU generator seeded with `seed`, then moved to the options' device (as the
// initial weights are): the values depend on the seed alone, whatever the device. Never the
// device's own generator, whose stream differs between CPU and CUDA.
Tensor seeded_normal(at::IntArrayRef shape, uint64_t seed, const torch::TensorOptions& options) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randn(shape, gen, options.device(torch::kCPU)).to(options.device());
}

Tensor seeded_uniform(at::IntArrayRef shape, uint64_t seed, const torch::TensorOptions& options) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::rand(shape, gen, options.device(torch::kCPU)).to(options.device());
}

Tensor local_noise(const Regulariser& c, const Tensor& like, int64_t n, uint64_t seed, int rank, int world) {
  std::vector<int64_t> shape = like.sizes().vec();
  shape[0] = n * world;
  // On the CPU generator (seeded_normal), scaled there, then moved: the same seed gives the same
  // noise on every device.
  Tensor z = seeded_normal(shape, seed, like.options().device(torch::kCPU));
  if (world > 1) z = z.narrow(0, n * rank, n).contiguous();
  if (c.noise_std != 1.0) z.mul_(c.noise_std);
  return z.to(like.device());
}

Tensor sign_feedback(const Tensor& w, config::SignScale scale) {
  torch::NoGradGuard no_grad;
  Tensor b = w.detach().sign();
  if (scale == config::SignScale::MeanAbs) b.mul_(w.detach().abs().mean());
  return b;
}

namespace {

// Parameters of a learned B's local gradient, passed through the autograd function.
struct LocalArgs {
  bool on = false;  // B is Learned: the backward delivers dR/dB
  Regulariser r;
  uint64_t seed = 0;  // of the noise inputs
  int rank = 0, world = 1;  // this rank's share of its group's noise
};

void save_local(AutogradContext* ctx, const LocalArgs& a) {
  ctx->saved_data["learned"] = a.on;
  ctx->saved_data["amp"] = a.r.amp;
  ctx->saved_data["null"] = a.r.null;
  ctx->saved_data["decay"] = a.r.decay;
  ctx->saved_data["self"] = a.r.self;
  ctx->saved_data["per_position"] = a.r.per_position;
  ctx->saved_data["normalize"] = a.r.normalize_output;
  ctx->saved_data["batch_fraction"] = a.r.batch_fraction;
  ctx->saved_data["noise"] = a.r.inputs == LocalInputs::Noise;
  ctx->saved_data["noise_std"] = a.r.noise_std;
  ctx->saved_data["seed"] = static_cast<int64_t>(a.seed);
  ctx->saved_data["rank"] = static_cast<int64_t>(a.rank);
  ctx->saved_data["world"] = static_cast<int64_t>(a.world);
}

Regulariser load_regulariser(AutogradContext* ctx) {
  Regulariser c;
  c.amp = ctx->saved_data["amp"].toDouble();
  c.null = ctx->saved_data["null"].toDouble();
  c.decay = ctx->saved_data["decay"].toDouble();
  c.self = ctx->saved_data["self"].toDouble();
  c.per_position = ctx->saved_data["per_position"].toBool();
  c.normalize_output = ctx->saved_data["normalize"].toBool();
  c.batch_fraction = ctx->saved_data["batch_fraction"].toDouble();
  c.inputs = ctx->saved_data["noise"].toBool() ? LocalInputs::Noise : LocalInputs::Layer;
  c.noise_std = ctx->saved_data["noise_std"].toDouble();
  return c;
}

// The divisor of P_amp and P_null besides the batch size: P (output positions, per_position)
// times s (normalize_output): for layer inputs the batch's mean(f^2); for noise inputs its
// expectation, noise_std^2 ||W||^2 / C_out (per output unit and interior position), which every
// rank of a data-parallel group computes alike, so a group's averaged dR/dB is the one of a
// single process on the whole batch. A 0-dim tensor (no device sync), a constant of R.
Tensor local_divisor(const Regulariser& c, const Tensor& f, const Tensor& w) {
  const double p =
      (c.per_position && f.dim() == 4) ? static_cast<double>(f.size(2) * f.size(3)) : 1.0;
  if (!c.normalize_output) return torch::full({}, p, f.options());
  // dot products: no temporary of f's size.
  if (c.inputs == LocalInputs::Noise) {
    const Tensor wf = w.detach().reshape({-1});
    return at::dot(wf, wf).mul_(c.noise_std * c.noise_std / static_cast<double>(w.size(0))).clamp_min_(1e-30).mul_(p);
  }
  const Tensor flat = f.detach().reshape({-1});
  return at::dot(flat, flat).div_(static_cast<double>(flat.numel())).clamp_min_(1e-30).mul_(p);
}

// R's inputs: its input terms are evaluated on local_batch() inputs x_R of the layer input's
// shape, either the first examples of the batch (inputs: layer) or seeded N(0, noise_std^2) noise
// (inputs: noise), with f = W x_R (no bias) and the divisor N D.
struct LocalBatch {
  Tensor x, f, div;
};

// For inputs: layer, f is the saved output y minus the bias (given shaped to broadcast against
// y); for inputs: noise, `project` computes W x_R.
template <class Project>
LocalBatch local_sub_batch(AutogradContext* ctx, const Regulariser& c, const Tensor& x, const Tensor& y,
                           const Tensor& bias, const Tensor& w, Project project) {
  LocalBatch s;
  const int64_t n = local_batch(c, x.size(0));
  if (c.inputs == LocalInputs::Noise) {
    s.x = local_noise(c, x, n, static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                      static_cast<int>(ctx->saved_data["rank"].toInt()), static_cast<int>(ctx->saved_data["world"].toInt()));
    s.f = project(s.x);
  } else {
    s.x = x.narrow(0, 0, n);
    const Tensor fy = y.narrow(0, 0, n);
    s.f = bias.defined() ? fy - bias : fy;
  }
  s.div = local_divisor(c, s.f, w).mul_(static_cast<double>(n));
  return s;
}

// dR/dB's terms that need no inputs, added to `dB` (undefined: none yet): 2 decay B - self W.
Tensor add_weight_terms(Tensor dB, const Regulariser& c, const Tensor& B, const Tensor& w) {
  if (c.decay != 0.0) dB = dB.defined() ? dB.add_(B, 2.0 * c.decay) : B * (2.0 * c.decay);
  if (c.self != 0.0) dB = dB.defined() ? dB.sub_(w, c.self) : w * (-c.self);
  return dB.defined() ? dB : torch::zeros_like(B);
}

// What the forward saved (x, B, bias, and for a learned B the output y and W), shared by the
// linear and conv backwards. needs_input_grad counts tensor inputs only: an absent bias shifts
// B's index.
struct SavedInputs {
  std::vector<Tensor> all;  // [x, B, bias, y, w]
  Tensor x, B, bias;
  size_t b_index = 2;
};

SavedInputs saved_inputs(AutogradContext* ctx) {
  SavedInputs s;
  s.all = ctx->get_saved_variables();
  s.x = s.all[0];
  s.B = s.all[1];
  s.bias = s.all[2];
  s.b_index = s.bias.defined() ? 3 : 2;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Linear: y = x W^T + b, dx = dy B, dW = dy^T x, db = sum dy;
// learned B: dR/dB = f^T (2 null f B - amp x) / (N D) + 2 decay B - self W, f = x W^T (D:
// local_divisor; the first term only when amp or null is set).
struct LinearFeedbackFn : public torch::autograd::Function<LinearFeedbackFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w,
                        const c10::optional<Tensor>& bias_opt, const Tensor& B, LocalArgs local) {
    const Tensor bias = bias_opt.value_or(Tensor());
    // Fused bias; a learned B recovers f = W x as y - bias in backward (saving the output costs
    // nothing).
    Tensor y = at::linear(x, w, bias);
    ctx->save_for_backward({x, B, bias, local.on ? y : Tensor(), local.on ? w : Tensor()});
    save_local(ctx, local);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const SavedInputs in = saved_inputs(ctx);
    const Tensor &x = in.x, &B = in.B, &bias = in.bias, &dy = grads[0];
    const size_t b_index = in.b_index;
    const auto& saved = in.all;
    Tensor dx, dw, db, dB;
    if (ctx->needs_input_grad(0)) dx = dy.mm(B);
    if (ctx->needs_input_grad(1)) dw = dy.t().mm(x);
    if (bias.defined() && ctx->needs_input_grad(2)) db = dy.sum(0);
    if (ctx->saved_data["learned"].toBool() && ctx->needs_input_grad(b_index)) {
      const Tensor& w = saved[4];
      const Regulariser c = load_regulariser(ctx);
      if (c.uses_inputs()) {
        const LocalBatch s = local_sub_batch(ctx, c, x, saved[3], bias, w, [&](const Tensor& xr) { return xr.mm(w.t()); });
        // z = 2 null (f B) - amp x, then f^T z / (N D).
        Tensor z = c.null != 0.0 ? s.f.mm(B).mul_(2.0 * c.null).sub_(s.x, c.amp) : s.x * (-c.amp);
        dB = s.f.t().mm(z).div_(s.div);
      }
      dB = add_weight_terms(dB, c, B, w);
    }
    return {dx, dw, db, dB, Tensor()};
  }
};

// ---------------------------------------------------------------------------------------------
// Conv2d. dx = conv_transpose2d(dy, B) (the input gradient of conv with weight B), dW and db the
// usual weight/bias gradients, all from one at::convolution_backward call with B as the weight
// (the weight gradient does not depend on the weight's value).
// Learned B: r = conv_transpose2d(f, B) (input gradient of conv(., B) at grad_output f), and
// dR/dB = weight gradient of conv with input (2 null r - amp x) and grad_output f, / (N D),
// + 2 decay B - self W. (<conv_transpose(f, B), r> = <f, conv(r, B)>, so d sum(r^2)/dB is twice
// the weight gradient at input r; b = conv(x, B) gives the amp term's.)
struct ConvArgs {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

struct Conv2dFeedbackFn : public torch::autograd::Function<Conv2dFeedbackFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w,
                        const c10::optional<Tensor>& bias_opt, const Tensor& B, ConvArgs c,
                        LocalArgs local) {
    const Tensor bias = bias_opt.value_or(Tensor());
    // Fused bias; a learned B recovers f = W x as y - bias in backward (saving the output costs
    // nothing).
    Tensor y = at::conv2d(x, w, bias, c.stride, c.padding, c.dilation, c.groups);
    ctx->save_for_backward({x, B, bias, local.on ? y : Tensor(), local.on ? w : Tensor()});
    ctx->saved_data["stride"] = c.stride;
    ctx->saved_data["padding"] = c.padding;
    ctx->saved_data["dilation"] = c.dilation;
    ctx->saved_data["groups"] = c.groups;
    save_local(ctx, local);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const SavedInputs in = saved_inputs(ctx);
    const Tensor &x = in.x, &B = in.B, &bias = in.bias, &dy = grads[0];
    const size_t b_index = in.b_index;
    const auto& saved = in.all;
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto padding = ctx->saved_data["padding"].toIntVector();
    const auto dilation = ctx->saved_data["dilation"].toIntVector();
    const int64_t groups = ctx->saved_data["groups"].toInt();
    const std::vector<int64_t> out_pad = {0, 0};

    const bool need_dx = ctx->needs_input_grad(0);
    const bool need_dw = ctx->needs_input_grad(1);
    const bool need_db = bias.defined() && ctx->needs_input_grad(2);
    Tensor dx, dw, db, dB;
    if (need_dx || need_dw || need_db) {
      std::vector<int64_t> bias_sizes;
      if (bias.defined()) bias_sizes = {bias.size(0)};
      at::OptionalIntArrayRef bs =
          bias.defined() ? at::OptionalIntArrayRef(bias_sizes) : at::OptionalIntArrayRef();
      std::tie(dx, dw, db) =
          at::convolution_backward(dy, x, B, bs, stride, padding, dilation, false, out_pad, groups,
                                   {need_dx, need_dw, need_db});
    }
    if (ctx->saved_data["learned"].toBool() && ctx->needs_input_grad(b_index)) {
      const Tensor& w = saved[4];
      const Regulariser c = load_regulariser(ctx);
      if (c.uses_inputs()) {
        const LocalBatch s = local_sub_batch(
            ctx, c, x, saved[3], bias.defined() ? bias.view({1, -1, 1, 1}) : Tensor(), w,
            [&](const Tensor& xr) { return at::conv2d(xr, w, {}, stride, padding, dilation, groups); });
        const Tensor &xs = s.x, &f = s.f;
        Tensor z;
        if (c.null != 0.0) {
          Tensor r;
          if (x.is_cpu() && groups == 1 && dilation[0] == 1 && dilation[1] == 1 && x.size(1) <= 4) {
            // Input layer (1-4 channels): oneDNN's backward-data kernel is 3-5x slower than
            // im2col + GEMM here (1 thread, 28-32 px), and r is IA's largest extra cost there.
            const std::vector<int64_t> k = {B.size(2), B.size(3)};
            r = std::get<0>(
                at::_slow_conv2d_backward(f, xs, B, k, stride, padding, {true, false, false}));
          } else {
            r = std::get<0>(at::convolution_backward(f, xs, B, at::OptionalIntArrayRef(), stride,
                                                     padding, dilation, false, out_pad, groups,
                                                     {true, false, false}));
          }
          z = r.mul_(2.0 * c.null).sub_(xs, c.amp);
        } else {
          z = xs * (-c.amp);
        }
        dB = std::get<1>(at::convolution_backward(f, z, B, at::OptionalIntArrayRef(), stride,
                                                  padding, dilation, false, out_pad, groups,
                                                  {false, true, false}));
        dB.div_(s.div);
      }
      dB = add_weight_terms(dB, c, B, w);
    }
    return {dx, dw, db, dB, Tensor(), Tensor()};
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
PlasticLayer::PlasticLayer(LayerKind kind, FeedbackSpec feedback) : kind_(kind), feedback_(feedback) {}

// host: a model is built and initialised on the CPU (CPU generators: the same W and B on every
// device), then moved with Model::to.
void PlasticLayer::create_tensors(const std::vector<int64_t>& shape, int64_t bias_size) {
  weight_ = register_parameter("weight", torch::empty(shape));  // host: (above)
  if (bias_size > 0) bias_ = register_parameter("bias", torch::zeros({bias_size}));  // host: (above)
  if (feedback_.kind == Feedback::Fixed) {
    b_ = register_buffer("feedback", torch::empty(shape));  // host: (above)
  } else if (feedback_.trainable()) {
    b_ = register_parameter("feedback", torch::empty(shape));  // host: (above)
  }
  auto gw = at::detail::createCPUGenerator(0x5eed0001);
  auto gb = at::detail::createCPUGenerator(0x5eed0002);
  reset_parameters(gw, gb);
}

int64_t PlasticLayer::fan_in() const {
  return weight_.numel() / weight_.size(0);
}

Tensor PlasticLayer::feedback_kernel() const {
  switch (feedback_.kind) {
    case Feedback::Exact: return weight_;
    case Feedback::FromWeight: return sign_feedback(weight_, feedback_.sign_scale);
    default: return b_;
  }
}

Tensor PlasticLayer::backward_kernel() const {
  return feedback_.kind == Feedback::FromWeight ? sign_feedback(weight_, feedback_.sign_scale) : b_;
}

void PlasticLayer::tie_gradients() {
  if (feedback_.kind != Feedback::Tied || !weight_.grad().defined()) return;
  torch::NoGradGuard no_grad;
  const double decay = 2.0 * feedback_.regulariser.decay;
  Tensor gb = weight_.grad().clone();
  if (decay != 0.0) {
    gb.add_(b_, decay);
    weight_.mutable_grad().add_(weight_, decay);
  }
  b_.mutable_grad() = gb;
}

void PlasticLayer::reset_parameters(at::Generator& gen_w, at::Generator& gen_b) {
  torch::NoGradGuard guard;
  const double std = std::sqrt(2.0 / static_cast<double>(fan_in()));
  weight_.normal_(0.0, std, gen_w);
  if (bias_.defined()) bias_.zero_();
  if (feedback_.has_tensor()) b_.normal_(0.0, std, gen_b);
}

void PlasticLayer::set_capture(bool on) {
  capture_ = on;
  if (!on) {
    cap_in_ = Tensor();
    cap_out_ = Tensor();
  }
}

Tensor PlasticLayer::forward(const Tensor& x) {
  Tensor y;
  if (feedback_.kind == Feedback::Exact || exact_backward_ || !torch::GradMode::is_enabled()) {
    y = native_forward(x, weight_, bias_);
  } else {
    y = custom_forward(x);
  }
  if (capture_) {
    cap_in_ = x.detach();
    cap_out_ = y.detach();
  }
  return y;
}

Tensor PlasticLayer::apply_forward(const Tensor& x) const {
  return native_forward(x, weight_, bias_);
}

Tensor PlasticLayer::local_loss(const Tensor& x) const {
  const Regulariser& c = feedback_.regulariser;
  const Tensor wd = weight_.detach();
  const Tensor B = feedback_.has_tensor() ? b_ : feedback_kernel();
  Tensor total = torch::zeros({}, x.options());
  if (c.uses_inputs()) {
    const int64_t n = local_batch(c, x.size(0));
    const Tensor xd = c.inputs == LocalInputs::Noise ? local_noise(c, x.detach(), n, noise_seed_, noise_rank_, noise_world_)
                                                     : x.detach().narrow(0, 0, n);
    Tensor f, b, r;
    projections(xd, wd, B, f, b, r);
    const Tensor div = local_divisor(c, f, wd).mul_(static_cast<double>(xd.size(0)));
    const Tensor amp = -(b * f).sum() / div;  // already divided by N (and P, mean f^2)
    const Tensor null = r.pow(2).sum() / div;
    total = c.amp * amp + c.null * null;
  }
  const Tensor decay = wd.pow(2).sum() + B.pow(2).sum();
  const Tensor self = -(wd * B).sum();
  return total + c.decay * decay + c.self * self;
}

// ---------------------------------------------------------------------------------------------
PlasticLinear::PlasticLinear(int64_t in_features, int64_t out_features, bool bias, FeedbackSpec feedback)
    : PlasticLayer(LayerKind::Linear, feedback), in_(in_features), out_(out_features) {
  TORCH_CHECK(in_features > 0 && out_features > 0, "PlasticLinear: sizes must be positive");
  create_tensors({out_features, in_features}, bias ? out_features : 0);
}

PlasticLinear::PlasticLinear(int64_t in_features, int64_t out_features, bool bias, Feedback kind, Regulariser r)
    : PlasticLinear(in_features, out_features, bias, FeedbackSpec{kind, r}) {}

void PlasticLinear::pretty_print(std::ostream& s) const {
  s << "lrid::nn::PlasticLinear(in=" << in_ << ", out=" << out_
    << ", bias=" << (bias_.defined() ? "true" : "false") << ", feedback=" << feedback_name(feedback_.kind) << ")";
}

Tensor PlasticLinear::native_forward(const Tensor& x, const Tensor& w, const Tensor& b) const {
  return torch::nn::functional::linear(x, w, b);
}

Tensor PlasticLinear::custom_forward(const Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "PlasticLinear: the custom-feedback forward expects [N, in], got ",
              x.sizes());
  LocalArgs local{feedback_.kind == Feedback::Learned, feedback_.regulariser, noise_seed_, noise_rank_, noise_world_};
  return LinearFeedbackFn::apply(x, weight_, optional_bias(), backward_kernel(), local);
}

Tensor feedback_linear(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& B, bool learned,
                       const Regulariser& r, uint64_t seed) {
  LocalArgs a{learned, r, seed, 0, 1};
  return LinearFeedbackFn::apply(x, w, bias.defined() ? c10::optional<Tensor>(bias) : c10::nullopt, B, a);
}

void PlasticLinear::projections(const Tensor& x, const Tensor& w, const Tensor& B, Tensor& f, Tensor& b,
                                Tensor& r) const {
  f = x.mm(w.t());
  b = x.mm(B.t());
  r = f.mm(B);
}

// ---------------------------------------------------------------------------------------------
PlasticConv2d::PlasticConv2d(const Conv2dSpec& spec, FeedbackSpec feedback)
    : PlasticLayer(LayerKind::Conv2d, feedback), spec_(spec) {
  TORCH_CHECK(spec.in_channels > 0 && spec.out_channels > 0 && spec.kernel > 0 &&
                  spec.stride > 0 && spec.padding >= 0 && spec.dilation > 0 && spec.groups > 0 &&
                  spec.in_channels % spec.groups == 0 && spec.out_channels % spec.groups == 0,
              "PlasticConv2d: invalid spec");
  create_tensors({spec.out_channels, spec.in_channels / spec.groups, spec.kernel, spec.kernel},
                 spec.bias ? spec.out_channels : 0);
}

PlasticConv2d::PlasticConv2d(const Conv2dSpec& spec, Feedback kind, Regulariser r)
    : PlasticConv2d(spec, FeedbackSpec{kind, r}) {}

void PlasticConv2d::pretty_print(std::ostream& s) const {
  s << "lrid::nn::PlasticConv2d(" << spec_.in_channels << ", " << spec_.out_channels
    << ", kernel=" << spec_.kernel << ", stride=" << spec_.stride << ", padding=" << spec_.padding;
  if (spec_.dilation != 1) s << ", dilation=" << spec_.dilation;
  if (spec_.groups != 1) s << ", groups=" << spec_.groups;
  s << ", bias=" << (bias_.defined() ? "true" : "false") << ", feedback=" << feedback_name(feedback_.kind) << ")";
}

Tensor PlasticConv2d::native_forward(const Tensor& x, const Tensor& w, const Tensor& b) const {
  return at::conv2d(x, w, b, {spec_.stride, spec_.stride}, {spec_.padding, spec_.padding},
                    {spec_.dilation, spec_.dilation}, spec_.groups);
}

Tensor PlasticConv2d::custom_forward(const Tensor& x) {
  ConvArgs c;
  c.stride = {spec_.stride, spec_.stride};
  c.padding = {spec_.padding, spec_.padding};
  c.dilation = {spec_.dilation, spec_.dilation};
  c.groups = spec_.groups;
  TORCH_CHECK(x.dim() == 4, "PlasticConv2d: expects [N, C, H, W], got ", x.sizes());
  LocalArgs local{feedback_.kind == Feedback::Learned, feedback_.regulariser, noise_seed_, noise_rank_, noise_world_};
  return Conv2dFeedbackFn::apply(x, weight_, optional_bias(), backward_kernel(), c, local);
}

void PlasticConv2d::projections(const Tensor& x, const Tensor& w, const Tensor& B, Tensor& f, Tensor& b,
                                Tensor& r) const {
  const std::vector<int64_t> s = {spec_.stride, spec_.stride};
  const std::vector<int64_t> p = {spec_.padding, spec_.padding};
  const std::vector<int64_t> d = {spec_.dilation, spec_.dilation};
  f = at::conv2d(x, w, {}, s, p, d, spec_.groups);
  b = at::conv2d(x, B, {}, s, p, d, spec_.groups);
  // conv_transpose2d with the output padding that restores x's spatial size.
  std::vector<int64_t> op(2);
  for (int i = 0; i < 2; ++i) {
    const int64_t full = (f.size(2 + i) - 1) * spec_.stride - 2 * spec_.padding +
                         spec_.dilation * (spec_.kernel - 1) + 1;
    op[i] = x.size(2 + i) - full;
  }
  r = at::conv_transpose2d(f, B, {}, s, p, op, spec_.groups, d);
}

}  // namespace lrid::nn
