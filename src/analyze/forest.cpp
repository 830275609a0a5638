#include "lrid/analyze/forest.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "lrid/analyze/metrics.hpp"
#include "lrid/error.hpp"
#include "lrid/rng.hpp"

namespace lrid::analyze {

// ---------------------------------------------------------------------------------------------
// MaxFeatures

MaxFeatures MaxFeatures::count(int k) {
  if (k < 1) throw BadInput("max_features: expected a count >= 1, got " + std::to_string(k));
  MaxFeatures m;
  m.kind = Kind::kCount;
  m.value = k;
  return m;
}

MaxFeatures MaxFeatures::fraction(double f) {
  if (!(f > 0.0 && f <= 1.0)) {
    std::ostringstream os;
    os << "max_features: expected a fraction in (0, 1], got " << f;
    throw BadInput(os.str());
  }
  MaxFeatures m;
  m.kind = Kind::kFraction;
  m.value = f;
  return m;
}

MaxFeatures MaxFeatures::parse(const std::string& text, const std::string& what) {
  MaxFeatures m;
  if (text == "sqrt" || text == "auto") {
    m.kind = Kind::kSqrt;
    return m;
  }
  if (text == "log2") {
    m.kind = Kind::kLog2;
    return m;
  }
  if (text == "all" || text == "none" || text == "None") {
    m.kind = Kind::kAll;
    return m;
  }
  const std::string expected =
      ": expected sqrt, log2, all, a count (e.g. 22) or a fraction in (0, 1] (e.g. 0.3), got '" +
      text + "'";
  if (text.empty()) throw BadInput(what + expected);
  char* end = nullptr;
  const bool is_float = text.find_first_of(".eE") != std::string::npos;
  if (is_float) {
    const double f = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !(f > 0.0 && f <= 1.0)) throw BadInput(what + expected);
    m.kind = Kind::kFraction;
    m.value = f;
    return m;
  }
  const long long k = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size() || k < 1 || k > std::numeric_limits<int>::max())
    throw BadInput(what + expected);
  m.kind = Kind::kCount;
  m.value = static_cast<double>(k);
  return m;
}

int MaxFeatures::resolve(size_t n_features) const {
  const double d = static_cast<double>(n_features);
  long long k = 1;
  switch (kind) {
    case Kind::kSqrt: k = static_cast<long long>(std::sqrt(d)); break;
    case Kind::kLog2: k = n_features > 0 ? static_cast<long long>(std::log2(d)) : 1; break;
    case Kind::kAll: k = static_cast<long long>(n_features); break;
    case Kind::kCount: k = static_cast<long long>(value); break;
    case Kind::kFraction: k = static_cast<long long>(value * d); break;
  }
  k = std::min<long long>(k, static_cast<long long>(n_features));
  return static_cast<int>(std::max<long long>(k, 1));
}

