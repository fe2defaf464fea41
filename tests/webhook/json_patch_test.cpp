#include "webhook/json_patch.hpp"

#include <gtest/gtest.h>

#include <random>

#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::applyJsonPatch;
using testing::parseJson;
using testing::toJson;

// Diffs `from` against `to`, applies the patch with the independent applier and checks the result.
JsonPatch roundTrip(const std::string& from, const std::string& to) {
  auto a = parseJson(from);
  auto b = parseJson(to);
  JsonPatch p = diff(a, b);
  auto applied = parseJson(from);
  std::string err = applyJsonPatch(applied, p.json);
  EXPECT_EQ(err, "") << p.json;
  EXPECT_TRUE(applied == b) << "patch " << p.json << "\n got " << toJson(applied) << "\nwant " << to;
  return p;
}

TEST(PointerToken, EscapesTildeBeforeSlash) {
  std::string p;
  appendPointerToken(p, "example.com/a~b");
  EXPECT_EQ(p, "/example.com~1a~0b");
  std::string q;
  appendPointerToken(q, "~1");  // a literal "~1" must not read back as "/"
  EXPECT_EQ(q, "/~01");
  std::string e;
  appendPointerToken(e, "");
  EXPECT_EQ(e, "/");
}

TEST(Diff, IdenticalDocumentsGiveNoOperations) {
  JsonPatch p = roundTrip(R"({"a":{"b":[1,2,{"c":null}]},"d":"x"})", R"({"a":{"b":[1,2,{"c":null}]},"d":"x"})");
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.json, "[]");
}

TEST(Diff, MissingParentIsAddedWhole) {
  JsonPatch p = roundTrip(R"({"metadata":{"name":"x"}})",
                          R"({"metadata":{"name":"x","annotations":{"spotfit.io/mutated":"labels"}}})");
  EXPECT_EQ(p.json, R"([{"op":"add","path":"/metadata/annotations","value":{"spotfit.io/mutated":"labels"}}])");
}

TEST(Diff, KeysWithSlashAndTildeAreEscaped) {
  JsonPatch p = roundTrip(R"({"metadata":{"annotations":{"a/b~c":"1","x":"y"}}})",
                          R"({"metadata":{"annotations":{"a/b~c":"2","x":"y","~/":"new"}}})");
  EXPECT_NE(p.json.find(R"("/metadata/annotations/a~1b~0c")"), std::string::npos) << p.json;
  EXPECT_NE(p.json.find(R"("/metadata/annotations/~0~1")"), std::string::npos) << p.json;
}

TEST(Diff, ArraysGrowShrinkAndChangeType) {
  roundTrip(R"({"a":[1,2]})", R"({"a":[1,2,3,{"x":[]}]})");
  roundTrip(R"({"a":[1,2,3,4,5]})", R"({"a":[1]})");
  roundTrip(R"({"a":[1,2,3]})", R"({"a":{"0":1}})");
  roundTrip(R"({"a":true})", R"({"a":false})");
  roundTrip(R"({"a":1})", R"({"a":1.5})");
  roundTrip(R"({"a":"x","b":null})", R"({"b":"y"})");
  roundTrip(R"([1,2])", R"({"root":"changed"})");
}

TEST(Diff, EmptyObjectsAndArraysAreKept) {
  roundTrip(R"({})", R"({"a":{},"b":[],"c":[{}]})");
  roundTrip(R"({"a":{},"b":[]})", R"({})");
}

// Random documents: every diff must apply with the independent implementation and reproduce `to`.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}
  std::string value(int depth) {
    int kind = pick(depth > 3 ? 4 : 6);
    switch (kind) {
      case 0:
        return "null";
      case 1:
        return pick(2) ? "true" : "false";
      case 2:
        return std::to_string(pick(5));
      case 3:
        return "\"" + key() + "\"";
      case 4: {
        std::string s = "[";
        int n = pick(4);
        for (int i = 0; i < n; ++i) s += (i ? "," : "") + value(depth + 1);
        return s + "]";
      }
      default: {
        std::string s = "{";
        int n = pick(4);
        std::vector<std::string> used;
        for (int i = 0; i < n; ++i) {
          std::string k = key();
          if (std::find(used.begin(), used.end(), k) != used.end()) continue;
          used.push_back(k);
          s += (used.size() > 1 ? "," : "") + ("\"" + k + "\":") + value(depth + 1);
        }
        return s + "}";
      }
    }
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::string key() {
    static const char* keys[] = {"a", "b", "a/b", "~", "~1", "x~0/y", "", "spec"};
    return keys[pick(8)];
  }
  std::mt19937 rng_;
};

TEST(Diff, RandomDocumentsRoundTrip) {
  RandomJson gen(20261122);
  for (int i = 0; i < 2000; ++i) {
    std::string from = "{\"root\":" + gen.value(0) + "}";
    std::string to = "{\"root\":" + gen.value(0) + "}";
    roundTrip(from, to);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace spotfit::webhook
