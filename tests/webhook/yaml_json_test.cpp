#include "webhook/yaml_json.hpp"

#include <gtest/gtest.h>

#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

TEST(YamlToJson, ResolvesPlainScalarsAndKeepsQuotedOnesStrings) {
  json::Document d;
  ASSERT_TRUE(yamlToJson(R"(
a: 1
b: "1"
c: true
d: "true"
e: ~
f: 1.5
g: 500m
h: [x, 2]
i: {}
j: -3
k: 1e3
)",
                         d));
  EXPECT_EQ(testing::toJson(d),
            R"({"a":1,"b":"1","c":true,"d":"true","e":null,"f":1.5,"g":"500m","h":["x",2],"i":{},"j":-3,"k":1000.0})");
}

TEST(YamlToJson, JsonInputWorks) {
  json::Document d;
  ASSERT_TRUE(yamlToJson(R"({"kind":"Pod","spec":{"n":[1,"2"]}})", d));
  EXPECT_EQ(testing::toJson(d), R"({"kind":"Pod","spec":{"n":[1,"2"]}})");
}

TEST(YamlToJson, MultipleDocuments) {
  std::vector<json::Document> docs;
  ASSERT_TRUE(yamlToJsonAll("a: 1\n---\n---\nb: 2\n", docs));
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(testing::toJson(docs[1]), R"({"b":2})");
}

TEST(YamlToJson, ErrorsAreClear) {
  json::Document d;
  auto dup = yamlToJson("a: 1\na: 2\n", d);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate key 'a' (line 2)"), std::string::npos) << dup.error().message;
  auto bad = yamlToJson("a: [1, 2\n", d);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not valid YAML"), std::string::npos);
  auto empty = yamlToJson("", d);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no document"), std::string::npos);
  auto complexKey = yamlToJson("? [a]\n: 1\n", d);
  ASSERT_FALSE(complexKey);
  EXPECT_NE(complexKey.error().message.find("keys must be scalars"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::webhook
