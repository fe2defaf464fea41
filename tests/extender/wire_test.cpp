#include "extender/wire.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "kube/json.hpp"

namespace spotfit::extender {
namespace {

spotfit::kube::json::Document parse(const std::string& s) {
  spotfit::kube::json::Document d;
  d.Parse(s.c_str());
  EXPECT_FALSE(d.HasParseError()) << s;
  return d;
}

TEST(ExtenderWire, DecodesNamesMode) {
  auto args = decodeExtenderArgs(R"({"Pod":{"metadata":{"name":"p"}},"Nodes":null,"NodeNames":["a","b\u0063"]})");
  ASSERT_TRUE(args.ok()) << args.error().message;
  EXPECT_EQ(args->mode, NodeMode::kNames);
  ASSERT_EQ(args->nodeNames.size(), 2u);
  EXPECT_EQ(args->nodeNames[0], "a");
  EXPECT_EQ(args->nodeNames[1], "bc");
  EXPECT_TRUE(args->nodes.empty());
  ASSERT_NE(args->pod, nullptr);
  EXPECT_TRUE(args->pod->IsObject());
}

TEST(ExtenderWire, DecodesObjectsMode) {
  auto args = decodeExtenderArgs(
      R"({"Pod":{},"Nodes":{"metadata":{},"items":[{"metadata":{"name":"n1"}},{"metadata":{"name":"n2"},"status":{}}]}})");
  ASSERT_TRUE(args.ok()) << args.error().message;
  EXPECT_EQ(args->mode, NodeMode::kObjects);
  ASSERT_EQ(args->nodeNames.size(), 2u);
  EXPECT_EQ(args->nodeNames[1], "n2");
  ASSERT_EQ(args->nodes.size(), 2u);
  EXPECT_TRUE(args->nodes[1]->HasMember("status"));
}

TEST(ExtenderWire, NullItemsIsAnEmptyNodeList) {
  auto args = decodeExtenderArgs(R"({"Pod":{},"Nodes":{"items":null},"NodeNames":null})");
  ASSERT_TRUE(args.ok()) << args.error().message;
  EXPECT_EQ(args->mode, NodeMode::kObjects);
  EXPECT_TRUE(args->nodeNames.empty());
}

struct BadCase {
  const char* body;
  const char* expect;  // substring of the error message
};

TEST(ExtenderWire, RejectsWrongShapesWithClearMessages) {
  const BadCase cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {R"({"Pod":{},"NodeNames":[]} trailing)", "not valid JSON"},
      {"[]", "must be a JSON object, got an array"},
      {R"({"NodeNames":["a"]})", "ExtenderArgs.Pod is missing"},
      {R"({"Pod":null,"NodeNames":["a"]})", "ExtenderArgs.Pod is missing"},
      {R"({"Pod":"x","NodeNames":["a"]})", "ExtenderArgs.Pod must be an object, got a string"},
      {R"({"Pod":{}})", "neither Nodes nor NodeNames"},
      {R"({"Pod":{},"Nodes":null,"NodeNames":null})", "neither Nodes nor NodeNames"},
      {R"({"Pod":{},"Nodes":{"items":[]},"NodeNames":[]})", "both Nodes and NodeNames"},
      {R"({"Pod":{},"NodeNames":"a"})", "NodeNames must be an array, got a string"},
      {R"({"Pod":{},"NodeNames":["a",3]})", "NodeNames[1] must be a non-empty string, got a number"},
      {R"({"Pod":{},"NodeNames":[""]})", "NodeNames[0] must be a non-empty string, got an empty string"},
      {R"({"Pod":{},"Nodes":[]})", "Nodes must be a NodeList object, got an array"},
      {R"({"Pod":{},"Nodes":{"items":{}}})", "Nodes.items must be an array, got an object"},
      {R"({"Pod":{},"Nodes":{"items":[1]}})", "Nodes.items[0] must be a Node object, got a number"},
      {R"({"Pod":{},"Nodes":{"items":[{}]}})", "Nodes.items[0].metadata must be an object"},
      {R"({"Pod":{},"Nodes":{"items":[{"metadata":{"name":"a"}},{"metadata":{"name":7}}]}})",
       "Nodes.items[1].metadata.name must be a non-empty string"},
  };
  for (const auto& c : cases) {
    auto args = decodeExtenderArgs(c.body);
    ASSERT_FALSE(args.ok()) << c.body;
    EXPECT_EQ(args.error().code, "invalid");
    EXPECT_NE(args.error().message.find(c.expect), std::string::npos)
        << "body " << c.body << " gave: " << args.error().message;
  }
  std::string withNul = R"({"Pod":{},"NodeNames":["a"]})";
  withNul.push_back('\0');
  withNul += "junk";
  auto nul = decodeExtenderArgs(withNul);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.error().message.find("NUL"), std::string::npos);
}

TEST(ExtenderWire, FilterResultInNamesMode) {
  auto args = decodeExtenderArgs(R"({"Pod":{},"NodeNames":["a","b","c","d"]})");
  ASSERT_TRUE(args.ok());
  FilterOutcome out;
  out.passed = {0, 3};
  out.failed = {{args->nodeNames[1], "not enough nvidia.com/gpu"}};
  out.unresolvable = {{args->nodeNames[2], "wrong \"GPU\" product"}};
  auto doc = parse(encodeFilterResult(*args, out));
  ASSERT_TRUE(doc.IsObject());
  EXPECT_TRUE(doc["Nodes"].IsNull());
  ASSERT_TRUE(doc["NodeNames"].IsArray());
  ASSERT_EQ(doc["NodeNames"].Size(), 2u);
  EXPECT_STREQ(doc["NodeNames"][0].GetString(), "a");
  EXPECT_STREQ(doc["NodeNames"][1].GetString(), "d");
  EXPECT_STREQ(doc["FailedNodes"]["b"].GetString(), "not enough nvidia.com/gpu");
  EXPECT_STREQ(doc["FailedAndUnresolvableNodes"]["c"].GetString(), "wrong \"GPU\" product");
  EXPECT_STREQ(doc["Error"].GetString(), "");
}

