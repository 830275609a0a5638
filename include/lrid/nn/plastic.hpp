#pragma once
// Plastic layers: a forward kernel W (+ optional bias) and a backward kernel B of W's shape.
//
// The forward pass always uses W. The gradient sent to the layer's *input* is computed with B:
//   fc:   dx = dy B                     conv: dx = conv_transpose2d(dy, B)
// while W's and the bias's gradients are the usual ones (from x and dy). What B is comes from the
// learning rule's definition (config/rules.hpp, FeedbackKind); the layer knows the kinds, never
// the rules:
//   Exact       (SGDM, Adam)  B *is* W: native torch ops, no custom autograd, no copy.
//   Fixed       (FA)          B drawn at initialisation like W, never changes; a buffer
//                             ("feedback"), saved with the module's state, not a parameter.
//   Learned     (IA, WM, SA)  B is a parameter ("feedback") trained by the layer-local loss R
//                             (config::Regulariser: amp, null, decay, self), whose gradient dR/dB
//                             is delivered by the layer's custom backward: after
//                             loss.backward(), B.grad == dR/dB (x and W are constants of R).
//                             No extra forward pass or graph is built: f = W x is the saved
//                             output minus the bias (or W x_R on noise inputs).
//   FromWeight  (SS)          B = sign(W) (times mean |W| unless sign_scale: none), computed at
//                             every forward from the current W; no tensor of its own.
//   Tied        (KP)          B is a parameter ("feedback") that receives W's own gradient:
//                             the backward gives it none; after the task gradient is averaged
//                             and clipped, tie_gradients() sets B.grad = W.grad + 2 decay B and
//                             W.grad += 2 decay W, so with the same optimiser and rate
//                             W - B shrinks geometrically.
// If a layer's forward runs k times before one backward (e.g. two SimCLR views in separate
// calls), B.grad accumulates the k local gradients (R summed over the calls), just as W.grad
// accumulates the task gradients.
//
// The optimiser should not apply weight decay to a Learned B: R's decay term is B's decay.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lrid/config/job.hpp"

