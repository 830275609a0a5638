#include "lrid/analyze/pipeline.hpp"

#include <mpi.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>

#include "lrid/analyze/features.hpp"
#include "lrid/analyze/protocol.hpp"
#include "lrid/config/job.hpp"
#include "lrid/config/text.hpp"
#include "lrid/dist/queue.hpp"
#include "lrid/error.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/rng.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"

namespace lrid::analyze {

using nlohmann::json;

void options_from_job(const std::string& job_yaml, const std::string& origin, AnalysisOptions& o) {
  const config::JobSpec job = config::load_job_text(job_yaml, origin);
  const config::AnalysisSpec& a = job.analysis;
  o.statistics = a.statistics;
  o.classifiers = a.classifiers;
  o.sweeps = a.sweeps;
  o.splits = static_cast<int>(a.splits);
  o.folds = static_cast<int>(a.cv_folds);
  o.test_fraction = a.test_fraction;
  o.seed = static_cast<uint64_t>(a.seed);
  o.rf_grid.clear();
  for (const auto& mf : a.rf_max_features)
    for (auto n : a.rf_n_estimators) o.rf_grid.push_back({{"max_features", mf}, {"n_estimators", n}});
  o.svm_grid.clear();
  for (double c : a.svm_c) o.svm_grid.push_back({{"C", c}});
  o.conv1d_grid.clear();
  for (double k : a.conv1d_kernel_fraction)
    for (auto s : a.conv1d_stride)
      for (auto f : a.conv1d_filters)
        for (const auto& p : a.conv1d_pooling)
          o.conv1d_grid.push_back({{"kernel_fraction", k}, {"stride", s}, {"filters", f}, {"pooling", p}});
  o.sweep_forest = {{"n_estimators", a.sweep_n_estimators}, {"max_features", a.sweep_max_features}};
  o.sweep_splits = static_cast<int>(a.sweep_splits);
  o.random_draws = static_cast<int>(a.random_draws);
}

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One evaluation: a dataset (feature spec + optional sample filter or custom splits), a
// classifier with its grid, and the protocol options.
struct Eval {
  std::string sweep, label;
  FeatureSpec features;
  ClassifierSpec classifier;
  std::vector<json> grid;
  ProtocolOptions options;
  // custom splits (holdouts): given as sample predicates over the full feature set
  enum class Custom { None, Arch, Task, Transfer } custom = Custom::None;
  std::vector<std::string> custom_values;  // Arch/Task: held-out values; Transfer: tasks
  // planned once: units of work
  size_t n_cv = 0, n_splits = 0;
  std::vector<double> cv_cost;
  // materialized on use (per process), released when another evaluation is used
  std::shared_ptr<FeatureSet> data;
  std::shared_ptr<Protocol> protocol;
};

std::vector<std::string> unique_values(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& x : v)
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  return out;
}

std::vector<Split> custom_splits(const Eval& e, const FeatureSet& f, uint64_t seed) {
  std::vector<Split> splits;
  const auto& key = e.custom == Eval::Custom::Arch ? f.arch : f.task;
  if (e.custom == Eval::Custom::Arch || e.custom == Eval::Custom::Task) {
    for (const auto& v : e.custom_values) {
      Split s;
      for (uint32_t i = 0; i < f.n; ++i) (key[i] == v ? s.test : s.train).push_back(i);
      splits.push_back(s);
    }
  } else {
    // Transfer: train on task i, test on task j; the diagonal uses a balanced 75/25 split
    // inside the task.
    for (size_t i = 0; i < e.custom_values.size(); ++i)
      for (size_t j = 0; j < e.custom_values.size(); ++j) {
        Split s;
        if (i != j) {
          for (uint32_t k = 0; k < f.n; ++k) {
            if (f.task[k] == e.custom_values[i]) s.train.push_back(k);
            if (f.task[k] == e.custom_values[j]) s.test.push_back(k);
          }
        } else {
          std::vector<uint32_t> rows;
          std::vector<int32_t> y;
          for (uint32_t k = 0; k < f.n; ++k)
            if (f.task[k] == e.custom_values[i]) rows.push_back(k), y.push_back(f.y[k]);
          const auto inner = balanced_splits(y.data(), y.size(), static_cast<int>(f.classes.size()), 1, 0.75,
                                             rng::hash_combine(seed, i));
          for (auto r : inner[0].train) s.train.push_back(rows[r]);
          for (auto r : inner[0].test) s.test.push_back(rows[r]);
        }
        splits.push_back(s);
      }
  }
  return splits;
}