TEST(ExtenderWire, FilterResultInObjectsModeEchoesPassingNodes) {
  auto args = decodeExtenderArgs(
      R"({"Pod":{},"Nodes":{"items":[{"metadata":{"name":"n1","labels":{"x":"1"}}},{"metadata":{"name":"n2"}}]}})");
  ASSERT_TRUE(args.ok());
  FilterOutcome out;
  out.passed = {1};
  out.failed = {{args->nodeNames[0], "why"}};
  auto doc = parse(encodeFilterResult(*args, out));
  EXPECT_TRUE(doc["NodeNames"].IsNull());
  ASSERT_TRUE(doc["Nodes"].IsObject());
  const auto& items = doc["Nodes"]["items"];
  ASSERT_EQ(items.Size(), 1u);
  EXPECT_STREQ(items[0]["metadata"]["name"].GetString(), "n2");
  EXPECT_EQ(doc["FailedNodes"].MemberCount(), 1u);
  EXPECT_EQ(doc["FailedAndUnresolvableNodes"].MemberCount(), 0u);
}

TEST(ExtenderWire, FilterErrorHasNullListsAndTheMessage) {
  auto doc = parse(encodeFilterError("cache not synced"));
  EXPECT_TRUE(doc["Nodes"].IsNull());
  EXPECT_TRUE(doc["NodeNames"].IsNull());
  EXPECT_STREQ(doc["Error"].GetString(), "cache not synced");
}

TEST(ExtenderWire, HostPriorityListClampsScores) {
  std::vector<HostPriority> p{{"a", 7}, {"b", 42}, {"c", -3}};
  auto doc = parse(encodeHostPriorityList(p));
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 3u);
  EXPECT_STREQ(doc[0]["Host"].GetString(), "a");
  EXPECT_EQ(doc[0]["Score"].GetInt64(), 7);
  EXPECT_EQ(doc[1]["Score"].GetInt64(), 10);
  EXPECT_EQ(doc[2]["Score"].GetInt64(), 0);
  EXPECT_EQ(encodeHostPriorityList({}), "[]");
}

}  // namespace
}  // namespace spotfit::extender

namespace spotfit::extender {
namespace {

// Objects mode echoes the passing Node objects byte for byte (whitespace, key order, escapes kept).
TEST(ExtenderWire, ObjectsModeEchoesRawBytes) {
  const std::string body =
      "{ \"Pod\" : {\"a\":[1,{\"b\":\"}\"}]},\n \"NodeNames\":null, \"Nodes\" : {\"metadata\":{}, \"items\" : [ "
      "{\"metadata\":{\"name\":\"n1\"},\"x\":\"q\\\"}]\"} , {\"metadata\": {\"name\":\"n2\"}, \"y\": [1, 2.5e3, true, "
      "null]} ,"
      "{\"metadata\":{\"name\":\"n\\u0033\"}} ] } }";
  auto args = decodeExtenderArgs(body);
  ASSERT_TRUE(args.ok()) << args.error().message;
  ASSERT_EQ(args->nodeNames.size(), 3u);
  EXPECT_EQ(args->nodeNames[2], "n3");
  FilterOutcome out;
  out.passed = {0, 1, 2};
  const std::string encoded = encodeFilterResult(*args, out);
  EXPECT_NE(encoded.find("{\"metadata\":{\"name\":\"n1\"},\"x\":\"q\\\"}]\"}"), std::string::npos) << encoded;
  EXPECT_NE(encoded.find("{\"metadata\": {\"name\":\"n2\"}, \"y\": [1, 2.5e3, true, null]}"), std::string::npos);
  EXPECT_NE(encoded.find("{\"metadata\":{\"name\":\"n\\u0033\"}}"), std::string::npos);
  auto doc = parse(encoded);
  ASSERT_TRUE(doc["Nodes"]["items"].IsArray());
  ASSERT_EQ(doc["Nodes"]["items"].Size(), 3u);
  EXPECT_STREQ(doc["Nodes"]["items"][2]["metadata"]["name"].GetString(), "n3");
  EXPECT_TRUE(doc["NodeNames"].IsNull());
  out.passed = {1};
  auto one = parse(encodeFilterResult(*args, out));
  ASSERT_EQ(one["Nodes"]["items"].Size(), 1u);
  EXPECT_EQ(one["Nodes"]["items"][0]["y"][1].GetDouble(), 2500.0);
  out.passed = {};
  auto none = parse(encodeFilterResult(*args, out));
  EXPECT_EQ(none["Nodes"]["items"].Size(), 0u);
}

// A key spelled with escapes defeats the raw scan; the encoder falls back to re-serializing the DOM.
TEST(ExtenderWire, ObjectsModeFallsBackWhenTheScanCannotFollow) {
  const std::string body = R"({"Pod":{},"N\u006fdes":{"items":[{"metadata":{"name":"n1"}}]}})";
  auto args = decodeExtenderArgs(body);
  ASSERT_TRUE(args.ok()) << args.error().message;
  FilterOutcome out;
  out.passed = {0};
  auto doc = parse(encodeFilterResult(*args, out));
  ASSERT_EQ(doc["Nodes"]["items"].Size(), 1u);
  EXPECT_STREQ(doc["Nodes"]["items"][0]["metadata"]["name"].GetString(), "n1");
}

}  // namespace
}  // namespace spotfit::extender
