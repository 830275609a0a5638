#include "lrid/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "lrid/data/data.hpp"
#include "lrid/comm/averager.hpp"
#include "lrid/error.hpp"
#include "lrid/nn/models.hpp"
#include "lrid/observe/conditions.hpp"
#include "lrid/observe/stats.hpp"
#include "lrid/rng.hpp"
#include "lrid/store/run_files.hpp"
#include "lrid/train/device.hpp"
#include "lrid/train/objectives.hpp"
#include "lrid/train/recorder.hpp"
#include "lrid/util/text.hpp"

namespace lrid::train {

using store::checkpoint_file;
using store::checkpoint_summary;
using store::set_aside_checkpoint;
using store::write_file_atomically;

std::vector<observe::Condition> measurement_conditions(const config::MeasurementSpec& m) {
  const auto seed = static_cast<uint64_t>(m.seed);
  std::vector<observe::Condition> out;
  out.push_back({1.0, 0.0, seed});
  for (double f : m.unit_fractions)
    for (double s : m.noise_levels) {
      observe::Condition c{f, s, seed};
      if (!(c == out.front())) out.push_back(c);
    }
  for (int64_t k : m.unit_counts)
    for (double s : m.noise_levels) out.push_back({1.0, s, seed, static_cast<uint64_t>(k)});
  return out;
}

namespace {

nn::ModelOptions model_options(const std::string& arch, const config::TaskSpec& task, const config::FeedbackSpec& feedback,
                               int64_t channels, int64_t height, int64_t width, int64_t classes) {
  nn::ModelOptions o;
  o.arch = arch;
  o.in_channels = channels;
  o.height = height;
  o.width = width;
  o.num_outputs = classes;
  o.feedback = feedback;
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

// W, biases and BatchNorm parameters get the rule's rate and weight decay. A learned B its own
// rate (feedback_learning_rate; 0: the rule's) and no weight decay (R's decay term is its decay);
// a tied B (Kolen-Pollack) exactly W's rate and weight decay, so that it receives W's update.
Optimizer make_optimizer(nn::Model& model, const config::RuleSettings& s) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const auto fwd = model.forward_parameters();
  const auto fb = model.feedback_parameters();
  const bool tied = s.feedback.kind == config::FeedbackKind::Tied;
  const double fb_decay = tied ? s.weight_decay : 0.0;
  Optimizer o;
  o.base_lr.push_back(s.learning_rate);
  if (!fb.empty())
    o.base_lr.push_back(!tied && s.feedback.learning_rate > 0 ? s.feedback.learning_rate : s.learning_rate);
  if (s.optimizer == "adam") {
    auto opts = [&](double lr, double wd) {
      return std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(lr).betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(wd));
    };
    groups.emplace_back(fwd, opts(o.base_lr[0], s.weight_decay));
    if (!fb.empty()) groups.emplace_back(fb, opts(o.base_lr[1], fb_decay));
    o.opt = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(s.learning_rate));
  } else {
    auto opts = [&](double lr, double wd) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(lr).momentum(s.momentum).weight_decay(wd));
    };
    groups.emplace_back(fwd, opts(o.base_lr[0], s.weight_decay));
    if (!fb.empty()) groups.emplace_back(fb, opts(o.base_lr[1], fb_decay));
    o.opt = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(s.learning_rate));
  }
  return o;
}

struct TaskData {
  data::TrainTest data;
  int64_t classes = 0;
};

// Whether supervised batches are augmented at all (the default: no).
bool augments(const config::TaskSpec& task) {
  return !(task.augment == config::default_augment("supervised"));
}

// Evaluation and observation images at the size the task trains at.
torch::Tensor at_train_size(const config::TaskSpec& task, const torch::Tensor& x) {
  return data::center_crop(x, task.augment.height, task.augment.width);
}

