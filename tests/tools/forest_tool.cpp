// lrid_forest_tool: a small driver of lrid's random forest for the script tests
// (tests/scripts/forest_*.sh) and the benchmark (tools/bench/forest.sh). Not installed, not a
// user command: users get the forest through `lrid analyze`.
//
// usage: lrid_forest_tool FILE.h5 [--splits K] [--seed S] [--trees T] [--max-features MF]
//          [--max-depth D] [--min-samples-leaf L] [--no-bootstrap] [--threads N] [--repeat R]
//          [--no-zscore] [--mpi] [--save PATH] [--check-load]
// FILE.h5 holds X (n x d, any float type) and y (n, integer labels 0..C-1); when it also holds
// integer datasets `train` and `test` (row indices), they are the one split used, else K
// balanced 75/25 splits (analyze/protocol.hpp) with seed S. Each split's forest is fitted on
// the z-scored training rows (best fit time of R repeats) and scored on the test rows.
// --mpi: fit_distributed over MPI_COMM_WORLD (run under mpirun); rank 0 prints.
// Prints one JSON object: per split the train/test rows, the accuracy and the fit seconds, the
// mean accuracy, FNV-1a hashes of every test probability and of the importances (bits), and
// whether all ranks computed the same hashes.
#include <hdf5.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lrid/analyze/forest.hpp"
#include "lrid/analyze/forest_mpi.hpp"
#include "lrid/analyze/protocol.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"

using namespace lrid::analyze;
using nlohmann::json;

namespace {

struct Data {
  size_t n = 0, d = 0;
  std::vector<double> X;
  std::vector<int32_t> y;
  std::vector<uint32_t> train, test;
};

std::vector<hsize_t> dims_of(hid_t ds) {
  hid_t sp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  H5Sclose(sp);
  return dims;
}

template <class T>
std::vector<T> read_all(hid_t file, const char* name, hid_t mem_type, std::vector<hsize_t>& dims,
                        const std::string& path) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) throw lrid::BadInput(path + ": no dataset '" + name + "'");
  dims = dims_of(ds);
  size_t count = 1;
  for (hsize_t v : dims) count *= v;
  std::vector<T> out(count);
  const herr_t rc = count ? H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) : 0;
  H5Dclose(ds);
  if (rc < 0) throw lrid::BadInput(path + ": cannot read dataset '" + name + "'");
  return out;
}

Data read_data(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw lrid::BadInput(path + ": cannot open as HDF5");
  Data D;
  std::vector<hsize_t> dx, dy, dt;
  D.X = read_all<double>(f, "X", H5T_NATIVE_DOUBLE, dx, path);
  D.y = read_all<int32_t>(f, "y", H5T_NATIVE_INT32, dy, path);
  if (dx.size() != 2 || dy.size() != 1 || dx[0] != dy[0])
    throw lrid::BadInput(path + ": expected X (n x d) and y (n)");
  D.n = dx[0];
  D.d = dx[1];
  if (H5Lexists(f, "train", H5P_DEFAULT) > 0 && H5Lexists(f, "test", H5P_DEFAULT) > 0) {
    D.train = read_all<uint32_t>(f, "train", H5T_NATIVE_UINT32, dt, path);
    D.test = read_all<uint32_t>(f, "test", H5T_NATIVE_UINT32, dt, path);
  }
  H5Fclose(f);
  return D;
}

