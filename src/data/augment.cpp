// SimCLR-style augmentation: random (resized or pad-and-) crop, horizontal flip, Gaussian noise.
#include <cmath>
#include <string>

#include "lrid/data/augment.hpp"
#include "lrid/data/batches.hpp"
#include "lrid/error.hpp"

namespace lrid::data {

CropMode parse_crop_mode(const std::string& name) {
  if (name == "resized") return CropMode::kResizedCrop;
  if (name == "pad") return CropMode::kPadCrop;
  if (name == "none") return CropMode::kNone;
  throw BadInput("crop mode '" + name + "', expected one of resized, pad, none");
}

std::string to_string(CropMode mode) {
  switch (mode) {
    case CropMode::kResizedCrop:
      return "resized";
    case CropMode::kPadCrop:
      return "pad";
    case CropMode::kNone:
      return "none";
  }
  return "?";
}

void validate(const AugmentOptions& o) {
  auto bad = [](const std::string& field, double v, const std::string& expected) {
    throw BadInput("augmentation option " + field + " = " + std::to_string(v) + ", expected " +
                   expected);
  };
  if (!(o.min_scale > 0 && o.min_scale <= 1)) bad("min_scale", o.min_scale, "in (0, 1]");
  if (!(o.max_scale >= o.min_scale && o.max_scale <= 1))
    bad("max_scale", o.max_scale, "in [min_scale, 1]");
  if (!(o.min_ratio > 0)) bad("min_ratio", o.min_ratio, "> 0");
  if (!(o.max_ratio >= o.min_ratio)) bad("max_ratio", o.max_ratio, ">= min_ratio");
  if (o.pad < 0) bad("pad", double(o.pad), ">= 0");
  if (!(o.flip_prob >= 0 && o.flip_prob <= 1)) bad("flip_prob", o.flip_prob, "in [0, 1]");
  if (!(o.noise_std >= 0)) bad("noise_std", o.noise_std, ">= 0");
  if (o.out_height < 0 || o.out_width < 0 || (o.out_height == 0) != (o.out_width == 0))
    bad("out_height/out_width", double(o.out_height), "both > 0, or both 0 (the input size)");
}

torch::Tensor center_crop(const torch::Tensor& x, int64_t out_h, int64_t out_w) {
  TORCH_CHECK(x.dim() == 4, "data::center_crop: expected [B,C,H,W], got ", x.sizes());
  const int64_t h = x.size(2), w = x.size(3);
  if (out_h <= 0 || out_w <= 0 || (out_h == h && out_w == w)) return x;
  if (out_h > h || out_w > w)
    throw BadInput("crop size " + std::to_string(out_h) + "x" + std::to_string(out_w) + " is larger than the images (" +
                   std::to_string(h) + "x" + std::to_string(w) + ")");
  return x.narrow(2, (h - out_h) / 2, out_h).narrow(3, (w - out_w) / 2, out_w);
}

namespace {

// Pad-and-crop with optional mirror, as two gathers: rows, then (possibly reversed) columns.
torch::Tensor pad_crop(const torch::Tensor& x, const torch::Tensor& u, const torch::Tensor& flip,
                       int64_t pad, int64_t oh, int64_t ow) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (oh > h + 2 * pad || ow > w + 2 * pad)
    throw BadInput("crop size " + std::to_string(oh) + "x" + std::to_string(ow) + " is larger than the padded images (" +
                   std::to_string(h + 2 * pad) + "x" + std::to_string(w + 2 * pad) + ")");
  auto dev = x.device();
  auto lopt = torch::TensorOptions().dtype(torch::kLong);
  // Offsets in [0, H + 2 pad - out], uniform (per axis).
  const int64_t ry = h + 2 * pad - oh, rx = w + 2 * pad - ow;
  auto oy = (u.select(1, 0) * double(ry + 1)).floor().clamp_max(double(ry)).to(torch::kLong);
  auto ox = (u.select(1, 1) * double(rx + 1)).floor().clamp_max(double(rx)).to(torch::kLong);
  auto xp = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
  // host: per-example indices are built beside the host-drawn offsets, moved below (rows, cols)
  auto ar_h = torch::arange(oh, lopt), ar_w = torch::arange(ow, lopt);
  auto rows = (oy.view({b, 1}) + ar_h.view({1, oh})).to(dev);                        // [B,oh]
  auto fwd = ar_w.view({1, ow}).expand({b, ow});
  auto rev = (ow - 1 - ar_w).view({1, ow}).expand({b, ow});
  auto cols = (ox.view({b, 1}) + torch::where(flip.view({b, 1}), rev, fwd)).to(dev);  // [B,ow]
  auto t = xp.gather(2, rows.view({b, 1, oh, 1}).expand({b, c, oh, w + 2 * pad}));
  return t.gather(3, cols.view({b, 1, 1, ow}).expand({b, c, oh, ow}));
}

// Random resized crop (+ mirror) as one affine_grid + bilinear grid_sample.
torch::Tensor resized_crop(const torch::Tensor& x, const torch::Tensor& u,
                           const torch::Tensor& flip, const AugmentOptions& o) {
  const int64_t b = x.size(0);
  auto scale = o.min_scale + (o.max_scale - o.min_scale) * u.select(1, 0);
  const double lr0 = std::log(o.min_ratio), lr1 = std::log(o.max_ratio);
  auto ratio = torch::exp(lr0 + (lr1 - lr0) * u.select(1, 1));
  // Crop width/height as fractions of the image (aspect relative to the image's).
  auto cw = torch::sqrt(scale * ratio).clamp_max(1.0);
  auto ch = torch::sqrt(scale / ratio).clamp_max(1.0);
  // Centre, in normalised coordinates [-1, 1], keeping the crop inside the image.
  auto tx = (2 * u.select(1, 2) - 1) * (1 - cw);
  auto ty = (2 * u.select(1, 3) - 1) * (1 - ch);
  auto sx = torch::where(flip, -cw, cw);
  auto zero = torch::zeros({b});  // host: theta is built from host draws, moved below
  auto theta = torch::stack({sx, zero, tx, zero, ch, ty}, 1).view({b, 2, 3});
  theta = theta.to(x.device(), x.scalar_type());
  const int64_t oh = o.out_height > 0 ? o.out_height : x.size(2), ow = o.out_width > 0 ? o.out_width : x.size(3);
  auto grid = at::affine_grid_generator(theta, {b, x.size(1), oh, ow}, /*align_corners=*/false);
  // interpolation 0 = bilinear, padding 1 = border.
  return at::grid_sampler(x, grid, 0, 1, /*align_corners=*/false);
}

}  // namespace