TaskData load_task(const config::TaskSpec& task, double memory_mb) {
  TaskData t;
  const int64_t budget = memory_mb < 0 ? -1 : static_cast<int64_t>(memory_mb * 1048576.0);
  t.data = data::load({task.dataset.format, task.dataset.path}, budget);
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
                uint64_t dataset_seed, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int64_t n = std::min<int64_t>(kEval, t.data.test.size());
  const data::Batch eval = data::observation_batch(t.data, n, data::derive_seed(dataset_seed, 0x6576616cULL));
  double correct = 0, count = 0;
  if (task.objective == "simclr") {
    // Positive-pair top-1 accuracy on augmented views of held-out images, in chunks of 256.
    for (int64_t i = 0; i + 1 < n; i += 256) {
      const auto x = eval.images.slice(0, i, std::min(n, i + 256));
      const auto v = data::two_views(x, data::derive_seed(dataset_seed, 0x76616cULL), i, data::augment_options(task.augment));
      const auto z = model.forward(torch::cat({v.first, v.second}).to(device));
      const auto r = nt_xent(z, task.simclr_temperature);
      correct += r.accuracy.item<double>() * static_cast<double>(x.size(0));
      count += static_cast<double>(x.size(0));
    }
  } else {
    for (int64_t i = 0; i < n; i += 256) {
      const auto x = at_train_size(task, eval.images.slice(0, i, std::min(n, i + 256)));
      const auto y = eval.labels.slice(0, i, std::min(n, i + 256));
      correct += model.forward(x.to(device)).argmax(1).cpu().eq(y).sum().item<double>();
      count += static_cast<double>(x.size(0));
    }
  }
  model.train();
  return count > 0 ? correct / count : std::nan("");
}

// A run diverges when a step's loss is not finite or above max_loss, or when its smoothed loss
// (an exponential moving average over ~10 steps, so one hard batch does not count) rises above
// divergence_factor times the loss of the first step. Throws RunFailed.
constexpr double kLossSmoothing = 0.1;

void check_divergence(const config::RuleSettings& rs, int64_t step, double loss, double& initial,
                      double& smoothed) {
  std::ostringstream m;
  if (!std::isfinite(loss) || loss > rs.max_loss) {
    m << "loss diverged at step " << step << " (" << loss << ")";
    throw RunFailed(m.str());
  }
  if (!std::isfinite(initial)) initial = smoothed = loss;
  smoothed += kLossSmoothing * (loss - smoothed);
  if (rs.divergence_factor > 0 && smoothed > rs.divergence_factor * initial) {
    m << "loss diverged at step " << step << ": smoothed loss " << smoothed << " > "
      << rs.divergence_factor << " x the initial " << initial << " (training.divergence_factor)";
    throw RunFailed(m.str());
  }
}

// After Optimizer::load from a host archive: the state (SGD's momentum buffers, Adam's moments)
// to the parameters' device.
void move_optimizer_state(torch::optim::Optimizer& opt, const torch::Device& device) {
  for (auto& kv : opt.state()) {
    if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(kv.second.get())) {
      if (sgd->momentum_buffer().defined()) sgd->momentum_buffer(sgd->momentum_buffer().to(device));
    } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(kv.second.get())) {
      adam->exp_avg(adam->exp_avg().to(device));
      adam->exp_avg_sq(adam->exp_avg_sq().to(device));
      if (adam->max_exp_avg_sq().defined()) adam->max_exp_avg_sq(adam->max_exp_avg_sq().to(device));
    }
  }
}

// The diagnostics of the point just recorded, for the progress callback.
void progress_angles(const Recorder& r, int64_t point, int64_t points, store::RunResult& out) {
  const size_t L = static_cast<size_t>(r.layers()), T = static_cast<size_t>(points);
  out.last_wb_angle.assign(L, 0.f);
  out.last_grad_angle.assign(L, 0.f);
  for (size_t l = 0; l < L; ++l) {
    out.last_wb_angle[l] = r.wb_angle()[l * T + static_cast<size_t>(point)];
    out.last_grad_angle[l] = r.grad_angle()[l * T + static_cast<size_t>(point)];
  }
}

}  // namespace

int64_t total_steps(const config::RuleSettings& s, int64_t batch_size, int64_t train_size) {
  if (s.steps > 0) return s.steps;
  const int64_t per_epoch = (train_size + batch_size - 1) / batch_size;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(s.epochs * static_cast<double>(per_epoch))));
}

