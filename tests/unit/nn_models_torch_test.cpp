// The paper's architectures: shapes, plastic-layer counts and names, depth categories, SimCLR
// head, seeding.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "lrid/error.hpp"
#include "lrid/config/architectures.hpp"
#include "lrid/nn/models.hpp"

namespace {

using lrid::nn::Feedback;
using lrid::nn::ModelOptions;
using torch::Tensor;

class NnModels : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    torch::manual_seed(99);
  }
};

int64_t ExpectedCount(const std::string& arch) {
  if (arch.rfind("KNet4", 0) == 0) return 4;
  if (arch.rfind("KNet5", 0) == 0) return 5;
  if (arch.rfind("AlexNet", 0) == 0) return 8;
  if (arch.rfind("ResNet-18", 0) == 0) return 22;
  if (arch.rfind("ResNet-34", 0) == 0) return 38;
  if (arch == "MLP") return 3;
  return -1;
}

// Forward + backward of a batch of 2 in InfoAlign mode (the custom path for every layer);
// checks outputs, gradients of W and B, counts and depth categories.
void RunArchitecture(const std::string& arch, int64_t c, int64_t hw, Feedback fb) {
  SCOPED_TRACE(arch + " " + std::to_string(c) + "x" + std::to_string(hw) + "x" +
               std::to_string(hw) + " " + lrid::nn::feedback_name(fb));
  ModelOptions o;
  o.arch = arch;
  o.in_channels = c;
  o.height = o.width = hw;
  o.num_outputs = 7;
  o.feedback = fb == Feedback::Learned ? lrid::nn::feedback_for_rule("ia") : lrid::nn::FeedbackSpec{fb};
  auto m = lrid::nn::build_model(o, 11);
  EXPECT_EQ(m->arch(), arch);
  const auto& layers = m->plastic_layers();
  const int64_t L = static_cast<int64_t>(layers.size());
  EXPECT_EQ(L, ExpectedCount(arch));
  std::set<std::string> names;
  int counts[3] = {0, 0, 0};
  for (const auto& p : layers) {
    names.insert(p.name);
    ++counts[p.depth];
  }
  EXPECT_EQ(static_cast<int64_t>(names.size()), L) << "names must be unique";
  EXPECT_EQ(counts[0], L / 3);
  EXPECT_EQ(counts[1], L / 3);
  EXPECT_EQ(counts[2], L - 2 * (L / 3));
  for (size_t i = 1; i < layers.size(); ++i) EXPECT_LE(layers[i - 1].depth, layers[i].depth);

  Tensor x = torch::randn({2, c, hw, hw});
  Tensor y = m->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 7}));
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>());
  y.pow(2).sum().backward();
  for (const auto& p : layers) {
    SCOPED_TRACE(p.name);
    ASSERT_TRUE(p.weight().grad().defined());
    EXPECT_TRUE(torch::isfinite(p.weight().grad()).all().item<bool>());
    EXPECT_GT(p.weight().grad().abs().sum().item<double>(), 0.0);
    if (fb == Feedback::Learned) {
      ASSERT_TRUE(p.feedback_kernel().grad().defined());
      EXPECT_TRUE(torch::isfinite(p.feedback_kernel().grad()).all().item<bool>());
    }
  }
}

TEST_F(NnModels, SmallNetsRunAt28And32) {
  for (const std::string arch : {"MLP", "KNet4", "KNet4-LRN", "KNet5", "KNet5-LRN"}) {
    RunArchitecture(arch, 1, 28, Feedback::Learned);
    RunArchitecture(arch, 3, 32, Feedback::Fixed);
  }
  RunArchitecture("KNet4", 1, 28, Feedback::Exact);
}

TEST_F(NnModels, AlexNetsRunAt28And32) {
  for (const std::string arch : {"AlexNet", "AlexNet-LRN"}) {
    RunArchitecture(arch, 1, 28, Feedback::Learned);
    RunArchitecture(arch, 3, 32, Feedback::Fixed);
  }
}

TEST_F(NnModels, ResNet18sRun) {
  for (const std::string arch : {"ResNet-18", "ResNet-18v2"}) {
    RunArchitecture(arch, 1, 28, Feedback::Learned);
    RunArchitecture(arch, 3, 32, Feedback::Fixed);
    RunArchitecture(arch, 3, 64, Feedback::Learned);  // large stem
  }
}

TEST_F(NnModels, ResNet34sRun) {
  for (const std::string arch : {"ResNet-34", "ResNet-34v2"}) {
    RunArchitecture(arch, 1, 28, Feedback::Learned);
    RunArchitecture(arch, 3, 32, Feedback::Exact);
    RunArchitecture(arch, 3, 64, Feedback::Fixed);
  }
}