std::string MaxFeatures::to_string() const {
  switch (kind) {
    case Kind::kSqrt: return "sqrt";
    case Kind::kLog2: return "log2";
    case Kind::kAll: return "all";
    case Kind::kCount: return std::to_string(static_cast<long long>(value));
    case Kind::kFraction: {
      std::ostringstream os;
      os.precision(17);
      os << value;
      std::string s = os.str();
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Fitting

namespace {

// Read-only data shared by every tree of one fit.
struct Prepared {
  size_t n = 0, d = 0;
  int C = 0;
  std::vector<uint32_t> rank;   // d x n: dense rank of sample i's value within feature f
  std::vector<uint32_t> order;  // d x n: samples sorted by value (ties by index)
  std::vector<uint32_t> orank;  // d x n: orank[f * n + k] = rank of sample order[f * n + k]
  std::vector<float> uval;      // d x n: feature f's distinct values, increasing, from uoff[f]
  std::vector<size_t> uoff;     // d + 1 offsets into uval
  std::vector<uint16_t> y;      // labels
};

void validate(const ForestParams& p, size_t n, size_t d, int n_classes) {
  if (p.n_estimators < 1)
    throw BadInput("random_forest: n_estimators must be >= 1, got " + std::to_string(p.n_estimators));
  if (p.max_depth < 0)
    throw BadInput("random_forest: max_depth must be >= 0 (0 = unlimited), got " +
                   std::to_string(p.max_depth));
  if (p.min_samples_leaf < 1)
    throw BadInput("random_forest: min_samples_leaf must be >= 1, got " +
                   std::to_string(p.min_samples_leaf));
  if (p.threads < 0) throw BadInput("random_forest: threads must be >= 0");
  if (n == 0) throw BadInput("random_forest: no training samples");
  if (d == 0) throw BadInput("random_forest: no features");
  if (n > std::numeric_limits<uint32_t>::max() / 2)
    throw BadInput("random_forest: too many samples");
  if (n_classes < 1 || n_classes > 65535)
    throw BadInput("random_forest: n_classes must be in [1, 65535], got " +
                   std::to_string(n_classes));
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned h = std::thread::hardware_concurrency();
  return h ? static_cast<int>(h) : 1;
}

// Calls fn(state, i) for i in [0, count) on up to `threads` threads, in dynamic chunks of
// `chunk` indices; each thread makes its own state with make_state() first (scratch buffers
// such as a TreeBuilder's). The first exception is rethrown. With one thread (or one chunk) it
// runs in the caller's thread.
template <class MakeState, class Fn>
void parallel_for_with(size_t count, int threads, size_t chunk, MakeState make_state, Fn fn) {
  const size_t chunks = (count + chunk - 1) / chunk;
  const int nt = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), chunks));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&]() {
    try {
      auto state = make_state();
      for (size_t c = next++; c < chunks; c = next++)
        for (size_t i = c * chunk; i < std::min(count, (c + 1) * chunk); ++i) fn(state, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < nt; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// parallel_for_with without a per-thread state: fn(i).
template <class Fn>
void parallel_for(size_t count, int threads, size_t chunk, Fn fn) {
  parallel_for_with(count, threads, chunk, [] { return 0; }, [&fn](int, size_t i) { fn(i); });
}

Prepared prepare(const double* X, const int32_t* y, size_t n, size_t d, int n_classes,
                 int threads) {
  Prepared data;
  data.n = n;
  data.d = d;
  data.C = n_classes;
  data.y.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= n_classes)
      throw BadInput("random_forest: label " + std::to_string(y[i]) + " of sample " +
                     std::to_string(i) + " is outside [0, " + std::to_string(n_classes) + ")");
    data.y[i] = static_cast<uint16_t>(y[i]);
  }
  data.rank.resize(n * d);
  data.order.resize(n * d);
  data.orank.resize(n * d);
  data.uval.resize(n * d);
  // float32 columns (-0 -> +0), checked finite.
  std::vector<float> xc(n * d);
  for (size_t i = 0; i < n; ++i)
    for (size_t f = 0; f < d; ++f) {
      const float v = static_cast<float>(X[i * d + f]) + 0.0f;
      if (!std::isfinite(v))
        throw BadInput("random_forest: non-finite value in X at sample " + std::to_string(i) +
                       ", feature " + std::to_string(f) + " (as float32)");
      xc[f * n + i] = v;
    }
  data.uoff.resize(d + 1);
  for (size_t f = 0; f <= d; ++f) data.uoff[f] = f * n;
  // Per feature: sort (order-preserving bits of the float32 value, sample) keys.
  parallel_for(d, threads, 16, [&](size_t f) {
    thread_local std::vector<uint64_t> keys;
    keys.resize(n);
    const float* col = &xc[f * n];
    for (size_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, &col[i], sizeof u);
      u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
      keys[i] = (static_cast<uint64_t>(u) << 32) | i;
    }
    std::sort(keys.begin(), keys.end());
    uint32_t* of = &data.order[f * n];
    uint32_t* ofr = &data.orank[f * n];
    uint32_t* rf = &data.rank[f * n];
    float* uv = &data.uval[f * n];
    uint32_t r = 0;
    for (size_t k = 0; k < n; ++k) {
      const uint32_t s = static_cast<uint32_t>(keys[k]);
      if (k == 0 || (keys[k] >> 32) != (keys[k - 1] >> 32)) {
        if (k) ++r;
        uv[r] = col[s];
      }
      of[k] = s;
      ofr[k] = r;
      rf[s] = r;
    }
  });
  return data;
}

// Sort keys: (rank << kRankShift) | (class << kClassShift) | bootstrap weight. The sweep needs
// only the class and weight of each sample in value order, so the keys carry them and no sample
// index. 32-bit keys when n <= 2^20, classes <= 16 and weights <= 255; 64-bit keys otherwise.
template <class K>
struct KeyLayout;
template <>
struct KeyLayout<uint32_t> {
  static constexpr int kRankShift = 12, kClassShift = 8;
  static constexpr uint32_t kWeightMask = 0xFF, kClassMask = 0xF;
};
template <>
struct KeyLayout<uint64_t> {
  static constexpr int kRankShift = 32, kClassShift = 16;
  static constexpr uint64_t kWeightMask = 0xFFFF, kClassMask = 0xFFFF;
};

// Sorts a[0, m) by rank (ties in any order: only boundaries between distinct ranks matter).
// Returns the buffer (a or tmp) that holds the sorted keys.
#ifndef LRID_FOREST_INSERTION_MAX
#define LRID_FOREST_INSERTION_MAX 16
#endif
constexpr uint32_t kInsertionMax = LRID_FOREST_INSERTION_MAX;

template <class K>
K* sort_by_rank(K* a, K* tmp, uint32_t m, uint32_t rmin, uint32_t rmax) {
  constexpr int RS = KeyLayout<K>::kRankShift;
  if (m <= kInsertionMax) {
    for (uint32_t i = 1; i < m; ++i) {
      const K v = a[i];
      uint32_t j = i;
      while (j > 0 && a[j - 1] > v) {
        a[j] = a[j - 1];
        --j;
      }
      a[j] = v;
    }
    return a;
  }
  // LSD radix sort on (rank - rmin), 8 bits per pass.
  uint32_t span = rmax - rmin;
  uint32_t cnt[256];
  for (int shift = 0; span > 0; shift += 8, span >>= 8) {
    const uint32_t bins = span >= 255 ? 256 : span + 1;
    std::memset(cnt, 0, bins * sizeof(uint32_t));
    for (uint32_t i = 0; i < m; ++i)
      ++cnt[((static_cast<uint32_t>(a[i] >> RS) - rmin) >> shift) & 0xFF];
    uint32_t sum = 0;
    for (uint32_t b = 0; b < bins; ++b) {
      const uint32_t v = cnt[b];
      cnt[b] = sum;
      sum += v;
    }
    for (uint32_t i = 0; i < m; ++i)
      tmp[cnt[((static_cast<uint32_t>(a[i] >> RS) - rmin) >> shift) & 0xFF]++] = a[i];
    std::swap(a, tmp);
  }
  return a;
}

// The best split found so far at a node.
struct Split {
  int32_t feature = -1;
  uint32_t left_rank = 0;
  double threshold = 0;
  double proxy = -1;          // the best Gini proxy
  int64_t num = -1, den = 1;  // exact proxy num / den (32-bit keys: n <= 2^20)
};

// The Gini proxy sum_k L_k^2 / n_L + sum_k R_k^2 / n_R of a boundary, compared with the best
// so far. 32-bit keys (n <= 2^20): the exact fraction (sl nR + sR nL) / (nL nR), compared by
// 128-bit cross-multiplication (no division, no rounding).
struct ExactProxy {
  int64_t num, den;
  explicit ExactProxy(const Split& best) : num(best.num), den(best.den) {}
  bool offer(int64_t sl, int64_t sr, int64_t nl, int64_t nr, bool admissible) {
    const int64_t n2 = sl * nr + sr * nl, d2 = nl * nr;
    if (!(static_cast<__int128>(n2) * den > static_cast<__int128>(num) * d2 && admissible)) return false;
    num = n2;
    den = d2;
    return true;
  }
  void store(Split& best) const {
    best.num = num;
    best.den = den;
    best.proxy = static_cast<double>(num) / static_cast<double>(den);
  }
};
// 64-bit keys: the proxy in double.
struct DoubleProxy {
  double proxy;
  explicit DoubleProxy(const Split& best) : proxy(best.proxy) {}
  bool offer(int64_t sl, int64_t sr, int64_t nl, int64_t nr, bool admissible) {
    if (!admissible) return false;
    const double p = static_cast<double>(sl) / static_cast<double>(nl) + static_cast<double>(sr) / static_cast<double>(nr);
    if (!(p > proxy)) return false;
    proxy = p;
    return true;
  }
  void store(Split& best) const { best.proxy = proxy; }
};

// The split sweep over one feature's keys in value order: samples move from right to left;
// each boundary between two distinct values with at least msl samples on each side is offered
// to `score` (ExactProxy or DoubleProxy: ties keep the first, lowest boundary). lc / rc are
// the left and right class counts (weighted), sl / sr their sums of squares, nl / nr the
// weighted sizes. Returns the best boundary's position (after keys[q]), or m when none beat
// `best`, which then gets the new best proxy.
template <class K, class Score>
uint32_t sweep(const K* keys, uint32_t m, uint32_t msl, int64_t* lc, int64_t* rc, int64_t sl, int64_t sr, int64_t nl,
               int64_t nr, Score score, Split& best) {
  constexpr int RS = KeyLayout<K>::kRankShift, CS = KeyLayout<K>::kClassShift;
  constexpr K WM = KeyLayout<K>::kWeightMask, CM = KeyLayout<K>::kClassMask;
  uint32_t best_q = m;
  const uint32_t q_end = m - msl;  // boundaries after positions msl-1 .. m-msl-1
  for (uint32_t q = 0; q < q_end; ++q) {
    const K key = keys[q];
    const int64_t ww = static_cast<int64_t>(key & WM);
    const size_t c = static_cast<size_t>((key >> CS) & CM);
    sl += ww * (2 * lc[c] + ww);
    sr -= ww * (2 * rc[c] - ww);
    lc[c] += ww;
    rc[c] -= ww;
    nl += ww;
    nr -= ww;
    if (score.offer(sl, sr, nl, nr, (key >> RS) != (keys[q + 1] >> RS) && q + 1 >= msl)) best_q = q;
  }
  if (best_q < m) score.store(best);
  return best_q;
}

// Tuning constants of TreeBuilder (measured with tools/bench/forest.sh; a build may override
// them with -DLRID_FOREST_PRESORT=... / -DLRID_FOREST_SCAN=... to measure others).
#ifndef LRID_FOREST_PRESORT
#define LRID_FOREST_PRESORT 0.25
#endif
#ifndef LRID_FOREST_SCAN
#define LRID_FOREST_SCAN 8.0
#endif
// Presorted mode when max_features >= this fraction of the features.
constexpr double kPresortFraction = LRID_FOREST_PRESORT;
// A node that is not presorted walks the whole data's presorted order (instead of sorting its
// own keys) when it holds more than n / kScanFactor samples.
constexpr double kScanFactor = LRID_FOREST_SCAN;

// Grows trees; one per thread, buffers reused across nodes and trees.
class TreeBuilder {
 public:
  TreeBuilder(const Prepared& data, const ForestParams& params)
      : data_(data), params_(params), mtry_(params.max_features.resolve(data.d)) {
    w_.resize(data.n);
    class_weight_.resize(data.n);
    idx_.resize(data.n);
    stamp_.assign(data.n, 0);
    feat_.resize(data.d);
    node_cnt_.resize(static_cast<size_t>(data.C));
    left_cnt_.resize(static_cast<size_t>(data.C));
    right_cnt_.resize(static_cast<size_t>(data.C));
  }

  ForestTree grow(int t) {
    rng::Xoshiro256ss rng(rng::hash_combine(params_.seed, static_cast<uint64_t>(t)));
    const size_t m = start_tree(rng);

    ForestTree tree;
    tree.nodes.reserve(2 * m / static_cast<size_t>(std::max(1, params_.min_samples_leaf)) + 1);
    tree.gain.reserve(tree.nodes.capacity());
    struct Item {
      uint32_t b, e;
      int depth;
      int32_t parent;  // the node whose `right` is this node when is_right
      bool is_right;
    };
    std::vector<Item> stack;
    stack.push_back({0, static_cast<uint32_t>(m), 0, -1, false});
    const int C = data_.C;
    while (!stack.empty()) {
      const Item it = stack.back();
      stack.pop_back();
      const int32_t id = static_cast<int32_t>(tree.nodes.size());
      if (it.is_right) tree.nodes[static_cast<size_t>(it.parent)].right = id;
      tree.depth = std::max(tree.depth, it.depth);
      // Node class counts (weighted by the bootstrap counts).
      std::fill(node_cnt_.begin(), node_cnt_.end(), 0);
      for (uint32_t j = it.b; j < it.e; ++j) {
        const uint32_t s = idx_[j];
        node_cnt_[data_.y[s]] += w_[s];
      }
      int64_t wn = 0, sumsq = 0;
      int nonzero = 0;
      for (int c = 0; c < C; ++c) {
        wn += node_cnt_[static_cast<size_t>(c)];
        sumsq += node_cnt_[static_cast<size_t>(c)] * node_cnt_[static_cast<size_t>(c)];
        nonzero += node_cnt_[static_cast<size_t>(c)] > 0;
      }
      const uint32_t cnt = it.e - it.b;
      bool leaf = nonzero <= 1 || cnt < 2 ||
                  cnt < 2u * static_cast<uint32_t>(params_.min_samples_leaf) ||
                  (params_.max_depth > 0 && it.depth >= params_.max_depth);
      Split sp;
      if (!leaf) {
        sp = narrow_ ? find_split<uint32_t>(it.b, it.e, wn, sumsq, rng, k32a_.data(), k32b_.data())
                     : find_split<uint64_t>(it.b, it.e, wn, sumsq, rng, k64a_.data(), k64b_.data());
        leaf = sp.feature < 0;
      }
      if (leaf) {
        const int32_t leaf_id = static_cast<int32_t>(tree.leaves.size() / static_cast<size_t>(C));
        tree.nodes.push_back({-1, leaf_id, 0.0});
        tree.gain.push_back(0.0);
        const double inv = 1.0 / static_cast<double>(wn);
        for (int c = 0; c < C; ++c)
          tree.leaves.push_back(static_cast<double>(node_cnt_[static_cast<size_t>(c)]) * inv);
        continue;
      }
      tree.nodes.push_back({sp.feature, -1, sp.threshold});
      tree.gain.push_back(sp.proxy - static_cast<double>(sumsq) / static_cast<double>(wn));
      const uint32_t lo = partition(it.b, it.e, sp);
      stack.push_back({lo, it.e, it.depth + 1, id, true});
      stack.push_back({it.b, lo, it.depth + 1, id, false});
    }
    return tree;
  }

 private:
  // Draws tree t's bootstrap (the weights w_, the in-bag samples idx_[0, m)), picks the key
  // width (32-bit keys when n <= 2^20, <= 16 classes and weights <= 255), and in presorted mode
  // builds the per-feature lists. Returns m, the number of distinct in-bag samples.
  size_t start_tree(rng::Xoshiro256ss& rng) {
    const size_t n = data_.n;
    if (params_.bootstrap) {
      std::fill(w_.begin(), w_.end(), 0u);
      for (size_t k = 0; k < n; ++k) ++w_[rng.below(n)];
    } else {
      std::fill(w_.begin(), w_.end(), 1u);
    }
    uint32_t wmax = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      wmax = std::max(wmax, w_[i]);
      if (w_[i]) idx_[m++] = static_cast<uint32_t>(i);
    }
    narrow_ = n <= (size_t(1) << 20) && data_.C <= 16 && wmax <= 0xFF;
    if (!narrow_ && wmax > 0xFFFF)
      throw std::runtime_error("random_forest: a bootstrap weight exceeds 65535");
    const int cshift = narrow_ ? KeyLayout<uint32_t>::kClassShift : KeyLayout<uint64_t>::kClassShift;
    for (size_t i = 0; i < n; ++i) class_weight_[i] = (static_cast<uint64_t>(data_.y[i]) << cshift) | w_[i];
    if (narrow_) {
      k32a_.resize(n + 1);
      k32b_.resize(n + 1);
    } else {
      k64a_.resize(n + 1);
      k64b_.resize(n + 1);
    }
    // Presorted mode (when most features are candidates at every node): per feature, the
    // in-bag samples in value order, kept partitioned by node (stable) as the tree grows, so
    // no node ever sorts. Otherwise each node sorts (or scans) only its candidate features.
    presort_ = static_cast<double>(mtry_) >= kPresortFraction * static_cast<double>(data_.d);
    if (presort_) {
      msize_ = m;
      lists_.resize(data_.d * m);
      lflag_.resize(n);
      tmp_.resize(m);
      for (size_t f = 0; f < data_.d; ++f) {
        const uint32_t* of = &data_.order[f * n];
        uint32_t* a = &lists_[f * m];
        size_t k = 0;
        for (size_t r = 0; r < n; ++r) {
          const uint32_t s2 = of[r];
          a[k] = s2;
          k += w_[s2] != 0;
          if (k == m) break;
        }
      }
    }
    std::iota(feat_.begin(), feat_.end(), 0u);
    stamp_value_ = 0;
    std::fill(stamp_.begin(), stamp_.end(), 0u);
    return m;
  }

  // Splits the node idx_[b, e) in place at `sp`: the samples going left first (stable in
  // presorted mode, where every feature's list is partitioned the same way). Returns the first
  // right position.
  uint32_t partition(uint32_t b, uint32_t e, const Split& sp) {
    // Partition idx[b, e) by rank <= left rank (equivalent to x <= threshold).
    const uint32_t* rf = &data_.rank[static_cast<size_t>(sp.feature) * data_.n];
    uint32_t lo = b, hi = e;
    while (lo < hi) {
      if (rf[idx_[lo]] <= sp.left_rank) {
        ++lo;
      } else {
        --hi;
        std::swap(idx_[lo], idx_[hi]);
      }
    }
    if (presort_) {
      for (uint32_t j = b; j < e; ++j) lflag_[idx_[j]] = j < lo;
      for (size_t f = 0; f < data_.d; ++f) {
        uint32_t* a = &lists_[f * msize_];
        uint32_t wl = b, wr = 0;
        for (uint32_t j = b; j < e; ++j) {
          const uint32_t s2 = a[j];
          const uint32_t left = lflag_[s2];
          a[wl] = s2;
          tmp_[wr] = s2;
          wl += left;
          wr += 1 - left;
        }
        std::memcpy(a + wl, tmp_.data(), wr * sizeof(uint32_t));
      }
    }
    return lo;
  }

  // Best split of idx[b, e) over the candidate features.
  template <class K>
  Split find_split(uint32_t b, uint32_t e, int64_t wn, int64_t sumsq, rng::Xoshiro256ss& rng,
                   K* buf_a, K* buf_b) {
    constexpr int RS = KeyLayout<K>::kRankShift;
    const size_t n = data_.n;
    const uint32_t m = e - b;
    const uint32_t msl = static_cast<uint32_t>(params_.min_samples_leaf);
    // The node's samples in value order: walk the presorted order of the whole data (O(n))
    // when the node is large, else sort the node's keys (O(m) radix or insertion sort).
    const bool scan = !presort_ && static_cast<double>(m) * kScanFactor > static_cast<double>(n);
    if (scan) {
      ++stamp_value_;
      for (uint32_t j = b; j < e; ++j) stamp_[idx_[j]] = stamp_value_;
    }
    Split best;
    size_t remaining = data_.d;
    int visited = 0;
    bool found = false;
    while (remaining > 0 && (visited < mtry_ || !found)) {
      const size_t j = static_cast<size_t>(rng.below(remaining));
      --remaining;
      std::swap(feat_[j], feat_[remaining]);
      const uint32_t f = feat_[remaining];
      ++visited;
      K* keys;
      if (presort_) {
        const uint32_t* a = &lists_[static_cast<size_t>(f) * msize_ + b];
        const uint32_t* rf = &data_.rank[static_cast<size_t>(f) * n];
        for (uint32_t q = 0; q < m; ++q)
          buf_a[q] = (static_cast<K>(rf[a[q]]) << RS) | static_cast<K>(class_weight_[a[q]]);
        keys = buf_a;
        if ((keys[0] >> RS) == (keys[m - 1] >> RS)) continue;  // constant on this node
      } else if (scan) {
        const uint32_t* of = &data_.order[static_cast<size_t>(f) * n];
        const uint32_t* ofr = &data_.orank[static_cast<size_t>(f) * n];
        const uint32_t sv = stamp_value_;
        uint32_t k = 0;
        for (size_t r = 0; r < n && k < m; ++r) {
          const uint32_t s = of[r];
          buf_a[k] = (static_cast<K>(ofr[r]) << RS) | static_cast<K>(class_weight_[s]);
          k += stamp_[s] == sv;
        }
        keys = buf_a;
        if ((keys[0] >> RS) == (keys[m - 1] >> RS)) continue;  // constant on this node
      } else {
        const uint32_t* rf = &data_.rank[static_cast<size_t>(f) * n];
        uint32_t rmin = std::numeric_limits<uint32_t>::max(), rmax = 0;
        for (uint32_t q = 0; q < m; ++q) {
          const uint32_t s = idx_[b + q];
          const uint32_t r = rf[s];
          rmin = std::min(rmin, r);
          rmax = std::max(rmax, r);
          buf_a[q] = (static_cast<K>(r) << RS) | static_cast<K>(class_weight_[s]);
        }
        if (rmin == rmax) continue;  // constant on this node
        keys = sort_by_rank<K>(buf_a, buf_b, m, rmin, rmax);
      }
      found = true;
      // Sweep: move samples from right to left in value order; score each boundary between
      // distinct values with the Gini proxy sum_k L_k^2 / n_L + sum_k R_k^2 / n_R (maximised).
      std::fill(left_cnt_.begin(), left_cnt_.end(), 0);
      std::copy(node_cnt_.begin(), node_cnt_.end(), right_cnt_.begin());
      int64_t* lc = left_cnt_.data();
      int64_t* rc = right_cnt_.data();
      int64_t sl = 0, sr = sumsq, nl = 0, nr = wn;
      using Score = std::conditional_t<std::is_same<K, uint32_t>::value, ExactProxy, DoubleProxy>;
      const uint32_t best_q = sweep<K>(keys, m, msl, lc, rc, sl, sr, nl, nr, Score(best), best);
      if (best_q < m) {
        const uint32_t ra = static_cast<uint32_t>(keys[best_q] >> RS);
        const uint32_t rb = static_cast<uint32_t>(keys[best_q + 1] >> RS);
        best.feature = static_cast<int32_t>(f);
        best.left_rank = ra;
        const float* uv = &data_.uval[data_.uoff[f]];
        const double a = uv[ra], c = uv[rb];
        double thr = a / 2.0 + c / 2.0;
        if (thr >= c || !std::isfinite(thr)) thr = a;
        best.threshold = thr;
      }
    }
    return best;
  }

  const Prepared& data_;         // the prepared data set (ranks, orders, float32 values, labels)
  const ForestParams& params_;
  const int mtry_;               // max_features resolved for d
  bool narrow_ = true;           // this tree uses 32-bit keys (start_tree)
  bool presort_ = false;         // presorted mode: max_features >= kPresortFraction of the features
  size_t msize_ = 0;             // in-bag samples of the tree (presorted mode)
  std::vector<uint32_t> lists_;  // presorted mode: d x msize_ samples in value order, partitioned by node
  std::vector<uint8_t> lflag_;   // presorted mode: sample goes left at the current split
  std::vector<uint32_t> tmp_;    // presorted mode: the right-going samples while a list is partitioned
  std::vector<uint32_t> w_;      // per sample: its bootstrap count (the sample weight; 0 = out of bag)
  std::vector<uint32_t> idx_;    // the in-bag samples, each node a contiguous range [b, e)
  std::vector<uint32_t> stamp_;  // scan mode: stamp_value_ marks the samples of the current node
  std::vector<uint32_t> feat_;   // feature indices, shuffled as candidates are drawn without replacement
  std::vector<uint64_t> class_weight_;  // per sample: (label << class shift) | weight, the low bits of a key
  std::vector<uint32_t> k32a_, k32b_;   // 32-bit keys (rank | class | weight) of a node and sort scratch
  std::vector<uint64_t> k64a_, k64b_;   // the same, 64-bit keys (large n, many classes or weights)
  std::vector<int64_t> node_cnt_;       // weighted class counts of the current node
  std::vector<int64_t> left_cnt_, right_cnt_;  // the sweep's class counts left and right of a boundary
  uint32_t stamp_value_ = 0;
};

