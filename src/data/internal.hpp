#pragma once
// Helpers shared by the data module's sources (not installed).
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "lrid/data/dataset.hpp"
#include "lrid/error.hpp"

namespace lrid::data::detail {

/// Throws BadInput "<path>: does not exist" / "is not a regular file".
void require_file(const std::string& path);

/// Allocates a uint8 tensor, turning an allocation failure into BadInput naming `what`.
torch::Tensor alloc_u8(at::IntArrayRef sizes, const std::string& what);

/// Checks labels lie in [0, num_classes) -> BadInput naming `where` and the first offender.
void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& where);

/// Max label + 1 over both splits (labels assumed >= 0 checked later).
int64_t infer_num_classes(const ImageSet& a, const ImageSet& b);

/// Sets num_classes (0: inferred), checks labels and that both splits share C,H,W, computes
/// the normalisation from the training set.
TrainTest finish(ImageSet train, ImageSet test, int64_t num_classes, const std::string& where);

}  // namespace lrid::data::detail