namespace lrid::nn {

using Feedback = config::FeedbackKind;
using FeedbackSpec = config::FeedbackSpec;
using Regulariser = config::Regulariser;
using LocalInputs = config::LocalInputs;

/// "exact", "fixed", "learned", "from_weight", "tied".
const char* feedback_name(Feedback f);
/// What B does under a learning rule (name or alias, any case), with the rule's default settings
/// (its RuleDef in config/rules.hpp). Unknown: lrid::BadInput.
FeedbackSpec feedback_for_rule(const std::string& rule);

/// The layer-local loss R of a Learned B (config::Regulariser; IA's alpha, beta, gamma are its
/// amp, null and decay coefficients):
///   R = amp * P_amp + null * P_null + decay * P_decay + self * P_self,
///   P_amp  = -(1/N) sum_{n, output units} b * f / D   (f = W x without bias, b = B-projection of x)
///   P_null =  (1/N) sum_{n, input units} r^2 / D      (r = B^T-projection of f)
///   P_decay = ||W||^2 + ||B||^2
///   P_self  = -sum(W * B)
/// over N inputs x of the layer's input shape: by default (inputs: noise) seeded isotropic
/// Gaussian noise, drawn afresh each step, so that the expectations are over E[x x^T] = s^2 I and
/// the minimiser of R is B ~ W (fc: B = alpha (2 beta W W^T / s + 2 gamma I)^-1 W / s with
/// s = mean f^2): B aligns with W. On the layer's own inputs (inputs: layer), E[x x^T] of
/// post-ReLU activations is dominated by their mean, the minimiser is ~W E[x x^T], and measured
/// W-B angles stay near 75-90 deg: IA then trains like FA (docs/science.md). Noise inputs are
/// Akrout et al.'s weight mirror's choice and Neural-Alignment's `input_distribution: normal`.
/// Noise costs one more conv-sized product (f = W x_R) than the layer-input form.
/// where D (a constant of x and W, so B.grad is still exactly dR/dB) is the product of
///  - per_position: the number of output positions P of the layer (H_out * W_out for a conv,
///    1 for fc). The sums over a conv layer's units grow with its map size (~25k units for 32
///    maps of 28x28): with the literal sums a coefficient that lets an fc layer's B move makes
///    a conv layer's B step explode, and one stable for the conv freezes the fc layers.
///  - normalize_output: s = mean over batch, units and positions of f^2. The curvature of R in
///    B is 2 beta E[f f^T] / D: without s it grows with the square of the layer's output scale,
///    which is not bounded during training (a read-out's logits grow as the cross-entropy goes
///    to 0; without BatchNorm, FA/IA weights grow several-fold). In an MLP at lr 0.05 the
///    read-out's B diverged within 40 steps without it. With s, the curvature is at most
///    2 beta * (C_out * k^2) whatever the scale (trace bound; k = 1 for fc).
/// Both false gives the paper's literal sums (D = 1).
///
/// batch_fraction (rho, default 1: the exact rule) evaluates R, and so dR/dB, on the first
/// ceil(rho N) examples of the batch only: an unbiased estimate of the same expectation over
/// inputs (the batches are shuffled) at rho of the cost. R's expectations are over the input
/// distribution, so this changes the noise of B's updates, not their target. The exact rule
/// costs IA two conv-sized products per layer beyond SGDM's three (r and dR/dB), so IA's step
/// is ~5/3 of SGDM's wherever the convolutions dominate (ResNet-18: measured 1.64; 1.59-1.61 for
/// PyTorch's op-for-op version); rho = 0.5 brings it to ~4/3 (measured 1.39).
///
/// Defaults (the paper does not publish its values), for SGD + momentum 0.9 at lr 0.01-0.1:
///  - beta = 1e-3: the worst-case curvature 2 beta * C_out k^2 is <= 9.2 for every layer of
///    the built architectures (max C_out k^2 = 4608, ResNet stage 4; AlexNet fc7: 4096), so
///    lr * lambda_max <= 0.92 at lr 0.1, under heavy-ball's stability limit 2 (1 + 0.9) = 3.8.
///  - gamma = beta: P_decay regularises the directions where E[f f^T] / s is small (B stays
///    bounded where W is rank-deficient, e.g. conv1 with fan_in < fan_out) and decays B's
///    random initial component at a rate 2 gamma per unit of lr / (1 - momentum): ~1000 steps
///    at lr 0.05, a fraction of a training run.
///  - alpha = 8 beta: at the minimum (fc; conv the same per patch), with S = E[x x^T],
///    B = alpha (2 beta W S W^T / s + 2 gamma I)^-1 W S / s. For isotropic S and He-initialised
///    W (W W^T ~ 2 I, s ~ 2 v) that is B ~ alpha / (4 (beta + gamma)) W = W: the backward gain
///    of B matches W's instead of shrinking the signal layer after layer.
/// (These defaults are IA's, in src/config/rules/ia.cpp; the other rules' are in their files.)

/// The number of inputs R's input terms are evaluated on in a batch of n: ceil(rho n), at least 1.
int64_t local_batch(const Regulariser& r, int64_t n);

/// Standard normal values of `shape` drawn from a CPU generator seeded with `seed`, returned on the
/// options' device: the same seed gives the same values on every device (CPU, CUDA).
torch::Tensor seeded_normal(at::IntArrayRef shape, uint64_t seed, const torch::TensorOptions& options);
/// The same for uniform values in [0, 1).
torch::Tensor seeded_uniform(at::IntArrayRef shape, uint64_t seed, const torch::TensorOptions& options);

/// R's noise inputs: n examples shaped like `like`'s examples, N(0, noise_std^2), from `seed`,
/// drawn on the CPU (seeded_normal) and returned on `like`'s device: a function of the seed alone.
/// On a GPU that is a host draw and a copy of the noise's size per layer and step (docs/job-file.md).
/// With a data-parallel group of `world` ranks the noise of the whole group's batch (world x n
/// rows) is drawn and rank `rank` takes its rows, so a group draws the same noise as one process
/// training on the whole batch.
torch::Tensor local_noise(const Regulariser& r, const torch::Tensor& like, int64_t n, uint64_t seed, int rank = 0,
                          int world = 1);

/// B = sign(W) (times mean |W| with SignScale::MeanAbs), a constant of autograd.
torch::Tensor sign_feedback(const torch::Tensor& w, config::SignScale scale);

/// The custom-feedback forward of a fully connected plastic layer as a function of its tensors
/// (what PlasticLinear::forward runs when B is not W): y = x W^T + bias, with dx = dy B in backward
/// and, when `learned`, dR/dB of the regulariser `r` delivered to B (noise inputs from `seed`).
/// For device tests (tests/unit/train_objectives_torch_test.cpp runs it on meta tensors).
torch::Tensor feedback_linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias,
                              const torch::Tensor& B, bool learned, const Regulariser& r, uint64_t seed = 0);

enum class LayerKind { Linear, Conv2d };

/// Base class of the plastic layers. Registered tensors: "weight" (parameter), "bias"
/// (parameter, if any), "feedback" (Fixed: buffer; Learned, Tied: parameter; Exact, FromWeight:
/// absent).
class PlasticLayer : public torch::nn::Module {
 public:
  PlasticLayer(LayerKind kind, FeedbackSpec feedback);

  /// Training forward: native op (Exact, or when grad mode is off), else the custom autograd
  /// function that sends dy through B. With capture on, stores the (detached) input and output.
  torch::Tensor forward(const torch::Tensor& x);
  /// The pure forward op with W and bias (native torch ops, differentiable in x and W), for
  /// e.g. d(sum of outputs)/d(input) on a detached input. Never captures.
  torch::Tensor apply_forward(const torch::Tensor& x) const;
  /// R (this layer's regulariser) on the batch x (its first local_batch() examples for the
  /// input terms), as a 0-dim tensor of x's dtype. x and W are detached; R is differentiable in B
  /// when B requires grad (so autograd of this value reproduces what the custom backward
  /// delivers). Works in every mode (Exact: B = W).
  torch::Tensor local_loss(const torch::Tensor& x) const;

