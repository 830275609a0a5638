// Plastic layers: forward with W, backward to the input with B, IA's local gradient for B.
#include "lrid/nn/plastic.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "lrid/error.hpp"

namespace lrid::nn {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const char* feedback_name(Feedback f) {
  switch (f) {
    case Feedback::Backprop: return "Backprop";
    case Feedback::Fixed: return "Fixed";
    case Feedback::InfoAlign: return "InfoAlign";
  }
  return "?";
}

Feedback feedback_for_rule(const std::string& rule) {
  std::string s;
  for (char c : rule) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (s == "sgdm" || s == "adam" || s == "backprop" || s == "sgd") return Feedback::Backprop;
  if (s == "fa" || s == "fixed" || s == "feedback_alignment") return Feedback::Fixed;
  if (s == "ia" || s == "infoalign" || s == "information_alignment") return Feedback::InfoAlign;
  throw BadInput("learning rule '" + rule +
                 "': expected one of SGDM, Adam, FA, IA (or Backprop, Fixed, InfoAlign)");
}

int64_t ia_batch(const IaCoefficients& c, int64_t n) {
  if (c.batch_fraction >= 1.0) return n;
  const auto k = static_cast<int64_t>(std::ceil(c.batch_fraction * static_cast<double>(n)));
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

Tensor ia_noise(const IaCoefficients& c, const Tensor& like, int64_t n, uint64_t seed, int rank, int world) {
  std::vector<int64_t> shape = like.sizes().vec();
  shape[0] = n * world;
  // On the CPU generator (seeded_normal), scaled there, then moved: the same seed gives the same
  // noise on every device.
  Tensor z = seeded_normal(shape, seed, like.options().device(torch::kCPU));
  if (world > 1) z = z.narrow(0, n * rank, n).contiguous();
  if (c.noise_std != 1.0) z.mul_(c.noise_std);
  return z.to(like.device());
}

namespace {

// Parameters of IA's local gradient, passed through the autograd function.
struct IaArgs {
  bool on = false;
  IaCoefficients c;
  uint64_t seed = 0;  // of the noise inputs
  int rank = 0, world = 1;  // this rank's share of its group's noise
};

void save_ia(AutogradContext* ctx, const IaArgs& ia) {
  ctx->saved_data["ia"] = ia.on;
  ctx->saved_data["alpha"] = ia.c.alpha;
  ctx->saved_data["beta"] = ia.c.beta;
  ctx->saved_data["gamma"] = ia.c.gamma;
  ctx->saved_data["per_position"] = ia.c.per_position;
  ctx->saved_data["normalize"] = ia.c.normalize_output;
  ctx->saved_data["batch_fraction"] = ia.c.batch_fraction;
  ctx->saved_data["noise"] = ia.c.inputs == IaInputs::Noise;
  ctx->saved_data["noise_std"] = ia.c.noise_std;
  ctx->saved_data["seed"] = static_cast<int64_t>(ia.seed);
  ctx->saved_data["rank"] = static_cast<int64_t>(ia.rank);
  ctx->saved_data["world"] = static_cast<int64_t>(ia.world);
}

IaCoefficients load_ia(AutogradContext* ctx) {
  IaCoefficients c;
  c.alpha = ctx->saved_data["alpha"].toDouble();
  c.beta = ctx->saved_data["beta"].toDouble();
  c.gamma = ctx->saved_data["gamma"].toDouble();
  c.per_position = ctx->saved_data["per_position"].toBool();
  c.normalize_output = ctx->saved_data["normalize"].toBool();
  c.batch_fraction = ctx->saved_data["batch_fraction"].toDouble();
  c.inputs = ctx->saved_data["noise"].toBool() ? IaInputs::Noise : IaInputs::Layer;
  c.noise_std = ctx->saved_data["noise_std"].toDouble();
  return c;
}

// The divisor of P_amp and P_null besides the batch size: P (output positions, per_position)
// times s (normalize_output): for layer inputs the batch's mean(f^2); for noise inputs its
// expectation, noise_std^2 ||W||^2 / C_out (per output unit and interior position), which every
// rank of a data-parallel group computes alike, so a group's averaged dR/dB is the one of a
// single process on the whole batch. A 0-dim tensor (no device sync), a constant of R.
Tensor ia_divisor(const IaCoefficients& c, const Tensor& f, const Tensor& w) {
  const double p =
      (c.per_position && f.dim() == 4) ? static_cast<double>(f.size(2) * f.size(3)) : 1.0;
  if (!c.normalize_output) return torch::full({}, p, f.options());
  // dot products: no temporary of f's size.
  if (c.inputs == IaInputs::Noise) {
    const Tensor wf = w.detach().reshape({-1});
    return at::dot(wf, wf).mul_(c.noise_std * c.noise_std / static_cast<double>(w.size(0))).clamp_min_(1e-30).mul_(p);
  }
  const Tensor flat = f.detach().reshape({-1});
  return at::dot(flat, flat).div_(static_cast<double>(flat.numel())).clamp_min_(1e-30).mul_(p);
}

// IA's inputs: R is evaluated on ia_batch() inputs x_R of the layer input's shape, either the
// first examples of the batch (inputs: layer) or seeded N(0, noise_std^2) noise (inputs: noise),
// with f = W x_R (no bias) and the divisor N D.
struct IaBatch {
  IaCoefficients c;
  Tensor x, f, div;
};

// For inputs: layer, f is the saved output y minus the bias (given shaped to broadcast against
// y); for inputs: noise, `project` computes W x_R.
template <class Project>
IaBatch ia_sub_batch(AutogradContext* ctx, const Tensor& x, const Tensor& y, const Tensor& bias, const Tensor& w,
                     Project project) {
  IaBatch s;
  s.c = load_ia(ctx);
  const int64_t n = ia_batch(s.c, x.size(0));
  if (s.c.inputs == IaInputs::Noise) {
    s.x = ia_noise(s.c, x, n, static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                   static_cast<int>(ctx->saved_data["rank"].toInt()), static_cast<int>(ctx->saved_data["world"].toInt()));
    s.f = project(s.x);
  } else {
    s.x = x.narrow(0, 0, n);
    const Tensor fy = y.narrow(0, 0, n);
    s.f = bias.defined() ? fy - bias : fy;
  }
  s.div = ia_divisor(s.c, s.f, w).mul_(static_cast<double>(n));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Linear: y = x W^T + b, dx = dy B, dW = dy^T x, db = sum dy;
// IA: dR/dB = f^T (2 beta f B - alpha x) / (N D) + 2 gamma B, f = x W^T (D: ia_divisor).
struct LinearFeedbackFn : public torch::autograd::Function<LinearFeedbackFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w,
                        const c10::optional<Tensor>& bias_opt, const Tensor& B, IaArgs ia) {
    const Tensor bias = bias_opt.value_or(Tensor());
    // Fused bias; IA recovers f = W x as y - bias in backward (saving the output costs nothing).
    Tensor y = at::linear(x, w, bias);
    ctx->save_for_backward({x, B, bias, ia.on ? y : Tensor(), ia.on ? w : Tensor()});
    save_ia(ctx, ia);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& B = saved[1];
    const Tensor& bias = saved[2];
    const Tensor& dy = grads[0];
    // needs_input_grad counts tensor inputs only: an absent bias shifts B's index.
    const size_t b_index = bias.defined() ? 3 : 2;
    Tensor dx, dw, db, dB;
    if (ctx->needs_input_grad(0)) dx = dy.mm(B);
    if (ctx->needs_input_grad(1)) dw = dy.t().mm(x);
    if (bias.defined() && ctx->needs_input_grad(2)) db = dy.sum(0);
    if (ctx->saved_data["ia"].toBool() && ctx->needs_input_grad(b_index)) {
      const Tensor& w = saved[4];
      const IaBatch s = ia_sub_batch(ctx, x, saved[3], bias, w, [&](const Tensor& xr) { return xr.mm(w.t()); });
      // z = 2 beta (f B) - alpha x, then f^T z / (N D) + 2 gamma B.
      Tensor z = s.f.mm(B).mul_(2.0 * s.c.beta).sub_(s.x, s.c.alpha);
      dB = s.f.t().mm(z).div_(s.div).add_(B, 2.0 * s.c.gamma);
    }
    return {dx, dw, db, dB, Tensor()};
  }
};

// ---------------------------------------------------------------------------------------------
// Conv2d. dx = conv_transpose2d(dy, B) (the input gradient of conv with weight B), dW and db the
// usual weight/bias gradients, all from one at::convolution_backward call with B as the weight
// (the weight gradient does not depend on the weight's value).
// IA: r = conv_transpose2d(f, B) (input gradient of conv(., B) at grad_output f), and
// dR/dB = weight gradient of conv with input (2 beta r - alpha x) and grad_output f, / (N D),
// + 2 gamma B. (<conv_transpose(f, B), r> = <f, conv(r, B)>, so d sum(r^2)/dB is twice the
// weight gradient at input r; b = conv(x, B) gives the amp term's.)
struct ConvArgs {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
};

struct Conv2dFeedbackFn : public torch::autograd::Function<Conv2dFeedbackFn> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w,
                        const c10::optional<Tensor>& bias_opt, const Tensor& B, ConvArgs c,
                        IaArgs ia) {
    const Tensor bias = bias_opt.value_or(Tensor());
    // Fused bias; IA recovers f = W x as y - bias in backward (saving the output costs nothing).
    Tensor y = at::conv2d(x, w, bias, c.stride, c.padding, c.dilation, c.groups);
    ctx->save_for_backward({x, B, bias, ia.on ? y : Tensor(), ia.on ? w : Tensor()});
    ctx->saved_data["stride"] = c.stride;
    ctx->saved_data["padding"] = c.padding;
    ctx->saved_data["dilation"] = c.dilation;
    ctx->saved_data["groups"] = c.groups;
    save_ia(ctx, ia);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const Tensor& x = saved[0];
    const Tensor& B = saved[1];
    const Tensor& bias = saved[2];
    const Tensor& dy = grads[0];
    const size_t b_index = bias.defined() ? 3 : 2;  // see LinearFeedbackFn
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
    if (ctx->saved_data["ia"].toBool() && ctx->needs_input_grad(b_index)) {
      const Tensor& w = saved[4];
      const IaBatch s = ia_sub_batch(
          ctx, x, saved[3], bias.defined() ? bias.view({1, -1, 1, 1}) : Tensor(), w,
          [&](const Tensor& xr) { return at::conv2d(xr, w, {}, stride, padding, dilation, groups); });
      const IaCoefficients& c = s.c;
      const Tensor &xs = s.x, &f = s.f;
      Tensor z;
      if (c.beta != 0.0) {
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
        z = r.mul_(2.0 * c.beta).sub_(xs, c.alpha);
      } else {
        z = xs * (-c.alpha);
      }
      dB = std::get<1>(at::convolution_backward(f, z, B, at::OptionalIntArrayRef(), stride,
                                                padding, dilation, false, out_pad, groups,
                                                {false, true, false}));
      dB.div_(s.div).add_(B, 2.0 * c.gamma);
    }
    return {dx, dw, db, dB, Tensor(), Tensor()};
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
PlasticLayer::PlasticLayer(LayerKind kind, Feedback feedback, IaCoefficients ia)
    : kind_(kind), feedback_(feedback), ia_(ia) {}

// host: a model is built and initialised on the CPU (CPU generators: the same W and B on every
// device), then moved with Model::to.
void PlasticLayer::create_tensors(const std::vector<int64_t>& shape, int64_t bias_size) {
  weight_ = register_parameter("weight", torch::empty(shape));  // host: (above)
  if (bias_size > 0) bias_ = register_parameter("bias", torch::zeros({bias_size}));  // host: (above)
  if (feedback_ == Feedback::Fixed) {
    b_ = register_buffer("feedback", torch::empty(shape));  // host: (above)
  } else if (feedback_ == Feedback::InfoAlign) {
    b_ = register_parameter("feedback", torch::empty(shape));  // host: (above)
  }
  auto gw = at::detail::createCPUGenerator(0x5eed0001);
  auto gb = at::detail::createCPUGenerator(0x5eed0002);
  reset_parameters(gw, gb);
}

int64_t PlasticLayer::fan_in() const {
  return weight_.numel() / weight_.size(0);
}

void PlasticLayer::reset_parameters(at::Generator& gen_w, at::Generator& gen_b) {
  torch::NoGradGuard guard;
  const double std = std::sqrt(2.0 / static_cast<double>(fan_in()));
  weight_.normal_(0.0, std, gen_w);
  if (bias_.defined()) bias_.zero_();
  if (feedback_mode_has_b()) b_.normal_(0.0, std, gen_b);
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
  if (feedback_ == Feedback::Backprop || exact_backward_ || !torch::GradMode::is_enabled()) {
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

Tensor PlasticLayer::ia_local_loss(const Tensor& x) const {
  const int64_t n = ia_batch(ia_, x.size(0));
  Tensor xd = ia_.inputs == IaInputs::Noise ? ia_noise(ia_, x.detach(), n, ia_seed_, ia_rank_, ia_world_)
                                            : x.detach().narrow(0, 0, n);
  Tensor wd = weight_.detach();
  const Tensor& B = feedback_mode_has_b() ? b_ : wd;
  Tensor f, b, r;
  ia_projections(xd, wd, B, f, b, r);
  const Tensor div = ia_divisor(ia_, f, wd).mul_(static_cast<double>(xd.size(0)));
  Tensor amp = -(b * f).sum() / div;   // already divided by N (and P, mean f^2)
  Tensor null = r.pow(2).sum() / div;
  Tensor decay = wd.pow(2).sum() + B.pow(2).sum();
  return ia_.alpha * amp + ia_.beta * null + ia_.gamma * decay;
}

// ---------------------------------------------------------------------------------------------
PlasticLinear::PlasticLinear(int64_t in_features, int64_t out_features, bool bias,
                             Feedback feedback, IaCoefficients ia)
    : PlasticLayer(LayerKind::Linear, feedback, ia), in_(in_features), out_(out_features) {
  TORCH_CHECK(in_features > 0 && out_features > 0, "PlasticLinear: sizes must be positive");
  create_tensors({out_features, in_features}, bias ? out_features : 0);
}

void PlasticLinear::pretty_print(std::ostream& s) const {
  s << "lrid::nn::PlasticLinear(in=" << in_ << ", out=" << out_
    << ", bias=" << (bias_.defined() ? "true" : "false") << ", feedback=" << feedback_name(feedback_)
    << ")";
}

Tensor PlasticLinear::native_forward(const Tensor& x, const Tensor& w, const Tensor& b) const {
  return torch::nn::functional::linear(x, w, b);
}

Tensor PlasticLinear::custom_forward(const Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "PlasticLinear: the custom-feedback forward expects [N, in], got ",
              x.sizes());
  IaArgs ia{feedback_ == Feedback::InfoAlign, ia_, ia_seed_, ia_rank_, ia_world_};
  return LinearFeedbackFn::apply(x, weight_, optional_bias(), b_, ia);
}

Tensor feedback_linear(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& B, bool info_align,
                       const IaCoefficients& ia, uint64_t seed) {
  IaArgs a{info_align, ia, seed, 0, 1};
  return LinearFeedbackFn::apply(x, w, bias.defined() ? c10::optional<Tensor>(bias) : c10::nullopt, B, a);
}

void PlasticLinear::ia_projections(const Tensor& x, const Tensor& w, const Tensor& B, Tensor& f,
                                   Tensor& b, Tensor& r) const {
  f = x.mm(w.t());
  b = x.mm(B.t());
  r = f.mm(B);
}

// ---------------------------------------------------------------------------------------------
PlasticConv2d::PlasticConv2d(const Conv2dSpec& spec, Feedback feedback, IaCoefficients ia)
    : PlasticLayer(LayerKind::Conv2d, feedback, ia), spec_(spec) {
  TORCH_CHECK(spec.in_channels > 0 && spec.out_channels > 0 && spec.kernel > 0 &&
                  spec.stride > 0 && spec.padding >= 0 && spec.dilation > 0 && spec.groups > 0 &&
                  spec.in_channels % spec.groups == 0 && spec.out_channels % spec.groups == 0,
              "PlasticConv2d: invalid spec");
  create_tensors({spec.out_channels, spec.in_channels / spec.groups, spec.kernel, spec.kernel},
                 spec.bias ? spec.out_channels : 0);
}

void PlasticConv2d::pretty_print(std::ostream& s) const {
  s << "lrid::nn::PlasticConv2d(" << spec_.in_channels << ", " << spec_.out_channels
    << ", kernel=" << spec_.kernel << ", stride=" << spec_.stride << ", padding=" << spec_.padding;
  if (spec_.dilation != 1) s << ", dilation=" << spec_.dilation;
  if (spec_.groups != 1) s << ", groups=" << spec_.groups;
  s << ", bias=" << (bias_.defined() ? "true" : "false") << ", feedback=" << feedback_name(feedback_)
    << ")";
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
  IaArgs ia{feedback_ == Feedback::InfoAlign, ia_, ia_seed_, ia_rank_, ia_world_};
  return Conv2dFeedbackFn::apply(x, weight_, optional_bias(), b_, c, ia);
}

void PlasticConv2d::ia_projections(const Tensor& x, const Tensor& w, const Tensor& B, Tensor& f,
                                   Tensor& b, Tensor& r) const {
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
