// The paper's architectures from plastic layers. Design choices: include/lrid/nn/models.hpp.
#include "lrid/nn/models.hpp"

#include <algorithm>
#include <cctype>

#include "lrid/error.hpp"
#include "lrid/config/architectures.hpp"
#include "lrid/rng.hpp"
#include "lrid/util/text.hpp"

namespace lrid::nn {

using torch::Tensor;
namespace F = torch::nn::functional;

int depth_category(size_t index, size_t count) {
  const size_t n = count / 3;
  if (index < n) return kEarly;
  if (index < 2 * n) return kMiddle;
  return kDeep;
}

std::vector<Tensor> Model::feedback_parameters() const {
  std::vector<Tensor> out;
  for (const auto& p : plastic_)
    if (p.layer->feedback_spec().trainable()) out.push_back(p.layer->feedback_kernel());
  return out;
}

std::vector<Tensor> Model::forward_parameters() const {
  std::vector<Tensor> fb = feedback_parameters();
  std::vector<Tensor> out;
  for (const auto& p : parameters()) {
    bool is_fb = false;
    for (const auto& b : fb) is_fb = is_fb || p.is_same(b);
    if (!is_fb) out.push_back(p);
  }
  return out;
}

void Model::tie_feedback_gradients() {
  for (auto& p : plastic_) p.layer->tie_gradients();
}

void Model::set_capture(bool on) {
  for (auto& p : plastic_) p.layer->set_capture(on);
}

void Model::set_exact_backward(bool on) {
  for (auto& p : plastic_) p.layer->set_exact_backward(on);
}

void Model::set_step_seed(uint64_t seed, int rank, int world) {
  step_seed_ = seed;
  shard_rank_ = rank;
  shard_world_ = world;
  for (size_t i = 0; i < plastic_.size(); ++i)
    plastic_[i].layer->set_noise_seed(rng::hash_combine(seed, 0x1a00 + i), rank, world);
}

Tensor Model::dropout(const Tensor& h, uint64_t site, double p) const {
  if (!is_training() || p <= 0) return h;
  // Seeded per step and site (not the global generator), so runs are reproducible whatever
  // else the process has drawn.
  std::vector<int64_t> shape = h.sizes().vec();
  shape[0] *= shard_world_;
  Tensor u = seeded_uniform(shape, rng::hash_combine(step_seed_, 0xd500 + site), h.options());
  if (shard_world_ > 1) u = u.narrow(0, h.size(0) * shard_rank_, h.size(0));
  return h * u.ge(p).to(h.scalar_type()).div_(1.0 - p);
}

std::shared_ptr<PlasticConv2d> Model::conv(torch::nn::Module& owner, const std::string& local_name,
                                           const std::string& full_name, const Conv2dSpec& spec,
                                           bool relu) {
  auto l = add_plastic(owner, local_name, full_name,
                       std::make_shared<PlasticConv2d>(spec, options_.feedback));
  plastic_.back().relu = relu;
  return l;
}

std::shared_ptr<PlasticLinear> Model::linear(torch::nn::Module& owner,
                                             const std::string& local_name,
                                             const std::string& full_name, int64_t in,
                                             int64_t out, bool head, bool relu) {
  auto l = add_plastic(owner, local_name, full_name,
                       std::make_shared<PlasticLinear>(in, out, true, options_.feedback),
                       head);
  plastic_.back().relu = relu;
  return l;
}

void Model::finalize(uint64_t seed) {
  size_t backbone = 0;
  for (const auto& p : plastic_) backbone += p.head ? 0 : 1;
  size_t i = 0;
  for (auto& p : plastic_) p.depth = p.head ? kDeep : depth_category(i++, backbone);
  // Two streams, so that W does not depend on the feedback mode.
  auto gw = at::detail::createCPUGenerator(rng::hash_combine(seed, 0x57));  // 'W'
  auto gb = at::detail::createCPUGenerator(rng::hash_combine(seed, 0x42));  // 'B'
  for (auto& p : plastic_) p.layer->reset_parameters(gw, gb);
}

namespace {

constexpr bool kRelu = true;  // the op's output goes straight into a ReLU (PlasticLayerInfo::relu)


Conv2dSpec cspec(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool bias) {
  Conv2dSpec s;
  s.in_channels = in;
  s.out_channels = out;
  s.kernel = k;
  s.stride = stride;
  s.padding = pad;
  s.bias = bias;
  return s;
}

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

// torch's pooling output size (ceil_mode as in Caffe: the last window may overhang but must
// start inside the input or its left padding); 0 when not even one window fits.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t num = in + 2 * p - k;
  if (num < 0) return 0;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

void require_size(const ModelOptions& o, int64_t h, int64_t w, const char* where) {
  if (h < 1 || w < 1)
    throw BadInput("model '" + o.arch + "': input " + std::to_string(o.height) + "x" +
                   std::to_string(o.width) + " is too small (feature map vanishes " + where + ")");
}

// ---------------------------------------------------------------------------------------------
// Common base: the read-out fc, or the SimCLR projection head, on a feature vector.
class Net : public Model {
 protected:
  using Model::Model;
  void build_readout(int64_t features, const std::string& name = "fc") {
    const ModelOptions& o = options_;
    if (o.simclr_head) {
      head_ = register_module("head", std::make_shared<torch::nn::Module>("Head"));
      const int64_t hid = o.head_hidden > 0 ? o.head_hidden : features;
      head1_ = linear(*head_, "fc1", "head.fc1", features, hid, true, kRelu);
      head2_ = linear(*head_, "fc2", "head.fc2", hid, o.head_dim, true);
    } else {
      fc_ = linear(*this, name, name, features, o.num_outputs);
    }
  }
  Tensor readout(const Tensor& h) {
    if (fc_) return fc_->forward(h);
    return head2_->forward(torch::relu(head1_->forward(h)));
  }

