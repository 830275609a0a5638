#pragma once
// The NCCL backend (gradient_backend: nccl, and auto when a run trains on CUDA): averages CUDA
// buffers in place with ncclAllReduce(ncclAvg) on the stream the gradients were produced on, so
// the reduction is ordered after the backward kernels without a device-wide sync; no host
// staging. The group leader creates the ncclUniqueId and broadcasts it over the group's MPI
// communicator; every rank then calls ncclCommInitRank on its bound device. NCCL refuses two
// ranks of one communicator on the same GPU, so a worker group needs one GPU per rank;
// make_nccl_backend says so (BadInput, on every rank) before NCCL would fail.
//
// Compiled only where CMake found NCCL and the CUDA runtime (LRID_HAVE_NCCL); without them
// make_nccl_backend throws BadInput explaining that.
#include <mpi.h>

#include <memory>
#include <string>

#include "lrid/comm/averager.hpp"

namespace lrid::comm {

/// Collective over `world`: checks on every rank that CUDA device `device` is usable and that no
/// two ranks of a group share one; if any rank fails, every rank throws the same BadInput
/// (`where: distributed.gradient_backend: nccl ...`), so no rank is left waiting.
std::unique_ptr<ReduceBackend> make_nccl_backend(MPI_Comm world, MPI_Comm group, int device,
                                                 const std::string& where);

/// Whether this build has the NCCL backend.
bool have_nccl();

}  // namespace lrid::comm
