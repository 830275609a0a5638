#pragma once
// The paper's architectures, built from plastic layers (include/lrid/nn/plastic.hpp).
//
// Names (canonical, case-sensitive): KNet4, KNet4-LRN, KNet5, KNet5-LRN, AlexNet, AlexNet-LRN,
// ResNet-18, ResNet-18v2, ResNet-34, ResNet-34v2, MLP. canonical_architecture() also accepts
// any case, with or without '-'/'_' (e.g. "resnet18v2", "knet4_lrn").
//
// Inputs from 1x28x28 to 3x224x224. Design choices (the paper's TF code targets 224 px ImageNet
// and 32 px CIFAR; lrid documents what it does elsewhere):
//  - KNet (Caffe "CIFAR-10 full"): conv5x5/32 pad 2 -> maxpool 3/2 -> ReLU [-> LRN]
//    -> conv5x5/32 -> ReLU -> avgpool 3/2 [-> LRN] -> conv5x5/64 -> ReLU -> avgpool 3/2
//    [KNet5: -> conv5x5/128 -> ReLU -> avgpool 3/2] -> fc. Pools use Caffe's ceil mode. The
//    last map is adaptively average-pooled to at most 4x4 before the read-out (the identity at
//    32 px, as in Caffe; 3x3 at 28 px; 4x4 for large inputs). LRN: size 3, alpha 5e-5,
//    beta 0.75, k 1 (Caffe's values; torch's LRN is across channels). Convs have biases.
//  - AlexNet (one-tower Krizhevsky/Caffe widths 96-256-384-384-256, 4096-4096 fc, dropout 0.5
//    before fc6 and fc7): conv11x11/4 pad 2 -> ReLU [-> LRN] -> maxpool 3/2 -> conv5x5 pad 2
//    -> ReLU [-> LRN] -> maxpool 3/2 -> conv3x3 x3 -> maxpool 3/2 -> adaptive avgpool 6x6 -> fc.
//    LRN: size 5, alpha 1e-4, beta 0.75, k 2. Small-input stem (min(H, W) < 64): conv1 is
//    5x5/1 pad 2 and the adaptive pool goes to 3x3 (the identity at 32 px).
//  - ResNets: BasicBlocks, [2,2,2,2] (18) or [3,4,6,3] (34), widths 64-128-256-512, BatchNorm
//    (not plastic), convs without bias, a 1x1 projection shortcut on the first block of *every*
//    stage (as TF's official ResNet; gives the paper's 22 / 38 plastic layers), global average
//    pooling, fc. v1 post-activation (conv-BN-ReLU, projection = conv + BN); v2 pre-activation
//    (BN-ReLU-conv, projection = conv of the pre-activated input, a final BN-ReLU, stem without
//    BN-ReLU). Stem: conv7x7/2 pad 3 -> [BN-ReLU] -> maxpool 3/2 pad 1 for min(H, W) >= 64;
//    conv3x3/1 pad 1 -> [BN-ReLU], no maxpool (the CIFAR stem) below 64 px.
//  - MLP: flatten -> fc 128 -> ReLU -> fc 64 -> ReLU -> fc (for fast tests).
//  - SimCLR head: the read-out fc is replaced by fc(features -> head_hidden) -> ReLU ->
//    fc(head_hidden -> head_dim), layers "head.fc1", "head.fc2", depth "deep"; the depth thirds
//    are computed over the backbone's layers only.
// Initialisation (build_model): W ~ N(0, 2/fan_in) (He normal) for every plastic layer, biases
// 0, BatchNorm weight 1 / bias 0; a B of its own (Fixed, Learned, Tied) from the same distribution. W's are drawn
// layer by layer from one generator seeded by hash(seed, "W") and B's from another seeded by
// hash(seed, "B"), so models of every feedback mode built with the same seed share W.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lrid/nn/plastic.hpp"

namespace lrid::nn {

struct ModelOptions {
  std::string arch = "MLP";  // any spelling canonical_architecture() accepts
  int64_t in_channels = 1, height = 28, width = 28;
  int64_t num_outputs = 10;  // read-out size (ignored with simclr_head)
  FeedbackSpec feedback;  // what B does (config/rules.hpp; nn::feedback_for_rule(name))
  bool simclr_head = false;
  int64_t head_hidden = 0;  // 0: the backbone's feature size
  int64_t head_dim = 128;
};

enum Depth : int { kEarly = 0, kMiddle = 1, kDeep = 2 };

struct PlasticLayerInfo {
  std::string name;  // e.g. "conv1", "layer2.0.conv1", "layer2.0.shortcut", "fc", "head.fc1"
  int depth = kDeep;  // 0 early, 1 middle, 2 deep
  bool head = false;  // part of the SimCLR projection head
  /// The op's output goes straight into a ReLU (MLP and SimCLR-head hidden layers, KNet conv2-4,
  /// AlexNet's convs and fc6/fc7); false where BatchNorm, pooling or nothing follows (ResNets,
  /// KNet conv1, read-outs). The recorder then measures act and gradavg after the ReLU, as
  /// lr-identify's layers do when the activation is part of the layer.
  bool relu = false;
  std::shared_ptr<PlasticLayer> layer;

