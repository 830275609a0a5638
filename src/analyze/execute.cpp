// Executing an analysis plan on the rank-0 work queue (see include/lrid/analyze/execute.hpp).
#include "lrid/analyze/execute.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>

#include "lrid/comm/queue.hpp"

namespace lrid::analyze {

using nlohmann::json;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One evaluation's dataset and protocol, built on demand.
struct Materialized {
  std::shared_ptr<FeatureSet> data;
  std::shared_ptr<Protocol> protocol;
};

Materialized materialize(const Evaluation& e, const CampaignData& c) {
  Materialized m;
  m.data = std::make_shared<FeatureSet>(evaluation_features(e, c));
  const FeatureSet& f = *m.data;
  DataView view{f.X.data(), f.y.data(), f.n, f.d, static_cast<int>(f.classes.size()), f.run.data()};
  if (e.splits == SplitKind::Balanced)
    m.protocol = std::make_shared<Protocol>(view, e.classifier, e.grid, e.options);
  else
    m.protocol = std::make_shared<Protocol>(view, e.classifier, e.grid, evaluation_splits(e, f), e.options);
  return m;
}

// Keeps one evaluation materialized at a time on this process.
class Workspace {
 public:
  Workspace(const std::vector<Evaluation>& plan, const CampaignData& c) : plan_(plan), c_(c) {}
  const Protocol& protocol(size_t i) {
    if (current_ != i) {
      held_ = materialize(plan_[i], c_);
      current_ = i;
    }
    return *held_.protocol;
  }

 private:
  const std::vector<Evaluation>& plan_;
  const CampaignData& c_;
  size_t current_ = static_cast<size_t>(-1);
  Materialized held_;
};

// A work-queue unit: evaluation `eval`, CV unit or split `unit`.
struct Unit {
  size_t eval = 0, unit = 0;
  double cost = 1;
};

// "lrid analyze: model selection 441/1000 fits (44%, 12 s, ETA 15 s)" every 5 s and at the end.
comm::QueueOptions progress(const char* stage, size_t total, const ExecuteOptions& o, int rank) {
  comm::QueueOptions q;
  q.heartbeat_seconds = 0;
  if (o.quiet || rank != 0) return q;
  auto state = std::make_shared<std::pair<size_t, double>>(0, now());
  const double stage_start = now();
  q.on_event = [state, stage, total, stage_start, o](const comm::TaskEvent& ev) {
    if (ev.kind != comm::TaskEvent::kDone) return;
    auto& [done, last] = *state;
    ++done;
    if (now() - last < 5 && done != total) return;
    last = now();
    const double el = now() - stage_start;
    const double eta = done ? el / static_cast<double>(done) * static_cast<double>(total - done) : 0;
    std::printf("lrid analyze: %s %zu/%zu fits (%.0f%%, %.0f s, ETA %.0f s)\n", stage, done, total,
                100.0 * static_cast<double>(done) / static_cast<double>(std::max<size_t>(total, 1)),
                now() - o.start, eta);
    std::fflush(stdout);
  };
  return q;
}

void bcast_string(std::string& s) {
  int64_t n = static_cast<int64_t>(s.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  s.resize(static_cast<size_t>(n));
  if (n) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

}  // namespace

FeatureSet evaluation_features(const Evaluation& e, const CampaignData& c) { return build_features(c, e.features); }

Execution execute_plan(const std::vector<Evaluation>& plan, const CampaignData& c, const ExecuteOptions& o) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  Workspace ws(plan, c);

  // Plan the units: every process builds each protocol once to learn its units.
  std::vector<Unit> cv, test;
  for (size_t i = 0; i < plan.size(); ++i) {
    const Protocol& p = ws.protocol(i);
    for (size_t u = 0; u < p.cv_units().size(); ++u) cv.push_back({i, u, p.cv_units()[u].cost});
    for (size_t s = 0; s < p.splits().size(); ++s) test.push_back({i, s, 1});
  }
  Execution out;
  out.fits = static_cast<int64_t>(cv.size() + test.size());
  comm::Groups groups = comm::split_groups(MPI_COMM_WORLD, 1);

  // Stage 1: model selection, the most expensive units first.
  std::vector<int64_t> order(cv.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cv[static_cast<size_t>(a)].cost > cv[static_cast<size_t>(b)].cost; });
  if (rank == 0 && !o.quiet)
    std::printf("lrid analyze: %zu evaluations, %zu CV fits, %zu test fits\n", plan.size(), cv.size(), test.size());
  const auto cv_results = comm::run_queue(
      MPI_COMM_WORLD, groups, order,
      [&](int64_t t) {
        const Unit& u = cv[static_cast<size_t>(t)];
        return encode_scores(ws.protocol(u.eval).run_cv_unit(u.unit));
      },
      progress("model selection", cv.size(), o, rank));

  // Rank 0 chooses each split's grid point; every rank learns the choice.
  std::string chosen_text;
  std::vector<std::vector<std::vector<double>>> cv_acc(plan.size());
  if (rank == 0) {
    json chosen = json::array();
    for (size_t i = 0; i < plan.size(); ++i) {
      const Protocol& p = ws.protocol(i);
      std::vector<std::vector<double>> scores(p.cv_units().size());
      for (size_t t = 0; t < cv.size(); ++t)
        if (cv[t].eval == i) scores[cv[t].unit] = decode_scores(cv_results[t]);
      chosen.push_back(p.select(scores));
      if (!scores.empty()) cv_acc[i] = p.cv_accuracy(scores);
    }
    chosen_text = chosen.dump();
  }
  bcast_string(chosen_text);
  const json chosen = json::parse(chosen_text);

  // Stage 2: one test fit per split of every evaluation.
  std::vector<int64_t> order2(test.size());
  std::iota(order2.begin(), order2.end(), 0);
  const auto test_results = comm::run_queue(
      MPI_COMM_WORLD, groups, order2,
      [&](int64_t t) {
        const Unit& u = test[static_cast<size_t>(t)];
        const int gp = chosen[u.eval][u.unit].get<int>();
        return ws.protocol(u.eval).run_test_unit(static_cast<int>(u.unit), gp).to_json().dump();
      },
      progress("test", test.size(), o, rank));
  comm::free_groups(groups);
  if (rank != 0) return out;

  out.results.resize(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    std::vector<SplitOutcome> outs;
    for (size_t t = 0; t < test.size(); ++t)
      if (test[t].eval == i) outs.push_back(SplitOutcome::from_json(json::parse(test_results[t])));
    out.results[i] = ws.protocol(i).combine(std::move(outs), cv_acc[i]);
  }
  return out;
}

}  // namespace lrid::analyze