// Grows trees `which` (tree indices) into out[k], with up to params.threads threads (one
// TreeBuilder each; a tree depends only on its index, not on the builder that grew it).
void grow_trees(const Prepared& data, const ForestParams& params, const std::vector<int>& which,
                std::vector<ForestTree>& out) {
  out.resize(which.size());
  parallel_for_with(
      which.size(), resolve_threads(params.threads), 1, [&] { return TreeBuilder(data, params); },
      [&](TreeBuilder& builder, size_t k) { out[k] = builder.grow(which[k]); });
}

// ---------------------------------------------------------------------------------------------
// Byte encoding

class Writer {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable<T>::value, "");
    const size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    std::memcpy(buf_.data() + at, &v, sizeof(T));
  }
  template <class T>
  void put_array(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    const size_t at = buf_.size();
    buf_.resize(at + v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(buf_.data() + at, v.data(), v.size() * sizeof(T));
  }
  std::vector<uint8_t>& bytes() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& what) : p_(p), n_(n), what_(what) {}
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array(uint64_t max_count) {
    const uint64_t count = get<uint64_t>();
    if (count > max_count || count > (n_ - at_) / sizeof(T)) fail("bad array length");
    std::vector<T> v(count);
    if (count) std::memcpy(v.data(), p_ + at_, count * sizeof(T));
    at_ += count * sizeof(T);
    return v;
  }
  bool done() const { return at_ == n_; }
  [[noreturn]] void fail(const std::string& why) const {
    throw BadInput(what_ + ": not a valid lrid random forest (" + why + ")");
  }

 private:
  void need(size_t k) {
    if (n_ - at_ < k) fail("truncated");
  }
  const uint8_t* p_;
  size_t n_, at_ = 0;
  std::string what_;
};

