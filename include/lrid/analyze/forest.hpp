#pragma once
// Random forest classifier (CART, Gini impurity), as scikit-learn's RandomForestClassifier
// defines it, built for small data (hundreds to a few thousand samples, hundreds of features)
// and for MPI: tree t is a pure function of (data, parameters, seed, t), so the forest is
// bit-identical whatever the number of ranks or threads that grew it.
//
// Definition (what is computed, so results can be compared with scikit-learn):
//  - Tree t draws its randomness from one xoshiro256** stream seeded with hash_combine(seed, t):
//    first the bootstrap (n draws with replacement; the draw counts are integer sample weights),
//    then, at each node in depth-first order (left child first), the candidate features.
//  - Candidate features at a node: features are drawn without replacement until max_features
//    have been visited and at least one of them is not constant on the node (as scikit-learn:
//    it goes on past max_features only while every feature visited so far was constant).
//  - Split criterion: Gini impurity with the bootstrap weights; for each candidate feature the
//    node's samples are sorted by value and every boundary between two distinct values is tried;
//    the best weighted impurity decrease wins; ties go to the first found (features in drawing
//    order, then thresholds in increasing order). Threshold = midpoint of the two values
//    (computed in double from the float32 values; a sample goes left when x <= threshold).
//  - Features are converted to float32 (as scikit-learn does) for fitting and prediction.
//  - A node is a leaf when it is pure, holds fewer than 2 or fewer than 2 x min_samples_leaf
//    distinct samples, reaches max_depth (0 = unlimited), or has no admissible split
//    (min_samples_leaf counts distinct in-bag samples on each side, as scikit-learn).
//  - A leaf stores its weighted class frequencies; predict_proba averages them over the trees
//    (summed in tree order, then divided by the number of trees); predict is the argmax
//    (the lowest class index on ties).
//  - Feature importances: per tree, the sum over its splits of the weighted impurity decrease
//    (w_node imp_node - w_left imp_left - w_right imp_right) per feature, normalised to sum 1;
//    then averaged over the trees that have at least one split and normalised again to sum 1
//    (all zero when no tree splits).
//
// Model file (save/load), all integers little-endian:
//   bytes 0-7   magic "LRIDFRST"
//   u32         format version (1)
//   u32         0 (reserved)
//   u64         payload length in bytes
//   u64         FNV-1a 64 of the payload
//   payload     the bytes of serialize() (header: classes, features, parameters, then each tree's
//               nodes, split gains and leaf class frequencies, doubles as IEEE-754 bits)
// A file that is truncated, has another magic/version or a wrong checksum is refused with
// lrid::BadInput naming the file.
#include <cstdint>
#include <string>
#include <vector>

namespace lrid::analyze {

/// How many features a node considers: "sqrt" (floor(sqrt(d))), "log2" (floor(log2(d))),
/// "all" (d), an integer count k (min(k, d)), or a fraction f in (0, 1] (floor(f d)); at least 1.
struct MaxFeatures {
  enum class Kind { kSqrt, kLog2, kAll, kCount, kFraction };
  Kind kind = Kind::kSqrt;
  double value = 0;  ///< the count (kCount) or the fraction (kFraction)

  /// "sqrt", "log2", "all" (also "none", as scikit-learn's None), "22" (count), "0.3"
  /// (fraction: a number with a '.' or an exponent). Anything else: BadInput naming `what`.
  static MaxFeatures parse(const std::string& text, const std::string& what = "max_features");
  static MaxFeatures count(int k);
  static MaxFeatures fraction(double f);
  /// The number of features to draw for `n_features` features.
  int resolve(size_t n_features) const;
  std::string to_string() const;
  bool operator==(const MaxFeatures& o) const { return kind == o.kind && value == o.value; }
};

struct ForestParams {
  int n_estimators = 100;
  MaxFeatures max_features;  ///< default sqrt
  int max_depth = 0;         ///< 0: unlimited
  int min_samples_leaf = 1;
  bool bootstrap = true;
  uint64_t seed = 0;
  /// Threads used by fit/grow_encoded on each process (0: hardware concurrency). Does not
  /// change the forest; not saved.
  int threads = 1;
};

/// One fitted tree, nodes in depth-first pre-order: an internal node's left child is the next
/// node, its right child is `right`. Leaves have feature -1 and `right` = leaf index.
struct ForestTree {
  struct Node {
    int32_t feature;   ///< -1 for a leaf
    int32_t right;     ///< right child (internal) or leaf index (leaf)
    double threshold;  ///< x <= threshold goes left
  };
  std::vector<Node> nodes;
  std::vector<double> gain;    ///< per node: weighted impurity decrease (0 for leaves)
  std::vector<double> leaves;  ///< n_leaves x n_classes class frequencies
  int depth = 0;               ///< longest root-to-leaf path (root only: 0)
};

class RandomForest {
 public:
  explicit RandomForest(ForestParams params = {});

  /// X: n x d row-major; y: n labels in [0, n_classes). Non-finite X, labels out of range,
  /// n == 0, bad parameters: BadInput. Grows every tree in this process (params.threads threads).
  void fit(const double* X, const int32_t* y, size_t n, size_t d, int n_classes);
  /// The trees `which` (tree indices) of the forest fit() grows on this data, grown in this
  /// process (params.threads threads) and encoded for an exchange between processes: [u32
  /// count], then per tree [i32 index][tree] (fit_distributed, analyze/forest_mpi.hpp).
  std::vector<uint8_t> grow_encoded(const double* X, const int32_t* y, size_t n, size_t d, int n_classes,
                                    const std::vector<int>& which) const;
  /// Adopts the trees of grow_encoded blocks as the fitted forest: every tree index of
  /// n_estimators exactly once over all blocks, else std::runtime_error naming the block.
  struct EncodedTrees {
    const uint8_t* data;
    size_t size;
    std::string origin;  ///< e.g. "rank 3", for error messages
  };
  void adopt_encoded(const std::vector<EncodedTrees>& blocks, size_t d, int n_classes);
  /// n x n_classes row-major probabilities, averaged over the first `n_trees` trees
  /// (0: all). The forest with the first m trees of a fit is exactly the forest fit with
  /// n_estimators = m (same seed), so one fit scores a whole n_estimators grid.
  std::vector<double> predict_proba(const double* X, size_t n, int n_trees = 0) const;
  std::vector<int32_t> predict(const double* X, size_t n, int n_trees = 0) const;
  /// Mean decrease in impurity per feature (sums to 1 unless no tree has a split).
  const std::vector<double>& feature_importances() const { return importances_; }

  void save(const std::string& path) const;
  static RandomForest load(const std::string& path);
  std::vector<uint8_t> serialize() const;
  /// `what` names the source in error messages (e.g. the file).
  static RandomForest deserialize(const uint8_t* data, size_t size, const std::string& what);

  bool fitted() const { return !trees_.empty(); }
  int n_trees() const { return static_cast<int>(trees_.size()); }
  int n_classes() const { return n_classes_; }
  size_t n_features() const { return n_features_; }
  const ForestParams& params() const { return params_; }
  const ForestTree& tree(int t) const { return trees_.at(static_cast<size_t>(t)); }

 private:
  void finish();  // importances from the trees
  ForestParams params_;
  int n_classes_ = 0;
  size_t n_features_ = 0;
  std::vector<ForestTree> trees_;
  std::vector<double> importances_;
};

}  // namespace lrid::analyze
