// Devices and the NCCL backend. Without a GPU (or without NCCL or a CUDA LibTorch in the build)
// asking for them must fail with exit code 2 and one clear line before anything is written.
// With two GPUs (tools/gpu/check.sh; they skip here): under `mpirun -np 2` a run trained by G=2
// on CUDA with NCCL ends near the same run trained by G=2 on the CPU with MPI, for SGDM, Adam, FA
// and IA.
#include <gtest/gtest.h>
#include <mpi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>

#include "lrid/config/job.hpp"
#include "lrid/comm/averager.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/comm/nccl_backend.hpp"
#include "lrid/error.hpp"
#include "lrid/train/device.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/train/trainer.hpp"
#ifdef LRID_HAVE_NCCL
#include <cuda_runtime_api.h>
#endif

namespace fs = std::filesystem;

namespace {

int cuda_devices() {
#ifdef LRID_HAVE_NCCL
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

// The lrid binary next to this test binary's directory (build/tests/.. -> build/lrid).
fs::path lrid_binary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return self.parent_path().parent_path() / "lrid";
}

// MPI for the GPU tests: initialised once (singleton, or the ranks of mpirun), finalised at exit.
void ensure_mpi() {
  int init = 0;
  MPI_Initialized(&init);
  if (init) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  std::atexit([] {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
  });
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// Runs `lrid train JOB --out c.h5` for the smoke job with `extra` in its distributed section;
// returns {exit code, stderr}; the directory is left for the caller to inspect.
std::pair<int, std::string> train_smoke(const fs::path& dir, const std::string& extra) {
  const fs::path lrid = lrid_binary();
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string job = read_all(fs::path(LRID_SOURCE_DIR) / "jobs" / "smoke.yaml");
  const auto pos = job.find("distributed:\n");
  job.insert(pos + 13, extra);
  std::ofstream(dir / "job.yaml") << job;
  const std::string cmd = "cd '" + dir.string() + "' && '" + lrid.string() + "' train job.yaml --out c.h5 > out.txt 2> err.txt";
  const int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_all(dir / "err.txt")};
}

TEST(CommNccl, SelectingNcclWithoutGpuExitsWithBadInput) {
  if (cuda_devices() > 0 || lrid::train::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  if (!fs::exists(lrid_binary())) GTEST_SKIP() << "no lrid binary at " << lrid_binary();
  const fs::path dir = fs::temp_directory_path() / ("lrid-nccl-test-" + std::to_string(getpid()));
  const auto [code, err] = train_smoke(dir, "  gradient_backend: nccl\n");
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("job.yaml: distributed.gradient_backend: nccl averages GPU memory, but this rank trains on cpu"),
            std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line expected: " << err;
  EXPECT_FALSE(fs::exists(dir / "c.h5")) << "nothing may be created";
  EXPECT_FALSE(fs::exists(dir / "c.h5.log.jsonl")) << "nothing may be created";
  fs::remove_all(dir);
}

TEST(CommNccl, DeviceCudaWithoutCudaExitsWithBadInputAndAutoTrainsOnCpu) {
  if (lrid::train::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is usable here";
  if (!fs::exists(lrid_binary())) GTEST_SKIP() << "no lrid binary at " << lrid_binary();
  const fs::path dir = fs::temp_directory_path() / ("lrid-device-test-" + std::to_string(getpid()));
  auto [code, err] = train_smoke(dir, "  device: cuda\n");
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("distributed.device: cuda, but"), std::string::npos) << err;
  EXPECT_NE(err.find(lrid::train::torch_has_cuda() ? "no CUDA GPU is visible" : "LibTorch without CUDA"),
            std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line expected: " << err;
  EXPECT_FALSE(fs::exists(dir / "c.h5"));
  // auto: the CPU, and the log says so.
  std::tie(code, err) = train_smoke(dir, "  device: auto\n");
  EXPECT_EQ(code, 0) << err;
  const std::string log = read_all(dir / "c.h5.log.jsonl");
  EXPECT_NE(log.find("\"device\":\"cpu\""), std::string::npos) << log;
  EXPECT_EQ(lrid::train::resolve_device("auto", 0), "cpu");
  EXPECT_EQ(lrid::train::resolve_device("cpu", 3), "cpu");
  fs::remove_all(dir);
}

#ifdef LRID_HAVE_NCCL
// Under `mpirun -np 2` with a GPU per rank (tools/gpu/check.sh); skipped otherwise.
TEST(CommNccl, TwoRanksCudaNcclNearCpuMpi) {
  if (lrid::train::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device usable by LibTorch: the NCCL path cannot run here";
  ensure_mpi();
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (size != 2) GTEST_SKIP() << "run under mpirun -np 2 (world has " << size << " rank(s))";
  const std::string device = lrid::train::resolve_device("cuda", lrid::comm::local_rank_from_env());
  std::unique_ptr<lrid::comm::GradientAverager> nccl;
  try {
    nccl = std::make_unique<lrid::comm::GradientAverager>(
        MPI_COMM_WORLD, lrid::comm::make_nccl_backend(MPI_COMM_WORLD, MPI_COMM_WORLD, std::stoi(device.substr(5)), "test"));
  } catch (const lrid::BadInput& e) {
    GTEST_SKIP() << e.what();  // e.g. both ranks on one GPU: NCCL needs one GPU per rank
  }
  lrid::comm::GradientAverager mpi(MPI_COMM_WORLD, lrid::comm::make_mpi_backend(MPI_COMM_WORLD));
  torch::set_num_threads(1);
  const auto job = lrid::config::load_job_text(
      "name: t\ngrid:\n  - learning_rules: [sgdm, adam, fa, ia]\n    tasks: [fashion_mnist]\n"
      "    architectures: [KNet4, MLP]\n    batch_sizes: [32]\ntraining:\n  defaults: {steps: 25}\n"
      "observables:\n  trajectory_points: 2\n  observation_batch: 16\n",
      "test.yaml");
  for (const auto& run : job.runs) {
    std::vector<torch::Tensor> params[2];
    for (int b = 0; b < 2; ++b) {
      lrid::train::TrainOptions o;
      o.record = false;
      o.group = b == 0 ? &mpi : nccl.get();
      o.device = b == 0 ? "cpu" : device;
      o.on_final_model = [&](lrid::nn::Model& m) {
        for (const auto& p : m.parameters()) params[b].push_back(p.detach().to(torch::kCPU).clone());
      };
      lrid::train::train_run(job, run, o);
    }
    ASSERT_EQ(params[0].size(), params[1].size());
    for (size_t k = 0; k < params[0].size(); ++k) {
      const double scale = params[0][k].abs().max().item<double>();
      const double diff = (params[0][k] - params[1][k]).abs().max().item<double>();
      // 25 steps of float32 on two devices (different kernels, summation orders).
      EXPECT_LE(diff, 1e-3 * scale + 1e-6) << "rank " << rank << " run " << run.key() << " parameter " << k;
    }
  }
  nccl.reset();
}
#endif
