#include "lrid/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

#include "lrid/data/data.hpp"
#include "lrid/dist/averager.hpp"
#include "lrid/error.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/train/recorder.hpp"

namespace lrid::train {

namespace {

// Conditions recorded for a job: "ideal" first, then every (fraction, noise) pair of the job's
// lists in order (fraction-major), without repeating ideal.
std::vector<observe::Condition> job_conditions(const config::JobSpec& job) {
  const auto& m = job.observables.conditions;
  std::vector<observe::Condition> out;
  out.push_back({1.0, 0.0, static_cast<uint64_t>(m.seed)});
  for (double f : m.unit_fractions)
    for (double s : m.noise_levels) {
      observe::Condition c{f, s, static_cast<uint64_t>(m.seed)};
      if (!(c == out.front())) out.push_back(c);
    }
  return out;
}

nn::ModelOptions model_options(const config::JobSpec& job, const config::RunSpec& run,
                               int64_t channels, int64_t height, int64_t width, int64_t classes) {
  const config::TaskSpec& task = job.task(run.task);
  nn::ModelOptions o;
  o.arch = run.arch;
  o.in_channels = channels;
  o.height = height;
  o.width = width;
  o.num_outputs = classes;
  o.feedback = nn::feedback_for_rule(run.rule);
  o.ia = job.rule(run.rule).ia;
  o.simclr_head = task.objective == "simclr";
  o.head_hidden = task.simclr_head_hidden;
  o.head_dim = task.simclr_head_dim;
  return o;
}

// The schedule's factor on the base rates at `step`.
double schedule_factor(const config::RuleSettings& s, int64_t step, int64_t total) {
  double lr = 1.0;
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    lr *= static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  const double frac = total > 0 ? static_cast<double>(step) / static_cast<double>(total) : 0.0;
  if (s.schedule == "cosine") {
    lr *= 0.5 * (1.0 + std::cos(M_PI * frac));
  } else if (s.schedule == "step") {
    for (double m : s.step_milestones)
      if (frac >= m) lr *= s.step_gamma;
  }
  return lr;
}

struct Optimizer {
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<double> base_lr;  // per parameter group
  /// Sets every group's rate to its base rate times `factor` (the schedule).
  void set_factor(double factor) {
    auto& groups = opt->param_groups();
    for (size_t i = 0; i < groups.size(); ++i) {
      const double lr = base_lr[i] * factor;
      if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&groups[i].options())) sgd->lr(lr);
      if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&groups[i].options())) adam->lr(lr);
    }
  }
};

// W, biases and BatchNorm parameters get the rule's rate and weight decay; IA's B's their own
// rate (feedback_learning_rate) and no weight decay (R's gamma term is their decay).
Optimizer make_optimizer(nn::Model& model, const config::RuleSettings& s) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto fwd = model.forward_parameters();
  const auto fb = model.feedback_parameters();
  Optimizer o;
  o.base_lr.push_back(s.learning_rate);
  if (!fb.empty()) o.base_lr.push_back(s.feedback_learning_rate > 0 ? s.feedback_learning_rate : s.learning_rate);
  if (s.optimizer == "adam") {
    auto opts = [&](double lr, double wd) {
      return std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(wd));
    };
    groups.emplace_back(fwd, opts(o.base_lr[0], s.weight_decay));
    if (!fb.empty()) groups.emplace_back(fb, opts(o.base_lr[1], 0.0));
    o.opt = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(s.learning_rate));
  } else {
    auto opts = [&](double lr, double wd) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(lr).momentum(s.momentum).weight_decay(wd));
    };
    groups.emplace_back(fwd, opts(o.base_lr[0], s.weight_decay));
    if (!fb.empty()) groups.emplace_back(fb, opts(o.base_lr[1], 0.0));
    o.opt = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(s.learning_rate));
  }
  return o;
}

