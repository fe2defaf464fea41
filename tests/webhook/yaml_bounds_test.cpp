// `spotfit mutate -f` YAML (webhook::yamlToJson) under hostile input: alias bombs, many keys, invalid
// UTF-8 and deep nesting are refused quickly instead of expanding, going quadratic or emitting bad JSON.
#include <gtest/gtest.h>

#include <string>

#include "webhook/yaml_json.hpp"

namespace spotfit::webhook {
namespace {

// The 661-byte billion laughs took 12 s and 1.1 GB before alias expansion was bounded.
TEST(YamlBounds, BillionLaughsIsRefused) {
  std::string bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  const std::string names = "abcdefghi";
  for (size_t i = 1; i < names.size(); ++i) {
    bomb += std::string(1, names[i]) + ": &" + names[i] + " [";
    for (int k = 0; k < 9; ++k) bomb += std::string(k ? "," : "") + "*" + names[i - 1];
    bomb += "]\n";
  }
  json::Document d;
  auto r = yamlToJson(bomb, d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("expands (through aliases)"), std::string::npos) << r.error().message;
}

TEST(YamlBounds, RepeatedKeyAmongManyIsFound) {
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "k" + std::to_string(i) + ": v\n";
  json::Document d;
  ASSERT_TRUE(yamlToJson(text, d));
  EXPECT_EQ(d.MemberCount(), 40000u);
  auto r = yamlToJson(text + "k123: again\n", d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("duplicate key 'k123' (line 40001)"), std::string::npos) << r.error().message;
}

TEST(YamlBounds, InvalidUtf8IsRefused) {
  json::Document d;
  auto r = yamlToJson("metadata:\n  name: \"\xc0\xaf\"\n", d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not valid UTF-8 (line 2)"), std::string::npos) << r.error().message;
  // In a key too (found by fuzz_mutate: the converted object was not JSON spotfit's parser accepts).
  r = yamlToJson("apiVersion: v1\nki\xff\xffnd: Pod\n", d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("key is not valid UTF-8 (line 2)"), std::string::npos) << r.error().message;
}

TEST(YamlBounds, DeepNestingIsRefused) {
  json::Document d;
  auto r = yamlToJson("a: " + std::string(100, '[') + std::string(100, ']') + "\n", d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nests deeper than 64 levels"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace spotfit::webhook