TEST_F(NnModels, ResNetLayerNamesAndOrder) {
  ModelOptions o;
  o.arch = "resnet-18";
  o.in_channels = 3;
  o.height = o.width = 32;
  auto m = lrid::nn::build_model(o, 0);
  const auto& l = m->plastic_layers();
  ASSERT_EQ(l.size(), 22u);
  EXPECT_EQ(l[0].name, "conv1");
  EXPECT_EQ(l[1].name, "layer1.0.shortcut");
  EXPECT_EQ(l[2].name, "layer1.0.conv1");
  EXPECT_EQ(l[3].name, "layer1.0.conv2");
  EXPECT_EQ(l[4].name, "layer1.1.conv1");
  EXPECT_EQ(l[6].name, "layer2.0.shortcut");
  EXPECT_EQ(l[21].name, "fc");
  EXPECT_EQ(l[6].depth, 0);
  EXPECT_EQ(l[7].depth, 1);
  EXPECT_EQ(l[14].depth, 2);
  // Module paths agree with the list's names.
  auto params = m->named_parameters();
  for (const auto& p : l) EXPECT_TRUE(params.contains(p.name + ".weight")) << p.name;
  int shortcuts = 0;
  for (const auto& p : l) shortcuts += p.name.find("shortcut") != std::string::npos;
  EXPECT_EQ(shortcuts, 4);
}

TEST_F(NnModels, SimclrHead) {
  struct Case {
    std::string arch;
    size_t backbone;
  };
  for (const Case& c : {Case{"ResNet-18", 21}, Case{"KNet4", 3}, Case{"MLP", 2}}) {
    SCOPED_TRACE(c.arch);
    ModelOptions o;
    o.arch = c.arch;
    o.in_channels = 3;
    o.height = o.width = 32;
    o.simclr_head = true;
    o.head_hidden = 32;
    o.head_dim = 16;
    auto m = lrid::nn::build_model(o, 1);
    const auto& l = m->plastic_layers();
    ASSERT_EQ(l.size(), c.backbone + 2);
    EXPECT_EQ(l[l.size() - 2].name, "head.fc1");
    EXPECT_EQ(l.back().name, "head.fc2");
    EXPECT_TRUE(l.back().head);
    EXPECT_EQ(l.back().depth, 2);
    EXPECT_EQ(l[l.size() - 2].depth, 2);
    int counts[3] = {0, 0, 0};
    for (size_t i = 0; i < c.backbone; ++i) ++counts[l[i].depth];
    EXPECT_EQ(counts[0], static_cast<int>(c.backbone / 3));
    EXPECT_EQ(counts[1], static_cast<int>(c.backbone / 3));
    for (const auto& p : l) EXPECT_NE(p.name, "fc");
    m->eval();
    Tensor y = m->forward(torch::randn({2, 3, 32, 32}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 16}));
  }
}

TEST_F(NnModels, SeedDeterminesInitialisation) {
  auto state = [](const lrid::nn::Model& m) {
    std::vector<Tensor> out;
    for (const auto& p : m.named_parameters()) out.push_back(p.value().detach());
    for (const auto& b : m.named_buffers()) out.push_back(b.value().detach());
    return out;
  };
  ModelOptions o;
  o.arch = "KNet4-LRN";
  o.feedback = lrid::nn::FeedbackSpec{Feedback::Fixed};
  auto a = lrid::nn::build_model(o, 5), b = lrid::nn::build_model(o, 5),
       c = lrid::nn::build_model(o, 6);
  auto sa = state(*a), sb = state(*b), sc = state(*c);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i], sb[i])) << i;
  for (size_t i = 0; i < a->plastic_layers().size(); ++i) {
    EXPECT_FALSE(torch::equal(a->plastic_layers()[i].weight(), c->plastic_layers()[i].weight()));
    EXPECT_FALSE(torch::equal(a->plastic_layers()[i].feedback_kernel(),
                              c->plastic_layers()[i].feedback_kernel()));
    EXPECT_FALSE(torch::equal(a->plastic_layers()[i].weight(),
                              a->plastic_layers()[i].feedback_kernel()));
  }
  // Independent of the global RNG, and W shared across feedback modes for one seed.
  torch::manual_seed(12345);
  o.feedback = lrid::nn::feedback_for_rule("ia");
  auto d = lrid::nn::build_model(o, 5);
  o.feedback = lrid::nn::FeedbackSpec{};
  auto e = lrid::nn::build_model(o, 5);
  for (size_t i = 0; i < a->plastic_layers().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->plastic_layers()[i].weight(), d->plastic_layers()[i].weight()));
    EXPECT_TRUE(torch::equal(a->plastic_layers()[i].feedback_kernel(),
                             d->plastic_layers()[i].feedback_kernel()));
    EXPECT_TRUE(torch::equal(a->plastic_layers()[i].weight(), e->plastic_layers()[i].weight()));
  }
  // He-normal scale.
  const auto& w = a->plastic_layers()[1].weight();  // conv2: fan_in 32 * 25
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / 800.0), 0.1 * std::sqrt(2.0 / 800.0));
}