 private:
  std::shared_ptr<torch::nn::Module> head_;
  std::shared_ptr<PlasticLinear> fc_, head1_, head2_;
};

// ---------------------------------------------------------------------------------------------
class Mlp : public Net {
 public:
  explicit Mlp(const ModelOptions& o) : Net(o) {
    fc1_ = linear(*this, "fc1", "fc1", o.in_channels * o.height * o.width, 128, false, kRelu);
    fc2_ = linear(*this, "fc2", "fc2", 128, 64, false, kRelu);
    build_readout(64);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = torch::relu(fc1_->forward(x.flatten(1)));
    return readout(torch::relu(fc2_->forward(h)));
  }

 private:
  std::shared_ptr<PlasticLinear> fc1_, fc2_;
};

// ---------------------------------------------------------------------------------------------
class KNet : public Net {
 public:
  KNet(const ModelOptions& o, bool five, bool lrn) : Net(o), five_(five), lrn_(lrn) {
    const int64_t c = o.in_channels;
    conv1_ = conv(*this, "conv1", "conv1", cspec(c, 32, 5, 1, 2, true));
    conv2_ = conv(*this, "conv2", "conv2", cspec(32, 32, 5, 1, 2, true), kRelu);
    conv3_ = conv(*this, "conv3", "conv3", cspec(32, 64, 5, 1, 2, true), kRelu);
    if (five_) conv4_ = conv(*this, "conv4", "conv4", cspec(64, 128, 5, 1, 2, true), kRelu);
    if (lrn_) {
      auto lo = torch::nn::LocalResponseNormOptions(3).alpha(5e-5).beta(0.75).k(1.0);
      norm1_ = register_module("norm1", torch::nn::LocalResponseNorm(lo));
      norm2_ = register_module("norm2", torch::nn::LocalResponseNorm(lo));
    }
    int64_t h = o.height, w = o.width;
    const int pools = five_ ? 4 : 3;
    for (int i = 0; i < pools; ++i) {
      h = pool_out(h, 3, 2, 0, true);
      w = pool_out(w, 3, 2, 0, true);
      require_size(o, h, w, "in a pooling stage");
    }
    ph_ = std::min<int64_t>(h, 4);
    pw_ = std::min<int64_t>(w, 4);
    build_readout((five_ ? 128 : 64) * ph_ * pw_);
  }
  Tensor forward(const Tensor& x) override {
    auto maxp = F::MaxPool2dFuncOptions(3).stride(2).ceil_mode(true);
    auto avgp = F::AvgPool2dFuncOptions(3).stride(2).ceil_mode(true);
    Tensor h = torch::relu(F::max_pool2d(conv1_->forward(x), maxp));
    if (lrn_) h = norm1_->forward(h);
    h = F::avg_pool2d(torch::relu(conv2_->forward(h)), avgp);
    if (lrn_) h = norm2_->forward(h);
    h = F::avg_pool2d(torch::relu(conv3_->forward(h)), avgp);
    if (five_) h = F::avg_pool2d(torch::relu(conv4_->forward(h)), avgp);
    h = F::adaptive_avg_pool2d(h, F::AdaptiveAvgPool2dFuncOptions({ph_, pw_}));
    return readout(h.flatten(1));
  }

