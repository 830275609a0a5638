// NCCL gradient backend (compiled only when CMake found NCCL and the CUDA runtime).
#include "lrid/dist/nccl_averager.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace lrid::dist {

namespace {

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess)
    throw std::runtime_error(std::string(what) + " failed: " + cudaGetErrorString(rc));
}

void nccl_check(ncclResult_t rc, const char* what, ncclComm_t comm = nullptr) {
  if (rc == ncclSuccess) return;
  std::string msg = std::string(what) + " failed: " + ncclGetErrorString(rc);
  const char* last = ncclGetLastError(comm);
  if (last && *last) msg += std::string(" (") + last + ")";
  throw std::runtime_error(msg);
}

void mpi_check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed");
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (*end == '\0' && x >= 0 && x < INT_MAX) ? static_cast<int>(x) : -1;
}

// The rank among the ranks of `comm` that share this node (collective over comm).
int shared_rank(MPI_Comm comm) {
  int rank = 0, local = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm node;
  mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local);
  MPI_Comm_free(&node);
  return local;
}

// Picks and sets the device local_rank % count. Returns -1 and sets *err when no device is
// usable.
int bind_device(int local_rank, std::string* err) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess || count <= 0) {
    (void)cudaGetLastError();  // clear the sticky error
    *err = "needs a CUDA GPU, but cudaGetDeviceCount found none (" +
           std::string(rc != cudaSuccess ? cudaGetErrorString(rc) : "0 devices") +
           "); use gradient_backend: mpi or auto on machines without GPUs";
    return -1;
  }
  const int device = (local_rank < 0 ? 0 : local_rank) % count;
  const cudaError_t set = cudaSetDevice(device);
  if (set != cudaSuccess) {
    (void)cudaGetLastError();
    *err = "cannot use CUDA device " + std::to_string(device) + " (cudaSetDevice: " +
           cudaGetErrorString(set) + ")";
    return -1;
  }
  return device;
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

void bcast_string(std::string& s, int root, MPI_Comm comm) {
  int n = static_cast<int>(s.size());
  MPI_Bcast(&n, 1, MPI_INT, root, comm);
  s.resize(static_cast<size_t>(n));
  if (n) MPI_Bcast(&s[0], n, MPI_CHAR, root, comm);
}

}  // namespace

int local_rank_from_env() {
  const int ompi = env_int("OMPI_COMM_WORLD_LOCAL_RANK");
  return ompi >= 0 ? ompi : env_int("SLURM_LOCALID");
}

NcclAverager::NcclAverager(MPI_Comm group, int device, int64_t bucket_floats, bool stage_single_rank)
    : comm_(group), bucket_floats_(bucket_floats) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  if (bucket_floats_ < 1) throw std::invalid_argument("NcclAverager: bucket_floats must be >= 1");
  if (device < 0) {
    int local = local_rank_from_env();
    if (local < 0) local = shared_rank(comm_);
    std::string err;
    device_ = bind_device(local, &err);
    if (device_ < 0) throw BadInput("distributed.gradient_backend: nccl " + err);
  } else {
    device_ = device;
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
  }
  active_ = size_ > 1 || stage_single_rank;
  if (!active_) return;

  // The leader's unique id, broadcast over the group's MPI communicator.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof id);
  if (rank_ == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  mpi_check(MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, 0, comm_), "MPI_Bcast(ncclUniqueId)");
  ncclComm_t nc = nullptr;
  nccl_check(ncclCommInitRank(&nc, size_, id, rank_), "ncclCommInitRank");
  nccl_ = nc;
  cudaStream_t s = nullptr;
  cuda_check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  stream_ = s;
}

NcclAverager::~NcclAverager() {
  if (dev_) cudaFree(dev_);
  if (host_) cudaFreeHost(host_);
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  if (nccl_) ncclCommDestroy(static_cast<ncclComm_t>(nccl_));
}

void NcclAverager::reserve(int64_t floats) {
  if (floats <= capacity_) return;
  if (dev_) cuda_check(cudaFree(dev_), "cudaFree");
  if (host_) cuda_check(cudaFreeHost(host_), "cudaFreeHost");
  dev_ = nullptr;
  host_ = nullptr;
  capacity_ = 0;
  const size_t bytes = static_cast<size_t>(floats) * sizeof(float);
  cuda_check(cudaMallocHost(reinterpret_cast<void**>(&host_), bytes), "cudaMallocHost");
  cuda_check(cudaMalloc(reinterpret_cast<void**>(&dev_), bytes), "cudaMalloc");
  capacity_ = floats;
}

