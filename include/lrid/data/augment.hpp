#pragma once
// SimCLR-style augmentation of a normalised float batch: random crop (random resized crop or
// pad-and-crop), horizontal flip, additive Gaussian noise. Vectorised over the batch: one
// affine_grid + grid_sample (resized crop) or two gathers (pad-and-crop) per call.
//
// Randomness: the per-example crop/flip parameters of a batch of `total_rows` rows are drawn
// in one call from a CPU generator seeded with `seed`; the noise of global row g comes from its
// own generator seeded with derive_seed(seed, kNoiseSalt, g). So augmenting a shard (rows
// [row_offset, row_offset + x.size(0)) of the batch) gives exactly those rows of the whole
// batch's result: data-parallel training is independent of the number of ranks.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "lrid/config/job.hpp"

namespace lrid::data {

enum class CropMode {
  kResizedCrop,  ///< random area fraction and aspect ratio, resized back (bilinear) to H x W
  kPadCrop,      ///< zero-pad by `pad` on every side, crop H x W at a random offset
  kNone,
};

/// "resized" | "pad" | "none"; anything else -> BadInput naming the value.
CropMode parse_crop_mode(const std::string& name);
std::string to_string(CropMode mode);

struct AugmentOptions {
  CropMode crop = CropMode::kResizedCrop;
  /// kResizedCrop: area fraction in [min_scale, max_scale] (uniform), aspect ratio w/h
  /// log-uniform in [min_ratio, max_ratio]; a side longer than the image is clamped to it.
  double min_scale = 0.08;
  double max_scale = 1.0;
  double min_ratio = 3.0 / 4.0;
  double max_ratio = 4.0 / 3.0;
  /// kPadCrop: padding in pixels; pads with 0, i.e. the channel mean after normalisation.
  int64_t pad = 4;
  /// Probability of a horizontal flip.
  double flip_prob = 0.5;
  /// Std of the additive Gaussian noise, in normalised units (1 = the training set's per-channel
  /// pixel std). 0 disables it.
  double noise_std = 0.1;
  /// Output size (0 = the input's): kResizedCrop resizes its crop to it (ImageNet-style: stored
  /// at 256, trained at 224), kPadCrop and kNone crop it (at a random offset / the centre).
  int64_t out_height = 0, out_width = 0;
};

/// The job file's augmentation of a task (config::AugmentSpec, resolved) as the data module
/// takes it: the one converter between the two (crop by name, the output size).
AugmentOptions augment_options(const config::AugmentSpec& spec);

/// The centre out_h x out_w window of x (float or uint8 [B,C,H,W]); x itself when the sizes
/// match. Evaluation and observation images of a task trained at a crop size.
torch::Tensor center_crop(const torch::Tensor& x, int64_t out_h, int64_t out_w);

/// Checks the options (ranges) -> BadInput naming the offending field.
void validate(const AugmentOptions& options);

/// The augmentation of a supervised batch at training step `step` (crop and flip, no views):
/// augment(x, derive_seed(dataset_seed, kAugmentSalt, step), ...).
torch::Tensor augment_step(const torch::Tensor& x, uint64_t dataset_seed, int64_t step, const AugmentOptions& options,
                           int64_t row_offset = 0, int64_t total_rows = 0);

inline constexpr uint64_t kNoiseSalt = 0x6e6f697365ULL;  // "noise"
inline constexpr uint64_t kViewSalt = 0x76696577ULL;     // "view"

/// One augmented view of `x` (float [B,C,H,W], any device; returned on x's device, no grad).
/// x is rows [row_offset, row_offset + B) of a batch of total_rows rows (0: total_rows = B).
torch::Tensor augment(const torch::Tensor& x, uint64_t seed, const AugmentOptions& options = {},
                      int64_t row_offset = 0, int64_t total_rows = 0);

struct Views {
  torch::Tensor first;
  torch::Tensor second;
};

/// SimCLR's two views of the batch at training step `step`: view v uses
/// augment(x, derive_seed(derive_seed(dataset_seed, kAugmentSalt, step), kViewSalt, v), ...).
Views two_views(const torch::Tensor& x, uint64_t dataset_seed, int64_t step,
                const AugmentOptions& options = {}, int64_t row_offset = 0,
                int64_t total_rows = 0);

}  // namespace lrid::data
