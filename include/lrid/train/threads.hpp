#pragma once
// Intra-op threads for LibTorch (torch-free header).

namespace lrid::train {

/// Number of cores this process may use (sched affinity, else hardware concurrency).
int available_cores();

/// Sets LibTorch's intra-op (and inter-op, once) thread counts. `requested` > 0 is used as is;
/// 0 means available_cores() / ranks_on_node, at least 1. Returns the count set.
int configure_threads(int requested, int ranks_on_node);

}  // namespace lrid::train
