#pragma once
// Intra-op threads for LibTorch (torch-free header).

namespace lrid::train {

/// Number of cores this process may use (sched affinity, else hardware concurrency).
int available_cores();

/// Sets LibTorch's intra-op (and inter-op, once) thread counts. `requested` > 0 is used as is;
/// 0 means available_cores() / ranks_on_node, at least 1. OpenBLAS (when it is the BLAS) gets
/// `blas_threads`, or the intra-op count when that is 0. Returns the intra-op count set.
int configure_threads(int requested, int ranks_on_node, int blas_threads = 1);

/// The value of a --threads option, checked: 0 (automatic) to kMaxThreads, else BadInput naming
/// the option (a negative count would silently mean automatic, a huge one hang the start-up).
inline constexpr int kMaxThreads = 4096;
int thread_option(int value);

/// OpenBLAS's thread count (0 when the BLAS is not OpenBLAS).
int blas_threads();

}  // namespace lrid::train
