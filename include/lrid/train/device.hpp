#pragma once
// Where a rank trains (distributed.device), resolved against this LibTorch and this machine.
// The header is torch-free; the implementation asks LibTorch (torch::cuda).
#include <string>

namespace lrid::train {

/// Whether this LibTorch was built with CUDA (the Debian LibTorch is not).
bool torch_has_cuda();
/// CUDA devices LibTorch sees (0 without CUDA).
int cuda_device_count();

/// The device for `setting` (cpu | cuda | auto) on a rank with node-local rank `local_rank`
/// (-1: unknown, 0 is used): "cpu" or "cuda:<local_rank % devices>". cuda without a CUDA LibTorch
/// or without a visible GPU: BadInput naming what is missing. auto: cuda when both are there.
std::string resolve_device(const std::string& setting, int local_rank);

/// TF32 for float32 convolutions (cuDNN) and matrix products (cuBLAS) on Ampere and later GPUs
/// (distributed.allow_tf32): faster, with a 10-bit mantissa in those products, so CUDA runs with
/// it are not bit-comparable with CPU runs or with CUDA runs without it. No effect on the CPU.
void set_allow_tf32(bool allow);

/// The current CUDA stream of a device as an opaque cudaStream_t (nullptr on a CPU-only build).
void* current_cuda_stream(int device);

}  // namespace lrid::train
