// The findings' verdicts and report.md (see include/lrid/analyze/report.hpp).
#include "lrid/analyze/report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "lrid/config/rules.hpp"
#include "lrid/util/text.hpp"

namespace lrid::analyze {

namespace {

using V = Finding::Verdict;

std::string f3(double v) { return util::fixed(v, 3); }
std::string plus_minus_sem(const MeanSem& m) { return f3(m.mean) + " ± " + f3(m.sem); }
bool ok(double v) { return std::isfinite(v); }

double main_acc(const Results& r, const std::string& cls, const std::string& clf) {
  const MainRow* m = r.main_row(cls, clf);
  return m ? m->accuracy.mean : std::nan("");
}

Finding separable(const Results& r) {
  Finding f;
  f.number = 1;
  f.title = "Rules are separable from aggregate statistics, from each observable class";
  f.criterion = "forest on all statistics >= " + f3(kSeparableAll) + " and on each of weight, act, gradavg >= " +
                f3(kSeparableClass);
  const double all = main_acc(r, "all", "random_forest");
  std::string ev = "forest: all " + f3(all);
  bool measured = ok(all), pass = ok(all) && all >= kSeparableAll;
  for (const char* cls : {"weight", "act", "gradavg"}) {
    const double a = main_acc(r, cls, "random_forest");
    ev += std::string(", ") + cls + " " + f3(a);
    measured = measured && ok(a);
    pass = pass && ok(a) && a >= kSeparableClass;
  }
  f.evidence = ev + " (chance " + f3(r.classes.empty() ? std::nan("") : 1.0 / static_cast<double>(r.classes.size())) + ")";
  f.verdict = !measured ? V::NotMeasured : pass ? V::Reproduced : V::NotReproduced;
  return f;
}

Finding nonlinear(const Results& r) {
  Finding f;
  f.number = 2;
  f.title = "Not linearly: a linear SVM on activations does clearly worse than the forest";
  f.criterion = "forest(act) - linear SVM(act) >= " + f3(kNonlinearGap);
  const double rf = main_acc(r, "act", "random_forest"), svm = main_acc(r, "act", "linear_svm");
  f.evidence = "activations: forest " + f3(rf) + ", linear SVM " + f3(svm) + ", gap " + f3(rf - svm);
  f.verdict = !(ok(rf) && ok(svm)) ? V::NotMeasured : rf - svm >= kNonlinearGap ? V::Reproduced : V::NotReproduced;
  return f;
}

Finding hardest_pair(const Results& r) {
  Finding f;
  f.number = 3;
  f.title = "Rules differing in learning-rate policy (SGDM vs Adam) are the hardest to tell apart";
  // The paper's rules (config/rules.hpp, RuleDef::paper) in the campaign; the policy pair is its
  // two backprop rules (B = W), one under the shared SGD policy and one under its own. Other
  // rules of the campaign do not take part: the pairwise identifiability matrix covers them.
  const auto& cl = r.classes;
  std::vector<size_t> paper;
  size_t ia = cl.size(), ib = cl.size();
  for (size_t i = 0; i < cl.size(); ++i) {
    const config::RuleDef* d = config::find_rule(cl[i]);
    if (!d || !d->paper) continue;
    paper.push_back(i);
    if (d->feedback == config::FeedbackKind::Exact) (d->policy == config::Policy::Shared ? ia : ib) = i;
  }
  const std::string a_name = ia < cl.size() ? cl[ia] : "sgdm", b_name = ib < cl.size() ? cl[ib] : "adam";
  f.criterion = a_name + "<->" + b_name + " is the single most confused pair of the paper's rules (forest, all statistics)";
  const MainRow* m = r.main_row("all", "random_forest");
  if (!m || ia == cl.size() || ib == cl.size() || paper.size() < 3) {
    f.evidence = "needs the forest on all statistics and " + a_name + ", " + b_name + " and a third rule of the paper";
    return f;
  }
  const size_t C = cl.size();
  auto pair = [&](size_t i, size_t j) { return 0.5 * (m->confusion[i * C + j].mean + m->confusion[j * C + i].mean); };
  const double target = pair(ia, ib);
  double other = -1;
  std::string other_name;
  for (size_t x = 0; x < paper.size(); ++x)
    for (size_t y = x + 1; y < paper.size(); ++y) {
      const size_t i = paper[x], j = paper[y];
      if ((i == std::min(ia, ib) && j == std::max(ia, ib))) continue;
      if (pair(i, j) > other) other = pair(i, j), other_name = cl[i] + "<->" + cl[j];
    }
  f.evidence = "mean confusion " + a_name + "<->" + b_name + " " + f3(target) + ", the most confused other pair " +
               other_name + " " + f3(other);
  f.verdict = !(ok(target) && ok(other)) ? V::NotMeasured : target > other ? V::Reproduced : V::NotReproduced;
  return f;
}

Finding generalises(const Results& r) {
  Finding f;
  f.number = 4;
  f.title = "The forest generalises to held-out architectures and held-out tasks";
  f.criterion = "mean accuracy over held-out architectures >= " + f3(kHoldoutMin) + " and over held-out tasks >= " +
                f3(kHoldoutMin);
  const auto a = r.holdout.find("architecture"), t = r.holdout.find("task");
  const double arch = a == r.holdout.end() ? std::nan("") : a->second.overall.mean;
  const double task = t == r.holdout.end() ? std::nan("") : t->second.overall.mean;
  f.evidence = "held-out architectures " + f3(arch) + ", held-out tasks " + f3(task);
  if (ok(arch) && arch < kHoldoutMin) f.verdict = V::NotReproduced;
  else if (ok(task) && task < kHoldoutMin) f.verdict = V::NotReproduced;
  else if (ok(arch) && ok(task)) f.verdict = V::Reproduced;
  else f.verdict = V::NotMeasured;
  return f;
}

Finding undersampling(const Results& r) {
  Finding f;
  f.number = 5;
  f.title = "Measurements spread sparsely across training beat a dense window";
  f.criterion = "mean over k = " + std::to_string(kTrajectoryKMin) + ".." + std::to_string(kTrajectoryKMax) +
                " of (spread - dense window averaged over its positions) >= " + f3(kTrajectoryGap);
  std::vector<double> gaps;
  std::string ev;
  for (int k = kTrajectoryKMin; k <= kTrajectoryKMax; ++k) {
    double spread = std::nan(""), w = 0;
    int nw = 0;
    for (const auto& t : r.trajectory) {
      if (t.k != k) continue;
      if (t.kind == "spread") spread = t.accuracy.mean;
      if (t.kind == "window") w += t.accuracy.mean, ++nw;
    }
    if (!ok(spread) || nw == 0) continue;
    gaps.push_back(spread - w / nw);
    ev += (ev.empty() ? "" : ", ") + std::string("k=") + std::to_string(k) + ": spread " + f3(spread) + " vs window " + f3(w / nw);
  }
  if (gaps.size() != static_cast<size_t>(kTrajectoryKMax - kTrajectoryKMin + 1)) {
    f.evidence = "needs the trajectory sweep with at least " + std::to_string(kTrajectoryKMax + 1) + " points";
    return f;
  }
  double mean = 0;
  for (double g : gaps) mean += g / static_cast<double>(gaps.size());
  f.evidence = ev + "; mean gap " + f3(mean);
  f.verdict = mean >= kTrajectoryGap ? V::Reproduced : V::NotReproduced;
  return f;
}

Finding measurement(const Results& r) {
  Finding f;
  f.number = 6;
  f.title = "Activations are more robust to unit subsampling and noise than weights";
  f.criterion = "from ideal to the worst condition (fewest units kept, then most noise): act loses less accuracy than "
                "weight, and act > weight there";
  const auto& m = r.measurement;
  const int w = worst_condition(m);
  const MeanSem *ai = m.at("ideal", "act"), *wi = m.at("ideal", "weight");
  if (w < 0 || !ai || !wi) {
    f.evidence = "needs the measurement sweep with weight and act statistics and a non-ideal condition";
    return f;
  }
  const std::string worst = m.conditions[static_cast<size_t>(w)];
  const double aw = m.at(worst, "act")->mean, ww = m.at(worst, "weight")->mean;
  const double act_drop = ai->mean - aw, weight_drop = wi->mean - ww;
  f.evidence = "worst condition " + worst + ": act " + f3(ai->mean) + " -> " + f3(aw) + " (drop " + f3(act_drop) +
               "), weight " + f3(wi->mean) + " -> " + f3(ww) + " (drop " + f3(weight_drop) + ")";
  if (!(ok(act_drop) && ok(weight_drop))) return f;
  f.verdict = act_drop < weight_drop && aw > ww ? V::Reproduced : V::NotReproduced;
  return f;
}

}  // namespace

int worst_condition(const MeasurementTable& m) {
  int best = -1;
  for (size_t i = 0; i < m.conditions.size(); ++i) {
    if (m.conditions[i] == "ideal") continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const size_t b = static_cast<size_t>(best);
    const double ui = m.act_units.size() > i ? m.act_units[i] : m.fraction[i];
    const double ub = m.act_units.size() > b ? m.act_units[b] : m.fraction[b];
    if (ui < ub || (ui == ub && m.noise[i] > m.noise[b])) best = static_cast<int>(i);
  }
  return best;
}

std::vector<Finding> judge(const Results& r) {
  return {separable(r), nonlinear(r), hardest_pair(r), generalises(r), undersampling(r), measurement(r)};
}

std::string main_table_markdown(const Results& r) {
  std::vector<std::string> clfs, rows;
  for (const auto& m : r.main) {
    if (std::find(clfs.begin(), clfs.end(), m.classifier) == clfs.end()) clfs.push_back(m.classifier);
    if (std::find(rows.begin(), rows.end(), m.observable_class) == rows.end()) rows.push_back(m.observable_class);
  }
  std::ostringstream t;
  t << "| observables |";
  for (const auto& x : clfs) t << " " << x << " |";
  t << "\n|---|";
  for (size_t k = 0; k < clfs.size(); ++k) t << "---|";
  t << "\n";
  for (const auto& row : rows) {
    t << "| " << row << " |";
    for (const auto& clf : clfs) {
      const MainRow* m = r.main_row(row, clf);
      const MainRow* n = r.networks_row(row, clf);
      t << " " << (m ? plus_minus_sem(m->accuracy) : "") << (n ? " / " + plus_minus_sem(n->accuracy) : "") << " |";
    }
    t << "\n";
  }
  return t.str();
}

namespace {

// The title, what was analysed, dropped statistics and the learning-rate policy warning.
void report_header(std::ostream& o, const Results& r) {
  const double chance = r.classes.empty() ? std::nan("") : 1.0 / static_cast<double>(r.classes.size());
  o << "# lrid analysis: " << r.job_name << "\n\n"
    << "Campaign `" << r.campaign << "` (job hash " << r.job_hash << ", lrid " << r.lrid_version << "): " << r.samples
    << " samples (run x layer) from " << r.done_runs << " done runs of " << r.runs << "; classes "
    << util::join(r.classes) << " (chance " << f3(chance) << "); " << r.statistics.size() << " statistics x "
    << r.points << " trajectory points.\n";
  if (!r.dropped_statistics.empty())
    o << "\nStatistics dropped for a non-finite value: " << util::join(r.dropped_statistics) << ".\n";
  if (!r.policy_differences.empty()) {
    o << "\n**Warning: the rules of the shared SGD policy were trained with different learning-rate policies**, so a "
         "classifier can tell them apart by the size of their steps, not only by their direction:\n\n";
    for (const auto& d : r.policy_differences) o << "- " << d << "\n";
  }
}

// The findings with their criteria and verdicts, the thresholds, and the permutation control.
void report_findings(std::ostream& o, const Results& r) {
  const double chance = r.classes.empty() ? std::nan("") : 1.0 / static_cast<double>(r.classes.size());
  // Findings first: what a reader came for.
  o << "\n## Findings\n\n| # | finding | criterion | measured | verdict |\n|---|---|---|---|---|\n";
  for (const auto& f : r.findings)
    o << "| " << f.number << " | " << f.title << " | " << f.criterion << " | " << f.evidence << " | **"
      << verdict_name(f.verdict) << "** |\n";
  o << "\nThresholds: lrid/analyze/report.hpp (kSeparableAll " << f3(kSeparableAll) << ", kSeparableClass "
    << f3(kSeparableClass) << ", kNonlinearGap " << f3(kNonlinearGap) << ", kHoldoutMin " << f3(kHoldoutMin)
    << ", kTrajectoryGap " << f3(kTrajectoryGap) << " at k = " << kTrajectoryKMin << ".." << kTrajectoryKMax << ").\n";

  if (r.permutation_run)
    o << "\n**Control**: the sweep forest on rule labels permuted across runs (a new permutation for each of the splits; all layers of a run keep one label): "
      << plus_minus_sem(r.permutation) << " vs chance " << f3(chance)
      << (std::fabs(r.permutation.mean - chance) <= 0.05 ? " (at chance: the features carry no label by themselves)"
                                                          : " (NOT at chance: the splits leak something other than the rule)")
      << ".\n";
}

// The main table and the confusion matrix of all/random_forest.
void report_main_table(std::ostream& o, const Results& r) {
  const int splits = r.settings.value("splits", 0);
  if (!r.main.empty()) {
    o << "\n## Main table: test accuracy (mean ± s.e.m. over " << splits << " splits)\n\n";
    if (!r.networks.empty())
      o << "Each cell: the paper's splits of samples (run x layer) / splits that hold out whole networks (every "
           "layer of a run on one side, so no test layer has a sibling from its network in training).\n\n";
    o << main_table_markdown(r);
    const MainRow* m = r.main_row("all", "random_forest");
    if (!m) m = &r.main.front();
    const size_t C = r.classes.size();
    o << "\nConfusion matrix (" << m->label() << ", rows = true rule, fraction predicted):\n\n| true \\ predicted |";
    for (const auto& k : r.classes) o << " " << k << " |";
    o << "\n|---|";
    for (size_t k = 0; k < C; ++k) o << "---|";
    o << "\n";
    for (size_t t = 0; t < C; ++t) {
      o << "| " << r.classes[t] << " |";
      for (size_t p = 0; p < C; ++p) o << " " << util::fixed(m->confusion[t * C + p].mean, 2) << " |";
      o << "\n";
    }
  }
}

// One pairwise matrix of the identifiability sweep as a markdown table.
void pair_matrix(std::ostream& o, const Identifiability& t, size_t k, size_t s, size_t c) {
  const size_t R = t.rules.size();
  o << "| " << t.classes[c] << ", " << t.conditions[k] << " |";
  for (const auto& x : t.rules) o << " " << x << " |";
  o << "\n|---|";
  for (size_t j = 0; j < R; ++j) o << "---|";
  o << "\n";
  for (size_t i = 0; i < R; ++i) {
    o << "| " << t.rules[i] << " |";
    for (size_t j = 0; j < R; ++j) o << " " << (i == j ? std::string("") : util::fixed(t.at(k, s, c, i, j).mean, 2)) << " |";
    o << "\n";
  }
}

// Which rules can be told apart: the pairwise matrices, the groups, the reading.
void report_identifiability(std::ostream& o, const Results& r) {
  const Identifiability& t = r.identifiability;
  if (t.empty()) return;
  const size_t R = t.rules.size(), s = 1;  // whole networks held out
  const size_t ideal = 0, worst = t.conditions.size() > 1 ? 1 : 0;
  const int splits = r.settings.value("sweep_splits", 0);
  o << "\n## Which rules can be told apart\n\nThe sweep forest on each pair of rules alone (chance 0.5), mean over "
    << splits << " splits that hold out whole networks (results.h5 /identifiability also has sample splits and "
    << "s.e.m.), per observable class, under the ideal condition and the worst recorded one ("
    << t.conditions[worst] << ").\n\n";
  for (const char* cls : {"all", "act"}) {
    const size_t c = Identifiability::index(t.classes, cls);
    if (c == t.classes.size()) continue;
    for (size_t k : std::vector<size_t>{ideal, worst}) {
      pair_matrix(o, t, k, s, c);
      o << "\n";
      if (worst == ideal) break;
    }
  }
  // Groups: the dendrogram's clusters below the confusion threshold.
  const double cut = 2 * kPairConfused - 1;
  std::vector<std::vector<int64_t>> members(2 * R);
  for (size_t i = 0; i < R; ++i) members[i] = {static_cast<int64_t>(i)};
  std::vector<bool> merged(2 * R, false);
  for (size_t m = 0; m < t.height.size(); ++m) {
    if (!(t.height[m] < cut)) break;
    auto& g = members[R + m];
    for (auto id : {t.left[m], t.right[m]}) {
      g.insert(g.end(), members[static_cast<size_t>(id)].begin(), members[static_cast<size_t>(id)].end());
      merged[static_cast<size_t>(id)] = true;
    }
  }
  std::vector<std::string> groups;
  for (size_t id = 0; id < R + t.height.size(); ++id)
    if (!merged[id] && members[id].size() > 1) {
      std::vector<std::string> names;
      for (auto x : members[id]) names.push_back(t.rules[static_cast<size_t>(x)]);
      groups.push_back("{" + util::join(names, ", ") + "}");
    }
  o << "Groups of rules the forest confuses (dendrogram.png: average linkage of the separability 2 acc - 1, "
    << t.distance << "; clusters joined below " << f3(cut) << ", i.e. pairwise accuracy below " << f3(kPairConfused)
    << "): " << (groups.empty() ? std::string("none: every rule stands apart") : util::join(groups, ", ")) << ".\n\n";
  // The reading, pair by pair.
  const size_t weight = Identifiability::index(t.classes, "weight"), act = Identifiability::index(t.classes, "act"),
               grad = Identifiability::index(t.classes, "gradavg");
  auto acc = [&](size_t k, size_t c, size_t i, size_t j) {
    return c < t.classes.size() ? t.at(k, s, c, i, j).mean : std::nan("");
  };
  std::vector<std::string> none, weights_only, survive, lost;
  for (size_t i = 0; i < R; ++i)
    for (size_t j = i + 1; j < R; ++j) {
      const std::string pair = t.rules[i] + "<->" + t.rules[j];
      double best = -1;
      for (size_t c = 0; c < t.classes.size(); ++c) best = std::max(best, acc(ideal, c, i, j));
      if (best < kPairSeparated) none.push_back(pair + " (best " + f3(best) + ")");
      if (acc(ideal, weight, i, j) >= kPairSeparated && !(acc(ideal, act, i, j) >= kPairSeparated) &&
          !(acc(ideal, grad, i, j) >= kPairSeparated))
        weights_only.push_back(pair);
      if (worst != ideal && acc(ideal, act, i, j) >= kPairSeparated)
        (acc(worst, act, i, j) >= kPairSeparated ? survive : lost)
            .push_back(pair + " (" + f3(acc(ideal, act, i, j)) + " -> " + f3(acc(worst, act, i, j)) + ")");
    }
  auto line = [&](const std::string& what, const std::vector<std::string>& v) {
    o << "- " << what << ": " << (v.empty() ? std::string("none") : util::join(v, ", ")) << ".\n";
  };
  o << "Reading (whole networks held out; a pair counts as separated at pairwise accuracy >= " << f3(kPairSeparated) << "):\n\n";
  line("No observable class separates", none);
  line("Only weights separate (not activations, not layer-wise changes)", weights_only);
  if (worst != ideal) {
    line("Separated by activations under ideal measurement and still under " + t.conditions[worst], survive);
    line("Separated by activations under ideal measurement but not under " + t.conditions[worst], lost);
  }
}

// Held-out architectures and tasks, and the task-to-task transfer matrix.
void report_holdout(std::ostream& o, const Results& r) {
  const int sweep_splits = r.settings.value("sweep_splits", 0);
  for (const auto& [kind, h] : r.holdout) {
    o << "\nHeld-out " << kind << "s (forest trained on the others, mean ± s.e.m. over " << sweep_splits
      << " forest seeds): ";
    for (size_t k = 0; k < h.held_out.size(); ++k) o << (k ? ", " : "") << h.held_out[k] << " " << plus_minus_sem(h.accuracy[k]);
    o << "; mean " << plus_minus_sem(h.overall) << ".\n";
  }
  if (!r.transfer.tasks.empty()) {
    const size_t n = r.transfer.tasks.size();
    o << "\nTask-to-task transfer (rows: trained on, columns: tested on; diagonal: a balanced split inside the task):\n\n| train \\ test |";
    for (const auto& t : r.transfer.tasks) o << " " << t << " |";
    o << "\n|---|";
    for (size_t k = 0; k < n; ++k) o << "---|";
    o << "\n";
    for (size_t a = 0; a < n; ++a) {
      o << "| " << r.transfer.tasks[a] << " |";
      for (size_t b = 0; b < n; ++b) o << " " << f3(r.transfer.accuracy[a * n + b].mean) << " |";
      o << "\n";
    }
  }
}

// Accuracy per measurement condition, and the top feature importances.
void report_measurement(std::ostream& o, const Results& r) {
  const int sweep_splits = r.settings.value("sweep_splits", 0);
  if (!r.measurement.classes.empty()) {
    const auto& m = r.measurement;
    o << "\nAccuracy per measurement condition (forest, " << sweep_splits << " splits; units: the median over layers "
      << "of the units (act) and synapses (weight) kept):\n\n| condition | fraction | units | noise | act units | synapses |";
    for (const auto& cls : m.classes) o << " " << cls << " |";
    o << "\n|---|---|---|---|---|---|";
    for (size_t k = 0; k < m.classes.size(); ++k) o << "---|";
    o << "\n";
    for (size_t ci = 0; ci < m.conditions.size(); ++ci) {
      o << "| " << m.conditions[ci] << " | " << f3(m.fraction[ci]) << " | " << (m.units[ci] ? std::to_string(m.units[ci]) : "")
        << " | " << f3(m.noise[ci]) << " | " << util::fixed(m.act_units[ci], 0) << " | " << util::fixed(m.weight_entries[ci], 0) << " |";
      for (size_t k = 0; k < m.classes.size(); ++k) o << " " << f3(m.accuracy[ci * m.classes.size() + k].mean) << " |";
      o << "\n";
    }
  }

  if (!r.importance.empty()) {
    o << "\nTop feature importances (all/random_forest, mean decrease in impurity; `statistic@p` is the statistic at "
         "trajectory point p of 0.." << r.points - 1 << ", `depth_*` the layer's depth category):\n\n| feature | importance |\n|---|---|\n";
    for (size_t k = 0; k < r.importance.size(); ++k) o << "| " << r.importance_feature[k] << " | " << util::fixed(r.importance[k], 4) << " |\n";
  }
}

// Did the rules train (the sanity table, failed runs), and the learning-rule diagnostics.
void report_training(std::ostream& o, const Results& r) {
  // The learning rules themselves: did they train, did IA align?
  o << "\n## Training sanity\n\nFinal training loss and metric per rule x task x architecture (mean ± sd over done runs; "
       "near chance: metric below chance + " << f3(kNearChanceShare) << " of the way to 1):\n\n"
       "| rule | task | architecture | done | failed | final loss | final metric | chance | near chance |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& s : r.sanity)
    o << "| " << s.rule << " | " << s.task << " | " << s.arch << " | " << s.done << " | " << s.failed << " | "
      << f3(s.final_loss_mean) << " ± " << f3(s.final_loss_sd) << " | " << f3(s.final_metric_mean) << " ± "
      << f3(s.final_metric_sd) << " | " << f3(s.chance) << " | " << (s.near_chance ? "**" + std::to_string(s.near_chance) + "**" : "0") << " |\n";
  if (!r.failed.empty()) {
    o << "\nFailed runs (left out of every classifier):\n\n";
    for (const auto& x : r.failed) o << "- run " << x.run << " " << x.key << ": " << x.error << "\n";
  }
  const auto& k = r.curves;
  const size_t T = static_cast<size_t>(k.points);
  if (T > 0 && k.wb_angle.center.size() == k.rules.size() * T) {
    o << "\nLearning-rule diagnostics (mean over layers and runs, degrees; W-B: the angle between the forward and "
         "backward kernels; update: between the rule's gradient for W and backprop's):\n\n"
         "| rule | W-B start | W-B middle | W-B end | update start | update middle | update end |\n|---|---|---|---|---|---|---|\n";
    for (size_t ri = 0; ri < k.rules.size(); ++ri) {
      o << "| " << k.rules[ri];
      for (const Band* b : {&k.wb_angle, &k.grad_angle})
        for (size_t t : {size_t{0}, T / 2, T - 1}) o << " | " << util::fixed(b->center[ri * T + t], 1);
      o << " |\n";
    }
  }
}

}  // namespace

std::string report_markdown(const Results& r) {
  std::ostringstream o;
  report_header(o, r);
  report_findings(o, r);
  report_main_table(o, r);
  report_identifiability(o, r);
  report_holdout(o, r);
  report_measurement(o, r);
  report_training(o, r);
  o << "\n" << r.fits << " fits on " << r.ranks << " rank(s) in " << util::fixed(r.seconds, 1) << " s.\n";
  return o.str();
}

}  // namespace lrid::analyze