void materialize(Eval& e, const CampaignData& c) {
  if (e.protocol) return;
  e.data = std::make_shared<FeatureSet>(build_features(c, e.features));
  const FeatureSet& f = *e.data;
  DataView view{f.X.data(), f.y.data(), f.n, f.d, static_cast<int>(f.classes.size())};
  if (e.custom == Eval::Custom::None)
    e.protocol = std::make_shared<Protocol>(view, e.classifier, e.grid, e.options);
  else
    e.protocol = std::make_shared<Protocol>(view, e.classifier, e.grid,
                                            custom_splits(e, f, e.options.seed), e.options);
}

void release(Eval& e) {
  e.protocol.reset();
  e.data.reset();
}

std::string stat_class(const std::string& name) {
  for (const char* m : {"weight", "act", "gradavg"})
    if (name.rfind(m, 0) == 0) return m;
  return "";
}

// ------------------------------------------------------------------------------------------
// results.h5

struct H5Out {
  store::h5::Id file;
  explicit H5Out(const std::string& path) {
    store::h5::silence_errors();
    file = store::h5::Id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file.valid()) throw BadInput(path + ": cannot create the results file");
  }
  void group(const std::string& path) {
    if (!store::h5::exists(file, path))
      store::h5::Id g(store::h5::check(H5Gcreate2(file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path));
  }
  void doubles(const std::string& path, const std::vector<double>& v, std::vector<hsize_t> dims = {}) {
    if (dims.empty()) dims = {v.size()};
    store::h5::Id space(store::h5::check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "space"));
    store::h5::Id d(store::h5::check(H5Dcreate2(file, path.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path));
    if (!v.empty()) store::h5::check(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path);
  }
  void ints(const std::string& path, const std::vector<int64_t>& v) {
    const hsize_t n = v.size();
    store::h5::Id space(store::h5::check(H5Screate_simple(1, &n, nullptr), "space"));
    store::h5::Id d(store::h5::check(H5Dcreate2(file, path.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path));
    if (n) store::h5::check(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), path);
  }
  void strings(const std::string& path, const std::vector<std::string>& v) {
    size_t width = 1;
    for (const auto& s : v) width = std::max(width, s.size() + 1);
    std::vector<char> buf(width * std::max<size_t>(v.size(), 1), 0);
    for (size_t i = 0; i < v.size(); ++i) v[i].copy(&buf[i * width], v[i].size());
    store::h5::Id type = store::h5::string_type(width);
    const hsize_t n = v.size();
    store::h5::Id space(store::h5::check(H5Screate_simple(1, &n, nullptr), "space"));
    store::h5::Id d(store::h5::check(H5Dcreate2(file, path.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path));
    if (n) store::h5::check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path);
  }
};