void NcclAverager::average(const std::vector<torch::Tensor>& grads) {
  if (!active_ || grads.empty()) return;
  for (const auto& g : grads)
    if (g.scalar_type() != torch::kFloat32 || !g.device().is_cpu())
      throw std::runtime_error("NcclAverager: gradients must be float32 CPU tensors (they are staged "
                               "through the GPU)");
  cuda_check(cudaSetDevice(device_), "cudaSetDevice");
  const auto stream = static_cast<cudaStream_t>(stream_);
  const auto comm = static_cast<ncclComm_t>(nccl_);
  const double scale = 1.0 / size_;
  size_t i = 0;
  while (i < grads.size()) {
    // The same buckets as MpiAverager: consecutive gradients up to bucket_floats (a single
    // larger gradient is its own bucket).
    size_t j = i;
    int64_t n = 0;
    while (j < grads.size() && (j == i || n + grads[j].numel() <= bucket_floats_)) n += grads[j++].numel();
    reserve(n);
    torch::Tensor flat = torch::from_blob(host_, {n}, torch::kFloat32);
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t m = grads[k].numel();
      flat.narrow(0, off, m).copy_(grads[k].reshape({m}));
      off += m;
    }
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    cuda_check(cudaMemcpyAsync(dev_, host_, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(H2D)");
    nccl_check(ncclAllReduce(dev_, dev_, static_cast<size_t>(n), ncclFloat, ncclSum, comm, stream),
               "ncclAllReduce", comm);
    cuda_check(cudaMemcpyAsync(host_, dev_, bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync(D2H)");
    cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    flat.mul_(scale);
    off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t m = grads[k].numel();
      grads[k].copy_(flat.narrow(0, off, m).view(grads[k].sizes()));
      off += m;
    }
    i = j;
  }
}

double NcclAverager::mean(double value) {
  if (size_ == 1) return value;
  double sum = 0;
  mpi_check(MPI_Allreduce(&value, &sum, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce(mean)");
  return sum / size_;
}

std::unique_ptr<GradientAverager> make_nccl_averager(MPI_Comm world, MPI_Comm group,
                                                     const std::string& where) {
  int wrank = 0;
  MPI_Comm_rank(world, &wrank);
  int local = local_rank_from_env();
  const int node_rank = shared_rank(world);  // collective: every rank computes it
  if (local < 0) local = node_rank;

  std::string err;
  const int device = bind_device(local, &err);

  // No two ranks of one group on the same GPU (NCCL refuses it with "Duplicate GPU detected").
  constexpr int kKey = 320;
  char key[kKey] = {0};
  if (device >= 0) std::snprintf(key, sizeof key, "%s", device_key(device).c_str());
  int gsize = 1, grank = 0;
  MPI_Comm_size(group, &gsize);
  MPI_Comm_rank(group, &grank);
  std::vector<char> keys(static_cast<size_t>(kKey) * static_cast<size_t>(gsize));
  mpi_check(MPI_Allgather(key, kKey, MPI_CHAR, keys.data(), kKey, MPI_CHAR, group), "MPI_Allgather");
  if (err.empty() && device >= 0)
    for (int r = 0; r < gsize; ++r)
      if (r != grank && std::strncmp(key, &keys[static_cast<size_t>(r) * kKey], kKey) == 0) {
        err = "needs one GPU per rank of a worker group, but group ranks " + std::to_string(std::min(r, grank)) +
              " and " + std::to_string(std::max(r, grank)) + " both use GPU " + key +
              " (NCCL refuses that); give each node at least ranks_per_run GPUs, or use "
              "gradient_backend: mpi";
        break;
      }

  // Every rank agrees: the lowest failing rank's message is everyone's error.
  int bad = err.empty() ? INT_MAX : wrank;
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MIN, world), "MPI_Allreduce");
  if (bad != INT_MAX) {
    bcast_string(err, bad, world);
    throw BadInput(where + ": distributed.gradient_backend: nccl " + err + " [MPI rank " +
                   std::to_string(bad) + "]");
  }
  return std::make_unique<NcclAverager>(group, device);
}

}  // namespace lrid::dist
