// gradient_backend: nccl. Without a GPU (or without NCCL in the build) selecting it must fail
// with exit code 2 and a clear message before anything is written. With a GPU (run by
// tools/bench/nccl_check.sh; they skip here): the staging path (pack, H2D, ncclAllReduce, D2H,
// scale, unpack) gives back a one-rank group's gradients, and under `mpirun -np 2` with two GPUs
// a run trained by G=2 with NCCL ends with the parameters of the same run trained by G=2 with
// MPI, within 1e-5 relative, for SGDM, Adam, FA and IA.
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

#include "lrid/config/job.hpp"
#include "lrid/dist/mpi_averager.hpp"
#include "lrid/dist/nccl_averager.hpp"
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

TEST(DistNccl, SelectingNcclWithoutGpuExitsWithBadInput) {
  if (cuda_devices() > 0) GTEST_SKIP() << "a CUDA device is present: nccl is usable here";
  const fs::path lrid = lrid_binary();
  if (lrid.empty() || !fs::exists(lrid)) GTEST_SKIP() << "no lrid binary at " << lrid;
  const fs::path dir = fs::temp_directory_path() / ("lrid-nccl-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // The smoke job with the NCCL backend.
  std::string job = read_all(fs::path(LRID_SOURCE_DIR) / "jobs" / "smoke.yaml");
  const auto pos = job.find("distributed:\n");
  ASSERT_NE(pos, std::string::npos);
  job.insert(pos + 13, "  gradient_backend: nccl\n");
  std::ofstream(dir / "nccl.yaml") << job;

  const std::string cmd = "cd '" + dir.string() + "' && '" + lrid.string() +
                          "' train nccl.yaml --out c.h5 > out.txt 2> err.txt";
  const int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st)) << cmd;
  EXPECT_EQ(WEXITSTATUS(st), 2) << read_all(dir / "err.txt");
  const std::string err = read_all(dir / "err.txt");
  EXPECT_NE(err.find("nccl.yaml: distributed.gradient_backend: nccl"), std::string::npos) << err;
#ifdef LRID_HAVE_NCCL
  EXPECT_NE(err.find("needs a CUDA GPU"), std::string::npos) << err;
#else
  EXPECT_NE(err.find("built without NCCL"), std::string::npos) << err;
#endif
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line expected: " << err;
  EXPECT_FALSE(fs::exists(dir / "c.h5")) << "nothing may be created";
  EXPECT_FALSE(fs::exists(dir / "c.h5.log.jsonl")) << "nothing may be created";
  fs::remove_all(dir);
}

#ifdef LRID_HAVE_NCCL
TEST(DistNccl, StagingPathOnOneGpuReturnsTheGradients) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device: the NCCL path cannot run here";
  ensure_mpi();
  {
    // Small buckets: several per call, and one gradient larger than a bucket.
    lrid::dist::NcclAverager avg(MPI_COMM_SELF, -1, /*bucket_floats=*/1000, /*stage_single_rank=*/true);
    EXPECT_EQ(avg.size(), 1);
    torch::manual_seed(0);
    std::vector<torch::Tensor> grads = {torch::randn({10, 10}), torch::randn({2500}), torch::randn({7}),
                                        torch::randn({3, 100}), torch::randn({4, 3, 5, 5})};
    std::vector<torch::Tensor> before;
    for (auto& g : grads) before.push_back(g.clone());
    for (int rep = 0; rep < 2; ++rep) avg.average(grads);
    for (size_t k = 0; k < grads.size(); ++k) EXPECT_TRUE(torch::equal(grads[k], before[k])) << k;
    EXPECT_DOUBLE_EQ(avg.mean(3.5), 3.5);
  }
}

// Under `mpirun -np 2` with a GPU per rank (tools/bench/nccl_check.sh); skipped otherwise.
TEST(DistNccl, TwoRanksNcclMatchesMpi) {
  if (cuda_devices() == 0) GTEST_SKIP() << "no CUDA device: the NCCL path cannot run here";
  ensure_mpi();
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (size != 2) {
    GTEST_SKIP() << "run under mpirun -np 2 (world has " << size << " rank(s))";
  }
  std::unique_ptr<lrid::dist::GradientAverager> nccl;
  try {
    nccl = lrid::dist::make_nccl_averager(MPI_COMM_WORLD, MPI_COMM_WORLD, "test");
  } catch (const lrid::BadInput& e) {
    GTEST_SKIP() << e.what();  // e.g. both ranks on one GPU: NCCL needs one GPU per rank
  }
  lrid::dist::MpiAverager mpi(MPI_COMM_WORLD);
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
      o.group = b == 0 ? static_cast<lrid::dist::GradientAverager*>(&mpi) : nccl.get();
      o.on_final_model = [&](lrid::nn::Model& m) {
        for (const auto& p : m.parameters()) params[b].push_back(p.detach().clone());
      };
      lrid::train::train_run(job, run, o);
    }
    ASSERT_EQ(params[0].size(), params[1].size());
    for (size_t k = 0; k < params[0].size(); ++k) {
      const double scale = params[0][k].abs().max().item<double>();
      const double diff = (params[0][k] - params[1][k]).abs().max().item<double>();
      EXPECT_LE(diff, 1e-5 * scale + 1e-8)
          << "rank " << rank << " run " << run.key() << " parameter " << k << ": max |mpi - nccl| " << diff
          << " (max |mpi| " << scale << ")";
    }
  }
  nccl.reset();
}
#endif