static_assert(sizeof(ForestTree::Node) == 16, "node layout");

void put_tree(Writer& w, const ForestTree& t) {
  w.put<int32_t>(t.depth);
  w.put_array(t.nodes);
  w.put_array(t.gain);
  w.put_array(t.leaves);
}

ForestTree get_tree(Reader& r, size_t n_features, int n_classes) {
  ForestTree t;
  t.depth = r.get<int32_t>();
  t.nodes = r.get_array<ForestTree::Node>(std::numeric_limits<uint32_t>::max());
  t.gain = r.get_array<double>(t.nodes.size());
  t.leaves = r.get_array<double>(t.nodes.size() * static_cast<uint64_t>(n_classes));
  if (t.nodes.empty() || t.gain.size() != t.nodes.size()) r.fail("bad tree");
  const size_t n_leaves = t.leaves.size() / static_cast<size_t>(n_classes);
  if (t.leaves.size() % static_cast<size_t>(n_classes) != 0) r.fail("bad leaves");
  // Structural checks so that prediction can never run out of bounds or loop.
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const auto& nd = t.nodes[i];
    if (nd.feature < 0) {
      if (nd.feature != -1 || nd.right < 0 || static_cast<size_t>(nd.right) >= n_leaves)
        r.fail("bad leaf");
    } else {
      if (static_cast<size_t>(nd.feature) >= n_features || i + 1 >= t.nodes.size() ||
          nd.right <= static_cast<int32_t>(i + 1) ||
          static_cast<size_t>(nd.right) >= t.nodes.size())
        r.fail("bad node");
    }
  }
  return t;
}

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

