// Devices (see include/lrid/train/device.hpp).
#include "lrid/train/device.hpp"

#include <torch/torch.h>
#ifdef LRID_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include "lrid/error.hpp"

namespace lrid::train {

bool torch_has_cuda() {
#ifdef LRID_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() { return torch_has_cuda() && torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::string resolve_device(const std::string& setting, int local_rank) {
  if (setting == "cpu") return "cpu";
  const int n = cuda_device_count();
  if (setting == "cuda") {
    if (!torch_has_cuda())
      throw BadInput("distributed.device: cuda, but this lrid is built against a LibTorch without CUDA (Debian's "
                     "libtorch-dev is CPU-only); build against a CUDA LibTorch (README, 'Building for GPUs') or use "
                     "device: cpu or auto");
    if (n == 0)
      throw BadInput("distributed.device: cuda, but no CUDA GPU is visible to this process (check "
                     "CUDA_VISIBLE_DEVICES and the Slurm --gres/--gpus request), or use device: cpu or auto");
  }
  if (setting != "cuda" && setting != "auto") throw BadInput("distributed.device: unknown device '" + setting + "'");
  if (n == 0) return "cpu";
  return "cuda:" + std::to_string((local_rank < 0 ? 0 : local_rank) % n);
}

void set_allow_tf32(bool allow) {
  at::globalContext().setAllowTF32CuDNN(allow);
  at::globalContext().setAllowTF32CuBLAS(allow);
}

void* current_cuda_stream(int device) {
#ifdef LRID_TORCH_CUDA
  return static_cast<void*>(c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream());
#else
  (void)device;
  return nullptr;
#endif
}

}  // namespace lrid::train