 private:
  bool five_, lrn_;
  int64_t ph_ = 1, pw_ = 1;
  std::shared_ptr<PlasticConv2d> conv1_, conv2_, conv3_, conv4_;
  torch::nn::LocalResponseNorm norm1_{nullptr}, norm2_{nullptr};
};

// ---------------------------------------------------------------------------------------------
class AlexNet : public Net {
 public:
  AlexNet(const ModelOptions& o, bool lrn) : Net(o), lrn_(lrn) {
    small_ = std::min(o.height, o.width) < 64;
    const int64_t c = o.in_channels;
    const Conv2dSpec c1 = small_ ? cspec(c, 96, 5, 1, 2, true) : cspec(c, 96, 11, 4, 2, true);
    conv1_ = conv(*this, "conv1", "conv1", c1, kRelu);
    conv2_ = conv(*this, "conv2", "conv2", cspec(96, 256, 5, 1, 2, true), kRelu);
    conv3_ = conv(*this, "conv3", "conv3", cspec(256, 384, 3, 1, 1, true), kRelu);
    conv4_ = conv(*this, "conv4", "conv4", cspec(384, 384, 3, 1, 1, true), kRelu);
    conv5_ = conv(*this, "conv5", "conv5", cspec(384, 256, 3, 1, 1, true), kRelu);
    if (lrn_) {
      auto lo = torch::nn::LocalResponseNormOptions(5).alpha(1e-4).beta(0.75).k(2.0);
      norm1_ = register_module("norm1", torch::nn::LocalResponseNorm(lo));
      norm2_ = register_module("norm2", torch::nn::LocalResponseNorm(lo));
    }
    int64_t h = conv_out(o.height, c1.kernel, c1.stride, c1.padding);
    int64_t w = conv_out(o.width, c1.kernel, c1.stride, c1.padding);
    require_size(o, h, w, "after conv1");
    for (int i = 0; i < 3; ++i) {
      h = pool_out(h, 3, 2, 0, false);
      w = pool_out(w, 3, 2, 0, false);
      require_size(o, h, w, "in a pooling stage");
    }
    pool_ = small_ ? 3 : 6;
    fc6_ = linear(*this, "fc6", "fc6", 256 * pool_ * pool_, 4096, false, kRelu);
    fc7_ = linear(*this, "fc7", "fc7", 4096, 4096, false, kRelu);
    build_readout(4096, "fc8");
  }
  Tensor forward(const Tensor& x) override {
    auto maxp = F::MaxPool2dFuncOptions(3).stride(2);
    Tensor h = torch::relu(conv1_->forward(x));
    if (lrn_) h = norm1_->forward(h);
    h = F::max_pool2d(h, maxp);
    h = torch::relu(conv2_->forward(h));
    if (lrn_) h = norm2_->forward(h);
    h = F::max_pool2d(h, maxp);
    h = torch::relu(conv3_->forward(h));
    h = torch::relu(conv4_->forward(h));
    h = F::max_pool2d(torch::relu(conv5_->forward(h)), maxp);
    h = F::adaptive_avg_pool2d(h, F::AdaptiveAvgPool2dFuncOptions({pool_, pool_})).flatten(1);
    h = torch::relu(fc6_->forward(dropout(h, 0)));
    h = torch::relu(fc7_->forward(dropout(h, 1)));
    return readout(h);
  }

 private:
  bool lrn_, small_ = false;
  int64_t pool_ = 6;
  std::shared_ptr<PlasticConv2d> conv1_, conv2_, conv3_, conv4_, conv5_;
  std::shared_ptr<PlasticLinear> fc6_, fc7_;
  torch::nn::LocalResponseNorm norm1_{nullptr}, norm2_{nullptr};
};

// ---------------------------------------------------------------------------------------------
class BasicBlock : public torch::nn::Module {
 public:
  std::shared_ptr<PlasticConv2d> conv1, conv2, shortcut;
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn_s{nullptr};
  bool v2 = false;

