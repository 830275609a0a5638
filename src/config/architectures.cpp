// The architecture table and its analytic cost model (see include/lrid/config/architectures.hpp).
// The layer shapes here follow src/nn/models.cpp; tests/unit/nn_models_torch_test.cpp checks the
// count against the layers a built model actually runs.
#include "lrid/config/architectures.hpp"

#include <algorithm>
#include <cctype>

#include "lrid/error.hpp"
#include "lrid/util/text.hpp"

namespace lrid::config {

const std::vector<ArchitectureInfo>& architectures() {
  static const std::vector<ArchitectureInfo> table = {
      {"KNet4", "Caffe CIFAR-10 full: 3 conv 5x5 + fc"},
      {"KNet4-LRN", "KNet4 with local response normalisation"},
      {"KNet5", "KNet4 with a fourth conv 5x5/128"},
      {"KNet5-LRN", "KNet5 with local response normalisation"},
      {"AlexNet", "one-tower AlexNet, 5 conv + 3 fc"},
      {"AlexNet-LRN", "AlexNet with local response normalisation"},
      {"ResNet-18", "ResNet-18 v1 (post-activation)"},
      {"ResNet-18v2", "ResNet-18 v2 (pre-activation)"},
      {"ResNet-34", "ResNet-34 v1"},
      {"ResNet-34v2", "ResNet-34 v2"},
      {"MLP", "fc 128 -> fc 64 -> fc (for tests and the quickstart)"}};
  return table;
}

const std::vector<std::string>& architecture_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& a : architectures()) v.push_back(a.name);
    return v;
  }();
  return names;
}

namespace {

std::string squash(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

int64_t conv_out(int64_t n, int64_t k, int64_t stride, int64_t pad) { return (n + 2 * pad - k) / stride + 1; }
int64_t pool_out(int64_t n, int64_t k, int64_t stride, int64_t pad, bool ceil) {
  const int64_t num = n + 2 * pad - k;
  int64_t out = (ceil ? (num + stride - 1) / stride : num / stride) + 1;
  if (ceil && (out - 1) * stride >= n + pad) --out;  // the last window must start inside
  return out;
}

// A running shape [c, h, w] with the MACs of the layers applied so far.
struct Shape {
  int64_t c, h, w;
  double macs = 0;
  void conv(int64_t out, int64_t k, int64_t stride, int64_t pad) {
    h = conv_out(h, k, stride, pad);
    w = conv_out(w, k, stride, pad);
    macs += static_cast<double>(out) * static_cast<double>(c) * static_cast<double>(k * k) * static_cast<double>(h * w);
    c = out;
  }
  void pool(int64_t k, int64_t stride, int64_t pad, bool ceil) {
    h = pool_out(h, k, stride, pad, ceil);
    w = pool_out(w, k, stride, pad, ceil);
  }
};

double readout(int64_t features, int64_t outputs, bool simclr, int64_t hidden, int64_t dim) {
  if (!simclr) return static_cast<double>(features * outputs);
  const int64_t hid = hidden > 0 ? hidden : features;
  return static_cast<double>(features * hid + hid * dim);
}

}  // namespace

std::string canonical_architecture(const std::string& name) {
  const std::string key = squash(name);
  for (const auto& n : architecture_names())
    if (squash(n) == key) return n;
  return "";
}

double forward_macs(const std::string& arch_name, int64_t channels, int64_t height, int64_t width, int64_t outputs,
                    bool simclr, int64_t head_hidden, int64_t head_dim) {
  const std::string arch = canonical_architecture(arch_name);
  if (arch.empty())
    throw BadInput("unknown architecture '" + arch_name + "'" + util::did_you_mean(arch_name, architecture_names()) +
                   "; expected one of " + util::join(architecture_names()));
  Shape s{channels, height, width};
  if (arch == "MLP") {
    const int64_t in = channels * height * width;
    return static_cast<double>(in * 128 + 128 * 64) + readout(64, outputs, simclr, head_hidden, head_dim);
  }
  if (arch.rfind("KNet", 0) == 0) {
    const bool five = arch.rfind("KNet5", 0) == 0;
    s.conv(32, 5, 1, 2);
    s.pool(3, 2, 0, true);
    s.conv(32, 5, 1, 2);
    s.pool(3, 2, 0, true);
    s.conv(64, 5, 1, 2);
    s.pool(3, 2, 0, true);
    if (five) {
      s.conv(128, 5, 1, 2);
      s.pool(3, 2, 0, true);
    }
    const int64_t ph = std::min<int64_t>(s.h, 4), pw = std::min<int64_t>(s.w, 4);
    return s.macs + readout(s.c * ph * pw, outputs, simclr, head_hidden, head_dim);
  }
  if (arch.rfind("AlexNet", 0) == 0) {
    const bool small = std::min(height, width) < 64;
    if (small) s.conv(96, 5, 1, 2); else s.conv(96, 11, 4, 2);
    s.pool(3, 2, 0, false);
    s.conv(256, 5, 1, 2);
    s.pool(3, 2, 0, false);
    s.conv(384, 3, 1, 1);
    s.conv(384, 3, 1, 1);
    s.conv(256, 3, 1, 1);
    s.pool(3, 2, 0, false);
    const int64_t p = small ? 3 : 6;
    return s.macs + static_cast<double>(256 * p * p * 4096 + 4096 * 4096) + readout(4096, outputs, simclr, head_hidden, head_dim);
  }
  // ResNets: BasicBlocks; a projection shortcut on the first block of every stage.
  const bool small = std::min(height, width) < 64;
  const std::vector<int> blocks = arch.rfind("ResNet-18", 0) == 0 ? std::vector<int>{2, 2, 2, 2} : std::vector<int>{3, 4, 6, 3};
  if (small) {
    s.conv(64, 3, 1, 1);
  } else {
    s.conv(64, 7, 2, 3);
    s.pool(3, 2, 1, false);
  }
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int st = 0; st < 4; ++st)
    for (int b = 0; b < blocks[static_cast<size_t>(st)]; ++b) {
      const int64_t stride = (b == 0 && st > 0) ? 2 : 1;
      if (b == 0) {
        Shape sc = s;
        sc.macs = 0;
        sc.conv(widths[st], 1, stride, 0);
        s.macs += sc.macs;
      }
      s.conv(widths[st], 3, stride, 1);
      s.conv(widths[st], 3, 1, 1);
    }
  return s.macs + readout(512, outputs, simclr, head_hidden, head_dim);
}

}  // namespace lrid::config
