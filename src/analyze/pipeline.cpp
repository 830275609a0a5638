// `lrid analyze`: read, plan, execute, collect, judge, write (see include/lrid/analyze/pipeline.hpp).
#include "lrid/analyze/pipeline.hpp"

#include <cmath>

#include <mpi.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "lrid/analyze/execute.hpp"
#include "lrid/analyze/features.hpp"
#include "lrid/analyze/plan.hpp"
#include "lrid/analyze/report.hpp"
#include "lrid/analyze/results.hpp"
#include "lrid/comm/mpi.hpp"
#include "lrid/comm/queue.hpp"
#include "lrid/error.hpp"
#include "lrid/store/campaign.hpp"
#include "lrid/store/h5.hpp"
#include "lrid/store/run_files.hpp"

namespace lrid::analyze {

void options_from_job(const std::string& job_yaml, const std::string& origin, AnalysisOptions& o,
                      const std::vector<std::string>& overrides) {
  const config::JobSpec job = config::load_job_text(job_yaml, origin, overrides);
  o.spec = job.analysis;
  o.policy_differences = config::policy_differences(job);
}

void make_directories(const std::string& path) {
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    prefix = path.substr(0, end);
    if (!prefix.empty()) {
      struct stat st;
      if (stat(prefix.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw BadInput(path + ": cannot create the directory: " + prefix + " is a file");
      } else if (mkdir(prefix.c_str(), 0775) != 0 && errno != EEXIST) {
        throw BadInput(path + ": cannot create the directory " + prefix + " (" + std::strerror(errno) + ")");
      }
    }
    start = end + 1;
  }
}

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<int64_t> unfinished_runs(const CampaignData& c) {
  std::vector<int64_t> out;
  for (size_t r = 0; r < c.status.size(); ++r)
    if (c.status[r] != store::kDone) out.push_back(c.run_id[r]);
  return out;
}

std::string id_list(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < 20; ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  if (ids.size() > 20) s += ",...";
  return s;
}

// Before any work: the outputs may replace only earlier outputs of this campaign's analysis
// (never the campaign itself, another campaign's results, a model or any other file).
void prepare_outputs(const AnalysisOptions& o, const CampaignData& c) {
  make_directories(o.out_dir);
  const std::string results = o.out_dir + "/results.h5", report = o.out_dir + "/report.md";
  store::h5::check_output(results, "--out", "lrid-results-", {o.campaign}, true, false);
  struct stat st;
  if (stat(results.c_str(), &st) == 0) {
    const std::string hash = store::h5::reading(results, [&] {
      const store::h5::Id f = store::h5::open_file(results, "results file");
      return store::h5::has_attr(f, "job_hash") ? store::h5::read_string_attr(f, "job_hash") : std::string();
    });
    if (hash != c.job_hash)
      throw BadInput(o.out_dir + ": holds the results of another job (hash " + (hash.empty() ? "none" : hash) + ", " +
                     o.campaign + " is of " + c.job_hash + "); use another --out for this campaign");
  }
  if (lstat(report.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw BadInput(report + ": --out DIR/report.md exists and is not a regular file");
  if (!o.export_features.empty())
    store::h5::check_output(o.export_features, "--export-features", "lrid-features", {o.campaign, results, report},
                            true);
}

}  // namespace

AnalysisSummary run_analysis(const AnalysisOptions& o) {
  const double t0 = now();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  const CampaignData c = read_campaign(o.campaign);
  const auto unfinished = unfinished_runs(c);
  if (!unfinished.empty() && o.require_complete)
    throw BadInput(o.campaign + ": " + std::to_string(unfinished.size()) + " of " + std::to_string(c.runs) +
                   " runs are not done (" + id_list(unfinished) + "); --require-complete refuses to analyse it");
  const std::vector<int> selected = select_statistics(c, o.spec.statistics);
  if (rule_classes(c).size() < 2)
    throw BadInput(o.campaign + ": fewer than two learning rules have finished runs" +
                   (unfinished.empty() ? std::string()
                                       : " (" + std::to_string(unfinished.size()) + " of " + std::to_string(c.runs) +
                                             " runs are not done: " + id_list(unfinished) + ")") +
                   "; nothing to classify");
  // Rank 0 checks and creates the outputs; every rank learns the outcome (comm::agreed), so
  // that none goes on to the analysis a failed rank has left.
  {
    // Statistics with a non-finite value are left out; when none is left there is nothing to
    // classify (a damaged file, or every run diverged).
    const FeatureSet main = build_features(c, main_features(selected));
    if (!main.dropped_statistics.empty() &&
        std::none_of(main.feature_names.begin(), main.feature_names.end(),
                     [](const std::string& n) { return n.find('@') != std::string::npos; }))
      throw BadInput(o.campaign + ": every statistic has a non-finite value (NaN or inf) in some sample (" +
                     std::to_string(main.dropped_statistics.size()) + " statistics); nothing is left to classify");
  }
  comm::agreed(MPI_COMM_WORLD, [&] {
    if (rank == 0) prepare_outputs(o, c);
  });
  if (!unfinished.empty() && rank == 0)
    std::fprintf(stderr, "lrid analyze: warning: %zu of %lld runs are not done and are left out: %s\n",
                 unfinished.size(), static_cast<long long>(c.runs), id_list(unfinished).c_str());

  const std::vector<Evaluation> plan = make_plan(c, o.spec, selected);
  if (rank == 0 && !o.quiet)
    std::printf("lrid analyze: %s: %lld runs done, %zu statistics, %zu rule(s), %d rank(s)\n", o.campaign.c_str(),
                static_cast<long long>(c.runs - static_cast<int64_t>(unfinished.size())), selected.size(),
                rule_classes(c).size(), size);
  const Execution ex = execute_plan(plan, c, {o.quiet, t0});

  AnalysisSummary summary;
  summary.fits = ex.fits;
  // Rank 0 writes the outputs; every rank learns whether that failed (a full disk).
  comm::agreed(MPI_COMM_WORLD, [&] {
    if (rank != 0) return;
    Results r = collect_results(plan, ex.results, c, o.spec, selected, o.policy_differences);
    r.ranks = size;
    r.fits = ex.fits;
    r.findings = judge(r);
    r.seconds = now() - t0;
    summary.results_path = o.out_dir + "/results.h5";
    summary.report_path = o.out_dir + "/report.md";
    write_results(r, summary.results_path);
    store::write_file_atomically(summary.report_path, report_markdown(r));
    summary.main_table = main_table_markdown(r);
    for (const auto& f : r.findings)
      summary.findings += std::to_string(f.number) + " " + verdict_name(f.verdict) + ": " + f.evidence + "\n";
    if (!o.export_features.empty()) export_features(build_features(c, main_features(selected)), o.export_features);
    summary.seconds = now() - t0;
  });
  return summary;
}

// `analyze --json`: the main table and the findings, read back from the results file written.
nlohmann::ordered_json summary_json(const AnalysisSummary& s) {
  const Results r = read_results(s.results_path);
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
  nlohmann::ordered_json j;
  j["results"] = s.results_path;
  j["report"] = s.report_path;
  j["lrid_version"] = r.lrid_version;
  j["job_name"] = r.job_name;
  j["job_hash"] = r.job_hash;
  j["classes"] = r.classes;
  j["samples"] = r.samples;
  j["main"] = nlohmann::ordered_json::array();
  for (const auto& m : r.main)
    j["main"].push_back({{"observable_class", m.observable_class},
                         {"classifier", m.classifier},
                         {"accuracy_mean", num(m.accuracy.mean)},
                         {"accuracy_sem", num(m.accuracy.sem)},
                         {"balanced_accuracy_mean", num(m.balanced_accuracy.mean)},
                         {"splits", m.accuracy.count}});
  if (r.permutation_run) j["permutation"] = {{"accuracy_mean", num(r.permutation.mean)}, {"accuracy_sem", num(r.permutation.sem)}};
  j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"number", f.number},
                             {"title", f.title},
                             {"verdict", verdict_name(f.verdict)},
                             {"evidence", f.evidence},
                             {"criterion", f.criterion}});
  j["fits"] = s.fits;
  j["seconds"] = s.seconds;
  return j;
}

}  // namespace lrid::analyze