// NT-Xent (SimCLR) over z = [z1; z2] (2B x D): each row's positive is its other view.
// Returns {loss, top-1 accuracy of finding the positive}.
std::pair<torch::Tensor, double> nt_xent(const torch::Tensor& z, double temperature) {
  const int64_t n = z.size(0), b = n / 2;
  const torch::Tensor zn = torch::nn::functional::normalize(
      z, torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor sim = torch::mm(zn, zn.t()) / temperature;
  sim = sim.masked_fill(torch::eye(n, torch::TensorOptions().dtype(torch::kBool)), -1e9);
  const torch::Tensor target =
      torch::cat({torch::arange(b, n, torch::kLong), torch::arange(0, b, torch::kLong)});
  torch::Tensor loss = torch::nn::functional::cross_entropy(sim, target);
  const double acc = sim.detach().argmax(1).eq(target).to(torch::kFloat64).mean().item<double>();
  return {loss, acc};
}

struct TaskData {
  data::TrainTest data;
  int64_t classes = 0;
};

TaskData load_task(const config::TaskSpec& task) {
  TaskData t;
  t.data = data::load({task.dataset.format, task.dataset.path});
  if (!task.label_map.empty()) {
    if (static_cast<int64_t>(task.label_map.size()) != t.data.train.num_classes)
      throw BadInput("task " + task.name + ": label_map has " + std::to_string(task.label_map.size()) +
                     " entries but " + task.dataset.path + " has " +
                     std::to_string(t.data.train.num_classes) + " classes");
    t.data = data::apply_label_map(t.data, task.label_map);
  }
  t.classes = t.data.train.num_classes;
  return t;
}

// Fixed held-out evaluation subset: the first kEval test images of a seeded choice.
constexpr int64_t kEval = 1024;

double evaluate(nn::Model& model, const config::TaskSpec& task, const TaskData& t,
                uint64_t dataset_seed) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int64_t n = std::min<int64_t>(kEval, t.data.test.size());
  const data::Batch eval = data::observation_batch(t.data, n, data::derive_seed(dataset_seed, 0x6576616cULL));
  double correct = 0, count = 0;
  if (task.objective == "simclr") {
    // Positive-pair top-1 accuracy on augmented views of held-out images, in chunks of 256.
    for (int64_t i = 0; i + 1 < n; i += 256) {
      const auto x = eval.images.slice(0, i, std::min(n, i + 256));
      const auto v = data::two_views(x, data::derive_seed(dataset_seed, 0x76616cULL), i);
      const auto z = model.forward(torch::cat({v.first, v.second}));
      const auto r = nt_xent(z, task.simclr_temperature);
      correct += r.second * static_cast<double>(x.size(0));
      count += static_cast<double>(x.size(0));
    }
  } else {
    for (int64_t i = 0; i < n; i += 256) {
      const auto x = eval.images.slice(0, i, std::min(n, i + 256));
      const auto y = eval.labels.slice(0, i, std::min(n, i + 256));
      correct += model.forward(x).argmax(1).eq(y).sum().item<double>();
      count += static_cast<double>(x.size(0));
    }
  }
  model.train();
  return count > 0 ? correct / count : std::nan("");
}

}  // namespace

int64_t total_steps(const config::JobSpec& job, const config::RunSpec& run, int64_t train_size) {
  const auto& s = job.rule(run.rule);
  if (s.steps > 0) return s.steps;
  const int64_t per_epoch = (train_size + run.batch_size - 1) / run.batch_size;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(s.epochs * static_cast<double>(per_epoch))));
}

std::vector<int64_t> trajectory_steps(int64_t total, int64_t points) {
  std::vector<int64_t> out;
  for (int64_t p = 0; p < points; ++p)
    out.push_back(static_cast<int64_t>(std::llround(static_cast<double>(p) * static_cast<double>(total) /
                                                    static_cast<double>(points - 1))));
  return out;
}

store::Layout campaign_layout(const config::JobSpec& job,
                              const std::vector<std::vector<store::LayerMeta>>& layers) {
  store::Layout L;
  L.runs = static_cast<int64_t>(job.runs.size());
  for (const auto& l : layers) L.layers = std::max<int64_t>(L.layers, static_cast<int64_t>(l.size()));
  const auto conds = job_conditions(job);
  L.conditions = static_cast<int64_t>(conds.size());
  for (const auto& c : conds) L.conditions_meta.push_back({c.name(), c.fraction, c.noise});
  L.condition_seed = job.observables.conditions.seed;
  L.points = job.observables.trajectory_points;
  for (int i : observe::resolve_statistics(job.observables.statistics))
    L.statistic_names.push_back(observe::all_statistic_names()[static_cast<size_t>(i)]);
  L.statistics = static_cast<int64_t>(L.statistic_names.size());
  return L;
}

std::vector<store::LayerMeta> run_layers(const config::JobSpec& job, const config::RunSpec& run) {
  static std::mutex mu;
  static std::map<std::string, std::vector<store::LayerMeta>> cache;
  const bool simclr = job.task(run.task).objective == "simclr";
  const std::string key = run.arch + (simclr ? "/simclr" : "");
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Layer names and depths do not depend on the input size (adaptive pooling); a small
  // nominal input keeps this cheap.
  torch::NoGradGuard no_grad;
  nn::ModelOptions o = model_options(job, run, 3, 32, 32, 10);
  o.feedback = nn::Feedback::Backprop;
  const auto model = nn::build_model(o, 0);
  std::vector<store::LayerMeta> out;
  for (const auto& l : model->plastic_layers()) out.push_back({l.name, l.depth});
  cache[key] = out;
  return out;
}