uint64_t fnv(const void* p, size_t n, uint64_t h = 0xcbf29ce484222325ULL) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: lrid_forest_tool FILE.h5 [options] (see the source)\n";
    return 2;
  }
  std::string path = argv[1], save;
  ForestParams p;
  int splits = 10, repeat = 1;
  uint64_t seed = 0;
  bool mpi = false, zscore = true, check_load = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw lrid::BadInput(a + ": missing value");
      return argv[++i];
    };
    if (a == "--splits") splits = std::stoi(next());
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--trees") p.n_estimators = std::stoi(next());
    else if (a == "--max-features") p.max_features = MaxFeatures::parse(next());
    else if (a == "--max-depth") p.max_depth = std::stoi(next());
    else if (a == "--min-samples-leaf") p.min_samples_leaf = std::stoi(next());
    else if (a == "--no-bootstrap") p.bootstrap = false;
    else if (a == "--threads") p.threads = std::stoi(next());
    else if (a == "--repeat") repeat = std::max(1, std::stoi(next()));
    else if (a == "--no-zscore") zscore = false;
    else if (a == "--mpi") mpi = true;
    else if (a == "--save") save = next();
    else if (a == "--check-load") check_load = true;
    else throw lrid::BadInput("unknown option " + a);
  }
  int rank = 0, size = 1;
  if (mpi) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  Data D = read_data(path);
  int n_classes = 0;
  for (int32_t v : D.y) n_classes = std::max(n_classes, v + 1);
  std::vector<Split> sp;
  if (!D.train.empty()) sp.push_back({D.train, D.test});
  else sp = balanced_splits(D.y.data(), D.n, n_classes, splits, 0.75, seed);

  json out;
  out["n"] = D.n;
  out["d"] = D.d;
  out["classes"] = n_classes;
  out["ranks"] = size;
  out["threads"] = p.threads;
  out["trees"] = p.n_estimators;
  out["max_features"] = p.max_features.to_string();
  json js = json::array();
  uint64_t hp = 0xcbf29ce484222325ULL, hi = hp;
  double acc_sum = 0, fit_total = 0;
  bool load_identical = true;
  for (size_t s = 0; s < sp.size(); ++s) {
    std::vector<double> Xtr, Xte;
    if (zscore) {
      ZScore z;
      z.fit(D.X.data(), D.d, sp[s].train);
      Xtr = z.transform(D.X.data(), D.d, sp[s].train);
      Xte = z.transform(D.X.data(), D.d, sp[s].test);
    } else {
      Xtr = take_rows(D.X.data(), D.d, sp[s].train);
      Xte = take_rows(D.X.data(), D.d, sp[s].test);
    }
    const auto ytr = take_labels(D.y.data(), sp[s].train);
    const auto yte = take_labels(D.y.data(), sp[s].test);
    ForestParams ps = p;
    ps.seed = lrid::rng::hash_combine(seed, s);
    RandomForest rf(ps);
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
      if (mpi) MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = std::chrono::steady_clock::now();
      if (mpi) lrid::analyze::fit_distributed(rf, MPI_COMM_WORLD, Xtr.data(), ytr.data(), ytr.size(), D.d, n_classes);
      else rf.fit(Xtr.data(), ytr.data(), ytr.size(), D.d, n_classes);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const auto proba = rf.predict_proba(Xte.data(), yte.size());
    const auto pred = rf.predict(Xte.data(), yte.size());
    size_t ok = 0;
    for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == yte[i];
    const double acc = static_cast<double>(ok) / static_cast<double>(pred.size());
    hp = fnv(proba.data(), proba.size() * sizeof(double), hp);
    hi = fnv(rf.feature_importances().data(), rf.feature_importances().size() * sizeof(double), hi);
    if (check_load && rank == 0) {
      const std::string tmp = (save.empty() ? std::string("/tmp/lrid_forest_tool") : save) + ".check";
      rf.save(tmp);
      const RandomForest back = RandomForest::load(tmp);
      const auto p2 = back.predict_proba(Xte.data(), yte.size());
      load_identical = load_identical &&
                       std::memcmp(p2.data(), proba.data(), proba.size() * sizeof(double)) == 0 &&
                       back.feature_importances() == rf.feature_importances();
      std::remove(tmp.c_str());
    }
    if (!save.empty() && s + 1 == sp.size() && rank == 0) rf.save(save);
    acc_sum += acc;
    fit_total += best;
    js.push_back({{"train", sp[s].train}, {"test", sp[s].test}, {"accuracy", acc},
                  {"fit_seconds", best}});
  }
  out["splits"] = js;
  out["mean_accuracy"] = acc_sum / static_cast<double>(sp.size());
  out["fit_seconds_total"] = fit_total;
  out["proba_fnv"] = hex(hp);
  out["importance_fnv"] = hex(hi);
  if (check_load) out["load_identical"] = load_identical;
  bool agree = true;
  if (mpi) {
    uint64_t mine[2] = {hp, hi};
    std::vector<uint64_t> all(2 * static_cast<size_t>(size));
    MPI_Allgather(mine, 2, MPI_UINT64_T, all.data(), 2, MPI_UINT64_T, MPI_COMM_WORLD);
    for (int r = 0; r < size; ++r)
      agree = agree && all[2 * static_cast<size_t>(r)] == hp && all[2 * static_cast<size_t>(r) + 1] == hi;
  }
  out["ranks_agree"] = agree;
  if (rank == 0) std::cout << out.dump() << std::endl;
  if (mpi) MPI_Finalize();
  return agree ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const lrid::BadInput& e) {
    std::cerr << "lrid_forest_tool: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "lrid_forest_tool: " << e.what() << "\n";
    return 1;
  }
}