std::vector<int64_t> trajectory_steps(int64_t total, int64_t points) {
  std::vector<int64_t> out;
  for (int64_t p = 0; p < points; ++p)
    out.push_back(static_cast<int64_t>(std::llround(static_cast<double>(p) * static_cast<double>(total) /
                                                    static_cast<double>(points - 1))));
  return out;
}

store::Layout campaign_layout(const config::JobSpec& job, const store::Shard& shard) {
  store::Layout L;
  for (const auto& r : job.runs) {
    L.layers = std::max<int64_t>(L.layers, static_cast<int64_t>(run_layers(r.arch, job.task(r.task)).size()));
    if (shard.contains(r.id)) ++L.runs;
  }
  const auto conds = measurement_conditions(job.observables.conditions);
  L.conditions = static_cast<int64_t>(conds.size());
  for (const auto& c : conds)
    L.conditions_meta.push_back({c.name(), c.fraction, c.noise, static_cast<int64_t>(c.units)});
  L.condition_seed = job.observables.conditions.seed;
  L.points = job.observables.trajectory_points;
  for (int i : observe::resolve_statistics(job.observables.statistics))
    L.statistic_names.push_back(observe::all_statistic_names()[static_cast<size_t>(i)]);
  L.statistics = static_cast<int64_t>(L.statistic_names.size());
  return L;
}

std::vector<store::LayerMeta> run_layers(const std::string& arch, const config::TaskSpec& task) {
  static std::mutex mu;
  static std::map<std::string, std::vector<store::LayerMeta>> cache;
  const bool simclr = task.objective == "simclr";
  const std::string key = arch + (simclr ? "/simclr" : "");
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  // Layer names and depths do not depend on the input size (adaptive pooling); a small
  // nominal input keeps this cheap.
  torch::NoGradGuard no_grad;
  const nn::ModelOptions o = model_options(arch, task, nn::FeedbackSpec{}, 3, 32, 32, 10);
  const auto model = nn::build_model(o, 0);
  std::vector<store::LayerMeta> out;
  for (const auto& l : model->plastic_layers()) out.push_back({l.name, l.depth});
  cache[key] = out;
  return out;
}

// ---------------------------------------------------------------------------------------------
// One run: setup, the step loop (with the group's agreement at every step boundary), recording,
// checkpoints, the end of training.

comm::BufferView view_of(const torch::Tensor& t);

namespace {

// Flags the ranks of a group agree on at each step (GradientAverager::agree).
constexpr unsigned kCheckpointNow = 1u;
constexpr unsigned kStopNow = 2u;

// A test hook: LRID_FAULT="run=ID,rank=R,step=S[,where=record]" makes rank R of run ID throw at
// step S (in its forward/backward, or while recording that step's point). Never set in use.
struct Fault {
  int64_t run = -1, rank = -1, step = -1;
  bool record = false;
  static Fault from_env() {
    Fault f;
    const char* v = std::getenv("LRID_FAULT");
    if (!v) return f;
    std::string s = v;
    for (size_t pos = 0; pos < s.size();) {
      size_t end = s.find(',', pos);
      if (end == std::string::npos) end = s.size();
      const std::string kv = s.substr(pos, end - pos);
      const auto eq = kv.find('=');
      if (eq != std::string::npos) {
        const std::string k = kv.substr(0, eq), val = kv.substr(eq + 1);
        if (k == "run") f.run = std::stoll(val);
        if (k == "rank") f.rank = std::stoll(val);
        if (k == "step") f.step = std::stoll(val);
        if (k == "where") f.record = val == "record";
      }
      pos = end + 1;
    }
    return f;
  }
  void check(int64_t r, int rk, int64_t st, bool recording) const {
    if (r == run && rk == rank && st == step && recording == record)
      throw std::runtime_error("injected fault (LRID_FAULT) at step " + std::to_string(st) +
                               (recording ? " while recording" : ""));
  }
};

class RunTrainer {
 public:
  RunTrainer(const config::JobSpec& job, const config::RunSpec& run, const TrainOptions& options)
      : job_path_(job.path), run_(run), task_(job.task(run.task)), rule_(job.rule(run.rule)),
        observables_(job.observables), distributed_(job.distributed), options_(options),
        t0_(std::chrono::steady_clock::now()), fault_(Fault::from_env()) {}

