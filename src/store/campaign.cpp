#include "lrid/store/campaign.hpp"

#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "lrid/build_info.hpp"
#include "lrid/error.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/util/text.hpp"

namespace lrid::store {

using h5::check;
using h5::Id;

bool Shard::contains(int64_t run_id) const {
  if (runs.empty()) return count == 1;
  return std::binary_search(runs.begin(), runs.end(), run_id);
}

namespace {

constexpr size_t kErrorLen = 512;
constexpr size_t kDeviceLen = 32;

// The spec row in memory: strings as char* for HDF5's variable-length string type.
struct SpecRow {
  int64_t id;
  const char* rule;
  const char* task;
  const char* architecture;
  int64_t batch_size;
  const char* model_seed;
  const char* dataset_seed;
  uint64_t model_seed_value;
  uint64_t dataset_seed_value;
  const char* hash;
  int32_t block;
};

Id spec_type() {
  Id t(check(H5Tcreate(H5T_COMPOUND, sizeof(SpecRow)), "H5Tcreate"));
  Id str = h5::vlen_string_type();
  auto ins = [&](const char* name, size_t off, hid_t type) { check(H5Tinsert(t, name, off, type), "H5Tinsert"); };
  ins("id", HOFFSET(SpecRow, id), H5T_NATIVE_INT64);
  ins("rule", HOFFSET(SpecRow, rule), str);
  ins("task", HOFFSET(SpecRow, task), str);
  ins("architecture", HOFFSET(SpecRow, architecture), str);
  ins("batch_size", HOFFSET(SpecRow, batch_size), H5T_NATIVE_INT64);
  ins("model_seed", HOFFSET(SpecRow, model_seed), str);
  ins("dataset_seed", HOFFSET(SpecRow, dataset_seed), str);
  ins("model_seed_value", HOFFSET(SpecRow, model_seed_value), H5T_NATIVE_UINT64);
  ins("dataset_seed_value", HOFFSET(SpecRow, dataset_seed_value), H5T_NATIVE_UINT64);
  ins("hash", HOFFSET(SpecRow, hash), str);
  ins("block", HOFFSET(SpecRow, block), H5T_NATIVE_INT32);
  return t;
}

// A dataset allocated at creation (early allocation, fill value written), so later writes never
// touch metadata. chunk: empty = contiguous.
Id make_dataset(hid_t loc, const std::string& name, hid_t file_type, std::vector<hsize_t> dims,
                const void* fill = nullptr, hid_t fill_type = -1, std::vector<hsize_t> chunk = {}) {
  Id space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate"));
  Id dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  const bool chunked = !chunk.empty() && dims[0] > 0;
  if (chunked) {
    check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk");
  } else {
    check(H5Pset_layout(dcpl, H5D_CONTIGUOUS), "H5Pset_layout");
  }
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

bool file_exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string fixed(const std::vector<char>& buf) { return std::string(buf.data(), strnlen(buf.data(), buf.size())); }

// The file's dimensions: runs, trajectory points, layers (at least 1), conditions, statistics.
struct Dims {
  hsize_t runs, points, layers, conditions, statistics;
};

// Root attributes: format and version, the job (name, hash, path, YAML text), the shard.
void write_file_attributes(hid_t file, const CampaignDescription& job, const Shard& shard) {
  h5::write_header(file, {kCampaignFormat, "", "", job.name, job.hash, std::nullopt});
  h5::write_string_attr(file, "job_file", job.file);
  h5::write_string_attr(file, "job_yaml", job.yaml);
  h5::write_int_attr(file, "shard_index", shard.index);
  h5::write_int_attr(file, "shard_count", shard.count);
  h5::write_int_attr(file, "job_runs", static_cast<int64_t>(job.runs.size()));
}

// /runs: the run table (job ids, specs) and the per-run results, initialised as not trained.
void write_runs_group(hid_t file, const CampaignDescription& job, const std::vector<int64_t>& ids, const Dims& dims) {
  const int64_t R = static_cast<int64_t>(ids.size());
  const hsize_t uR = dims.runs, uT = dims.points;
  Id runs(check(H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create /runs"));
  h5::write_int64s(file, "/runs/job_id", ids);
  {
    std::vector<std::string> keep;  // the strings the rows point into
    keep.reserve(static_cast<size_t>(R) * 3);
    std::vector<SpecRow> rows(static_cast<size_t>(R));
    for (int64_t i = 0; i < R; ++i) {
      const auto& r = job.runs.at(static_cast<size_t>(ids[static_cast<size_t>(i)]));
      SpecRow& s = rows[static_cast<size_t>(i)];
      s.id = r.id;
      s.rule = r.rule.c_str();
      s.task = r.task.c_str();
      s.architecture = r.arch.c_str();
      s.batch_size = r.batch_size;
      keep.push_back(r.model_seed);
      keep.push_back(r.dataset_seed);
      s.model_seed_value = r.model_seed_value;
      s.dataset_seed_value = r.dataset_seed_value;
      s.hash = r.hash.c_str();
      s.block = r.block;
    }
    for (int64_t i = 0; i < R; ++i) {
      rows[static_cast<size_t>(i)].model_seed = keep[static_cast<size_t>(2 * i)].c_str();
      rows[static_cast<size_t>(i)].dataset_seed = keep[static_cast<size_t>(2 * i + 1)].c_str();
    }
    Id st = spec_type();
    Id d = make_dataset(runs, "spec", st, {uR});
    if (R) write_all(d, st, rows.data());
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
  make_dataset(runs, "metric_chance", H5T_IEEE_F64LE, {uR}, &nan, H5T_NATIVE_DOUBLE);
  {
    Id dt = h5::string_type(kDeviceLen);
    make_dataset(runs, "device", dt, {uR});
    Id et = h5::string_type(kErrorLen);
    make_dataset(runs, "error", et, {uR});
  }
  const int64_t minus1 = -1;
  make_dataset(runs, "steps", H5T_STD_I64LE, {uR, uT}, &minus1, H5T_NATIVE_INT64);
  make_dataset(runs, "loss", H5T_IEEE_F64LE, {uR, uT}, &nan, H5T_NATIVE_DOUBLE);
}

// /layers: per run its layers' count, names and depth class; the unit counts come with the run.
void write_layers_group(hid_t file, const std::vector<std::vector<LayerMeta>>& layers, const Layout& layout,
                        const Dims& dims) {
  const int64_t R = static_cast<int64_t>(dims.runs);
  const hsize_t uR = dims.runs, uL = dims.layers;
  const int64_t minus1 = -1;  // not yet known: written with the run
  Id lg(check(H5Gcreate2(file, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "create /layers"));
  std::vector<int32_t> counts(static_cast<size_t>(R));
  std::vector<std::string> names(static_cast<size_t>(R) * uL);
  std::vector<int8_t> depths(static_cast<size_t>(R) * uL, -1);
  for (int64_t r = 0; r < R; ++r) {
    counts[static_cast<size_t>(r)] = static_cast<int32_t>(layers[static_cast<size_t>(r)].size());
    if (counts[static_cast<size_t>(r)] > layout.layers) throw std::logic_error("Campaign::create: too many layers");
    for (size_t l = 0; l < layers[static_cast<size_t>(r)].size(); ++l) {
      const size_t k = static_cast<size_t>(r) * uL + l;
      names[k] = layers[static_cast<size_t>(r)][l].name;
      depths[k] = static_cast<int8_t>(layers[static_cast<size_t>(r)][l].depth);
    }
  }
  {
    Id d = make_dataset(lg, "count", H5T_STD_I32LE, {uR});
    if (R) write_all(d, H5T_NATIVE_INT32, counts.data());
  }
  h5::write_strings(file, "/layers/name", names, {uR, uL});
  {
    Id d = make_dataset(lg, "depth", H5T_STD_I8LE, {uR, uL});
    if (R) write_all(d, H5T_NATIVE_INT8, depths.data());
    h5::write_string_attr(d, "legend", "0 early, 1 middle, 2 deep, -1 no layer");
  }
  make_dataset(lg, "act_units", H5T_STD_I64LE, {uR, uL}, &minus1, H5T_NATIVE_INT64);
  make_dataset(lg, "weight_entries", H5T_STD_I64LE, {uR, uL}, &minus1, H5T_NATIVE_INT64);
}

// /observables (the values and their axes) and /diagnostics (the learning-rule angles), with
// HDF5 dimension scales so that h5py, xarray and HDFView show labelled axes.
void write_observables_groups(hid_t file, const Layout& layout, const Dims& dims) {
  const hsize_t uR = dims.runs, uT = dims.points, uL = dims.layers, uC = dims.conditions, uS = dims.statistics;
  const int64_t R = static_cast<int64_t>(dims.runs);
  Id og(check(H5Gcreate2(file, "observables", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              "create /observables"));
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  {
    Id v = make_dataset(og, "values", H5T_IEEE_F32LE, {uR, uL, uC, uT, uS}, &fnan, H5T_NATIVE_FLOAT,
                        {1, uL, uC, uT, uS});
    h5::write_int_attr(v, "condition_seed", layout.condition_seed);
  }
  std::vector<std::string> cn;
  std::vector<double> cf, cs;
  std::vector<int64_t> cu, pts(uT), lay(uL);
  for (const auto& c : layout.conditions_meta) {
    cn.push_back(c.name);
    cf.push_back(c.fraction);
    cs.push_back(c.noise);
    cu.push_back(c.units);
  }
  std::iota(pts.begin(), pts.end(), 0);
  std::iota(lay.begin(), lay.end(), 0);
  h5::write_strings(file, "/observables/statistic", layout.statistic_names);
  h5::write_strings(file, "/observables/condition", cn);
  h5::write_doubles(file, "/observables/condition_fraction", cf);
  h5::write_doubles(file, "/observables/condition_noise", cs);
  h5::write_int64s(file, "/observables/condition_units", cu);
  h5::write_int64s(file, "/observables/point", pts);
  h5::write_int64s(file, "/observables/layer", lay);
  Id dg(check(H5Gcreate2(file, "diagnostics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              "create /diagnostics"));
  for (const char* name : {"wb_angle", "grad_angle"}) {
    Id d = make_dataset(dg, name, H5T_IEEE_F32LE, {uR, uL, uT}, &fnan, H5T_NATIVE_FLOAT, {1, uL, uT});
    h5::write_string_attr(d, "units", "degrees");
  }
  if (R > 0) {
    const char* values = "/observables/values";
    h5::attach_scale(file, values, "/runs/job_id", 0, "run");
    h5::attach_scale(file, values, "/observables/layer", 1, "layer");
    h5::attach_scale(file, values, "/observables/condition", 2, "condition");
    h5::attach_scale(file, values, "/observables/point", 3, "point");
    h5::attach_scale(file, values, "/observables/statistic", 4, "statistic");
    for (const char* d : {"/diagnostics/wb_angle", "/diagnostics/grad_angle"}) {
      h5::attach_scale(file, d, "/runs/job_id", 0, "run");
      h5::attach_scale(file, d, "/observables/layer", 1, "layer");
      h5::attach_scale(file, d, "/observables/point", 2, "point");
    }
  }
}

}  // namespace

struct Campaign::Handles {
  Id file;
  Id status, attempts, wall, final_loss, final_metric, metric_chance, device, error, steps, loss,
      values, wb_angle, grad_angle, layer_count, layer_depth, act_units, weight_entries;
  Id dxpl;  // independent transfers
};

void Campaign::create(const std::string& path, const CampaignDescription& job,
                      const std::vector<std::vector<LayerMeta>>& layers, const Layout& layout,
                      const Shard& shard, bool overwrite) {
  h5::silence_errors();
  if (!overwrite && file_exists(path))
    throw BadInput(path + ": campaign file already exists; use --resume to continue it or "
                          "--force to replace it");
  // --force replaces an earlier campaign only, never a file of another kind (a model, a job file).
  if (overwrite) h5::check_output(path, "--out", "lrid-campaign-", {}, true);
  std::vector<int64_t> ids = shard.runs;
  if (shard.all()) {
    ids.resize(job.runs.size());
    std::iota(ids.begin(), ids.end(), 0);
  }
  const int64_t R = static_cast<int64_t>(ids.size());
  if (static_cast<int64_t>(layers.size()) != R || layout.runs != R)
    throw std::logic_error("Campaign::create: layer list does not match the shard's runs");

  h5::write_new_file(path, "campaign file", [&](hid_t file) {
    write_file_attributes(file, job, shard);
    const Dims dims{static_cast<hsize_t>(R), static_cast<hsize_t>(layout.points),
                    static_cast<hsize_t>(std::max<int64_t>(layout.layers, 1)),
                    static_cast<hsize_t>(layout.conditions), static_cast<hsize_t>(layout.statistics)};
    write_runs_group(file, job, ids, dims);
    write_layers_group(file, layers, layout, dims);
    write_observables_groups(file, layout, dims);
  });
}

std::unique_ptr<Campaign> Campaign::open_read(const std::string& path) {
  return open_impl(path, MPI_COMM_NULL, false);
}

std::unique_ptr<Campaign> Campaign::open_impl(const std::string& path, MPI_Comm comm,
                                              bool writable) {
  // Any HDF5 failure reading it (a missing dataset, another type) is damage to the user's file.
  return h5::reading(path, [&]() -> std::unique_ptr<Campaign> {
    h5::silence_errors();
    if (!file_exists(path)) throw BadInput(path + ": no such campaign file");
    {
      struct stat st;
      // H5Fis_hdf5 would block on a FIFO and read a device for ever.
      if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw BadInput(path + ": not a regular file (expected a campaign file)");
    }
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
    if (!h5::has_attr(h.file, "format"))
      throw BadInput(path + ": not an lrid campaign file (no format attribute)");
    const std::string format = h5::read_string_attr(h.file, "format");
    if (format != kCampaignFormat)
      throw BadInput(path + ": campaign format '" + format + "', this lrid reads '" + kCampaignFormat +
                     "'" + (format.rfind("lrid-campaign-", 0) == 0
                                ? " (written by an older lrid; retrain it with this version)"
                                : " (not an lrid campaign file)"));
    auto d = [&](const char* name) {
      return Id(check(H5Dopen2(h.file, name, H5P_DEFAULT), std::string("open ") + name));
    };
    h.status = d("/runs/status");
    h.attempts = d("/runs/attempts");
    h.wall = d("/runs/wall_seconds");
    h.final_loss = d("/runs/final_loss");
    h.final_metric = d("/runs/final_metric");
    h.metric_chance = d("/runs/metric_chance");
    h.device = d("/runs/device");
    h.error = d("/runs/error");
    h.steps = d("/runs/steps");
    h.loss = d("/runs/loss");
    h.layer_count = d("/layers/count");
    h.layer_depth = d("/layers/depth");
    h.act_units = d("/layers/act_units");
    h.weight_entries = d("/layers/weight_entries");
    h.values = d("/observables/values");
    h.wb_angle = d("/diagnostics/wb_angle");
    h.grad_angle = d("/diagnostics/grad_angle");
    h.dxpl = Id(check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"));
    if (comm != MPI_COMM_NULL)
      check(H5Pset_dxpl_mpio(h.dxpl, H5FD_MPIO_INDEPENDENT), "H5Pset_dxpl_mpio");

    c->job_hash_ = h5::read_string_attr(h.file, "job_hash");
    c->job_name_ = h5::read_string_attr(h.file, "job_name");
    c->job_yaml_ = h5::read_string_attr(h.file, "job_yaml");
    c->job_runs_ = h5::read_int_attr(h.file, "job_runs");
    c->ids_ = h5::read_int64s(h.file, "/runs/job_id");
    for (size_t i = 0; i < c->ids_.size(); ++i) c->row_[c->ids_[i]] = i;
    c->shard_.index = h5::read_int_attr(h.file, "shard_index");
    c->shard_.count = h5::read_int_attr(h.file, "shard_count");
    if (c->shard_.count < 1 || c->shard_.index < 0 || c->shard_.index >= c->shard_.count)
      throw BadInput(path + ": shard_index " + std::to_string(c->shard_.index) + " of shard_count " +
                     std::to_string(c->shard_.count) + ": expected 0 <= shard_index < shard_count (damaged file)");
    if (c->shard_.count > 1) c->shard_.runs = c->ids_;
    Layout& L = c->layout_;
    {
      const auto dims = h5::dataset_dims(h.file, "/observables/values");
      if (dims.size() != 5) throw BadInput(path + ": /observables/values is not 5-D");
      L.runs = static_cast<int64_t>(dims[0]);
      L.layers = static_cast<int64_t>(dims[1]);
      L.conditions = static_cast<int64_t>(dims[2]);
      L.points = static_cast<int64_t>(dims[3]);
      L.statistics = static_cast<int64_t>(dims[4]);
      L.statistic_names = h5::read_strings(h.file, "/observables/statistic");
      const auto names = h5::read_strings(h.file, "/observables/condition");
      const auto fr = h5::read_doubles(h.file, "/observables/condition_fraction");
      const auto no = h5::read_doubles(h.file, "/observables/condition_noise");
      const auto un = h5::read_int64s(h.file, "/observables/condition_units");
      if (fr.size() != names.size() || no.size() != names.size() || un.size() != names.size() ||
          static_cast<int64_t>(names.size()) != L.conditions)
        throw BadInput(path + ": /observables/condition, condition_fraction, condition_noise and condition_units hold " +
                       std::to_string(names.size()) + ", " + std::to_string(fr.size()) + ", " + std::to_string(no.size()) +
                       " and " + std::to_string(un.size()) + " entries, expected the " + std::to_string(L.conditions) +
                       " conditions of /observables/values (damaged file)");
      if (static_cast<int64_t>(L.statistic_names.size()) != L.statistics)
        throw BadInput(path + ": /observables/statistic names " + std::to_string(L.statistic_names.size()) +
                       " statistics, /observables/values holds " + std::to_string(L.statistics) + " (damaged file)");
      for (size_t i = 0; i < names.size(); ++i) {
        if (!(fr[i] > 0 && fr[i] <= 1) || !(no[i] >= 0) || !std::isfinite(no[i]) || un[i] < 0)
          throw BadInput(path + ": /observables condition " + std::to_string(i) + " ('" + names[i] + "'): fraction " +
                         util::shortest(fr[i]) + ", noise " + util::shortest(no[i]) + ", units " + std::to_string(un[i]) +
                         "; expected a fraction in (0, 1], a finite noise >= 0 and units >= 0 (damaged file)");
        L.conditions_meta.push_back({names[i], fr[i], no[i], un[i]});
      }
      L.condition_seed = h5::read_int_attr(h.values, "condition_seed");
    }
    // Values every reader indexes with: checked once here, so a damaged file is one message,
    // not a read past an array (a layer count beyond the layer axis) or a silent miscount.
    {
      const int64_t R = L.runs;
      const auto status = h5::read_int64s(h.file, "/runs/status");
      const auto count = h5::read_int64s(h.file, "/layers/count");
      const auto depth = h5::read_int64s(h.file, "/layers/depth");
      if (static_cast<int64_t>(c->ids_.size()) != R || static_cast<int64_t>(status.size()) != R ||
          static_cast<int64_t>(count.size()) != R)
        throw BadInput(path + ": /runs/job_id, /runs/status and /layers/count hold " + std::to_string(c->ids_.size()) +
                       ", " + std::to_string(status.size()) + " and " + std::to_string(count.size()) +
                       " entries, expected the " + std::to_string(R) + " runs of /observables/values (damaged file)");
      for (int64_t r = 0; r < R; ++r) {
        const auto i = static_cast<size_t>(r);
        if (status[i] < kPending || status[i] > kFailed)
          throw BadInput(path + ": /runs/status[" + std::to_string(r) + "] is " + std::to_string(status[i]) +
                         ", expected 0 (pending), 1 (running), 2 (done) or 3 (failed) (damaged file)");
        if (count[i] < 0 || count[i] > L.layers)
          throw BadInput(path + ": /layers/count[" + std::to_string(r) + "] is " + std::to_string(count[i]) +
                         ", expected 0.." + std::to_string(L.layers) + " (the layer axis of /observables/values)");
      }
      for (size_t i = 0; i < depth.size(); ++i)
        if (depth[i] < -1 || depth[i] > 2)
          throw BadInput(path + ": /layers/depth holds " + std::to_string(depth[i]) +
                         ", expected -1 (none), 0 (early), 1 (middle) or 2 (deep) (damaged file)");
    }
    return c;
  });
}

std::unique_ptr<Campaign> Campaign::open(const std::string& path, const CampaignDescription& job,
                                         MPI_Comm comm, bool writable) {
  auto c = open_impl(path, comm, writable);

  // The file must belong to this job: same job hash; otherwise say which runs would change.
  if (c->job_hash_ != job.hash) {
    const auto stored = c->runs();
    std::vector<std::string> changed;
    for (const auto& s : stored)
      if (s.id >= static_cast<int64_t>(job.runs.size()) || job.runs[static_cast<size_t>(s.id)].hash != s.hash)
        changed.push_back(std::to_string(s.id));
    for (int64_t i = c->job_runs_; i < static_cast<int64_t>(job.runs.size()); ++i) changed.push_back(std::to_string(i));
    std::string list;
    for (size_t i = 0; i < changed.size() && i < 12; ++i) list += (i ? "," : "") + changed[i];
    if (changed.size() > 12) list += ",... (" + std::to_string(changed.size()) + " in all)";
    throw BadInput(path + ": campaign file belongs to job '" + c->job_name_ + "' (hash " +
                   c->job_hash_ + "), not to " + job.file + " (hash " + job.hash + ")" +
                   (changed.empty() ? std::string() : "; runs that would change: " + list) +
                   "; use a new output file or directory");
  }
  return c;
}

Campaign::~Campaign() = default;

uint64_t Campaign::row(int64_t run_id) const {
  const auto it = row_.find(run_id);
  if (it == row_.end())
    throw BadInput(path_ + ": holds no run " + std::to_string(run_id) + " (shard " + shard_.name() + ")");
  return it->second;
}

void Campaign::write_run(const RunResult& r) {
  if (!writable_) throw std::logic_error("campaign opened read-only");
  const Layout& L = layout_;
  const hsize_t id = row(r.run_id);
  const size_t per_layer = static_cast<size_t>(L.conditions * L.points * L.statistics);
  const size_t diag = static_cast<size_t>(r.layer_count * L.points);
  if (r.values.size() != per_layer * static_cast<size_t>(r.layer_count) || r.layer_count > L.layers ||
      static_cast<int64_t>(r.steps.size()) != L.points || static_cast<int64_t>(r.loss.size()) != L.points ||
      (!r.wb_angle.empty() && r.wb_angle.size() != diag) || (!r.grad_angle.empty() && r.grad_angle.size() != diag))
    throw std::logic_error("Campaign::write_run: result does not match the file's layout");
  Handles& h = *h_;
  const hsize_t nl = static_cast<hsize_t>(r.layer_count), uT = static_cast<hsize_t>(L.points);
  if (r.layer_count > 0) {
    slab_io(h.values, H5T_NATIVE_FLOAT, {id, 0, 0, 0, 0},
            {1, nl, static_cast<hsize_t>(L.conditions), uT, static_cast<hsize_t>(L.statistics)},
            const_cast<float*>(r.values.data()), true, h.dxpl);
    if (!r.wb_angle.empty())
      slab_io(h.wb_angle, H5T_NATIVE_FLOAT, {id, 0, 0}, {1, nl, uT}, const_cast<float*>(r.wb_angle.data()), true, h.dxpl);
    if (!r.grad_angle.empty())
      slab_io(h.grad_angle, H5T_NATIVE_FLOAT, {id, 0, 0}, {1, nl, uT}, const_cast<float*>(r.grad_angle.data()), true, h.dxpl);
    if (r.act_units.size() == nl)
      slab_io(h.act_units, H5T_NATIVE_INT64, {id, 0}, {1, nl}, const_cast<int64_t*>(r.act_units.data()), true, h.dxpl);
    if (r.weight_entries.size() == nl)
      slab_io(h.weight_entries, H5T_NATIVE_INT64, {id, 0}, {1, nl},
              const_cast<int64_t*>(r.weight_entries.data()), true, h.dxpl);
  }
  slab_io(h.steps, H5T_NATIVE_INT64, {id, 0}, {1, uT}, const_cast<int64_t*>(r.steps.data()), true, h.dxpl);
  slab_io(h.loss, H5T_NATIVE_DOUBLE, {id, 0}, {1, uT}, const_cast<double*>(r.loss.data()), true, h.dxpl);
  double w = r.wall_seconds, fl = r.final_loss, fm = r.final_metric, ch = r.metric_chance;
  slab_io(h.wall, H5T_NATIVE_DOUBLE, {id}, {1}, &w, true, h.dxpl);
  slab_io(h.final_loss, H5T_NATIVE_DOUBLE, {id}, {1}, &fl, true, h.dxpl);
  slab_io(h.final_metric, H5T_NATIVE_DOUBLE, {id}, {1}, &fm, true, h.dxpl);
  slab_io(h.metric_chance, H5T_NATIVE_DOUBLE, {id}, {1}, &ch, true, h.dxpl);
  std::vector<char> dev(kDeviceLen, 0);
  std::strncpy(dev.data(), r.device.c_str(), kDeviceLen - 1);
  Id dt = h5::string_type(kDeviceLen);
  slab_io(h.device, dt, {id}, {1}, dev.data(), true, h.dxpl);
  std::vector<char> empty(kErrorLen, 0);
  Id et = h5::string_type(kErrorLen);
  slab_io(h.error, et, {id}, {1}, empty.data(), true, h.dxpl);
  // Only now, with its data in the file, is the run marked done.
  uint8_t done = kDone;
  slab_io(h.status, H5T_NATIVE_UINT8, {id}, {1}, &done, true, h.dxpl);
}

void Campaign::set_status(int64_t run_id, uint8_t status, int32_t attempts, const std::string& error) {
  if (!writable_) throw std::logic_error("campaign opened read-only");
  Handles& h = *h_;
  const hsize_t id = row(run_id);
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
      L.statistics != S.statistics)
    throw BadInput(src.path_ + ": layout differs from " + path_);
  Handles& d = *h_;
  Handles& s = *src.h_;
  const hsize_t from = src.row(run_id), to = row(run_id);
  auto copy = [&](hid_t src_set, hid_t dst_set, hid_t type, std::vector<hsize_t> count, size_t bytes) {
    std::vector<char> buf(bytes);
    std::vector<hsize_t> start(count.size(), 0);
    start[0] = from;
    slab_io(src_set, type, start, count, buf.data(), false, s.dxpl);
    start[0] = to;
    slab_io(dst_set, type, start, count, buf.data(), true, d.dxpl);
  };
  const hsize_t uL = static_cast<hsize_t>(L.layers), uC = static_cast<hsize_t>(L.conditions),
                uT = static_cast<hsize_t>(L.points), uS = static_cast<hsize_t>(L.statistics);
  copy(s.values, d.values, H5T_NATIVE_FLOAT, {1, uL, uC, uT, uS}, uL * uC * uT * uS * sizeof(float));
  copy(s.wb_angle, d.wb_angle, H5T_NATIVE_FLOAT, {1, uL, uT}, uL * uT * sizeof(float));
  copy(s.grad_angle, d.grad_angle, H5T_NATIVE_FLOAT, {1, uL, uT}, uL * uT * sizeof(float));
  copy(s.steps, d.steps, H5T_NATIVE_INT64, {1, uT}, uT * sizeof(int64_t));
  copy(s.act_units, d.act_units, H5T_NATIVE_INT64, {1, uL}, uL * sizeof(int64_t));
  copy(s.weight_entries, d.weight_entries, H5T_NATIVE_INT64, {1, uL}, uL * sizeof(int64_t));
  copy(s.loss, d.loss, H5T_NATIVE_DOUBLE, {1, uT}, uT * sizeof(double));
  for (auto pair : {std::make_pair(s.wall.get(), d.wall.get()),
                    std::make_pair(s.final_loss.get(), d.final_loss.get()),
                    std::make_pair(s.final_metric.get(), d.final_metric.get()),
                    std::make_pair(s.metric_chance.get(), d.metric_chance.get())})
    copy(pair.first, pair.second, H5T_NATIVE_DOUBLE, {1}, sizeof(double));
  {
    Id et = h5::string_type(kErrorLen);
    copy(s.error, d.error, et, {1}, kErrorLen);
    Id dt = h5::string_type(kDeviceLen);
    copy(s.device, d.device, dt, {1}, kDeviceLen);
  }
  copy(s.attempts, d.attempts, H5T_NATIVE_INT32, {1}, sizeof(int32_t));
  copy(s.status, d.status, H5T_NATIVE_UINT8, {1}, 1);
}

uint8_t Campaign::status(int64_t run_id) const {
  uint8_t st = kPending;
  slab_io(h_->status, H5T_NATIVE_UINT8, {row(run_id)}, {1}, &st, false, h_->dxpl);
  return st;
}

RunRecord Campaign::record(int64_t run_id) const {
  Handles& h = *h_;
  const hsize_t id = row(run_id);
  RunRecord r;
  r.id = run_id;
  slab_io(h.status, H5T_NATIVE_UINT8, {id}, {1}, &r.status, false, h.dxpl);
  slab_io(h.attempts, H5T_NATIVE_INT32, {id}, {1}, &r.attempts, false, h.dxpl);
  slab_io(h.wall, H5T_NATIVE_DOUBLE, {id}, {1}, &r.wall_seconds, false, h.dxpl);
  slab_io(h.final_loss, H5T_NATIVE_DOUBLE, {id}, {1}, &r.final_loss, false, h.dxpl);
  slab_io(h.final_metric, H5T_NATIVE_DOUBLE, {id}, {1}, &r.final_metric, false, h.dxpl);
  slab_io(h.metric_chance, H5T_NATIVE_DOUBLE, {id}, {1}, &r.metric_chance, false, h.dxpl);
  std::vector<char> e(kErrorLen, 0), dv(kDeviceLen, 0);
  Id et = h5::string_type(kErrorLen), dt = h5::string_type(kDeviceLen);
  slab_io(h.error, et, {id}, {1}, e.data(), false, h.dxpl);
  slab_io(h.device, dt, {id}, {1}, dv.data(), false, h.dxpl);
  r.error = fixed(e);
  r.device = fixed(dv);
  return r;
}

std::vector<RunRecord> Campaign::records() const {
  std::vector<RunRecord> out;
  out.reserve(ids_.size());
  for (int64_t id : ids_) out.push_back(record(id));
  return out;
}

std::vector<LayerMeta> Campaign::layers(int64_t run_id) const {
  Handles& h = *h_;
  const hsize_t id = row(run_id);
  int32_t count = 0;
  slab_io(h.layer_count, H5T_NATIVE_INT32, {id}, {1}, &count, false, h.dxpl);
  const hsize_t L = static_cast<hsize_t>(std::max<int64_t>(layout_.layers, 1));
  std::vector<int8_t> depth(L, -1);
  std::vector<int64_t> au(L, -1), we(L, -1);
  slab_io(h.layer_depth, H5T_NATIVE_INT8, {id, 0}, {1, L}, depth.data(), false, h.dxpl);
  slab_io(h.act_units, H5T_NATIVE_INT64, {id, 0}, {1, L}, au.data(), false, h.dxpl);
  slab_io(h.weight_entries, H5T_NATIVE_INT64, {id, 0}, {1, L}, we.data(), false, h.dxpl);
  std::vector<char*> names(L, nullptr);
  {
    Id d(check(H5Dopen2(h.file, "/layers/name", H5P_DEFAULT), "open /layers/name"));
    Id type = h5::vlen_string_type();
    slab_io(d, type, {id, 0}, {1, L}, names.data(), false, h.dxpl);
  }
  std::vector<LayerMeta> out;
  for (int32_t l = 0; l < count; ++l)
    out.push_back({names[static_cast<size_t>(l)] ? names[static_cast<size_t>(l)] : "", depth[static_cast<size_t>(l)],
                   au[static_cast<size_t>(l)], we[static_cast<size_t>(l)]});
  for (char* p : names) std::free(p);
  return out;
}

std::vector<float> Campaign::values(int64_t run_id) const {
  Handles& h = *h_;
  const Layout& L = layout_;
  const auto n = layers(run_id).size();
  std::vector<float> v(n * static_cast<size_t>(L.conditions * L.points * L.statistics));
  if (n)
    slab_io(h.values, H5T_NATIVE_FLOAT, {row(run_id), 0, 0, 0, 0},
            {1, n, static_cast<hsize_t>(L.conditions), static_cast<hsize_t>(L.points),
             static_cast<hsize_t>(L.statistics)},
            v.data(), false, h.dxpl);
  return v;
}

std::vector<float> Campaign::diagnostic(int64_t run_id, const std::string& name) const {
  Handles& h = *h_;
  if (name != "wb_angle" && name != "grad_angle") throw std::logic_error("unknown diagnostic " + name);
  const auto n = layers(run_id).size();
  std::vector<float> v(n * static_cast<size_t>(layout_.points));
  if (n)
    slab_io(name == "wb_angle" ? h.wb_angle : h.grad_angle, H5T_NATIVE_FLOAT, {row(run_id), 0, 0},
            {1, n, static_cast<hsize_t>(layout_.points)}, v.data(), false, h.dxpl);
  return v;
}

std::vector<int64_t> Campaign::steps(int64_t run_id) const {
  std::vector<int64_t> v(static_cast<size_t>(layout_.points));
  slab_io(h_->steps, H5T_NATIVE_INT64, {row(run_id), 0}, {1, v.size()}, v.data(), false, h_->dxpl);
  return v;
}

std::vector<double> Campaign::losses(int64_t run_id) const {
  std::vector<double> v(static_cast<size_t>(layout_.points));
  slab_io(h_->loss, H5T_NATIVE_DOUBLE, {row(run_id), 0}, {1, v.size()}, v.data(), false, h_->dxpl);
  return v;
}

std::string RunRow::key() const {
  return rule + "/" + task + "/" + arch + "/bs" + std::to_string(batch_size) + "/m" + model_seed + "/d" + dataset_seed;
}

std::vector<RunRow> Campaign::runs() const {
  Handles& h = *h_;
  Id d(check(H5Dopen2(h.file, "/runs/spec", H5P_DEFAULT), "open /runs/spec"));
  Id space(check(H5Dget_space(d), "space"));
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  std::vector<SpecRow> rows(static_cast<size_t>(n));
  Id st = spec_type();
  if (n) check(H5Dread(d, st, H5S_ALL, H5S_ALL, h.dxpl, rows.data()), "read spec");
  std::vector<RunRow> out;
  for (const auto& s : rows) {
    RunRow r;
    r.id = s.id;
    r.rule = s.rule;
    r.task = s.task;
    r.arch = s.architecture;
    r.batch_size = s.batch_size;
    r.model_seed = s.model_seed;
    r.dataset_seed = s.dataset_seed;
    r.model_seed_value = s.model_seed_value;
    r.dataset_seed_value = s.dataset_seed_value;
    r.hash = s.hash;
    r.block = s.block;
    out.push_back(r);
  }
  if (n) H5Dvlen_reclaim(st, space, h.dxpl, rows.data());
  return out;
}

}  // namespace lrid::store
