// spotfit::yaml::loadAll (kube::yaml): alias bombs, deep nesting, repeated keys, oversized input and
// yaml-cpp stalls are refused quickly.
#include <gtest/gtest.h>

#include <string>

#include "yaml/bounded.hpp"

namespace spotfit::yaml {
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
  EXPECT_NE(errorOf(std::string(65, '[') + std::string(65, ']')).find("nests deeper than 64 levels"),
            std::string::npos);
  // Refused by the pre-scan at level 65, before yaml-cpp's own recursion guard (500) or a tree is built.
  EXPECT_NE(errorOf(std::string(100000, '[') + std::string(100000, ']')).find("nests deeper than 64 levels (line 1)"),
            std::string::npos);
}

TEST(BoundedYaml, RefusesRepeatedKeysInLinearTime) {
  EXPECT_NE(errorOf("a: 1\nb: 2\na: 3\n").find("duplicate key 'a' (line 3)"), std::string::npos);
  std::string big;
  for (int i = 0; i < 50000; ++i) big += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  EXPECT_EQ(errorOf(big), "");
  EXPECT_NE(errorOf(big + "k7: again\n").find("duplicate key 'k7' (line 50001)"), std::string::npos);
}

// yaml-cpp 0.7.0 loops forever in LoadAll, appending null documents, when a ',' outside [...] / {...}
// stands where a document's root node would begin (tests/fuzz/findings/yaml-cpp-stall.yaml, found by
// fuzz_config). Without the pre-scan each of these runs until memory is gone; ctest's timeout catches it.
TEST(BoundedYaml, RefusesTheCommaYamlCppLoopsOn) {
  for (const char* text : {",", ",2webh1,24\n  od4\n", "--- ,\n", "&a ,\n", "!t ,\n", "\"a\" ,\n", "a: 1\n---\n,\n",
                           "%YAML 1.2\n---\n,\n", "- a\n...\n,\n", "|\n x\n,\n"}) {
    SCOPED_TRACE(text);
    const std::string e = errorOf(text);
    EXPECT_NE(e.find("',' outside a flow collection ([...] or {...}) cannot start a node (line "), std::string::npos)
        << e;
  }
  auto named = loadAll("a: 1\n---\n,\n", kDefaultYamlLimits, "in.yaml");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().message, "in.yaml:3: ',' outside a flow collection ([...] or {...}) cannot start a node");
  // Commas where YAML allows them are untouched.
  auto fine = loadAll("a: x,y\nb: [1, 2,]\nc: {d: 1, e: 2}\nf: \"g, h\"\n# i, j\n");
  ASSERT_TRUE(fine.ok()) << fine.error().message;
  EXPECT_EQ((*fine)[0]["a"].as<std::string>(), "x,y");
  EXPECT_EQ((*fine)[0]["b"].size(), 2u);
  // Elsewhere yaml-cpp refuses a stray comma itself.
  EXPECT_THROW(loadAll("a: 1\n,\n"), YAML::Exception);
}

TEST(BoundedYaml, RefusesMoreNodesThanTheLimitBeforeBuildingThem) {
  YamlLimits limits;
  limits.maxNodes = 1000;
  std::string list = "[0";
  for (int i = 1; i < 999; ++i) list += ",0";
  EXPECT_EQ(errorOf(list + "]", limits), "");  // 999 scalars + the sequence
  EXPECT_NE(errorOf(list + ",0]", limits).find("the YAML text has more than 1000 nodes (line 1)"), std::string::npos);
  // The default: 250,000 nodes, a few MB of text.
  std::string big;
  for (int i = 0; i < 250000; ++i) big += "- 0\n";
  EXPECT_NE(errorOf(big).find("more than 250000 nodes (line 250000)"), std::string::npos) << errorOf(big);
}

TEST(BoundedYaml, RefusesOversizedInput) {
  YamlLimits limits;
  limits.maxBytes = 100;
  EXPECT_EQ(errorOf("a: " + std::string(90, 'x'), limits), "");
  EXPECT_NE(errorOf("a: " + std::string(100, 'x'), limits).find("exceeds the limit of 100"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::yaml