constexpr char kMagic[8] = {'L', 'R', 'I', 'D', 'F', 'R', 'S', 'T'};
constexpr uint32_t kVersion = 1;

}  // namespace

// ---------------------------------------------------------------------------------------------
// RandomForest

RandomForest::RandomForest(ForestParams params) : params_(params) {}

void RandomForest::fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes) {
  validate(params_, n, d, n_classes);
  const Prepared data = prepare(X, y, n, d, n_classes, resolve_threads(params_.threads));
  std::vector<int> which(static_cast<size_t>(params_.n_estimators));
  std::iota(which.begin(), which.end(), 0);
  std::vector<ForestTree> trees;
  grow_trees(data, params_, which, trees);
  trees_ = std::move(trees);
  n_classes_ = n_classes;
  n_features_ = d;
  finish();
}

std::vector<uint8_t> RandomForest::grow_encoded(const double* X, const int32_t* y, size_t n, size_t d, int n_classes,
                                                const std::vector<int>& which) const {
  validate(params_, n, d, n_classes);
  for (int t : which)
    if (t < 0 || t >= params_.n_estimators) throw std::logic_error("random_forest: tree index out of range");
  const Prepared data = prepare(X, y, n, d, n_classes, resolve_threads(params_.threads));
  std::vector<ForestTree> mine;
  grow_trees(data, params_, which, mine);
  Writer w;
  w.put<uint32_t>(static_cast<uint32_t>(mine.size()));
  for (size_t k = 0; k < mine.size(); ++k) {
    w.put<int32_t>(which[k]);
    put_tree(w, mine[k]);
  }
  return std::move(w.bytes());
}