std::string fmt(double v, int prec = 3) {
  if (!std::isfinite(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::string pm(const MeanSem& m) { return fmt(m.mean) + " ± " + fmt(m.sem); }

}  // namespace

AnalysisSummary run_analysis(const AnalysisOptions& o) {
  const double t0 = now();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  const CampaignData c = read_campaign(o.campaign);
  std::vector<int64_t> unfinished;
  for (int64_t r = 0; r < c.runs; ++r)
    if (c.status[static_cast<size_t>(r)] != store::kDone) unfinished.push_back(r);
  if (!unfinished.empty()) {
    std::string list;
    for (size_t i = 0; i < unfinished.size() && i < 20; ++i) list += (i ? "," : "") + std::to_string(unfinished[i]);
    if (unfinished.size() > 20) list += ",...";
    if (o.require_complete)
      throw BadInput(o.campaign + ": " + std::to_string(unfinished.size()) + " of " + std::to_string(c.runs) +
                     " runs are not done (" + list + "); --require-complete refuses to analyse it");
    if (rank == 0)
      std::fprintf(stderr, "lrid analyze: warning: %zu of %lld runs are not done and are left out: %s\n",
                   unfinished.size(), static_cast<long long>(c.runs), list.c_str());
  }
  const std::vector<int> selected = select_statistics(c, o.statistics);
  const auto classes = rule_classes(c);
  if (classes.size() < 2)
    throw BadInput(o.campaign + ": fewer than two learning rules have finished runs; nothing to classify");

  // The evaluations of every sweep.
  std::vector<Eval> evals;
  auto has = [&](const std::string& s) { return std::find(o.sweeps.begin(), o.sweeps.end(), s) != o.sweeps.end(); };
  ProtocolOptions main_opt;
  main_opt.splits = o.splits;
  main_opt.train_fraction = 1.0 - o.test_fraction;
  main_opt.folds = o.folds;
  main_opt.seed = o.seed;
  ProtocolOptions sweep_opt = main_opt;
  sweep_opt.splits = o.sweep_splits;
  const ClassifierSpec sweep_rf{"random_forest", o.sweep_forest};

  std::map<std::string, std::vector<int>> by_class;
  for (int s : selected) by_class[stat_class(c.statistic_names[static_cast<size_t>(s)])].push_back(s);
  std::vector<std::string> obs_classes;
  for (const char* m : {"weight", "act", "gradavg"})
    if (by_class.count(m)) obs_classes.push_back(m);
  std::vector<std::string> main_classes = obs_classes;
  if (obs_classes.size() > 1) main_classes.push_back("all");
  auto stats_of = [&](const std::string& cls) { return cls == "all" ? selected : by_class[cls]; };

  if (has("observable_class") || has("importance")) {
    std::vector<std::string> clfs = o.classifiers;
    if (!has("observable_class")) clfs = {"random_forest"};
    for (const auto& cls : (has("observable_class") ? main_classes : std::vector<std::string>{"all"}))
      for (const auto& clf : clfs) {
        Eval e;
        e.sweep = "main";
        e.label = cls + "/" + clf;
        e.features.statistics = stats_of(cls);
        e.classifier = {clf, json::object()};
        if (clf == "conv1d") e.classifier.params = {{"points", c.points}, {"extra_features", 3}};
        const auto& g = clf == "random_forest" ? o.rf_grid : clf == "linear_svm" ? o.svm_grid : o.conv1d_grid;
        e.grid = g.empty() ? default_grid(clf) : g;
        e.options = main_opt;
        evals.push_back(e);
      }
  }
  std::vector<std::string> archs, tasks;
  {
    std::set<int64_t> dummy;
    std::vector<std::string> a, t;
    for (int64_t r = 0; r < c.runs; ++r)
      if (c.status[static_cast<size_t>(r)] == store::kDone) a.push_back(c.arch[static_cast<size_t>(r)]), t.push_back(c.task[static_cast<size_t>(r)]);
    archs = unique_values(a);
    tasks = unique_values(t);
  }
  if (has("holdout")) {
    auto add = [&](const std::string& label, Eval::Custom kind, const std::vector<std::string>& values) {
      Eval e;
      e.sweep = "holdout";
      e.label = label;
      e.features.statistics = selected;
      e.classifier = sweep_rf;
      e.options = sweep_opt;
      e.custom = kind;
      e.custom_values = values;
      evals.push_back(e);
    };
    if (archs.size() > 1) add("architecture", Eval::Custom::Arch, archs);
    if (tasks.size() > 1) add("task", Eval::Custom::Task, tasks);
    if (tasks.size() > 1) add("transfer", Eval::Custom::Transfer, tasks);
  }
  std::vector<std::tuple<std::string, int, int, std::vector<int>>> traj;  // kind, k, position/draw, points
  if (has("trajectory")) {
    const int T = static_cast<int>(c.points);
    for (int k = 1; k <= T; ++k) {
      for (int p = 0; p + k <= T; ++p) {
        std::vector<int> pts(static_cast<size_t>(k));
        std::iota(pts.begin(), pts.end(), p);
        traj.emplace_back("window", k, p, pts);
      }
      std::vector<int> spread;
      for (int i = 0; i < k; ++i)
        spread.push_back(k == 1 ? T - 1 : static_cast<int>(std::lround(static_cast<double>(i) * (T - 1) / (k - 1))));
      traj.emplace_back("spread", k, 0, spread);
      for (int d = 0; d < o.random_draws; ++d) {
        std::vector<int> all(static_cast<size_t>(T));
        std::iota(all.begin(), all.end(), 0);
        rng::Xoshiro256ss g(rng::hash_combine(rng::hash_combine(o.seed, static_cast<uint64_t>(k)), static_cast<uint64_t>(d)));
        for (int i = 0; i < k; ++i) {
          const auto j = static_cast<size_t>(i) + static_cast<size_t>(g() % static_cast<uint64_t>(T - i));
          std::swap(all[static_cast<size_t>(i)], all[j]);
        }
        std::vector<int> pts(all.begin(), all.begin() + k);
        std::sort(pts.begin(), pts.end());
        traj.emplace_back("random", k, d, pts);
      }
    }
    for (const auto& [kind, k, pos, pts] : traj) {
      Eval e;
      e.sweep = "trajectory";
      e.label = kind + "/k" + std::to_string(k) + "/" + std::to_string(pos);
      e.features.statistics = selected;
      e.features.points = pts;
      e.classifier = sweep_rf;
      e.options = sweep_opt;
      evals.push_back(e);
    }
  }
  if (has("measurement")) {
    for (int64_t cond = 0; cond < c.conditions; ++cond)
      for (const auto& cls : obs_classes) {
        Eval e;
        e.sweep = "measurement";
        e.label = c.condition_names[static_cast<size_t>(cond)] + "/" + cls;
        e.features.statistics = by_class[cls];
        e.features.condition = static_cast<int>(cond);
        e.classifier = sweep_rf;
        e.options = sweep_opt;
        evals.push_back(e);
      }
  }

  dist::Groups groups = dist::split_groups(MPI_COMM_WORLD, 1);
  // Plan the units of work; datasets are built on use and dropped after (memory stays at about
  // one evaluation's features per rank, however many evaluations there are).
  for (auto& e : evals) {
    materialize(e, c);
    e.n_cv = e.protocol->cv_units().size();
    for (const auto& u : e.protocol->cv_units()) e.cv_cost.push_back(u.cost);
    e.n_splits = e.protocol->splits().size();
    release(e);
  }
  size_t current = evals.size();
  auto use = [&](size_t i) -> Eval& {
    if (current != i) {
      if (current < evals.size()) release(evals[current]);
      materialize(evals[i], c);
      current = i;
    }
    return evals[i];
  };
  const FeatureSet main_data = build_features(c, FeatureSpec{selected, 0, {}, true});

  // Stage 1: model selection (CV units of evaluations with a grid).
  std::vector<std::pair<size_t, size_t>> cv_tasks;
  for (size_t i = 0; i < evals.size(); ++i)
    for (size_t u = 0; u < evals[i].n_cv; ++u) cv_tasks.emplace_back(i, u);
  std::vector<size_t> order1(cv_tasks.size());
  std::iota(order1.begin(), order1.end(), 0);
  std::stable_sort(order1.begin(), order1.end(), [&](size_t a, size_t b) {
    return evals[cv_tasks[a].first].cv_cost[cv_tasks[a].second] >
           evals[cv_tasks[b].first].cv_cost[cv_tasks[b].second];
  });
  std::vector<int64_t> q1(order1.begin(), order1.end());
  size_t progress = 0;
  const size_t total_fits = cv_tasks.size();
  dist::QueueOptions qo;
  double last_print = now();
  auto progress_event = [&](const char* stage, size_t total) {
    return [&, stage, total](const dist::TaskEvent& ev) {
      if (ev.kind != dist::TaskEvent::kDone || o.quiet) return;
      ++progress;
      if (now() - last_print > 5 || progress == total) {
        last_print = now();
        std::printf("lrid analyze: %s %zu/%zu fits (%.0f s)\n", stage, progress, total, now() - t0);
        std::fflush(stdout);
      }
    };
  };
  qo.on_event = progress_event("model selection", total_fits);
  qo.heartbeat_seconds = 0;
  if (rank == 0 && !o.quiet)
    std::printf("lrid analyze: %s: %zu samples x %zu features, %zu classes, %zu evaluations, %zu CV fits, %d rank(s)\n",
                o.campaign.c_str(), main_data.n, main_data.d, classes.size(), evals.size(), cv_tasks.size(), size);
  auto cv_results = dist::run_queue(MPI_COMM_WORLD, groups, q1, [&](int64_t t) {
    const auto& [i, u] = cv_tasks[static_cast<size_t>(t)];
    return encode_scores(use(i).protocol->run_cv_unit(u));
  }, qo);

  // Rank 0 chooses each split's grid point; every rank learns the choice.
  std::string chosen_text;
  std::vector<std::vector<std::vector<double>>> cv_acc(evals.size());
  if (rank == 0) {
    json chosen = json::array();
    for (size_t i = 0; i < evals.size(); ++i) {
      std::vector<std::vector<double>> scores(evals[i].n_cv);
      for (size_t t = 0; t < cv_tasks.size(); ++t)
        if (cv_tasks[t].first == i) scores[cv_tasks[t].second] = decode_scores(cv_results[t]);
      Eval& e = use(i);
      chosen.push_back(e.protocol->select(scores));
      if (!scores.empty()) cv_acc[i] = e.protocol->cv_accuracy(scores);
    }
    chosen_text = chosen.dump();
  }
  {
    int64_t n = static_cast<int64_t>(chosen_text.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    chosen_text.resize(static_cast<size_t>(n));
    MPI_Bcast(chosen_text.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
  }
  const json chosen = json::parse(chosen_text);

  // Stage 2: one test fit per split of every evaluation.
  std::vector<std::pair<size_t, int>> test_tasks;
  for (size_t i = 0; i < evals.size(); ++i)
    for (size_t s = 0; s < evals[i].n_splits; ++s) test_tasks.emplace_back(i, static_cast<int>(s));
  std::vector<int64_t> q2(test_tasks.size());
  std::iota(q2.begin(), q2.end(), 0);
  progress = 0;
  qo.on_event = progress_event("test", test_tasks.size());
  auto test_results = dist::run_queue(MPI_COMM_WORLD, groups, q2, [&](int64_t t) {
    const auto& [i, s] = test_tasks[static_cast<size_t>(t)];
    const int gp = chosen[i][static_cast<size_t>(s)].get<int>();
    return use(i).protocol->run_test_unit(s, gp).to_json().dump();
  }, qo);
  dist::free_groups(groups);

  AnalysisSummary summary;
  summary.fits = static_cast<int64_t>(cv_tasks.size() + test_tasks.size());
  if (rank != 0) {
    dist::quiet_barrier(MPI_COMM_WORLD);
    return summary;
  }

  // Rank 0: combine and write.
  std::vector<ProtocolResult> results(evals.size());
  for (size_t i = 0; i < evals.size(); ++i) {
    std::vector<SplitOutcome> outs;
    for (size_t t = 0; t < test_tasks.size(); ++t)
      if (test_tasks[t].first == i) outs.push_back(SplitOutcome::from_json(json::parse(test_results[t])));
    results[i] = use(i).protocol->combine(std::move(outs), cv_acc[i]);
  }
  mkdir(o.out_dir.c_str(), 0775);
  summary.results_path = o.out_dir + "/results.h5";
  summary.report_path = o.out_dir + "/report.md";
  H5Out h5(summary.results_path);
  store::h5::write_string_attr(h5.file, "campaign", o.campaign);
  store::h5::write_string_attr(h5.file, "job_name", c.job_name);
  store::h5::write_string_attr(h5.file, "job_hash", c.job_hash);
  store::h5::write_strings_attr(h5.file, "classes", classes);
  store::h5::write_int_attr(h5.file, "samples", static_cast<int64_t>(main_data.n));
  store::h5::write_int_attr(h5.file, "ranks", size);
  const int C = static_cast<int>(classes.size());
  const double chance = 1.0 / C;

  std::ostringstream rep;
  rep << "# lrid analysis: " << c.job_name << "\n\n"
      << "Campaign `" << o.campaign << "` (job hash " << c.job_hash << "): " << main_data.n
      << " samples (run x layer) from " << (c.runs - static_cast<int64_t>(unfinished.size())) << " done runs";
  if (!unfinished.empty()) rep << " (" << unfinished.size() << " runs not done, left out)";
  rep << "; classes " << config::join(classes) << " (chance " << fmt(chance) << "); statistics "
      << config::join(o.statistics) << ", " << c.points << " trajectory points.\n";
  if (!main_data.dropped_statistics.empty())
    rep << "\nStatistics dropped for a non-finite value: " << config::join(main_data.dropped_statistics) << ".\n";

  // ---- main table
  std::map<std::string, const ProtocolResult*> main_res;
  for (size_t i = 0; i < evals.size(); ++i)
    if (evals[i].sweep == "main") main_res[evals[i].label] = &results[i];
  std::ostringstream table;
  if (!main_res.empty()) {
    h5.group("/main");
    std::vector<std::string> labels, cls_col, clf_col, chosen_params;
    std::vector<double> acc_m, acc_s, bal_m, bal_s;
    for (size_t i = 0; i < evals.size(); ++i) {
      if (evals[i].sweep != "main") continue;
      const auto& r = results[i];
      labels.push_back(evals[i].label);
      cls_col.push_back(evals[i].label.substr(0, evals[i].label.find('/')));
      clf_col.push_back(evals[i].classifier.name);
      acc_m.push_back(r.summary.accuracy.mean);
      acc_s.push_back(r.summary.accuracy.sem);
      bal_m.push_back(r.summary.balanced_accuracy.mean);
      bal_s.push_back(r.summary.balanced_accuracy.sem);
      json ps = json::array();
      for (const auto& sp : r.splits) ps.push_back(sp.params);
      chosen_params.push_back(ps.dump());
      const std::string g = "/main/" + cls_col.back() + "_" + clf_col.back();
      h5.group(g);
      std::vector<double> cm, cs, dm, ds, per_split;
      for (const auto& x : r.summary.confusion) cm.push_back(x.mean), cs.push_back(x.sem);
      for (const auto& x : r.summary.dprime) dm.push_back(x.mean), ds.push_back(x.sem);
      for (const auto& sp : r.splits) per_split.push_back(sp.metrics.accuracy);
      h5.doubles(g + "/confusion_mean", cm, {static_cast<hsize_t>(C), static_cast<hsize_t>(C)});
      h5.doubles(g + "/confusion_sem", cs, {static_cast<hsize_t>(C), static_cast<hsize_t>(C)});
      h5.doubles(g + "/dprime_mean", dm);
      h5.doubles(g + "/dprime_sem", ds);
      h5.doubles(g + "/accuracy_per_split", per_split);
    }
    h5.strings("/main/observable_class", cls_col);
    h5.strings("/main/classifier", clf_col);
    h5.doubles("/main/accuracy_mean", acc_m);
    h5.doubles("/main/accuracy_sem", acc_s);
    h5.doubles("/main/balanced_accuracy_mean", bal_m);
    h5.doubles("/main/balanced_accuracy_sem", bal_s);
    h5.strings("/main/chosen_params", chosen_params);

    std::vector<std::string> clfs;
    for (const auto& x : clf_col)
      if (std::find(clfs.begin(), clfs.end(), x) == clfs.end()) clfs.push_back(x);
    std::vector<std::string> rows;
    for (const auto& x : cls_col)
      if (std::find(rows.begin(), rows.end(), x) == rows.end()) rows.push_back(x);
    table << "| observables |";
    for (const auto& x : clfs) table << " " << x << " |";
    table << "\n|---|";
    for (size_t k = 0; k < clfs.size(); ++k) table << "---|";
    table << "\n";
    for (const auto& row : rows) {
      table << "| " << row << " |";
      for (const auto& clf : clfs) {
        auto it = main_res.find(row + "/" + clf);
        table << " " << (it == main_res.end() ? "" : pm(it->second->summary.accuracy)) << " |";
      }
      table << "\n";
    }
    rep << "\n## Main table: test accuracy (mean ± s.e.m. over " << o.splits << " splits)\n\n" << table.str();
    summary.main_table = table.str();
    auto rf_all = main_res.find("all/random_forest");
    if (rf_all == main_res.end() && !main_res.empty()) rf_all = main_res.begin();
    if (rf_all != main_res.end()) {
      rep << "\nConfusion matrix (" << rf_all->first << ", rows = true rule, fraction predicted):\n\n| true \\ predicted |";
      for (const auto& k : classes) rep << " " << k << " |";
      rep << "\n|---|";
      for (int k = 0; k < C; ++k) rep << "---|";
      rep << "\n";
      for (int t = 0; t < C; ++t) {
        rep << "| " << classes[static_cast<size_t>(t)] << " |";
        for (int p = 0; p < C; ++p) rep << " " << fmt(rf_all->second->summary.confusion[static_cast<size_t>(t * C + p)].mean, 2) << " |";
        rep << "\n";
      }
    }
  }

  // ---- findings
  rep << "\n## Findings\n\n";
  auto acc = [&](const std::string& label) {
    auto it = main_res.find(label);
    return it == main_res.end() ? std::nan("") : it->second->summary.accuracy.mean;
  };
  {
    // 1. separable from each observable class
    std::string nums;
    bool all_high = !obs_classes.empty();
    for (const auto& cls : obs_classes) {
      const double a = acc(cls + "/random_forest");
      nums += cls + " " + fmt(a) + ", ";
      all_high = all_high && a >= 0.75;
    }
    rep << "1. **Rules are separable from each observable class** (random forest: " << nums << "chance "
        << fmt(chance) << "): " << (all_high ? "reproduced" : "not reproduced (an accuracy below 0.75)") << ".\n";
    // 2. not linearly (activations)
    const double rf_act = acc("act/random_forest"), svm_act = acc("act/linear_svm");
    if (std::isfinite(rf_act) && std::isfinite(svm_act))
      rep << "2. **Not linearly** (activations: forest " << fmt(rf_act) << ", linear SVM " << fmt(svm_act) << "): "
          << (svm_act < rf_act - 0.05 ? "reproduced" : "not reproduced") << ".\n";
    else
      rep << "2. **Not linearly**: not measured (needs act statistics and both classifiers).\n";
    // 3. SGDM vs Adam harder than direction differences
    auto it = main_res.find("all/random_forest");
    const auto ia = std::find(classes.begin(), classes.end(), "sgdm"), ib = std::find(classes.begin(), classes.end(), "adam");
    if (it != main_res.end() && ia != classes.end() && ib != classes.end() && C > 2) {
      const int a = static_cast<int>(ia - classes.begin()), b = static_cast<int>(ib - classes.begin());
      const auto& cm = it->second->summary.confusion;
      const double within = 0.5 * (cm[static_cast<size_t>(a * C + b)].mean + cm[static_cast<size_t>(b * C + a)].mean);
      double across = 0;
      int n = 0;
      for (int t = 0; t < C; ++t)
        for (int p = 0; p < C; ++p)
          if (t != p && !((t == a && p == b) || (t == b && p == a))) across += cm[static_cast<size_t>(t * C + p)].mean, ++n;
      across /= std::max(1, n);
      rep << "3. **SGDM vs Adam is the hardest pair** (mean confusion sgdm<->adam " << fmt(within)
          << ", other pairs " << fmt(across) << "): " << (within > across ? "reproduced" : "not reproduced") << ".\n";
    } else {
      rep << "3. **SGDM vs Adam is the hardest pair**: not measured (needs sgdm, adam and a third rule).\n";
    }
  }

  // ---- holdouts
  for (size_t i = 0; i < evals.size(); ++i) {
    if (evals[i].sweep != "holdout") continue;
    const auto& e = evals[i];
    const auto& r = results[i];
    const std::string g = "/holdout/" + e.label;
    h5.group("/holdout");
    h5.group(g);
    std::vector<double> accs;
    for (const auto& sp : r.splits) accs.push_back(sp.metrics.accuracy);
    if (e.custom == Eval::Custom::Transfer) {
      const auto n = static_cast<hsize_t>(e.custom_values.size());
      h5.strings(g + "/tasks", e.custom_values);
      h5.doubles(g + "/accuracy", accs, {n, n});
      rep << "\nTask-to-task transfer (rows: trained on, columns: tested on; diagonal: a 75/25 split inside the task):\n\n| train \\ test |";
      for (const auto& t : e.custom_values) rep << " " << t << " |";
      rep << "\n|---|";
      for (size_t k = 0; k < n; ++k) rep << "---|";
      rep << "\n";
      for (size_t a = 0; a < n; ++a) {
        rep << "| " << e.custom_values[a] << " |";
        for (size_t b = 0; b < n; ++b) rep << " " << fmt(accs[a * n + b]) << " |";
        rep << "\n";
      }
    } else {
      h5.strings(g + "/held_out", e.custom_values);
      h5.doubles(g + "/accuracy", accs);
      const MeanSem m = mean_sem(accs);
      rep << "\n4" << (e.custom == Eval::Custom::Arch ? "a" : "b") << ". **Held-out "
          << (e.custom == Eval::Custom::Arch ? "architectures" : "tasks") << "** (forest trained on the rest): ";
      for (size_t k = 0; k < accs.size(); ++k) rep << e.custom_values[k] << " " << fmt(accs[k]) << (k + 1 < accs.size() ? ", " : "");
      rep << "; mean " << fmt(m.mean) << " vs chance " << fmt(chance) << ": "
          << (m.mean > chance + 0.15 ? "generalises (reproduced)" : "does not generalise (not reproduced)") << ".\n";
    }
  }

  // ---- trajectory
  if (!traj.empty()) {
    h5.group("/trajectory");
    std::map<std::string, std::vector<double>> k_col, pos_col, m_col, s_col;
    size_t ti = 0;
    for (size_t i = 0; i < evals.size(); ++i) {
      if (evals[i].sweep != "trajectory") continue;
      const auto& [kind, k, pos, pts] = traj[ti++];
      k_col[kind].push_back(k);
      pos_col[kind].push_back(pos);
      m_col[kind].push_back(results[i].summary.accuracy.mean);
      s_col[kind].push_back(results[i].summary.accuracy.sem);
    }
    for (const auto& [kind, ks] : k_col) {
      h5.group("/trajectory/" + kind);
      h5.doubles("/trajectory/" + kind + "/k", ks);
      h5.doubles("/trajectory/" + kind + "/position", pos_col[kind]);
      h5.doubles("/trajectory/" + kind + "/accuracy_mean", m_col[kind]);
      h5.doubles("/trajectory/" + kind + "/accuracy_sem", s_col[kind]);
    }
    // 5. spread vs window (mean over window positions) for small k
    double spread_sum = 0, window_sum = 0;
    int n = 0;
    const int kmax = std::max(2, static_cast<int>(c.points) / 4);
    for (int k = 2; k <= kmax; ++k) {
      double w = 0;
      int nw = 0;
      for (size_t j = 0; j < k_col["window"].size(); ++j)
        if (k_col["window"][j] == k) w += m_col["window"][j], ++nw;
      for (size_t j = 0; j < k_col["spread"].size(); ++j)
        if (k_col["spread"][j] == k && nw) spread_sum += m_col["spread"][j], window_sum += w / nw, ++n;
    }
    if (n)
      rep << "\n5. **Trajectory undersampling** (k = 2.." << kmax << " points: spread across training "
          << fmt(spread_sum / n) << " vs a dense window, mean over positions " << fmt(window_sum / n)
          << "): " << (spread_sum > window_sum ? "sparse, spread measurements are more robust (reproduced)" : "not reproduced")
          << ".\n";
  }

  // ---- measurement
  if (has("measurement")) {
    h5.group("/measurement");
    std::vector<double> m, s;
    std::vector<std::string> cond_labels;
    for (size_t i = 0; i < evals.size(); ++i)
      if (evals[i].sweep == "measurement") m.push_back(results[i].summary.accuracy.mean), s.push_back(results[i].summary.accuracy.sem);
    const auto nc = static_cast<hsize_t>(c.conditions), no = static_cast<hsize_t>(obs_classes.size());
    h5.strings("/measurement/conditions", c.condition_names);
    h5.doubles("/measurement/fraction", c.condition_fraction);
    h5.doubles("/measurement/noise", c.condition_noise);
    h5.strings("/measurement/observable_class", obs_classes);
    h5.doubles("/measurement/accuracy_mean", m, {nc, no});
    h5.doubles("/measurement/accuracy_sem", s, {nc, no});
    rep << "\nAccuracy per measurement condition (forest, " << o.sweep_splits << " splits):\n\n| condition | fraction | noise |";
    for (const auto& cls : obs_classes) rep << " " << cls << " |";
    rep << "\n|---|---|---|";
    for (size_t k = 0; k < no; ++k) rep << "---|";
    rep << "\n";
    for (hsize_t ci = 0; ci < nc; ++ci) {
      rep << "| " << c.condition_names[ci] << " | " << fmt(c.condition_fraction[ci], 3) << " | " << fmt(c.condition_noise[ci], 3) << " |";
      for (hsize_t k = 0; k < no; ++k) rep << " " << fmt(m[ci * no + k]) << " |";
      rep << "\n";
    }
    // 6. weights not robust, activations most robust: the drop from ideal to the worst condition
    std::map<std::string, double> drop;
    for (hsize_t k = 0; k < no; ++k) {
      double worst = m[k];
      for (hsize_t ci = 0; ci < nc; ++ci) worst = std::min(worst, m[ci * no + k]);
      drop[obs_classes[k]] = m[k] - worst;
    }
    if (drop.count("weight") && drop.count("act"))
      rep << "\n6. **Measurement noise and unit subsampling** (drop from ideal to the worst condition: weight "
          << fmt(drop["weight"]) << ", act " << fmt(drop["act"])
          << (drop.count("gradavg") ? ", gradavg " + fmt(drop["gradavg"]) : "") << "): "
          << (drop["act"] < drop["weight"] ? "activations are more robust than weights (reproduced)" : "not reproduced")
          << ".\n";
  }

  // ---- importances
  auto imp_it = std::find_if(evals.begin(), evals.end(), [](const Eval& e) { return e.sweep == "main" && e.label == "all/random_forest"; });
  if (imp_it == evals.end())
    imp_it = std::find_if(evals.begin(), evals.end(), [](const Eval& e) { return e.sweep == "main" && e.classifier.name == "random_forest"; });
  if (has("importance") && imp_it != evals.end()) {
    const auto& r = results[static_cast<size_t>(imp_it - evals.begin())];
    const auto& names = use(static_cast<size_t>(imp_it - evals.begin())).data->feature_names;
    std::vector<size_t> idx(r.importances.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return r.importances[a] > r.importances[b]; });
    idx.resize(std::min<size_t>(idx.size(), 20));
    std::vector<std::string> top;
    std::vector<double> val;
    for (auto k : idx) top.push_back(names[k]), val.push_back(r.importances[k]);
    h5.group("/importance");
    h5.strings("/importance/feature", top);
    h5.doubles("/importance/importance", val);
    rep << "\nTop feature importances (" << imp_it->label << ", mean decrease in impurity):\n\n| feature | importance |\n|---|---|\n";
    for (size_t k = 0; k < top.size(); ++k) rep << "| " << top[k] << " | " << fmt(val[k], 4) << " |\n";
  }

  summary.seconds = now() - t0;
  rep << "\n" << summary.fits << " fits on " << size << " rank(s) in " << fmt(summary.seconds, 1) << " s.\n";
  std::ofstream(summary.report_path) << rep.str();
  if (!o.export_features.empty()) export_features(main_data, o.export_features);
  dist::quiet_barrier(MPI_COMM_WORLD);
  return summary;
}

}  // namespace lrid::analyze
