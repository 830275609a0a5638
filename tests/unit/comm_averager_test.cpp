// Gradient averaging: the bucket plan and the pack / reduce / unpack path, independent of the
// backend (a backend of the test's own), and the MPI backend on one rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "lrid/comm/averager.hpp"
#include "lrid/comm/mpi.hpp"

using namespace lrid::comm;

namespace {

BufferView f32(std::vector<float>& v) { return {v.data(), static_cast<int64_t>(v.size()), DType::F32, {}}; }
BufferView f64(std::vector<double>& v) { return {v.data(), static_cast<int64_t>(v.size()), DType::F64, {}}; }

// "The mean with a peer holding x + 2": adds 1 to every element, counting the calls and bytes.
class PlusOne : public ReduceBackend {
 public:
  const char* name() const override { return "plus-one"; }
  bool accepts(const Device& d) const override { return d.kind == Device::Kind::CPU; }
  void* scratch(size_t bytes, const Device&) override {
    buf.resize(bytes);
    return buf.data();
  }
  void copy(void* dst, const void* src, size_t bytes, const Device&) override {
    std::memcpy(dst, src, bytes);
    copied += bytes;
  }
  void allreduce_mean(const BufferView& b) override {
    ++calls;
    reduced += b.bytes();
    if (b.dtype == DType::F32)
      for (int64_t i = 0; i < b.count; ++i) static_cast<float*>(b.data)[i] += 1.0f;
    else
      for (int64_t i = 0; i < b.count; ++i) static_cast<double*>(b.data)[i] += 1.0;
  }
  void synchronize(const Device&) override { ++syncs; }
  std::vector<char> buf;
  size_t copied = 0, reduced = 0;
  int calls = 0, syncs = 0;
};

void ensure_mpi() {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) init_mpi(nullptr, nullptr);
}

}  // namespace

TEST(CommAverager, BucketPlanStraddlesAndSkipsEmptyGradients) {
  std::vector<float> a(10), empty, b(25), c(3);
  std::vector<double> d(6);
  std::vector<BufferView> g = {f32(a), f32(empty), f32(b), f32(c), f64(d)};
  // 16-float buckets: a (10) + 6 of b | 16 of b | 3 of b + c (3) | d (own dtype)
  const auto plan = plan_buckets(g, 16 * sizeof(float));
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].count, 16);
  EXPECT_EQ(plan[1].count, 16);
  EXPECT_EQ(plan[2].count, 6);
  EXPECT_EQ(plan[3].count, 6);
  EXPECT_EQ(plan[3].dtype, DType::F64);
  // Every element of every gradient in exactly one segment, in order.
  std::vector<std::vector<int>> hits = {std::vector<int>(10), {}, std::vector<int>(25), std::vector<int>(3), std::vector<int>(6)};
  for (const auto& bk : plan) {
    int64_t at = 0;
    for (const auto& s : bk.segments) {
      EXPECT_EQ(s.bucket_offset, at);
      at += s.count;
      for (int64_t i = 0; i < s.count; ++i) ++hits[s.grad][static_cast<size_t>(s.offset + i)];
    }
    EXPECT_EQ(at, bk.count);
  }
  for (const auto& h : hits)
    for (int x : h) EXPECT_EQ(x, 1);
  EXPECT_TRUE(plan_buckets({f32(empty)}, 64).empty());
}

TEST(CommAverager, PackReduceUnpackTouchesEveryElementOnce) {
  ensure_mpi();
  std::vector<float> a(10), b(25), c(3), w(40), e;
  std::vector<double> d(6);
  for (auto* v : {&a, &b, &c, &w}) std::iota(v->begin(), v->end(), 0.5f);
  std::iota(d.begin(), d.end(), 100.0);
  const auto a0 = a, b0 = b, c0 = c, w0 = w;
  const auto d0 = d;
  auto backend = std::make_unique<PlusOne>();
  PlusOne* be = backend.get();
  GradientAverager avg(MPI_COMM_SELF, std::move(backend), 16 * sizeof(float));
  // B gradients (IA) are just more gradients: w stands for one, larger than a bucket.
  avg.reduce({f32(a), f32(e), f32(b), f32(c), f32(w), f64(d)});
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], a0[i] + 1) << i;
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(b[i], b0[i] + 1) << i;
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i], c0[i] + 1) << i;
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i], w0[i] + 1) << i;
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], d0[i] + 1) << i;
  EXPECT_EQ(be->reduced, (10 + 25 + 3 + 40) * sizeof(float) + 6 * sizeof(double));
  EXPECT_EQ(be->calls, 6);  // 78 floats in 16-float buckets: 5; the doubles: 1
  EXPECT_EQ(be->syncs, 1);  // one device
  // A group of one averages nothing.
  const auto before = a;
  avg.average({f32(a)});
  EXPECT_EQ(a, before);
  EXPECT_DOUBLE_EQ(avg.mean(2.5), 2.5);
  EXPECT_EQ(avg.min(7), 7);
  EXPECT_EQ(avg.agree("", 3).flags, 3u);
  EXPECT_EQ(avg.agree("boom", 0).error, "rank 0: boom");
}

TEST(CommAverager, MpiBackendOnOneRankIsTheIdentity) {
  ensure_mpi();
  auto be = make_mpi_backend(MPI_COMM_SELF);
  std::vector<float> x = {1, 2, 3};
  be->allreduce_mean(f32(x));
  EXPECT_EQ(x, (std::vector<float>{1, 2, 3}));
  EXPECT_FALSE(be->accepts(Device{Device::Kind::CUDA, 0, nullptr}));
}
