#include "webhook/yaml_emit.hpp"

#include <gtest/gtest.h>

#include "webhook/test_support.hpp"
#include "webhook/yaml_json.hpp"

namespace spotfit::webhook {
namespace {

// Whatever jsonToYaml prints, yamlToJson reads back as the same JSON: strings that look like numbers,
// booleans or null stay strings.
TEST(JsonToYaml, RoundTripsThroughTheYamlDecoder) {
  const char* text = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"true","b":"no",
    "c":"1","d":"0755","e":"","f":"null","g":"~","h":"1e3","i":"-1","j":"12:30","k":"on","l":"x: y","m":"# not a comment",
    "n":"multi\nline","o":"500m","p":".5","q":"*alias","r":"[1]","s":"{}"}},
    "spec":{"n":1,"neg":-2,"f":0.5,"t":true,"z":null,"empty":{},"none":[],"list":[{"x":1},"two",[3]],"true":"key"}})";
  auto in = testing::parseJson(text);
  const std::string yaml = jsonToYaml(in);
  json::Document back;
  ASSERT_TRUE(yamlToJson(yaml, back).ok()) << yaml;
  EXPECT_TRUE(back == in) << yaml;
  EXPECT_NE(yaml.find("kind: Pod\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("a: \"true\""), std::string::npos) << yaml;
}

}  // namespace
}  // namespace spotfit::webhook
