// kube::json::parseInto, the one JSON parser every decoder calls: hostile documents get an "invalid"
// error, never a crash, a stall or a document with ambiguous or invalid content.
#include <gtest/gtest.h>

#include <string>

#include "kube/json.hpp"

namespace spotfit::kube::json {
namespace {

std::string nestedArrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nestedObjects(size_t depth) {
  std::string s;
  for (size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

// The error of parsing `text` (also in place), or "" when it parsed.
std::string refusal(const std::string& text) {
  Document d;
  Status s = parseInto(d, text);
  std::string copy = text;
  Document e;
  Status t = parseInsituInto(e, copy);
  EXPECT_EQ(s.ok(), t.ok()) << text.substr(0, 80);
  if (s.ok()) return "";
  EXPECT_EQ(s.error().code, "invalid");
  EXPECT_TRUE(d.IsNull());
  return s.error().message;
}

TEST(BoundedJson, AcceptsOrdinaryDocuments) {
  EXPECT_EQ(refusal(R"({"a":[1,2.5,"x",true,null,{"b":{}}],"c":"\u00e9\ud83d\ude00"})"), "");
  Document d;
  ASSERT_TRUE(parseInto(d, R"({"a":{"b":[1,2]},"s":"caf\u00e9"})"));
  EXPECT_EQ(d["a"]["b"][1].GetInt(), 2);
  EXPECT_EQ(view(d["s"]), "caf\xc3\xa9");
  EXPECT_EQ(refusal(nestedArrays(64)), "");
  EXPECT_EQ(refusal(nestedObjects(63)), "");
}

// 150k levels overflowed RapidJSON's recursive parser (SIGSEGV) before parsing became iterative and bounded.
TEST(BoundedJson, RefusesDeepNestingWithoutRecursing) {
  for (size_t depth : {65, 45000, 150000, 1000000}) {
    EXPECT_NE(refusal(nestedArrays(depth)).find("nested deeper than 64 levels"), std::string::npos) << depth;
    EXPECT_NE(refusal(nestedObjects(depth)).find("nested deeper than 64 levels"), std::string::npos) << depth;
  }
  auto r = parse(nestedArrays(150000));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at offset 64"), std::string::npos) << r.error().message;
}

TEST(BoundedJson, DepthLimitIsConfigurable) {
  Document d;
  ParseLimits limits;
  limits.maxDepth = 3;
  EXPECT_TRUE(parseInto(d, "[[[]]]", limits));
  EXPECT_FALSE(parseInto(d, "[[[[]]]]", limits));
}

TEST(BoundedJson, RefusesDuplicateKeysInSmallAndLargeObjects) {
  EXPECT_NE(refusal(R"({"a":1,"a":2})").find(R"(duplicate object key "a")"), std::string::npos);
  EXPECT_NE(refusal(R"({"x":{"a":1,"b":{"a":1},"a":2}})").find("duplicate"), std::string::npos);
  // Same key in sibling objects is fine.
  EXPECT_EQ(refusal(R"([{"a":1},{"a":2}])"), "");
  // Past the linear-scan size the hash index must still catch a repeat of an early key.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_EQ(refusal(big.substr(0, big.size() - 1) + "}"), "");
  EXPECT_NE(refusal(big + "\"k3\":0}").find(R"(duplicate object key "k3")"), std::string::npos);
  // Escapes are decoded before the comparison.
  EXPECT_NE(refusal(R"({"a":1,"\u0061":2})").find("duplicate"), std::string::npos);
}

TEST(BoundedJson, RefusesObjectsWithTooManyMembers) {
  auto object = [](int n) {
    std::string s = "{";
    for (int i = 0; i < n; ++i) s += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
    return s + "}";
  };
  EXPECT_EQ(refusal(object(10000)), "");
  EXPECT_NE(refusal(object(10001)).find("more than 10000 members"), std::string::npos);
}

TEST(BoundedJson, RefusesInvalidUtf8AndUnpairedSurrogates) {
  const std::string bad[] = {
      "[\"\xff\"]",           // not UTF-8 at all
      "[\"\xc0\xaf\"]",       // overlong '/'
      "[\"\xed\xa0\x80\"]",   // an encoded surrogate
      "[\"\xe2\x82\"]",       // truncated sequence
      "{\"\x80\":1}",         // bad key
      R"(["\udc00"])",        // lone low surrogate escape (RapidJSON alone accepts it)
      R"(["x\ud800"])",       // lone high surrogate escape
      R"(["\ud800\u0041"])",  // high surrogate followed by a non-surrogate
      R"({"\udfff":1})",      // in a key
  };
  for (const auto& text : bad) {
    EXPECT_NE(refusal(text), "") << text;
  }
}

// Found by fuzz_extender (corpus/extender/regress-utf8-lead-at-end.json): text that ends inside a string
// with a 4-byte lead byte made RapidJSON's in-place UTF-8 validation read 3 bytes past the buffer
// (ASan: heap-buffer-overflow; the ASan+UBSan build runs this test). parseInsituInto pads the buffer.
TEST(BoundedJson, InPlaceParsingOfTextEndingInALeadByteStaysInTheBuffer) {
  for (const char* input : {"{\"enableServiceLinks\xf4\xf4", "[\"\xf0", "\"\xe2"}) {
    std::string text = input;
    text.shrink_to_fit();
    Document d;
    Status s = parseInsituInto(d, text);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("Invalid encoding in string"), std::string::npos) << s.error().message;
  }
}

TEST(BoundedJson, ValidUtf8) {
  EXPECT_TRUE(validUtf8(""));
  EXPECT_TRUE(validUtf8("plain ascii"));
  EXPECT_TRUE(validUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));  // é € 😀 U+10FFFF
  EXPECT_FALSE(validUtf8("\xf4\x90\x80\x80"));                                     // above U+10FFFF
  EXPECT_FALSE(validUtf8("\xe0\x80\xaf"));                                         // overlong
  EXPECT_FALSE(validUtf8("\xed\xbf\xbf"));                                         // surrogate U+DFFF
  EXPECT_FALSE(validUtf8("\xc3"));                                                 // truncated at the end
  EXPECT_FALSE(validUtf8("\xf8\x88\x80\x80\x80"));
}

TEST(BoundedJson, MalformedTextKeepsRapidJsonsMessageAndOffset) {
  auto r = parse("{\"a\":}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed JSON at offset 5"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parse("{} trailing").ok());
  EXPECT_FALSE(parse("").ok());
}

}  // namespace
}  // namespace spotfit::kube::json
