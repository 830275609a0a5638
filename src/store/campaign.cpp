#include "lrid/store/campaign.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>

#include "lrid/build_info.hpp"
#include "lrid/error.hpp"
#include "lrid/store/h5.hpp"

namespace lrid::store {

using h5::check;
using h5::Id;

const char* status_name(uint8_t s) {
  switch (s) {
    case kPending: return "pending";
    case kRunning: return "running";
    case kDone: return "done";
    case kFailed: return "failed";
    default: return "unknown";
  }
}

namespace {

constexpr const char* kFormat = "lrid-campaign-1";
constexpr size_t kErrorLen = 512;
constexpr size_t kLayerNameLen = 48;

struct SpecRow {
  int64_t id;
  char rule[8];
  char task[64];
  char architecture[16];
  int64_t batch_size;
  char model_seed[24];
  char dataset_seed[24];
  uint64_t model_seed_value;
  uint64_t dataset_seed_value;
  char hash[17];
  int32_t block;
};

template <size_t N>
void put(char (&dst)[N], const std::string& s) {
  std::memset(dst, 0, N);
  std::strncpy(dst, s.c_str(), N - 1);
}

Id spec_type() {
  Id t(check(H5Tcreate(H5T_COMPOUND, sizeof(SpecRow)), "H5Tcreate"));
  auto str = [&](const char* name, size_t off, size_t n) {
    Id s = h5::string_type(n);
    check(H5Tinsert(t, name, off, s), "H5Tinsert");
  };
  check(H5Tinsert(t, "id", HOFFSET(SpecRow, id), H5T_NATIVE_INT64), "H5Tinsert");
  str("rule", HOFFSET(SpecRow, rule), sizeof(SpecRow::rule));
  str("task", HOFFSET(SpecRow, task), sizeof(SpecRow::task));
  str("architecture", HOFFSET(SpecRow, architecture), sizeof(SpecRow::architecture));
  check(H5Tinsert(t, "batch_size", HOFFSET(SpecRow, batch_size), H5T_NATIVE_INT64), "H5Tinsert");
  str("model_seed", HOFFSET(SpecRow, model_seed), sizeof(SpecRow::model_seed));
  str("dataset_seed", HOFFSET(SpecRow, dataset_seed), sizeof(SpecRow::dataset_seed));
  check(H5Tinsert(t, "model_seed_value", HOFFSET(SpecRow, model_seed_value), H5T_NATIVE_UINT64),
        "H5Tinsert");
  check(H5Tinsert(t, "dataset_seed_value", HOFFSET(SpecRow, dataset_seed_value), H5T_NATIVE_UINT64),
        "H5Tinsert");
  str("hash", HOFFSET(SpecRow, hash), sizeof(SpecRow::hash));
  check(H5Tinsert(t, "block", HOFFSET(SpecRow, block), H5T_NATIVE_INT32), "H5Tinsert");
  return t;
}

// A dataset allocated at creation (contiguous, early allocation, fill value written), so later
// writes never touch metadata.
Id make_dataset(hid_t loc, const std::string& name, hid_t file_type, std::vector<hsize_t> dims,
                const void* fill = nullptr, hid_t fill_type = -1) {
  Id space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate"));
  Id dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  check(H5Pset_layout(dcpl, H5D_CONTIGUOUS), "H5Pset_layout");
  check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC), "H5Pset_fill_time");
  if (fill) check(H5Pset_fill_value(dcpl, fill_type, fill), "H5Pset_fill_value");
  return Id(check(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                  "create dataset " + name));
}

void write_all(hid_t dset, hid_t mem_type, const void* data) {
  check(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite");
}

// Writes/reads a hyperslab starting at `start` of extent `count` in dataset `dset`.
void slab_io(hid_t dset, hid_t mem_type, const std::vector<hsize_t>& start,
             const std::vector<hsize_t>& count, void* data, bool write, hid_t dxpl) {
  Id fspace(check(H5Dget_space(dset), "H5Dget_space"));
  check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        "H5Sselect_hyperslab");
  Id mspace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate"));
  if (write)
    check(H5Dwrite(dset, mem_type, mspace, fspace, dxpl, data), "H5Dwrite");
  else
    check(H5Dread(dset, mem_type, mspace, fspace, dxpl, data), "H5Dread");
}

std::string now_iso() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

bool file_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

