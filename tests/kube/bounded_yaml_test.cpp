// kube::yaml::loadAll: alias bombs, deep nesting, repeated keys and oversized input are refused quickly.
#include <gtest/gtest.h>

#include <string>

#include "kube/yaml.hpp"

namespace spotfit::kube::yaml {
namespace {

// The 661-byte "billion laughs": 10 levels of 10 aliases each, ~10^9 scalars once expanded.
std::string billionLaughs() {
  std::string s = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  const std::string names = "abcdefghi";
  for (size_t i = 1; i < names.size(); ++i) {
    s += std::string(1, names[i]) + ": &" + names[i] + " [";
    for (int k = 0; k < 9; ++k) s += std::string(k ? "," : "") + "*" + names[i - 1];
    s += "]\n";
  }
  return s;
}

std::string errorOf(const std::string& text, const YamlLimits& limits = kDefaultYamlLimits) {
  auto r = loadAll(text, limits);
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, "invalid");
  return r.error().message;
}

TEST(BoundedYaml, LoadsOrdinaryDocumentsAndModestAliases) {
  auto r = loadAll("a: 1\nb: [x, y]\n---\nc: {d: e}\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1]["c"]["d"].as<std::string>(), "e");
  EXPECT_EQ(errorOf("base: &b {cpu: 1, memory: 2Gi}\none: *b\ntwo: *b\nthree: *b\n"), "");
  auto one = load("");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->IsNull());
}

TEST(BoundedYaml, RefusesTheBillionLaughs) {
  const std::string bomb = billionLaughs();
  ASSERT_LT(bomb.size(), 1000u);
  EXPECT_NE(errorOf(bomb).find("expands (through aliases) beyond 100000 nodes"), std::string::npos) << errorOf(bomb);
}

TEST(BoundedYaml, RefusesLongScalarsRepeatedThroughAliases) {
  std::string text = "s: &s " + std::string(300000, 'x') + "\nl: [";
  for (int i = 0; i < 20; ++i) text += std::string(i ? "," : "") + "*s";
  text += "]\n";
  EXPECT_NE(errorOf(text).find("bytes"), std::string::npos);
}

TEST(BoundedYaml, RefusesDeepNesting) {
  EXPECT_EQ(errorOf(std::string(64, '[') + std::string(64, ']')), "");
  EXPECT_NE(errorOf(std::string(65, '[') + std::string(65, ']')).find("nests deeper than 64 levels"), std::string::npos);
  // yaml-cpp's own recursion guard answers for thousands of levels; it must surface as an exception.
  EXPECT_THROW(loadAll(std::string(100000, '[') + std::string(100000, ']')), YAML::Exception);
}

TEST(BoundedYaml, RefusesRepeatedKeysInLinearTime) {
  EXPECT_NE(errorOf("a: 1\nb: 2\na: 3\n").find("duplicate key 'a' (line 3)"), std::string::npos);
  std::string big;
  for (int i = 0; i < 50000; ++i) big += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  EXPECT_EQ(errorOf(big), "");
  EXPECT_NE(errorOf(big + "k7: again\n").find("duplicate key 'k7' (line 50001)"), std::string::npos);
}

TEST(BoundedYaml, RefusesOversizedInput) {
  YamlLimits limits;
  limits.maxBytes = 100;
  EXPECT_EQ(errorOf("a: " + std::string(90, 'x'), limits), "");
  EXPECT_NE(errorOf("a: " + std::string(100, 'x'), limits).find("exceeds the limit of 100"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::kube::yaml