TEST_F(NnModels, NamesAndErrors) {
  EXPECT_EQ(lrid::nn::architecture_names().size(), 11u);
  for (const auto& n : lrid::nn::architecture_names()) {
    EXPECT_EQ(lrid::nn::canonical_architecture(n), n);
    std::string lower;
    for (char ch : n) lower.push_back(static_cast<char>(std::tolower(ch)));
    EXPECT_EQ(lrid::nn::canonical_architecture(lower), n);
  }
  EXPECT_EQ(lrid::nn::canonical_architecture("resnet18v2"), "ResNet-18v2");
  EXPECT_EQ(lrid::nn::canonical_architecture("knet5_lrn"), "KNet5-LRN");
  try {
    lrid::nn::canonical_architecture("VGG16");
    FAIL() << "expected BadInput";
  } catch (const lrid::BadInput& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("VGG16"), std::string::npos);
    EXPECT_NE(msg.find("ResNet-34v2"), std::string::npos);
    EXPECT_NE(msg.find("KNet4-LRN"), std::string::npos);
  }
  ModelOptions o;
  o.arch = "NoSuchNet";
  EXPECT_THROW(lrid::nn::build_model(o, 0), lrid::BadInput);
  o.arch = "KNet4";
  o.height = o.width = 16;  // 16 -> 8 -> 4 -> 2
  EXPECT_NO_THROW(lrid::nn::build_model(o, 0));
  o.arch = "KNet5";  // the fourth 3x3 pool would see a 2x2 map
  EXPECT_THROW(lrid::nn::build_model(o, 0), lrid::BadInput);
  EXPECT_EQ(lrid::nn::depth_category(0, 2), 2);
  EXPECT_EQ(lrid::nn::depth_category(3, 10), 1);
  EXPECT_EQ(lrid::nn::depth_category(6, 10), 2);
}

TEST_F(NnModels, CaptureOnEveryLayer) {
  ModelOptions o;
  o.arch = "KNet4";
  auto m = lrid::nn::build_model(o, 2);
  m->set_capture(true);
  torch::NoGradGuard g;
  m->eval();
  Tensor y = m->forward(torch::randn({3, 1, 28, 28}));
  for (const auto& p : m->plastic_layers()) {
    ASSERT_TRUE(p.layer->captured_output().defined()) << p.name;
    EXPECT_EQ(p.layer->captured_output().size(0), 3);
  }
  EXPECT_TRUE(torch::equal(m->plastic_layers().back().layer->captured_output(), y));
  m->set_capture(false);
  EXPECT_FALSE(m->plastic_layers()[0].layer->captured_input().defined());
}

}  // namespace

TEST_F(NnModels, CostModelCountsTheBuiltLayers) {
  // config::forward_macs (the shard and scheduling cost) against the multiply-accumulates of the
  // plastic layers a built model runs: output elements x (weight entries / output channels).
  torch::NoGradGuard no_grad;
  struct Case {
    const char* arch;
    int64_t c, h, w;
  };
  for (const Case& k : {Case{"MLP", 1, 28, 28}, Case{"KNet4", 1, 28, 28}, Case{"KNet5-LRN", 3, 32, 32},
                        Case{"AlexNet", 3, 32, 32}, Case{"AlexNet-LRN", 3, 96, 96}, Case{"ResNet-18", 3, 32, 32},
                        Case{"ResNet-34v2", 3, 64, 64}})
    for (bool simclr : {false, true}) {
      SCOPED_TRACE(std::string(k.arch) + (simclr ? " simclr" : ""));
      lrid::nn::ModelOptions o;
      o.arch = k.arch;
      o.in_channels = k.c, o.height = k.h, o.width = k.w;
      o.num_outputs = 7;
      o.simclr_head = simclr;
      o.head_hidden = 32;
      o.head_dim = 16;
      auto m = lrid::nn::build_model(o, 1);
      m->eval();
      m->set_capture(true);
      m->forward(torch::zeros({2, k.c, k.h, k.w}));
      double macs = 0;
      for (const auto& p : m->plastic_layers()) {
        const auto& out = p.layer->captured_output();
        const auto& w = p.weight();
        macs += static_cast<double>(out.numel() / 2) * static_cast<double>(w.numel() / w.size(0));
      }
      EXPECT_DOUBLE_EQ(lrid::config::forward_macs(k.arch, k.c, k.h, k.w, 7, simclr, 32, 16), macs);
    }
}