struct Campaign::Handles {
  Id file;
  Id status, attempts, wall, final_loss, final_metric, error, steps, loss, values, layer_count,
      layer_name, layer_depth, spec;
  Id dxpl;  // independent transfers
};

void Campaign::create(const std::string& path, const config::JobSpec& job,
                      const std::vector<std::vector<LayerMeta>>& layers, const Layout& layout,
                      const Shard& shard, bool overwrite) {
  h5::silence_errors();
  if (!overwrite && file_exists(path))
    throw BadInput(path + ": campaign file already exists; use --resume to continue it or "
                          "--force to replace it");
  if (job.yaml_text.size() > 60000)
    throw BadInput(job.path + ": the job file is over 60 kB, too large to store in the campaign");
  const int64_t R = static_cast<int64_t>(job.runs.size());
  if (static_cast<int64_t>(layers.size()) != R || layout.runs != R)
    throw std::logic_error("Campaign::create: layer list does not match the runs");

  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  {
    Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file.valid()) throw BadInput(path + ": cannot create the campaign file (is the directory writable?)");
    h5::write_string_attr(file, "format", kFormat);
    h5::write_string_attr(file, "lrid_version", kVersion);
    h5::write_string_attr(file, "job_name", job.name);
    h5::write_string_attr(file, "job_hash", job.hash);
    h5::write_string_attr(file, "job_file", job.path);
    h5::write_string_attr(file, "job_yaml", job.yaml_text);
    h5::write_string_attr(file, "created", now_iso());
    h5::write_int_attr(file, "shard_index", shard.index);
    h5::write_int_attr(file, "shard_count", shard.count);

    Id runs(check(H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create /runs"));
    std::vector<SpecRow> rows(R);
    for (int64_t i = 0; i < R; ++i) {
      const auto& r = job.runs[i];
      SpecRow& s = rows[i];
      s.id = r.id;
      put(s.rule, r.rule);
      put(s.task, r.task);
      put(s.architecture, r.arch);
      s.batch_size = r.batch_size;
      put(s.model_seed, r.model_seed.str());
      put(s.dataset_seed, r.dataset_seed.str());
      s.model_seed_value = r.model_seed_value;
      s.dataset_seed_value = r.dataset_seed_value;
      put(s.hash, r.hash);
      s.block = r.block;
    }
    const hsize_t uR = static_cast<hsize_t>(R), uT = static_cast<hsize_t>(layout.points),
                  uL = static_cast<hsize_t>(layout.layers);
    {
      Id st = spec_type();
      Id d = make_dataset(runs, "spec", st, {uR});
      write_all(d, st, rows.data());
    }
    const uint8_t pending = kPending;
    {
      Id d = make_dataset(runs, "status", H5T_STD_U8LE, {uR}, &pending, H5T_NATIVE_UINT8);
      h5::write_string_attr(d, "legend", "0 pending, 1 running, 2 done, 3 failed");
    }
    const int32_t zero = 0;
    make_dataset(runs, "attempts", H5T_STD_I32LE, {uR}, &zero, H5T_NATIVE_INT32);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    make_dataset(runs, "wall_seconds", H5T_IEEE_F64LE, {uR}, &nan, H5T_NATIVE_DOUBLE);
    make_dataset(runs, "final_loss", H5T_IEEE_F64LE, {uR}, &nan, H5T_NATIVE_DOUBLE);
    {
      Id d = make_dataset(runs, "final_metric", H5T_IEEE_F64LE, {uR}, &nan, H5T_NATIVE_DOUBLE);
      h5::write_string_attr(d, "metric",
                            "supervised: test accuracy; simclr: positive-pair top-1 accuracy");
    }
    {
      Id et = h5::string_type(kErrorLen);
      make_dataset(runs, "error", et, {uR});
    }
    const int64_t minus1 = -1;
    make_dataset(runs, "steps", H5T_STD_I64LE, {uR, uT}, &minus1, H5T_NATIVE_INT64);
    make_dataset(runs, "loss", H5T_IEEE_F64LE, {uR, uT}, &nan, H5T_NATIVE_DOUBLE);

    Id lg(check(H5Gcreate2(file, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create /layers"));
    std::vector<int32_t> counts(R);
    std::vector<char> names(static_cast<size_t>(R * layout.layers) * kLayerNameLen, 0);
    std::vector<int8_t> depths(static_cast<size_t>(R * layout.layers), -1);
    for (int64_t r = 0; r < R; ++r) {
      counts[r] = static_cast<int32_t>(layers[r].size());
      if (counts[r] > layout.layers) throw std::logic_error("Campaign::create: too many layers");
      for (size_t l = 0; l < layers[r].size(); ++l) {
        const size_t k = static_cast<size_t>(r * layout.layers) + l;
        std::strncpy(&names[k * kLayerNameLen], layers[r][l].name.c_str(), kLayerNameLen - 1);
        depths[k] = static_cast<int8_t>(layers[r][l].depth);
      }
    }
    {
      Id d = make_dataset(lg, "count", H5T_STD_I32LE, {uR});
      write_all(d, H5T_NATIVE_INT32, counts.data());
    }
    {
      Id nt = h5::string_type(kLayerNameLen);
      Id d = make_dataset(lg, "name", nt, {uR, uL});
      write_all(d, nt, names.data());
    }
    {
      Id d = make_dataset(lg, "depth", H5T_STD_I8LE, {uR, uL});
      write_all(d, H5T_NATIVE_INT8, depths.data());
      h5::write_string_attr(d, "legend", "0 early, 1 middle, 2 deep, -1 no layer");
    }

    Id og(check(H5Gcreate2(file, "observables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "create /observables"));
    const float fnan = std::numeric_limits<float>::quiet_NaN();
    Id v = make_dataset(og, "values", H5T_IEEE_F32LE,
                        {uR, uL, static_cast<hsize_t>(layout.conditions), uT,
                         static_cast<hsize_t>(layout.statistics)},
                        &fnan, H5T_NATIVE_FLOAT);
    h5::write_string_attr(v, "axes", "runs, layers, conditions, points, statistics");
    h5::write_strings_attr(v, "statistics", layout.statistic_names);
    std::vector<std::string> cn;
    std::vector<double> cf, cs;
    for (const auto& c : layout.conditions_meta) {
      cn.push_back(c.name);
      cf.push_back(c.fraction);
      cs.push_back(c.noise);
    }
    h5::write_strings_attr(v, "conditions", cn);
    h5::write_doubles_attr(v, "condition_fraction", cf);
    h5::write_doubles_attr(v, "condition_noise", cs);
    h5::write_int_attr(v, "condition_seed", layout.condition_seed);
    h5::write_int_attr(v, "points", layout.points);
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "H5Fflush");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw BadInput(path + ": cannot move the new campaign file into place");
  }
}

std::unique_ptr<Campaign> Campaign::open_read(const std::string& path) {
  return open_impl(path, MPI_COMM_NULL, false);
}

std::unique_ptr<Campaign> Campaign::open_impl(const std::string& path, MPI_Comm comm,
                                              bool writable) {
  h5::silence_errors();
  if (!file_exists(path)) throw BadInput(path + ": no such campaign file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw BadInput(path + ": not an HDF5 file");
  std::unique_ptr<Campaign> c(new Campaign());
  c->h_ = std::make_unique<Handles>();
  c->path_ = path;
  c->writable_ = writable;
  Id fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  if (comm != MPI_COMM_NULL) check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  // Serial writers: no sieve buffer, so every write reaches the file at once (HDF5 would keep
  // small raw-data writes, e.g. a run's status, in memory until a flush; a killed process,
  // such as a cancelled Slurm task, would lose runs already marked done).
  if (comm == MPI_COMM_NULL && writable) check(H5Pset_sieve_buf_size(fapl, 0), "H5Pset_sieve_buf_size");
  Id file(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl));
  if (!file.valid()) throw BadInput(path + ": cannot open the campaign file (not HDF5, damaged or not writable)");
  c->h_->file = std::move(file);
  Handles& h = *c->h_;
  if (!h5::has_attr(h.file, "format") || h5::read_string_attr(h.file, "format") != kFormat)
    throw BadInput(path + ": not an lrid campaign file (attribute format != " + kFormat + ")");
  auto d = [&](const char* name) {
    return Id(check(H5Dopen2(h.file, name, H5P_DEFAULT), std::string("open ") + name));
  };
  h.spec = d("/runs/spec");
  h.status = d("/runs/status");
  h.attempts = d("/runs/attempts");
  h.wall = d("/runs/wall_seconds");
  h.final_loss = d("/runs/final_loss");
  h.final_metric = d("/runs/final_metric");
  h.error = d("/runs/error");
  h.steps = d("/runs/steps");
  h.loss = d("/runs/loss");
  h.layer_count = d("/layers/count");
  h.layer_name = d("/layers/name");
  h.layer_depth = d("/layers/depth");
  h.values = d("/observables/values");
  h.dxpl = Id(check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"));
  if (comm != MPI_COMM_NULL)
    check(H5Pset_dxpl_mpio(h.dxpl, H5FD_MPIO_INDEPENDENT), "H5Pset_dxpl_mpio");

  c->job_hash_ = h5::read_string_attr(h.file, "job_hash");
  c->job_name_ = h5::read_string_attr(h.file, "job_name");
  c->job_yaml_ = h5::read_string_attr(h.file, "job_yaml");
  c->shard_ = Shard{h5::read_int_attr(h.file, "shard_index"), h5::read_int_attr(h.file, "shard_count")};
  Layout& L = c->layout_;
  {
    Id space(check(H5Dget_space(h.values), "space"));
    hsize_t dims[5];
    if (H5Sget_simple_extent_ndims(space) != 5) throw BadInput(path + ": /observables/values is not 5-D");
    H5Sget_simple_extent_dims(space, dims, nullptr);
    L.runs = static_cast<int64_t>(dims[0]);
    L.layers = static_cast<int64_t>(dims[1]);
    L.conditions = static_cast<int64_t>(dims[2]);
    L.points = static_cast<int64_t>(dims[3]);
    L.statistics = static_cast<int64_t>(dims[4]);
    L.statistic_names = h5::read_strings_attr(h.values, "statistics");
    const auto names = h5::read_strings_attr(h.values, "conditions");
    const auto fr = h5::read_doubles_attr(h.values, "condition_fraction");
    const auto no = h5::read_doubles_attr(h.values, "condition_noise");
    for (size_t i = 0; i < names.size(); ++i) L.conditions_meta.push_back({names[i], fr.at(i), no.at(i)});
    L.condition_seed = h5::read_int_attr(h.values, "condition_seed");
  }
  return c;
}

std::unique_ptr<Campaign> Campaign::open(const std::string& path, const config::JobSpec& job,
                                         MPI_Comm comm, bool writable) {
  auto c = open_impl(path, comm, writable);

  // The file must belong to this job: same job hash; otherwise say which runs would change.
  if (c->job_hash_ != job.hash) {
    const auto stored = c->runs();
    std::vector<std::string> changed;
    const size_t n = std::max(stored.size(), job.runs.size());
    for (size_t i = 0; i < n; ++i) {
      const bool same = i < stored.size() && i < job.runs.size() && stored[i].hash == job.runs[i].hash;
      if (!same) changed.push_back(std::to_string(i));
    }
    std::string list;
    for (size_t i = 0; i < changed.size() && i < 12; ++i) list += (i ? "," : "") + changed[i];
    if (changed.size() > 12) list += ",... (" + std::to_string(changed.size()) + " in all)";
    throw BadInput(path + ": campaign file belongs to job '" + c->job_name_ + "' (hash " +
                   c->job_hash_ + "), not to " + job.path + " (hash " + job.hash + ")" +
                   (changed.empty() ? std::string() : "; runs that would change: " + list) +
                   "; use a new --out file");
  }
  return c;
}

Campaign::~Campaign() = default;

void Campaign::write_run(const RunResult& r) {
  if (!writable_) throw std::logic_error("campaign opened read-only");
  const Layout& L = layout_;
  const hsize_t id = static_cast<hsize_t>(r.run_id);
  const size_t per_layer = static_cast<size_t>(L.conditions * L.points * L.statistics);
  if (r.values.size() != per_layer * static_cast<size_t>(r.layer_count) || r.layer_count > L.layers ||
      static_cast<int64_t>(r.steps.size()) != L.points || static_cast<int64_t>(r.loss.size()) != L.points)
    throw std::logic_error("Campaign::write_run: result does not match the file's layout");
  Handles& h = *h_;
  if (r.layer_count > 0)
    slab_io(h.values, H5T_NATIVE_FLOAT, {id, 0, 0, 0, 0},
            {1, static_cast<hsize_t>(r.layer_count), static_cast<hsize_t>(L.conditions),
             static_cast<hsize_t>(L.points), static_cast<hsize_t>(L.statistics)},
            const_cast<float*>(r.values.data()), true, h.dxpl);
  slab_io(h.steps, H5T_NATIVE_INT64, {id, 0}, {1, static_cast<hsize_t>(L.points)},
          const_cast<int64_t*>(r.steps.data()), true, h.dxpl);
  slab_io(h.loss, H5T_NATIVE_DOUBLE, {id, 0}, {1, static_cast<hsize_t>(L.points)},
          const_cast<double*>(r.loss.data()), true, h.dxpl);
  double w = r.wall_seconds, fl = r.final_loss, fm = r.final_metric;
  slab_io(h.wall, H5T_NATIVE_DOUBLE, {id}, {1}, &w, true, h.dxpl);
  slab_io(h.final_loss, H5T_NATIVE_DOUBLE, {id}, {1}, &fl, true, h.dxpl);
  slab_io(h.final_metric, H5T_NATIVE_DOUBLE, {id}, {1}, &fm, true, h.dxpl);
  // Only now, with its data in the file, is the run marked done.
  uint8_t done = kDone;
  slab_io(h.status, H5T_NATIVE_UINT8, {id}, {1}, &done, true, h.dxpl);
  std::vector<char> empty(kErrorLen, 0);
  Id et = h5::string_type(kErrorLen);
  slab_io(h.error, et, {id}, {1}, empty.data(), true, h.dxpl);
}

void Campaign::set_status(int64_t run_id, uint8_t status, int32_t attempts, const std::string& error) {
  if (!writable_) throw std::logic_error("campaign opened read-only");
  Handles& h = *h_;
  const hsize_t id = static_cast<hsize_t>(run_id);
  std::vector<char> e(kErrorLen, 0);
  std::strncpy(e.data(), error.c_str(), kErrorLen - 1);
  Id et = h5::string_type(kErrorLen);
  slab_io(h.error, et, {id}, {1}, e.data(), true, h.dxpl);
  slab_io(h.attempts, H5T_NATIVE_INT32, {id}, {1}, &attempts, true, h.dxpl);
  slab_io(h.status, H5T_NATIVE_UINT8, {id}, {1}, &status, true, h.dxpl);
}

void Campaign::copy_run(const Campaign& src, int64_t run_id) {
  if (!writable_) throw std::logic_error("campaign opened read-only");
  const Layout& L = layout_;
  const Layout& S = src.layout_;
  if (L.layers != S.layers || L.conditions != S.conditions || L.points != S.points ||
      L.statistics != S.statistics || L.runs != S.runs)
    throw BadInput(src.path_ + ": layout differs from " + path_);
  Handles& d = *h_;
  Handles& s = *src.h_;
  const hsize_t id = static_cast<hsize_t>(run_id);
  auto copy = [&](hid_t from, hid_t to, hid_t type, std::vector<hsize_t> start,
                  std::vector<hsize_t> count, size_t bytes) {
    std::vector<char> buf(bytes);
    slab_io(from, type, start, count, buf.data(), false, s.dxpl);
    slab_io(to, type, start, count, buf.data(), true, d.dxpl);
  };
  const hsize_t uL = static_cast<hsize_t>(L.layers), uC = static_cast<hsize_t>(L.conditions),
                uT = static_cast<hsize_t>(L.points), uS = static_cast<hsize_t>(L.statistics);
  copy(s.values, d.values, H5T_NATIVE_FLOAT, {id, 0, 0, 0, 0}, {1, uL, uC, uT, uS},
       uL * uC * uT * uS * sizeof(float));
  copy(s.steps, d.steps, H5T_NATIVE_INT64, {id, 0}, {1, uT}, uT * sizeof(int64_t));
  copy(s.loss, d.loss, H5T_NATIVE_DOUBLE, {id, 0}, {1, uT}, uT * sizeof(double));
  for (auto pair : {std::make_pair(s.wall.get(), d.wall.get()),
                    std::make_pair(s.final_loss.get(), d.final_loss.get()),
                    std::make_pair(s.final_metric.get(), d.final_metric.get())})
    copy(pair.first, pair.second, H5T_NATIVE_DOUBLE, {id}, {1}, sizeof(double));
  {
    Id et = h5::string_type(kErrorLen);
    copy(s.error, d.error, et, {id}, {1}, kErrorLen);
  }
  copy(s.attempts, d.attempts, H5T_NATIVE_INT32, {id}, {1}, sizeof(int32_t));
  copy(s.status, d.status, H5T_NATIVE_UINT8, {id}, {1}, 1);
}

std::vector<uint8_t> Campaign::statuses() const {
  std::vector<uint8_t> s(static_cast<size_t>(layout_.runs));
  Handles& h = *h_;
  if (!s.empty()) check(H5Dread(h.status, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, h.dxpl, s.data()), "read status");
  return s;
}

RunRecord Campaign::record(int64_t run_id) const {
  Handles& h = *h_;
  const hsize_t id = static_cast<hsize_t>(run_id);
  RunRecord r;
  slab_io(h.status, H5T_NATIVE_UINT8, {id}, {1}, &r.status, false, h.dxpl);
  slab_io(h.attempts, H5T_NATIVE_INT32, {id}, {1}, &r.attempts, false, h.dxpl);
  slab_io(h.wall, H5T_NATIVE_DOUBLE, {id}, {1}, &r.wall_seconds, false, h.dxpl);
  slab_io(h.final_loss, H5T_NATIVE_DOUBLE, {id}, {1}, &r.final_loss, false, h.dxpl);
  slab_io(h.final_metric, H5T_NATIVE_DOUBLE, {id}, {1}, &r.final_metric, false, h.dxpl);
  std::vector<char> e(kErrorLen + 1, 0);
  Id et = h5::string_type(kErrorLen);
  slab_io(h.error, et, {id}, {1}, e.data(), false, h.dxpl);
  r.error = e.data();
  return r;
}

std::vector<RunRecord> Campaign::records() const {
  std::vector<RunRecord> out;
  for (int64_t i = 0; i < layout_.runs; ++i) out.push_back(record(i));
  return out;
}

std::vector<LayerMeta> Campaign::layers(int64_t run_id) const {
  Handles& h = *h_;
  const hsize_t id = static_cast<hsize_t>(run_id);
  int32_t count = 0;
  slab_io(h.layer_count, H5T_NATIVE_INT32, {id}, {1}, &count, false, h.dxpl);
  const hsize_t L = static_cast<hsize_t>(layout_.layers);
  std::vector<char> names(L * kLayerNameLen, 0);
  std::vector<int8_t> depth(L, -1);
  Id nt = h5::string_type(kLayerNameLen);
  slab_io(h.layer_name, nt, {id, 0}, {1, L}, names.data(), false, h.dxpl);
  slab_io(h.layer_depth, H5T_NATIVE_INT8, {id, 0}, {1, L}, depth.data(), false, h.dxpl);
  std::vector<LayerMeta> out;
  for (int32_t l = 0; l < count; ++l)
    out.push_back({std::string(&names[static_cast<size_t>(l) * kLayerNameLen]), depth[static_cast<size_t>(l)]});
  return out;
}

std::vector<float> Campaign::values(int64_t run_id) const {
  Handles& h = *h_;
  const Layout& L = layout_;
  const auto n = layers(run_id).size();
  std::vector<float> v(n * static_cast<size_t>(L.conditions * L.points * L.statistics));
  if (n)
    slab_io(h.values, H5T_NATIVE_FLOAT, {static_cast<hsize_t>(run_id), 0, 0, 0, 0},
            {1, n, static_cast<hsize_t>(L.conditions), static_cast<hsize_t>(L.points),
             static_cast<hsize_t>(L.statistics)},
            v.data(), false, h.dxpl);
  return v;
}

std::vector<config::RunSpec> Campaign::runs() const {
  Handles& h = *h_;
  Id space(check(H5Dget_space(h.spec), "space"));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  std::vector<SpecRow> rows(static_cast<size_t>(n));
  Id st = spec_type();
  if (n) check(H5Dread(h.spec, st, H5S_ALL, H5S_ALL, h.dxpl, rows.data()), "read spec");
  std::vector<config::RunSpec> out;
  for (const auto& s : rows) {
    config::RunSpec r;
    r.id = s.id;
    r.rule = s.rule;
    r.task = s.task;
    r.arch = s.architecture;
    r.batch_size = s.batch_size;
    auto seed = [](const char* str) {
      config::Seed sd;
      if (std::string(str) != "unfixed") sd.fixed = true, sd.value = std::atoll(str);
      return sd;
    };
    r.model_seed = seed(s.model_seed);
    r.dataset_seed = seed(s.dataset_seed);
    r.model_seed_value = s.model_seed_value;
    r.dataset_seed_value = s.dataset_seed_value;
    r.hash = s.hash;
    r.block = s.block;
    out.push_back(r);
  }
  return out;
}

}  // namespace lrid::store