  Tensor forward(const Tensor& x) {
    if (!v2) {
      Tensor sc = shortcut ? bn_s->forward(shortcut->forward(x)) : x;
      Tensor h = torch::relu(bn1->forward(conv1->forward(x)));
      h = bn2->forward(conv2->forward(h));
      return torch::relu(h + sc);
    }
    Tensor pre = torch::relu(bn1->forward(x));
    Tensor sc = shortcut ? shortcut->forward(pre) : x;
    Tensor h = conv1->forward(pre);
    h = conv2->forward(torch::relu(bn2->forward(h)));
    return h + sc;
  }
};

class ResNet : public Net {
 public:
  ResNet(const ModelOptions& o, const std::vector<int>& blocks, bool v2) : Net(o), v2_(v2) {
    small_ = std::min(o.height, o.width) < 64;
    const Conv2dSpec stem = small_ ? cspec(o.in_channels, 64, 3, 1, 1, false)
                                   : cspec(o.in_channels, 64, 7, 2, 3, false);
    conv1_ = conv(*this, "conv1", "conv1", stem);
    if (!v2_) bn1_ = register_module("bn1", torch::nn::BatchNorm2d(64));
    int64_t in = 64;
    const int64_t widths[4] = {64, 128, 256, 512};
    for (int s = 0; s < 4; ++s) {
      torch::nn::ModuleList stage;
      const std::string sname = "layer" + std::to_string(s + 1);
      for (int b = 0; b < blocks[s]; ++b) {
        auto blk = std::make_shared<BasicBlock>();
        blk->v2 = v2_;
        const std::string prefix = sname + "." + std::to_string(b) + ".";
        const int64_t out = widths[s];
        const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
        // Registration order = TF's variable order: the projection first.
        if (b == 0) {
          blk->shortcut = conv(*blk, "shortcut", prefix + "shortcut",
                               cspec(in, out, 1, stride, 0, false));
          if (!v2_) blk->bn_s = blk->register_module("bn_s", torch::nn::BatchNorm2d(out));
        }
        blk->conv1 = conv(*blk, "conv1", prefix + "conv1", cspec(in, out, 3, stride, 1, false));
        blk->bn1 = blk->register_module("bn1", torch::nn::BatchNorm2d(v2_ ? in : out));
        blk->conv2 = conv(*blk, "conv2", prefix + "conv2", cspec(out, out, 3, 1, 1, false));
        blk->bn2 = blk->register_module("bn2", torch::nn::BatchNorm2d(out));
        stage->push_back(blk);
        blocks_.push_back(blk);
        in = out;
      }
      register_module(sname, stage);
    }
    if (v2_) bn_final_ = register_module("bn_final", torch::nn::BatchNorm2d(512));
    build_readout(512);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = conv1_->forward(x);
    if (!v2_) h = torch::relu(bn1_->forward(h));
    if (!small_) h = F::max_pool2d(h, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (auto& b : blocks_) h = b->forward(h);
    if (v2_) h = torch::relu(bn_final_->forward(h));
    h = F::adaptive_avg_pool2d(h, F::AdaptiveAvgPool2dFuncOptions({1, 1})).flatten(1);
    return readout(h);
  }

 private:
  bool v2_, small_ = false;
  std::shared_ptr<PlasticConv2d> conv1_;
  torch::nn::BatchNorm2d bn1_{nullptr}, bn_final_{nullptr};
  std::vector<std::shared_ptr<BasicBlock>> blocks_;
};

}  // namespace

const std::vector<std::string>& architecture_names() { return config::architecture_names(); }

std::string canonical_architecture(const std::string& name) {
  const std::string canon = config::canonical_architecture(name);
  if (canon.empty())
    throw BadInput("architecture '" + name + "': expected one of " + util::join(config::architecture_names()));
  return canon;
}

std::shared_ptr<Model> build_model(const ModelOptions& options, uint64_t seed) {
  ModelOptions o = options;
  o.arch = canonical_architecture(options.arch);
  if (o.in_channels < 1 || o.height < 1 || o.width < 1)
    throw BadInput("model '" + o.arch + "': input channels/height/width must be positive");
  if (!o.simclr_head && o.num_outputs < 1)
    throw BadInput("model '" + o.arch + "': num_outputs must be positive");
  if (o.simclr_head && (o.head_dim < 1 || o.head_hidden < 0))
    throw BadInput("model '" + o.arch + "': SimCLR head sizes must be positive");
  std::shared_ptr<Model> m;
  const std::string& a = o.arch;
  if (a == "MLP") m = std::make_shared<Mlp>(o);
  else if (a == "KNet4") m = std::make_shared<KNet>(o, false, false);
  else if (a == "KNet4-LRN") m = std::make_shared<KNet>(o, false, true);
  else if (a == "KNet5") m = std::make_shared<KNet>(o, true, false);
  else if (a == "KNet5-LRN") m = std::make_shared<KNet>(o, true, true);
  else if (a == "AlexNet") m = std::make_shared<AlexNet>(o, false);
  else if (a == "AlexNet-LRN") m = std::make_shared<AlexNet>(o, true);
  else if (a == "ResNet-18") m = std::make_shared<ResNet>(o, std::vector<int>{2, 2, 2, 2}, false);
  else if (a == "ResNet-18v2") m = std::make_shared<ResNet>(o, std::vector<int>{2, 2, 2, 2}, true);
  else if (a == "ResNet-34") m = std::make_shared<ResNet>(o, std::vector<int>{3, 4, 6, 3}, false);
  else if (a == "ResNet-34v2") m = std::make_shared<ResNet>(o, std::vector<int>{3, 4, 6, 3}, true);
  else throw BadInput("architecture '" + a + "' not implemented");  // unreachable
  m->finalize(seed);
  return m;
}

}  // namespace lrid::nn
