#pragma once
// Data-parallel gradient averaging with NCCL (gradient_backend: nccl).
//
// This LibTorch is CPU-only, so the gradients are staged: each bucket of gradients (packed like
// MpiAverager's) is copied into a pinned host buffer, cudaMemcpy'd to a device buffer,
// summed with ncclAllReduce on a CUDA stream, copied back and scaled by 1/G. Scalars (the
// step's loss) are averaged with MPI_Allreduce on the group communicator.
//
// The group leader creates the ncclUniqueId and broadcasts it over the group's MPI
// communicator; every rank then calls ncclCommInitRank. Each rank binds to GPU
// local_rank % device_count, where local_rank is OMPI_COMM_WORLD_LOCAL_RANK (mpirun),
// SLURM_LOCALID (srun) or, without either, the rank among the ranks sharing its node. NCCL
// refuses two ranks of one communicator on the same GPU, so a worker group needs one GPU per
// rank; make_nccl_averager says so (BadInput) before NCCL would fail.
//
// The code is compiled only where CMake found NCCL and the CUDA runtime (LRID_HAVE_NCCL);
// without them make_nccl_averager throws BadInput explaining that.
#include <mpi.h>

#include <memory>
#include <string>

#include "lrid/dist/averager.hpp"
#include "lrid/error.hpp"

namespace lrid::dist {

#ifdef LRID_HAVE_NCCL

class NcclAverager : public GradientAverager {
 public:
  /// Collective over `group`. Binds this rank to `device`, or when it is -1 to its GPU chosen
  /// as above (the group's shared-memory rank standing in for the node-local rank when the
  /// launcher's variables are absent), creates the NCCL
  /// communicator (unless the group has one rank and `stage_single_rank` is false) and the
  /// staging buffers. Throws BadInput when no CUDA device is usable, std::runtime_error for
  /// CUDA/NCCL failures. `stage_single_rank`: send a one-rank group's gradients through the
  /// GPU path anyway (tests of the staging path on one GPU).
  explicit NcclAverager(MPI_Comm group, int device = -1, int64_t bucket_floats = int64_t(1) << 22,
                        bool stage_single_rank = false);
  ~NcclAverager() override;
  NcclAverager(const NcclAverager&) = delete;
  NcclAverager& operator=(const NcclAverager&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  /// Float32 CPU gradients, averaged in place through the GPU.
  void average(const std::vector<torch::Tensor>& grads) override;
  double mean(double value) override;
  /// The CUDA device this rank uses.
  int device() const { return device_; }

 private:
  void reserve(int64_t floats);
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1, device_ = -1;
  int64_t bucket_floats_, capacity_ = 0;
  bool active_ = false;    // whether average() goes through NCCL
  void* nccl_ = nullptr;   // ncclComm_t
  void* stream_ = nullptr; // cudaStream_t
  float* host_ = nullptr;  // pinned staging buffer (capacity_ floats)
  float* dev_ = nullptr;   // device buffer (capacity_ floats)
};

/// The rank's node-local rank: OMPI_COMM_WORLD_LOCAL_RANK, else SLURM_LOCALID, else -1.
int local_rank_from_env();

/// The averager for `gradient_backend: nccl`, collective over `world` (every rank calls it, in
/// the same order as its other collectives). Checks on every rank that a CUDA device is usable
/// and that no two ranks of a group share one; if any rank fails, every rank throws the same
/// BadInput (`where: distributed.gradient_backend: nccl ...`), so no rank is left waiting.
std::unique_ptr<GradientAverager> make_nccl_averager(MPI_Comm world, MPI_Comm group,
                                                     const std::string& where);

#else

inline std::unique_ptr<GradientAverager> make_nccl_averager(MPI_Comm, MPI_Comm,
                                                            const std::string& where) {
  throw BadInput(where + ": distributed.gradient_backend: nccl, but this lrid was built without "
                         "NCCL (CMake found no nccl.h / libnccl / libcudart); rebuild with CUDA and "
                         "NCCL installed (e.g. under /usr/local/cuda), or use gradient_backend: mpi "
                         "or auto");
}

#endif

}  // namespace lrid::dist