void RandomForest::adopt_encoded(const std::vector<EncodedTrees>& blocks, size_t d, int n_classes) {
  std::vector<ForestTree> trees(static_cast<size_t>(params_.n_estimators));
  std::vector<char> have(trees.size(), 0);
  for (const auto& b : blocks) {
    Reader rd(b.data, b.size, "random_forest: trees from " + b.origin);
    const uint32_t count = rd.get<uint32_t>();
    for (uint32_t k = 0; k < count; ++k) {
      const int32_t t = rd.get<int32_t>();
      if (t < 0 || t >= params_.n_estimators || have[static_cast<size_t>(t)])
        throw std::runtime_error("random_forest: bad tree index from " + b.origin);
      trees[static_cast<size_t>(t)] = get_tree(rd, d, n_classes);
      have[static_cast<size_t>(t)] = 1;
    }
  }
  for (size_t t = 0; t < trees.size(); ++t)
    if (!have[t]) throw std::runtime_error("random_forest: tree " + std::to_string(t) + " missing");
  trees_ = std::move(trees);
  n_classes_ = n_classes;
  n_features_ = d;
  finish();
}

void RandomForest::finish() {
  importances_.assign(n_features_, 0.0);
  std::vector<double> imp(n_features_);
  int used = 0;
  for (const auto& t : trees_) {
    if (t.nodes.size() <= 1) continue;
    std::fill(imp.begin(), imp.end(), 0.0);
    double sum = 0;
    for (size_t i = 0; i < t.nodes.size(); ++i)
      if (t.nodes[i].feature >= 0) imp[static_cast<size_t>(t.nodes[i].feature)] += t.gain[i];
    for (double v : imp) sum += v;
    if (sum > 0)
      for (size_t f = 0; f < n_features_; ++f) importances_[f] += imp[f] / sum;
    ++used;
  }
  if (used == 0) return;
  double sum = 0;
  for (auto& v : importances_) {
    v /= used;
    sum += v;
  }
  if (sum > 0)
    for (auto& v : importances_) v /= sum;
}