AugmentOptions augment_options(const config::AugmentSpec& a) {
  AugmentOptions o;
  o.crop = parse_crop_mode(a.crop);
  o.pad = a.pad;
  o.flip_prob = a.flip;
  o.min_scale = a.min_scale;
  o.noise_std = a.noise;
  o.out_height = a.height;
  o.out_width = a.width;
  return o;
}

torch::Tensor augment(const torch::Tensor& x, uint64_t seed, const AugmentOptions& o,
                      int64_t row_offset, int64_t total_rows) {
  TORCH_CHECK(x.dim() == 4 && x.is_floating_point(),
              "data::augment: expected a float [B,C,H,W] batch, got ", x.sizes(), " ",
              x.scalar_type());
  validate(o);
  torch::NoGradGuard no_grad;
  const int64_t b = x.size(0);
  if (total_rows == 0) total_rows = b;
  TORCH_CHECK(row_offset >= 0 && row_offset + b <= total_rows,
              "data::augment: rows [", row_offset, ", ", row_offset + b, ") outside a batch of ",
              total_rows);
  if (b == 0) return x.clone();

  // Per-example parameters for the whole batch, then this shard's rows:
  // columns 0..3 crop, column 4 flip.
  auto gen = make_generator(seed);
  // host: CPU generators, so every device draws the same augmentation (docs/data.md)
  auto u = torch::rand({total_rows, 5}, gen, torch::kDouble).narrow(0, row_offset, b);
  auto flip = u.select(1, 4) < o.flip_prob;

  const int64_t oh = o.out_height > 0 ? o.out_height : x.size(2), ow = o.out_width > 0 ? o.out_width : x.size(3);
  torch::Tensor y;
  switch (o.crop) {
    case CropMode::kResizedCrop:
      y = resized_crop(x, u, flip, o);
      break;
    case CropMode::kPadCrop:
      y = pad_crop(x, u.narrow(1, 0, 2), flip, o.pad, oh, ow);
      break;
    case CropMode::kNone: {
      const auto xc = center_crop(x, oh, ow);
      y = torch::where(flip.view({b, 1, 1, 1}).to(x.device()), xc.flip({3}), xc);
      break;
    }
  }
  if (o.noise_std > 0) {
    // Each global row has its own noise generator, so shards reproduce the whole batch's rows.
    // host: drawn per row on CPU generators, moved when added
    auto noise = torch::empty({b, x.size(1), oh, ow}, torch::kFloat);
    for (int64_t i = 0; i < b; ++i) {
      auto g = make_generator(derive_seed(seed, kNoiseSalt, uint64_t(row_offset + i)));
      noise[i].normal_(0.0, o.noise_std, g);
    }
    y = y.add(noise.to(y.device(), y.scalar_type()));
  }
  return y;
}

torch::Tensor augment_step(const torch::Tensor& x, uint64_t dataset_seed, int64_t step, const AugmentOptions& o,
                           int64_t row_offset, int64_t total_rows) {
  return augment(x, derive_seed(dataset_seed, kAugmentSalt, uint64_t(step)), o, row_offset, total_rows);
}

Views two_views(const torch::Tensor& x, uint64_t dataset_seed, int64_t step,
                const AugmentOptions& o, int64_t row_offset, int64_t total_rows) {
  const uint64_t s = derive_seed(dataset_seed, kAugmentSalt, uint64_t(step));
  return {augment(x, derive_seed(s, kViewSalt, 1), o, row_offset, total_rows),
          augment(x, derive_seed(s, kViewSalt, 2), o, row_offset, total_rows)};
}

}  // namespace lrid::data