store::RunResult train_run(const config::JobSpec& job, const config::RunSpec& run,
                           const TrainOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const config::TaskSpec& task = job.task(run.task);
  const config::RuleSettings& rs = job.rule(run.rule);
  const TaskData t = load_task(task);
  const auto& train = t.data.train;

  const int world = options.group ? options.group->size() : 1;
  const int rank = options.group ? options.group->rank() : 0;
  if (run.batch_size % world != 0)
    throw BadInput(job.path + ": run " + std::to_string(run.id) + ": batch size " +
                   std::to_string(run.batch_size) + " is not divisible by ranks_per_run " +
                   std::to_string(world));

  auto model = nn::build_model(model_options(job, run, train.channels(), train.height(),
                                             train.width(), t.classes),
                               run.model_seed_value);
  model->train();
  Optimizer opt = make_optimizer(*model, rs);
  data::BatchStream stream(train, t.data.norm, run.batch_size, run.dataset_seed_value);

  const int64_t S = total_steps(job, run, train.size());
  const int64_t K = job.observables.trajectory_points;
  const auto points = trajectory_steps(S, K);
  std::unique_ptr<Recorder> recorder;
  if (options.record) {
    const data::Batch obs = data::observation_batch(t.data, job.observables.observation_batch,
                                                    run.dataset_seed_value);
    recorder = std::make_unique<Recorder>(*model, obs.images, job_conditions(job),
                                          observe::resolve_statistics(job.observables.statistics), K);
  }

  const bool simclr = task.objective == "simclr";
  std::vector<torch::Tensor> params;
  for (const auto& g : opt.opt->param_groups())
    for (const auto& p : g.params()) params.push_back(p);

  // One step's loss (and metric) on this rank's share of the batch; backward when training.
  auto forward_loss = [&](int64_t step, bool backward) {
    const data::Batch b = stream.next_shard(rank, world);
    torch::Tensor loss;
    if (simclr) {
      const auto v = data::two_views(b.images, run.dataset_seed_value, step, {},
                                     static_cast<int64_t>(rank) * b.images.size(0), run.batch_size);
      loss = nt_xent(model->forward(torch::cat({v.first, v.second})), task.simclr_temperature).first;
    } else {
      loss = torch::nn::functional::cross_entropy(model->forward(b.images), b.labels);
    }
    if (backward) loss.backward();
    return loss.item<double>();
  };

  store::RunResult result;
  result.run_id = run.id;
  result.steps = points;
  result.loss.assign(static_cast<size_t>(K), std::nan(""));
  size_t next_point = 0;
  double last_loss = std::nan("");
  double step_time = 0;  // forward, backward, averaging and optimiser steps
  for (int64_t step = 0; step <= S; ++step) {
    const bool is_point = next_point < points.size() && points[next_point] == step;
    if (step == S) {
      // The end of training: the loss of one more batch, without an update.
      torch::NoGradGuard no_grad;
      last_loss = forward_loss(step, false);
      if (options.group) last_loss = options.group->mean(last_loss);
    } else {
      const auto s0 = std::chrono::steady_clock::now();
      opt.set_factor(schedule_factor(rs, step, S));
      opt.opt->zero_grad();
      last_loss = forward_loss(step, true);
      if (options.group) {
        std::vector<torch::Tensor> grads;
        for (auto& p : params)
          if (p.grad().defined()) grads.push_back(p.grad());
        options.group->average(grads);
        last_loss = options.group->mean(last_loss);
      }
      if (!std::isfinite(last_loss) || last_loss > rs.max_loss) {
        std::ostringstream m;
        m << "loss diverged at step " << step << " (" << last_loss << ")";
        throw RunFailed(m.str());
      }
      if (rs.gradient_clip > 0) torch::nn::utils::clip_grad_norm_(params, rs.gradient_clip);
      step_time += std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    }
    while (is_point && next_point < points.size() && points[next_point] == step) {
      // Observables of the state *before* this step's update (point 0 = the initial network,
      // the last point = the final one).
      result.loss[next_point] = last_loss;
      if (recorder) {
        const auto r0 = std::chrono::steady_clock::now();
        recorder->record(static_cast<int64_t>(next_point));
        result.record_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
      }
      ++next_point;
      if (options.on_point) {
        Progress p;
        p.step = step;
        p.total_steps = S;
        p.point = static_cast<int64_t>(next_point);
        p.points = K;
        p.loss = last_loss;
        p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        options.on_point(p);
      }
    }
    if (step < S) {
      const auto s0 = std::chrono::steady_clock::now();
      opt.opt->step();
      step_time += std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    }
  }
  result.train_seconds = step_time;

  result.final_loss = last_loss;
  if (options.on_final_model) options.on_final_model(*model);
  result.final_metric = evaluate(*model, task, t, run.dataset_seed_value);
  if (recorder) {
    result.values = recorder->values();
    result.layer_count = recorder->layers();
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace lrid::train