  store::RunResult train() {
    setup();
    resume();
    // A streamed data set is read ahead by a thread while the steps run.
    if (task_data_.data.train.streamed()) {
      stream_->start_prefetch(rank_, world_);
      if (leader())
        note("training images streamed from " + task_data_.data.train.source + " (" + std::to_string(task_data_.data.train.size()) +
             " images over distributed.data_memory_mb " + util::shortest(distributed_.data_memory_mb) + ")");
    }
    for (int64_t step = start_step_; step <= total_steps_; ++step) {
      if (step > start_step_) boundary(step);
      if (step == total_steps_) {
        finish_loss(step);
      } else {
        train_step(step);
      }
      record_points(step);
      if (step < total_steps_) {
        const auto s0 = std::chrono::steady_clock::now();
        opt_.opt->step();
        step_time_ += seconds_since(s0);
        if (options_.on_step && leader())
          options_.on_step(step + 1, total_steps_, last_loss_, static_cast<double>(step + 1 - start_step_) / std::max(1e-9, seconds_since(t0_)));
      }
    }
    return finish();
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  bool leader() const { return rank_ == 0; }

  void setup() {
    task_data_ = load_task(task_, distributed_.data_memory_mb);
    const auto& train = task_data_.data.train;
    world_ = options_.group ? options_.group->size() : 1;
    rank_ = options_.group ? options_.group->rank() : 0;
    if (run_.batch_size % world_ != 0)
      throw BadInput(job_path_ + ": run " + std::to_string(run_.id) + ": batch size " +
                     std::to_string(run_.batch_size) + " is not divisible by ranks_per_run " +
                     std::to_string(world_));
    device_ = torch::Device(options_.device);
    const int64_t in_h = task_.augment.height > 0 ? task_.augment.height : train.height();
    const int64_t in_w = task_.augment.width > 0 ? task_.augment.width : train.width();
    model_ = nn::build_model(model_options(run_.arch, task_, rule_.feedback, train.channels(), in_h, in_w, task_data_.classes), run_.model_seed_value);
    model_->to(device_);
    model_->train();
    opt_ = make_optimizer(*model_, rule_);
    stream_ = std::make_unique<data::BatchStream>(train, task_data_.data.norm, run_.batch_size, run_.dataset_seed_value);
    // Batches cross to a CUDA device as uint8 and are normalised and augmented there (SimCLR's
    // two views concatenated); on the CPU where they are read: in the prefetch thread when the
    // data set is streamed.
    stream_->set_deferred(device_.is_cuda() || options_.deferred_batches, device_.is_cuda());
    const data::AugmentOptions aug = data::augment_options(task_.augment);
    const uint64_t dseed = run_.dataset_seed_value;
    if (task_.objective == "simclr")
      stream_->set_transform([aug, dseed](data::Batch b) {
        const auto v = data::two_views(b.images, dseed, b.step, aug, b.row_offset, b.total_rows);
        b.images = torch::cat({v.first, v.second});
        return b;
      });
    else if (augments(task_))
      stream_->set_transform([aug, dseed](data::Batch b) {
        b.images = data::augment_step(b.images, dseed, b.step, aug, b.row_offset, b.total_rows);
        return b;
      });
    total_steps_ = total_steps(rule_, run_.batch_size, train.size());
    point_count_ = observables_.trajectory_points;
    points_ = trajectory_steps(total_steps_, point_count_);
    if (options_.record) make_recorder();
    for (const auto& g : opt_.opt->param_groups())
      for (const auto& p : g.params()) params_.push_back(p);
    task_params_ = model_->forward_parameters();
    step_seed_base_ = rng::hash_combine(run_.model_seed_value, 0x57e9000ULL);
    result_.run_id = run_.id;
    result_.steps = points_;
    result_.loss.assign(static_cast<size_t>(point_count_), std::nan(""));
    result_.device = device_.str();
    last_save_ = std::chrono::steady_clock::now();
  }

  void make_recorder() {
    const data::Batch obs = data::observation_batch(task_data_.data, observables_.observation_batch, run_.dataset_seed_value);
    const torch::Tensor images = at_train_size(task_, obs.images).contiguous().to(device_), labels = obs.labels.to(device_);
    // The diagnostics' loss: the task's objective on the observation batch (SimCLR: two views
    // drawn with a fixed seed, the same at every point).
    Recorder::DiagnosticLoss loss;
    if (task_.objective == "simclr") {
      const auto views =
          data::two_views(obs.images, data::derive_seed(run_.dataset_seed_value, 0xd1a6ULL), 0, data::augment_options(task_.augment));
      const torch::Tensor both = torch::cat({views.first, views.second}).to(device_);
      const double temperature = task_.simclr_temperature;
      loss = [both, temperature](nn::Model& m) { return nt_xent(m.forward(both), temperature).loss; };
    } else {
      loss = [images, labels](nn::Model& m) { return supervised_loss(m.forward(images), labels); };
    }
    recorder_ = std::make_unique<Recorder>(*model_, images, measurement_conditions(observables_.conditions),
                                           observe::resolve_statistics(observables_.statistics), point_count_, loss);
    if (options_.on_activations) recorder_->set_activation_sink(options_.on_activations);
  }

  // One step's loss (and backward when training) on this rank's share of the batch.
  double forward_loss(int64_t step, bool backward) {
    // On the device, transformed: SimCLR's two views, concatenated.
    const data::Batch b = stream_->finish(stream_->next_shard(rank_, world_), device_);
    (void)step;
    torch::Tensor loss;
    if (task_.objective == "simclr") {
      loss = nt_xent(model_->forward(b.images), task_.simclr_temperature).loss;
    } else {
      loss = supervised_loss(model_->forward(b.images), b.labels);
    }
    if (backward) loss.backward();
    return loss.item<double>();
  }

  // The group's agreement: a failure on any rank fails the run on every rank (no rank is left
  // waiting in a collective); flags are or-ed.
  unsigned agree(unsigned flags) {
    std::string error;
    std::swap(error, pending_error_);
    if (!options_.group) {
      if (!error.empty()) throw RunFailed(error);
      return flags;
    }
    const auto a = options_.group->agree(error, flags);
    if (!a.error.empty()) throw RunFailed(a.error);
    return a.flags;
  }

  void train_step(int64_t step) {
    const auto s0 = std::chrono::steady_clock::now();
    opt_.set_factor(schedule_factor(rule_, step, total_steps_));
    opt_.opt->zero_grad();
    model_->set_step_seed(rng::hash_combine(step_seed_base_, static_cast<uint64_t>(step)), rank_, world_);
    try {
      fault_.check(run_.id, rank_, step, false);
      last_loss_ = forward_loss(step, true);
    } catch (const std::exception& e) {
      pending_error_ = first_line(e.what());
    }
    // The boundary after this step: checkpoint when the leader's clock says so or a point is
    // recorded here; stop when a signal arrived on any rank.
    const bool point = next_point_ < points_.size() && points_[next_point_] == step;
    unsigned want = 0;
    if (!options_.checkpoint_dir.empty() && leader() && (point || (options_.checkpoint_seconds > 0 && seconds_since(last_save_) >= options_.checkpoint_seconds)))
      want |= kCheckpointNow;
    if (options_.stop_requested && options_.stop_requested()) want |= kStopNow;
    boundary_flags_ = agree(want);
    if (options_.group) {
      std::vector<comm::BufferView> views;
      for (auto& p : params_)
        if (p.grad().defined()) views.push_back(view_of(p.grad()));
      options_.group->average(views);
      last_loss_ = options_.group->mean(last_loss_);
    }
    check_divergence(rule_, step, last_loss_, initial_loss_, smoothed_loss_);
    if (rule_.gradient_clip > 0) torch::nn::utils::clip_grad_norm_(task_params_, rule_.gradient_clip);
    model_->tie_feedback_gradients();  // Kolen-Pollack's B takes W's final gradient
    step_time_ += seconds_since(s0);
  }

  // The end of training: the loss of one more batch, without an update.
  void finish_loss(int64_t step) {
    torch::NoGradGuard no_grad;
    try {
      last_loss_ = forward_loss(step, false);
    } catch (const std::exception& e) {
      pending_error_ = first_line(e.what());
    }
    agree(0);
    if (options_.group) last_loss_ = options_.group->mean(last_loss_);
  }

  // Observables of the state before this step's update (point 0 = the initial network, the last
  // point = the final one). A failure is carried to the next agreement.
  void record_points(int64_t step) {
    while (next_point_ < points_.size() && points_[next_point_] == step) {
      result_.loss[next_point_] = last_loss_;
      if (recorder_ && pending_error_.empty()) {
        const auto r0 = std::chrono::steady_clock::now();
        try {
          fault_.check(run_.id, rank_, step, true);
          recorder_->record(static_cast<int64_t>(next_point_));
          progress_angles(*recorder_, static_cast<int64_t>(next_point_), point_count_, result_);
        } catch (const std::exception& e) {
          pending_error_ = first_line(e.what());
        }
        result_.record_seconds += seconds_since(r0);
      }
      ++next_point_;
      if (options_.on_point && pending_error_.empty()) {
        Progress p;
        p.step = step;
        p.total_steps = total_steps_;
        p.point = static_cast<int64_t>(next_point_);
        p.points = point_count_;
        p.loss = last_loss_;
        p.wb_angle = result_.last_wb_angle;
        p.grad_angle = result_.last_grad_angle;
        p.model = model_.get();
        p.seconds = seconds_since(t0_) + elapsed_before_;
        options_.on_point(p);
      }
    }
  }

  // The step boundary before training `step`: act on what the group agreed after the last one.
  void boundary(int64_t step) {
    if (!pending_error_.empty()) agree(0);  // a recording failure: fail now, on every rank
    if (boundary_flags_ & (kCheckpointNow | kStopNow)) save_checkpoint(step);
    if (boundary_flags_ & kStopNow) throw RunInterrupted("interrupted at step " + std::to_string(step), step);
    boundary_flags_ = 0;
  }

  std::string file() const { return checkpoint_file(options_.checkpoint_dir, run_.id, rank_); }

  void save_checkpoint(int64_t step) {
    if (options_.checkpoint_dir.empty()) return;
    const auto c0 = std::chrono::steady_clock::now();
    torch::serialize::OutputArchive a, model, optim;
    a.write("hash", c10::IValue(run_.hash));
    a.write("step", c10::IValue(step));
    a.write("rank", c10::IValue(static_cast<int64_t>(rank_)));
    a.write("ranks", c10::IValue(static_cast<int64_t>(world_)));
    a.write("attempt", c10::IValue(static_cast<int64_t>(options_.attempt)));
    a.write("next_point", c10::IValue(static_cast<int64_t>(next_point_)));
    // host: the checkpoint's scalars and loss curve (read back as host memory in resume)
    a.write("scalars", torch::tensor({last_loss_, initial_loss_, smoothed_loss_, step_time_, result_.record_seconds,
                                      seconds_since(t0_) + elapsed_before_},
                                     torch::kFloat64));
    model_->save(model);
    opt_.opt->save(optim);
    a.write("model", model);
    a.write("optimizer", optim);
    a.write("loss", torch::tensor(result_.loss, torch::kFloat64));  // host: as above
    if (recorder_) {
      torch::serialize::OutputArchive rec;
      recorder_->save(rec);
      a.write("recorder", rec);
    }
    std::ostringstream bytes;
    a.save_to(bytes);
    mkdir(options_.checkpoint_dir.c_str(), 0775);
    const std::string data = bytes.str();
    write_file_atomically(file(), data);
    ++result_.checkpoints;
    result_.checkpoint_bytes = static_cast<int64_t>(data.size());
    if (leader()) {
      const nlohmann::json j = {{"run", run_.id}, {"hash", run_.hash}, {"step", step}, {"steps", total_steps_},
                                {"points", next_point_}, {"attempt", options_.attempt}, {"ranks", world_},
                                {"time", util::iso_now()}};
      write_file_atomically(checkpoint_summary(options_.checkpoint_dir, run_.id), j.dump());
    }
    last_save_ = std::chrono::steady_clock::now();
    result_.checkpoint_seconds += seconds_since(c0);
  }

  // Continues from this run's checkpoint when the whole group has a readable one of this run at
  // the same step; otherwise (none, corrupt, foreign) starts over, setting bad files aside.
  void resume() {
    if (options_.checkpoint_dir.empty()) return;
    const std::string path = file();
    std::string problem;
    int64_t step = -1, written_by = 0;
    torch::serialize::InputArchive a;
    bool have = access(path.c_str(), F_OK) == 0;
    if (have) {
      try {
        // Read on the host whatever the run's device: the scalars and the recorder's state are
        // read as host memory below; what training needs is moved to the device after loading.
        a.load_from(path, torch::kCPU);
        c10::IValue v;
        a.read("hash", v);
        if (v.toStringRef() != run_.hash) throw std::runtime_error("it belongs to another run (hash " + v.toStringRef() + ")");
        a.read("ranks", v);
        if (v.toInt() != world_) throw std::runtime_error("it was written by " + std::to_string(v.toInt()) + " ranks, not " + std::to_string(world_));
        a.read("step", v);
        step = v.toInt();
        a.read("attempt", v);
        written_by = v.toInt();
      } catch (const std::exception& e) {
        problem = path + ": " + first_line(e.what());
        have = false;
      }
    }
    // The group: every rank must hold the same step, else everyone starts over.
    int64_t lo = have ? step : -1, hi = lo;
    if (options_.group) {
      const auto aa = options_.group->agree(problem, 0);
      if (!aa.error.empty()) problem = aa.error;
      lo = group_min(have ? step : -1);
      hi = -group_min(-(have ? step : -1));
    }
    if (!problem.empty() || lo != hi || lo < 0) {
      if (!problem.empty()) {
        if (leader()) {
          const std::string aside = set_aside_checkpoint(options_.checkpoint_dir, run_.id);
          note("checkpoint refused (" + problem + "); set aside as " + aside + "; the run starts over");
        }
      } else if (lo != hi && leader()) {
        note("checkpoints of the group's ranks disagree (steps " + std::to_string(lo) + " and " + std::to_string(hi) +
             "); the run starts over");
      }
      return;
    }
    // No progress since the checkpoint for max_attempts attempts: give up.
    if (options_.attempt - written_by >= options_.max_attempts)
      throw RunFailed("interrupted " + std::to_string(options_.attempt - written_by) + " times without progress since its "
                      "checkpoint at step " + std::to_string(step) + " (distributed.max_attempts " +
                      std::to_string(options_.max_attempts) + ")");
    torch::serialize::InputArchive model, optim;
    a.read("model", model);
    a.read("optimizer", optim);
    model_->load(model);
    model_->to(device_);  // the loaded tensors replaced the parameters' data on the host
    opt_.opt->load(optim);
    move_optimizer_state(*opt_.opt, device_);
    c10::IValue v;
    a.read("next_point", v);
    next_point_ = static_cast<size_t>(v.toInt());
    torch::Tensor sc, loss;
    a.read("scalars", sc);
    sc = sc.to(torch::kCPU, torch::kFloat64).contiguous();
    const auto x = sc.accessor<double, 1>();
    last_loss_ = x[0], initial_loss_ = x[1], smoothed_loss_ = x[2], step_time_ = x[3];
    result_.record_seconds = x[4];
    elapsed_before_ = x[5];
    a.read("loss", loss);
    loss = loss.to(torch::kCPU, torch::kFloat64).contiguous();
    if (static_cast<size_t>(loss.numel()) != result_.loss.size())
      throw RunFailed(path + ": checkpoint holds " + std::to_string(loss.numel()) + " loss points, the run has " +
                      std::to_string(result_.loss.size()));
    const auto lx = loss.accessor<double, 1>();
    for (int64_t i = 0; i < loss.numel(); ++i) result_.loss[static_cast<size_t>(i)] = lx[i];
    if (recorder_) {
      torch::serialize::InputArchive rec;
      a.read("recorder", rec);
      recorder_->load(rec);
    }
    stream_->skip(step);
    start_step_ = step;
    resumed_from_ = step;
    if (leader()) note("resumed from step " + std::to_string(step) + " of " + std::to_string(total_steps_));
  }

  int64_t group_min(int64_t v) {
    int64_t out = v;
    if (options_.group) out = options_.group->min(v);
    return out;
  }

  void note(const std::string& text) {
    if (options_.on_note) options_.on_note(text);
  }

  store::RunResult finish() {
    result_.train_seconds = step_time_;
    result_.final_loss = last_loss_;
    if (options_.on_final_model) options_.on_final_model(*model_);
    try {
      result_.final_metric = evaluate(*model_, task_, task_data_, run_.dataset_seed_value, device_);
    } catch (const std::exception& e) {
      pending_error_ = first_line(e.what());
    }
    agree(0);
    // Chance level of the metric: 1/classes; SimCLR's positive among the 2 x 256 - 1 others of
    // an evaluation chunk.
    const int64_t chunk = std::min<int64_t>(256, std::min<int64_t>(kEval, task_data_.data.test.size()));
    result_.metric_chance = task_.objective == "simclr" ? 1.0 / static_cast<double>(2 * chunk - 1)
                                                        : 1.0 / static_cast<double>(task_data_.classes);
    if (recorder_) {
      result_.values = recorder_->values();
      result_.layer_count = recorder_->layers();
      result_.wb_angle = recorder_->wb_angle();
      result_.grad_angle = recorder_->grad_angle();
      result_.act_units = recorder_->act_units();
      result_.weight_entries = recorder_->weight_entries();
    }
    result_.resumed_from = resumed_from_;
    result_.wall_seconds = seconds_since(t0_) + elapsed_before_;
    return result_;
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  const std::string job_path_;  // for messages
  const config::RunSpec& run_;
  const config::TaskSpec& task_;
  const config::RuleSettings& rule_;
  const config::ObservablesSpec& observables_;
  const config::DistributedSpec& distributed_;
  const TrainOptions& options_;
  const std::chrono::steady_clock::time_point t0_;
  const Fault fault_;
  TaskData task_data_;
  int world_ = 1, rank_ = 0;
  torch::Device device_ = torch::kCPU;
  std::shared_ptr<nn::Model> model_;
  Optimizer opt_;
  std::unique_ptr<data::BatchStream> stream_;
  std::unique_ptr<Recorder> recorder_;
  std::vector<torch::Tensor> params_, task_params_;
  uint64_t step_seed_base_ = 0;
  int64_t total_steps_ = 0, point_count_ = 0, start_step_ = 0, resumed_from_ = -1;  // steps, trajectory points
  std::vector<int64_t> points_;
  size_t next_point_ = 0;
  double last_loss_ = std::nan(""), initial_loss_ = std::nan(""), smoothed_loss_ = std::nan("");
  double step_time_ = 0, elapsed_before_ = 0;
  std::chrono::steady_clock::time_point last_save_;
  unsigned boundary_flags_ = 0;
  std::string pending_error_;
  store::RunResult result_;
};

}  // namespace

comm::BufferView view_of(const torch::Tensor& t) {
  TORCH_CHECK(t.is_contiguous(), "view_of: the gradient must be contiguous");
  comm::BufferView v;
  v.data = t.data_ptr();
  v.count = t.numel();
  v.dtype = t.scalar_type() == torch::kFloat64 ? comm::DType::F64 : comm::DType::F32;
  TORCH_CHECK(t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64,
              "view_of: float32 or float64 gradients only");
  if (t.is_cuda()) {
    v.device.kind = comm::Device::Kind::CUDA;
    v.device.index = t.get_device();
    v.device.stream = current_cuda_stream(t.get_device());
  }
  return v;
}

store::RunResult train_run(const config::JobSpec& job, const config::RunSpec& run, const TrainOptions& options) {
  RunTrainer trainer(job, run, options);
  return trainer.train();
}

}  // namespace lrid::train