std::vector<double> RandomForest::predict_proba(const double* X, size_t n, int n_trees) const {
  if (!fitted()) throw std::logic_error("random_forest: predict before fit");
  const int T = (n_trees <= 0 || n_trees > this->n_trees()) ? this->n_trees() : n_trees;
  const size_t C = static_cast<size_t>(n_classes_), d = n_features_;
  std::vector<double> out(n * C, 0.0);
  std::vector<double> row(d);
  for (size_t i = 0; i < n; ++i) {
    for (size_t f = 0; f < d; ++f) row[f] = static_cast<double>(static_cast<float>(X[i * d + f]));
    double* acc = &out[i * C];
    for (int t = 0; t < T; ++t) {
      const ForestTree& tr = trees_[static_cast<size_t>(t)];
      const ForestTree::Node* nd = tr.nodes.data();
      size_t k = 0;
      while (nd[k].feature >= 0)
        k = row[static_cast<size_t>(nd[k].feature)] <= nd[k].threshold
                ? k + 1
                : static_cast<size_t>(nd[k].right);
      const double* leaf = &tr.leaves[static_cast<size_t>(nd[k].right) * C];
      for (size_t c = 0; c < C; ++c) acc[c] += leaf[c];
    }
    for (size_t c = 0; c < C; ++c) acc[c] /= T;
  }
  return out;
}

