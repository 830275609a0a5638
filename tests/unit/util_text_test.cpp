// util/text: the small helpers every module uses for messages (hand-computed values).
#include <gtest/gtest.h>

#include <cmath>

#include "lrid/util/text.hpp"

namespace lrid::util {
namespace {

TEST(UtilText, EditDistanceHandValues) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("trian", "train"), 2u);  // two substitutions
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("--outt", "--out"), 1u);
}

TEST(UtilText, DidYouMeanNamesOnlyCloseCandidates) {
  EXPECT_EQ(did_you_mean("trian", {"train", "grid", "run"}), " (did you mean 'train'?)");
  EXPECT_EQ(did_you_mean("zzzzzz", {"train", "grid", "run"}), "");
}

TEST(UtilText, SplitKeepsEveryFieldAndJoinInvertsIt) {
  EXPECT_EQ(split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(split("", ':'), (std::vector<std::string>{""}));
  EXPECT_EQ(split(":", ':'), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(join(split("0-3,7,9", ','), ","), "0-3,7,9");
  EXPECT_EQ(join({"a", "b"}), "a, b");
}

TEST(UtilText, NumbersPrintAsDocumented) {
  EXPECT_EQ(shortest(0.1), "0.1");
  EXPECT_EQ(std::stod(shortest(1.0 / 3.0)), 1.0 / 3.0);
  EXPECT_EQ(fixed(2.0 / 3.0, 2), "0.67");
  EXPECT_EQ(fixed(std::nan(""), 2), "n/a");
}

}  // namespace
}  // namespace lrid::util
