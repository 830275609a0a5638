#include "lrid/train/threads.hpp"

#include <string>

#include "lrid/error.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace lrid::train {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

int thread_option(int value) {
  if (value < 0 || value > kMaxThreads)
    throw BadInput("--threads " + std::to_string(value) + ": expected 0 (automatic) to " + std::to_string(kMaxThreads) +
                   " intra-op threads");
  return value;
}

int configure_threads(int requested, int ranks_on_node, int blas) {
  int n = requested > 0 ? requested : available_cores() / std::max(1, ranks_on_node);
  n = std::max(1, n);
  torch::set_num_threads(n);
  // Torch's matmul goes to the system BLAS; OpenBLAS keeps its own pool, sized from the CPU
  // affinity, which differs with MPI's binding. Pin it to a set count so results do not depend
  // on how ranks were bound (OpenBLAS partitions work, and summation, by thread count). By
  // default 1: OpenBLAS's idle threads spin (sched_yield) beside LibTorch's spinning OpenMP
  // pool, and with both at 2 threads on 2 cores a KNet4 IA run trained 2.4x slower than with
  // OpenBLAS at 1 (tools/bench/blas_threads.sh); only large GEMMs (fc layers of 10^8 flops
  // and more) gain from OpenBLAS's own threads.
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    f(blas > 0 ? blas : n);
  // glibc returns freed activation memory to the kernel after every step and faults it back in
  // on the next one (ResNet-18: 51k page faults and 121 ms of system time per step, measured);
  // keep it (tensors over 32 MiB are still mmapped).
  static bool malloc_set = false;
  if (!malloc_set) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    malloc_set = true;
  }
  static bool interop_set = false;  // inter-op threads can be set once per process
  if (!interop_set) {
    try {
      torch::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // already initialised by an earlier parallel region: keep torch's value
    }
    interop_set = true;
  }
  return n;
}

int blas_threads() {
  using GetThreads = int (*)();
  if (auto f = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) return f();
  return 0;
}

}  // namespace lrid::train