std::vector<int32_t> RandomForest::predict(const double* X, size_t n, int n_trees) const {
  return argmax_rows(predict_proba(X, n, n_trees), n, n_classes_);
}

std::vector<uint8_t> RandomForest::serialize() const {
  Writer w;
  w.put<int32_t>(n_classes_);
  w.put<uint64_t>(n_features_);
  w.put<int32_t>(params_.n_estimators);
  w.put<int32_t>(static_cast<int32_t>(params_.max_features.kind));
  w.put<double>(params_.max_features.value);
  w.put<int32_t>(params_.max_depth);
  w.put<int32_t>(params_.min_samples_leaf);
  w.put<int32_t>(params_.bootstrap ? 1 : 0);
  w.put<uint64_t>(params_.seed);
  w.put<uint32_t>(static_cast<uint32_t>(trees_.size()));
  for (const auto& t : trees_) put_tree(w, t);
  return std::move(w.bytes());
}

RandomForest RandomForest::deserialize(const uint8_t* data, size_t size, const std::string& what) {
  Reader r(data, size, what);
  RandomForest f;
  f.n_classes_ = r.get<int32_t>();
  f.n_features_ = r.get<uint64_t>();
  if (f.n_classes_ < 1 || f.n_classes_ > 65535 || f.n_features_ == 0 ||
      f.n_features_ > (uint64_t(1) << 32))
    r.fail("bad header");
  f.params_.n_estimators = r.get<int32_t>();
  const int32_t kind = r.get<int32_t>();
  if (kind < 0 || kind > 4) r.fail("bad max_features");
  f.params_.max_features.kind = static_cast<MaxFeatures::Kind>(kind);
  f.params_.max_features.value = r.get<double>();
  f.params_.max_depth = r.get<int32_t>();
  f.params_.min_samples_leaf = r.get<int32_t>();
  f.params_.bootstrap = r.get<int32_t>() != 0;
  f.params_.seed = r.get<uint64_t>();
  const uint32_t T = r.get<uint32_t>();
  if (T == 0 || static_cast<int64_t>(T) != f.params_.n_estimators) r.fail("bad tree count");
  f.trees_.reserve(T);
  for (uint32_t t = 0; t < T; ++t) f.trees_.push_back(get_tree(r, f.n_features_, f.n_classes_));
  if (!r.done()) r.fail("trailing bytes");
  f.finish();
  return f;
}

void RandomForest::save(const std::string& path) const {
  if (!fitted()) throw std::logic_error("random_forest: save before fit");
  const std::vector<uint8_t> payload = serialize();
  Writer h;
  for (char c : kMagic) h.put<char>(c);
  h.put<uint32_t>(kVersion);
  h.put<uint32_t>(0);
  h.put<uint64_t>(payload.size());
  h.put<uint64_t>(fnv1a(payload.data(), payload.size()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw BadInput(path + ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(h.bytes().data()),
            static_cast<std::streamsize>(h.bytes().size()));
  out.write(reinterpret_cast<const char*>(payload.data()),
            static_cast<std::streamsize>(payload.size()));
  out.close();
  if (!out) throw BadInput(path + ": write failed");
}

RandomForest RandomForest::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path + ": cannot open random forest file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(bytes.data(), bytes.size(), path);
  char magic[8];
  for (char& c : magic) c = r.get<char>();
  if (std::memcmp(magic, kMagic, 8) != 0) r.fail("wrong magic; expected LRIDFRST");
  const uint32_t version = r.get<uint32_t>();
  if (version != kVersion)
    r.fail("format version " + std::to_string(version) + ", this lrid reads version " +
           std::to_string(kVersion));
  r.get<uint32_t>();
  const uint64_t len = r.get<uint64_t>();
  const uint64_t sum = r.get<uint64_t>();
  const size_t header = 32;
  if (bytes.size() - header != len) r.fail("truncated or padded: payload length mismatch");
  if (fnv1a(bytes.data() + header, len) != sum) r.fail("checksum mismatch");
  return deserialize(bytes.data() + header, len, path);
}

}  // namespace lrid::analyze
