// lrid stats FILE.h5:/path/to/dataset: the paper's statistics of one HDF5 dataset under a
// measurement condition, printed as JSON. Serial HDF5 (no mpirun needed).
//
// Output (one JSON object on stdout):
//   file, dataset, shape, dtype ("float32"/"float64"/...), measure,
//   condition {name, fraction, noise, seed}, examples (act/gradavg; null for weight),
//   units (units per example, or entries for weight; null for 1-D gradavg), units_kept,
//   statistics {name: value} in canonical order,
//   and with the hidden --repeat N: kernel {repeat, elements, seconds_min, seconds_median},
//   the time of the statistics kernel alone (no file reading, no condition), for benchmarks.
// Values are JSON numbers printed with round-trip precision; NaN and infinities, which JSON
// cannot represent, are the strings "nan", "inf", "-inf".
// The noise stream is noise_seed(condition, layer 0, point 0, measure).
#include <hdf5.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "lrid/cli/commands.hpp"
#include "lrid/cli/options.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/store/h5.hpp"

namespace lrid::cli {

namespace {

namespace ob = lrid::observe;
using ordered_json = nlohmann::ordered_json;

ordered_json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// Splits FILE:/PATH at the last ':' whose left part is an existing file (so file names may
// contain ':'); when no prefix is an existing file, at the last ':' (the file is then reported
// missing). A path without a leading '/' is taken from the root.
void split_target(const std::string& target, std::string& file, std::string& path) {
  std::size_t cut = std::string::npos;
  for (std::size_t p = target.size(); p-- > 1;) {
    if (target[p] != ':') continue;
    std::error_code ec;
    if (std::filesystem::is_regular_file(target.substr(0, p), ec)) {
      cut = p;
      break;
    }
  }
  if (cut == std::string::npos) cut = target.rfind(':');
  if (cut == std::string::npos || cut == 0 || cut + 1 >= target.size())
    throw BadInput("'" + target + "': expected FILE.h5:/path/to/dataset");
  file = target.substr(0, cut);
  path = target.substr(cut + 1);
  if (path[0] != '/') path = "/" + path;
}

// The statistics --statistics selects for the measure (canonical indices).
std::vector<int> selected_statistics(const std::string& spec, ob::Measure m) {
  std::vector<int> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    const std::vector<int> idx = ob::resolve_statistics({item});
    const int single = ob::find_statistic(item);
    if (single >= 0 && ob::measure_of(single) != m)
      throw BadInput("--statistics: '" + item + "' is a " +
                     ob::measure_name(ob::measure_of(single)) + " statistic, not " +
                     ob::measure_name(m) + " (see --measure)");
    for (int i : idx)
      if (ob::measure_of(i) == m) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty())
    throw BadInput("--statistics '" + spec + "' selects no " + std::string(ob::measure_name(m)) +
                   " statistic");
  return out;
}

struct Computed {
  std::vector<double> all45;
  std::size_t examples = 0, units = 0, kept = 0;
  bool has_examples = false, has_units = true;
  std::vector<double> times;  // kernel seconds per repeat
  std::size_t elements = 0;
};

template <typename T>
Computed compute(const std::vector<T>& x, const std::vector<hsize_t>& shape, ob::Measure m,
                 const ob::Condition& cond, int repeat, const std::string& where) {
  Computed r;
  r.all45.assign(ob::kNumStatistics, std::nan(""));
  const std::uint64_t nseed = ob::noise_seed(cond, 0, 0, m);
  const int rank = static_cast<int>(shape.size());
  ob::StatsScratch scratch;
  auto timed = [&](auto&& kernel) {
    kernel();
    for (int i = 0; i < repeat; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      kernel();
      r.times.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  };
  if (m == ob::Measure::weight) {
    if (rank < 1) throw BadInput(where + ": weight needs rank >= 1, got a scalar dataset");
    const std::size_t n = x.size();
    const auto units = ob::weight_units(n, cond);
    std::vector<T> kept;
    ob::observe_weight(x.data(), n, units, cond, nseed, kept);
    r.units = n;
    r.kept = kept.size();
    r.elements = kept.size();
    ob::VectorStats v;
    timed([&] { v = ob::vector_statistics(kept.data(), kept.size(), scratch); });
    std::copy(v.begin(), v.end(), r.all45.begin() + ob::kWeightOffset);
  } else if (m == ob::Measure::act) {
    if (rank < 2)
      throw BadInput(where + ": act needs rank >= 2 ([examples, units...]), got rank " +
                     std::to_string(rank));
    const std::size_t batch = shape[0];
    const std::size_t n_units = x.size() / batch;
    const auto units = ob::act_units(n_units, cond);
    std::vector<T> kept;
    ob::observe_act(x.data(), batch, n_units, units, cond, nseed, kept);
    r.has_examples = true;
    r.examples = batch;
    r.units = n_units;
    r.kept = units.size();
    r.elements = kept.size();
    ob::VectorStats v;
    timed([&] { v = ob::act_statistics(kept.data(), batch, units.size(), scratch); });
    std::copy(v.begin(), v.end(), r.all45.begin() + ob::kActOffset);
  } else {
    if (rank != 1 && rank != 2)
      throw BadInput(where +
                     ": gradavg needs rank 1 ([examples]) or 2 ([examples, units]), got "
                     "rank " +
                     std::to_string(rank));
    const std::size_t batch = shape[0];
    r.has_examples = true;
    r.examples = batch;
    std::vector<double> values;
    if (rank == 1) {
      if (cond.fraction != 1.0)
        throw BadInput(where +
                       ": --fraction needs gradavg data with units ([examples, units]); "
                       "a 1-D dataset holds per-example values");
      r.has_units = false;
      std::vector<std::int64_t> all(batch);
      std::iota(all.begin(), all.end(), std::int64_t{0});
      std::vector<T> noisy;
      ob::gather_noisy(x.data(), all, cond.noise, nseed, noisy);
      values.assign(noisy.begin(), noisy.end());
    } else {
      const std::size_t n_units = shape[1];
      const auto units = ob::gradavg_input_units(n_units, cond);
      r.units = n_units;
      r.kept = units.size();
      values = ob::gradavg_values(x.data(), batch, n_units, units, 1, cond, nseed);
    }
    r.elements = values.size();
    ob::GradavgStats g;
    timed([&] { g = ob::gradavg_statistics(values.data(), values.size()); });
    std::copy(g.begin(), g.end(), r.all45.begin() + ob::kGradavgOffset);
  }
  return r;
}

}  // namespace

int cmd_stats(int argc, char** argv) {
  po::options_description opts("options");
  std::string measure_s, stats_s;
  ob::Condition cond;
  int repeat = 0;
  // clang-format off
  opts.add_options()
      ("measure", po::value<std::string>(&measure_s)->default_value("act"),
       "act, weight or gradavg (layouts below)")
      ("fraction", po::value<double>(&cond.fraction)->default_value(1.0),
       "unit fraction f in (0, 1]: keep a seeded random ceil(f * units) of the units")
      ("noise", po::value<double>(&cond.noise)->default_value(0.0),
       "add N(0, sigma^2) noise to every entry before subsampling")
      ("seed", po::value<std::uint64_t>(&cond.seed)->default_value(0),
       "seed of the unit subset and the noise")
      ("statistics", po::value<std::string>(&stats_s)->default_value(""),
       "comma-separated statistic names or sets (all, admissible, weight, act, gradavg, "
       "admissible_weight, admissible_act, admissible_gradavg); default: all of the measure");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("repeat", po::value<int>(&repeat)->default_value(0), "benchmark: time the kernel N times");
  const auto vm = parse_options(argc, argv, "stats", opts, {{"target", 1, "FILE.h5:/path/to/dataset"}}, hidden);
  if (!vm) return 0;
  const std::string target = (*vm)["target"].as<std::string>();
  if (repeat < 0) throw BadInput("--repeat must be >= 0");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // one-line errors, no HDF5 error stack

  std::string file, path;
  split_target(target, file, path);
  const std::string where = file + ":" + path;
  const ob::Measure measure = ob::parse_measure(measure_s);
  cond.validate(where + ": --fraction/--noise");
  const std::vector<int> chosen =
      selected_statistics(stats_s.empty() ? measure_s : stats_s, measure);

  store::h5::FloatArray data = store::h5::read_float_array(file, path, where);
  const Computed r = data.is_double ? compute(data.d, data.shape, measure, cond, repeat, where)
                                    : compute(data.f, data.shape, measure, cond, repeat, where);

  ordered_json j;
  j["file"] = file;
  j["dataset"] = path;
  j["shape"] = data.shape;
  j["dtype"] = data.dtype;
  j["measure"] = measure_s;
  j["condition"] = {{"name", cond.name()},
                    {"fraction", cond.fraction},
                    {"noise", cond.noise},
                    {"seed", cond.seed}};
  j["examples"] = r.has_examples ? ordered_json(r.examples) : ordered_json(nullptr);
  j["units"] = r.has_units ? ordered_json(r.units) : ordered_json(nullptr);
  j["units_kept"] = r.has_units ? ordered_json(r.kept) : ordered_json(nullptr);
  ordered_json s = ordered_json::object();
  for (int i : chosen) s[ob::all_statistic_names()[i]] = number(r.all45[i]);
  j["statistics"] = s;
  if (repeat > 0) {
    std::vector<double> t = r.times;
    std::sort(t.begin(), t.end());
    j["kernel"] = {{"repeat", repeat},
                   {"elements", r.elements},
                   {"seconds_min", t.front()},
                   {"seconds_median", t[t.size() / 2]}};
  }
  std::cout << j.dump(1) << std::endl;
  return 0;
}

}  // namespace lrid::cli
