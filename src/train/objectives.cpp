// The training objectives (include/lrid/train/objectives.hpp).
#include "lrid/train/objectives.hpp"

namespace lrid::train {

NtXent nt_xent(const torch::Tensor& z, double temperature) {
  const int64_t n = z.size(0), b = n / 2;
  const torch::Tensor zn = torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor sim = torch::mm(zn, zn.t()) / temperature;
  // A row is never its own positive: its self-similarity is masked, in place on the diagonal
  // (no mask tensor to place on a device; the same values and gradient as masked_fill).
  sim.diagonal().fill_(-1e9);
  const torch::Tensor target = torch::cat(
      {torch::arange(b, n, z.options().dtype(torch::kLong)), torch::arange(0, b, z.options().dtype(torch::kLong))});
  NtXent out;
  out.loss = torch::nn::functional::cross_entropy(sim, target);
  out.accuracy = sim.detach().argmax(1).eq(target).to(torch::kFloat64).mean();
  return out;
}

torch::Tensor supervised_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(logits, labels);
}

}  // namespace lrid::train
