#pragma once
// The one table of the architectures lrid builds: canonical names, the spellings accepted for
// them, and their forward cost (multiply-accumulates of the plastic layers per image at an
// input size, computed from the same shapes lrid/nn/models.hpp builds). config validates names
// with it, nn builds by its canonical names, the scheduler and the shard assignment estimate
// costs with it. No torch here.
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::config {

struct ArchitectureInfo {
  std::string name;         ///< canonical: KNet4, ResNet-18v2, ...
  std::string description;  ///< for --help texts and errors
};

/// Every architecture, in canonical order (KNet4 ... MLP).
const std::vector<ArchitectureInfo>& architectures();
/// The canonical names, in order.
const std::vector<std::string>& architecture_names();
/// The canonical name for any letter case, with or without '-'/'_' ("resnet18v2", "knet4_lrn"),
/// or "" when unknown.
std::string canonical_architecture(const std::string& name);

/// Multiply-accumulates of one forward pass of one image through the architecture's plastic
/// layers (convolutions and fully connected layers; pooling, normalisation and nonlinearities
/// are not counted) at input [channels, height, width], with `outputs` read-out units (SimCLR:
/// the head, `head_hidden` (0: the backbone's width) -> `head_dim`). Unknown name: BadInput.
double forward_macs(const std::string& arch, int64_t channels, int64_t height, int64_t width, int64_t outputs,
                    bool simclr = false, int64_t head_hidden = 0, int64_t head_dim = 128);

}  // namespace lrid::config