  const torch::Tensor& weight() const { return layer->weight(); }
  torch::Tensor feedback_kernel() const { return layer->feedback_kernel(); }
};

/// The paper's depth category of layer `index` of `count` backbone layers: the first
/// floor(count/3) are early, the next floor(count/3) middle, the rest deep.
int depth_category(size_t index, size_t count);

class Model : public torch::nn::Module {
 public:
  /// Logits [N, num_outputs] (or SimCLR projections [N, head_dim]) of images [N, C, H, W].
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  const ModelOptions& options() const { return options_; }
  /// Canonical architecture name.
  const std::string& arch() const { return options_.arch; }
  /// The plastic layers in forward order, with names and depth categories.
  const std::vector<PlasticLayerInfo>& plastic_layers() const { return plastic_; }
  /// The trainable B's (Learned, Tied); empty for the other kinds.
  std::vector<torch::Tensor> feedback_parameters() const;
  /// Every parameter except the B's (for an optimiser that treats them differently).
  std::vector<torch::Tensor> forward_parameters() const;
  /// Tied B's (Kolen-Pollack): each takes its W's final gradient (PlasticLayer::tie_gradients).
  /// The trainer calls it after the task gradient is averaged over the group and clipped.
  void tie_feedback_gradients();
  /// Turns the capture of every plastic layer's last input and output on or off.
  void set_capture(bool on);
  /// Seeds this step's randomness: R's noise inputs (each plastic layer its own stream) and
  /// dropout. The trainer calls it before every training step with a seed derived from the
  /// run, the step and the rank, so a run is reproducible and resumable at any step.
  /// `rank` of a data-parallel group of `world` ranks: each rank draws the group's randomness for
  /// the whole batch and keeps its rows, so a group matches one process on the whole batch.
  void set_step_seed(uint64_t seed, int rank = 0, int world = 1);
  /// While on, every plastic layer back-propagates through W (B = W), whatever its feedback
  /// mode: backprop's gradient of the same network (the recorder's diagnostics).
  void set_exact_backward(bool on);

 protected:
  friend std::shared_ptr<Model> build_model(const ModelOptions& options, uint64_t seed);
  explicit Model(ModelOptions options) : options_(std::move(options)) {}
  /// Registers a plastic layer as a submodule of `owner` under `local_name` and appends it to
  /// the ordered list under `full_name`.
  template <class L>
  std::shared_ptr<L> add_plastic(torch::nn::Module& owner, const std::string& local_name,
                                 const std::string& full_name, std::shared_ptr<L> layer,
                                 bool head = false) {
    owner.register_module(local_name, layer);
    plastic_.push_back({full_name, kDeep, head, false, layer});
    return layer;
  }
  std::shared_ptr<PlasticConv2d> conv(torch::nn::Module& owner, const std::string& local_name,
                                      const std::string& full_name, const Conv2dSpec& spec,
                                      bool relu = false);
  std::shared_ptr<PlasticLinear> linear(torch::nn::Module& owner, const std::string& local_name,
                                        const std::string& full_name, int64_t in, int64_t out,
                                        bool head = false, bool relu = false);
  /// Sets depth categories (backbone thirds, head deep) and initialises from `seed`.
  void finalize(uint64_t seed);

  /// Inverted dropout with probability p at `site` (0, 1, ...), seeded by the step seed; the
  /// identity in eval mode.
  torch::Tensor dropout(const torch::Tensor& h, uint64_t site, double p = 0.5) const;

  ModelOptions options_;
  std::vector<PlasticLayerInfo> plastic_;
  uint64_t step_seed_ = 0;
  int shard_rank_ = 0, shard_world_ = 1;
};

/// The canonical names, in the order above.
const std::vector<std::string>& architecture_names();
/// Canonical spelling of an architecture name (any case, '-' and '_' ignored); unknown names
/// throw lrid::BadInput listing the valid ones.
std::string canonical_architecture(const std::string& name);

/// Builds and initialises a model; initialisation is entirely determined by `seed` (no global
/// RNG is used). Throws lrid::BadInput for an unknown architecture or unusable sizes.
std::shared_ptr<Model> build_model(const ModelOptions& options, uint64_t seed);

}  // namespace lrid::nn