  LayerKind kind() const { return kind_; }
  Feedback feedback() const { return feedback_.kind; }
  const FeedbackSpec& feedback_spec() const { return feedback_; }
  const Regulariser& regulariser() const { return feedback_.regulariser; }
  void set_regulariser(const Regulariser& r) { feedback_.regulariser = r; }
  /// Seed of R's noise inputs for the next forward/backward (inputs: noise); the trainer sets a
  /// new one every step (Model::set_step_seed).
  void set_noise_seed(uint64_t seed, int rank = 0, int world = 1) {
    noise_seed_ = seed;
    noise_rank_ = rank;
    noise_world_ = world;
  }

  const torch::Tensor& weight() const { return weight_; }
  /// Undefined when the layer has no bias.
  const torch::Tensor& bias() const { return bias_; }
  /// B: the same tensor as weight() for Exact; sign_feedback(W) computed now for FromWeight; the
  /// layer's own tensor otherwise.
  torch::Tensor feedback_kernel() const;
  int64_t fan_in() const;

  /// Tied B (Kolen-Pollack), after the task gradient is final (averaged, clipped): B.grad =
  /// W.grad + 2 decay B, then W.grad += 2 decay W. Nothing for the other kinds.
  void tie_gradients();

  /// Initialises W ~ N(0, 2 / fan_in) (He/Kaiming normal, ReLU gain) from gen_w, a B of its own
  /// (Fixed, Learned, Tied) from the same distribution with gen_b, bias = 0.
  void reset_parameters(at::Generator& gen_w, at::Generator& gen_b);

  void set_capture(bool on);
  /// While on, forward() uses the native op (backprop through W) in every feedback mode.
  void set_exact_backward(bool on) { exact_backward_ = on; }
  /// Last captured input / output (undefined until a forward ran with capture on).
  const torch::Tensor& captured_input() const { return cap_in_; }
  const torch::Tensor& captured_output() const { return cap_out_; }

 protected:
  /// Registers W (shape), bias (if out_features > 0) and, per mode, B.
  void create_tensors(const std::vector<int64_t>& shape, int64_t bias_size);
  c10::optional<torch::Tensor> optional_bias() const {
    return bias_.defined() ? c10::optional<torch::Tensor>(bias_) : c10::nullopt;
  }
  /// The B the custom backward uses now (sign_feedback(W) for FromWeight).
  torch::Tensor backward_kernel() const;
  virtual torch::Tensor native_forward(const torch::Tensor& x, const torch::Tensor& w,
                                       const torch::Tensor& b) const = 0;
  virtual torch::Tensor custom_forward(const torch::Tensor& x) = 0;
  /// f = W-projection (no bias), b = B-projection of x, r = B^T-projection of f.
  virtual void projections(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& B,
                           torch::Tensor& f, torch::Tensor& b, torch::Tensor& r) const = 0;

  LayerKind kind_;
  FeedbackSpec feedback_;
  torch::Tensor weight_, bias_, b_;
  bool capture_ = false;
  bool exact_backward_ = false;
  uint64_t noise_seed_ = 0;
  int noise_rank_ = 0, noise_world_ = 1;
  torch::Tensor cap_in_, cap_out_;
};

class PlasticLinear : public PlasticLayer {
 public:
  PlasticLinear(int64_t in_features, int64_t out_features, bool bias = true, FeedbackSpec feedback = {});
  /// A layer of feedback kind `kind` with the regulariser `r` (tests).
  PlasticLinear(int64_t in_features, int64_t out_features, bool bias, Feedback kind, Regulariser r = {});
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  void pretty_print(std::ostream& stream) const override;

 protected:
  torch::Tensor native_forward(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) const override;
  torch::Tensor custom_forward(const torch::Tensor& x) override;
  void projections(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& B, torch::Tensor& f,
                   torch::Tensor& b, torch::Tensor& r) const override;

 private:
  int64_t in_, out_;
};

struct Conv2dSpec {
  int64_t in_channels = 1, out_channels = 1;
  int64_t kernel = 3, stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

class PlasticConv2d : public PlasticLayer {
 public:
  explicit PlasticConv2d(const Conv2dSpec& spec, FeedbackSpec feedback = {});
  /// A layer of feedback kind `kind` with the regulariser `r` (tests).
  PlasticConv2d(const Conv2dSpec& spec, Feedback kind, Regulariser r = {});
  const Conv2dSpec& spec() const { return spec_; }
  void pretty_print(std::ostream& stream) const override;

 protected:
  torch::Tensor native_forward(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) const override;
  torch::Tensor custom_forward(const torch::Tensor& x) override;
  void projections(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& B, torch::Tensor& f,
                   torch::Tensor& b, torch::Tensor& r) const override;

 private:
  Conv2dSpec spec_;
};

}  // namespace lrid::nn
