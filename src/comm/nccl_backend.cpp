// The NCCL backend (see include/lrid/comm/nccl_backend.hpp). The only file of lrid that talks to
// NCCL and the CUDA runtime; compiled only when CMake found both (LRID_HAVE_NCCL).
#include "lrid/comm/nccl_backend.hpp"

#include "lrid/error.hpp"

#ifdef LRID_HAVE_NCCL

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "lrid/comm/mpi.hpp"

namespace lrid::comm {

namespace {

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw std::runtime_error(std::string(what) + " failed: " + cudaGetErrorString(rc));
}

void nccl_check(ncclResult_t rc, const char* what, ncclComm_t comm = nullptr) {
  if (rc == ncclSuccess) return;
  std::string msg = std::string(what) + " failed: " + ncclGetErrorString(rc);
  const char* last = ncclGetLastError(comm);
  if (last && *last) msg += std::string(" (") + last + ")";
  throw std::runtime_error(msg);
}

// hostname/PCI bus id of a device: two ranks with equal keys share one GPU.
std::string device_key(int device) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  char bus[64] = {0};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) {
    (void)cudaGetLastError();
    std::snprintf(bus, sizeof bus, "device %d", device);
  }
  return std::string(host) + "/" + bus;
}

class NcclBackend : public ReduceBackend {
 public:
  NcclBackend(MPI_Comm group, int device) : device_(device) {
    int rank = 0, size = 1;
    MPI_Comm_rank(group, &rank);
    MPI_Comm_size(group, &size);
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    if (rank == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, 0, group) != MPI_SUCCESS)
      throw std::runtime_error("MPI_Bcast(ncclUniqueId) failed");
    nccl_check(ncclCommInitRank(&comm_, size, id, rank), "ncclCommInitRank");
  }
  ~NcclBackend() override {
    if (scratch_) cudaFree(scratch_);
    if (comm_) ncclCommDestroy(comm_);
  }
  const char* name() const override { return "nccl"; }
  bool accepts(const Device& d) const override { return d.kind == Device::Kind::CUDA && d.index == device_; }
  void* scratch(size_t bytes, const Device&) override {
    if (bytes > capacity_) {
      if (scratch_) cuda_check(cudaFree(scratch_), "cudaFree");
      scratch_ = nullptr;
      capacity_ = 0;
      cuda_check(cudaMalloc(&scratch_, bytes), "cudaMalloc");
      capacity_ = bytes;
    }
    return scratch_;
  }
  void copy(void* dst, const void* src, size_t bytes, const Device& d) override {
    cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream(d)), "cudaMemcpyAsync(D2D)");
  }
  void allreduce_mean(const BufferView& b) override {
    nccl_check(ncclAllReduce(b.data, b.data, static_cast<size_t>(b.count), b.dtype == DType::F32 ? ncclFloat : ncclDouble,
                             ncclAvg, comm_, stream(b.device)),
               "ncclAllReduce", comm_);
  }
  void synchronize(const Device& d) override { cuda_check(cudaStreamSynchronize(stream(d)), "cudaStreamSynchronize"); }

 private:
  // The gradients' stream (torch's current stream when they were produced), else the default.
  static cudaStream_t stream(const Device& d) { return static_cast<cudaStream_t>(d.stream); }
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  void* scratch_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace

bool have_nccl() { return true; }

std::unique_ptr<ReduceBackend> make_nccl_backend(MPI_Comm world, MPI_Comm group, int device, const std::string& where) {
  std::string err;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count <= 0) {
    (void)cudaGetLastError();
    err = "needs a CUDA GPU, but cudaGetDeviceCount found none";
  } else if (device < 0 || device >= count) {
    err = "cannot use CUDA device " + std::to_string(device) + " (" + std::to_string(count) + " visible)";
  }
  // No two ranks of one group on the same GPU (NCCL refuses it with "Duplicate GPU detected").
  constexpr int kKey = 320;
  char key[kKey] = {0};
  if (err.empty()) std::snprintf(key, sizeof key, "%s", device_key(device).c_str());
  int gsize = 1, grank = 0;
  MPI_Comm_size(group, &gsize);
  MPI_Comm_rank(group, &grank);
  std::vector<char> keys(static_cast<size_t>(kKey) * static_cast<size_t>(gsize));
  if (MPI_Allgather(key, kKey, MPI_CHAR, keys.data(), kKey, MPI_CHAR, group) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Allgather failed");
  if (err.empty())
    for (int r = 0; r < gsize; ++r)
      if (r != grank && std::strncmp(key, &keys[static_cast<size_t>(r) * kKey], kKey) == 0) {
        err = "needs one GPU per rank of a worker group, but group ranks " + std::to_string(std::min(r, grank)) +
              " and " + std::to_string(std::max(r, grank)) + " both use GPU " + key +
              " (NCCL refuses that); give each node at least ranks_per_run GPUs, or use gradient_backend: mpi";
        break;
      }
  // Every rank agrees: the lowest failing rank's message is everyone's error.
  if (const AgreedError e = agree_on_error(err, world))
    throw BadInput(where + ": distributed.gradient_backend: nccl " + e.message + " [MPI rank " + std::to_string(e.rank) + "]");
  return std::make_unique<NcclBackend>(group, device);
}

}  // namespace lrid::comm

#else  // no NCCL in this build

namespace lrid::comm {

bool have_nccl() { return false; }

std::unique_ptr<ReduceBackend> make_nccl_backend(MPI_Comm, MPI_Comm, int, const std::string& where) {
  throw BadInput(where + ": distributed.gradient_backend: nccl, but this lrid was built without NCCL (CMake found no "
                         "nccl.h / libnccl / libcudart); rebuild with CUDA and NCCL installed (tools/gpu/check.sh "
                         "shows how), or use gradient_backend: mpi or auto");
}

}  // namespace lrid::comm

#endif
