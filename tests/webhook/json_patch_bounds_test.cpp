// The differ under hostile shapes: objects with very many members (linear, not quadratic), nesting
// deeper than any decoder accepts (no stack overflow) and patches larger than the caller's limit.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "kube/json.hpp"
#include "webhook/json_patch.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::applyJsonPatch;
using testing::parseJson;

std::string members(int from, int to, const std::string& value) {
  std::string s;
  for (int i = from; i < to; ++i) s += (s.empty() ? "\"k" : ",\"k") + std::to_string(i) + "\":\"" + value + "\"";
  return s;
}

TEST(DiffBounds, LargeObjectsRoundTripThroughTheIndex) {
  // 40 members on each side: some kept, some changed, some removed, some added, in shuffled order.
  auto from = parseJson("{\"m\":{" + members(0, 30, "a") + "," + members(30, 40, "old") + "}}");
  auto to =
      parseJson("{\"m\":{" + members(45, 55, "new") + "," + members(30, 40, "old") + "," + members(10, 30, "b") + "}}");
  JsonPatch p = diff(from, to);
  EXPECT_EQ(p.operations, 10u + 20u + 10u);  // 10 removed, 20 replaced, 10 added
  auto applied = parseJson("{\"m\":{" + members(0, 30, "a") + "," + members(30, 40, "old") + "}}");
  ASSERT_EQ(applyJsonPatch(applied, p.json), "");
  EXPECT_TRUE(applied == to);
}

// 80k labels took 28 s with the old member-by-member look-ups in both directions; indexed it is linear.
TEST(DiffBounds, ManyMembersDiffInLinearTime) {
  const int n = 100000;
  auto from = parseJson("{" + members(0, n, "x") + "}");
  auto to = parseJson("{" + members(n / 2, n + n / 2, "y") + "}");
  const auto start = std::chrono::steady_clock::now();
  JsonPatch p = diff(from, to);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(p.operations, static_cast<size_t>(n + n / 2));
  // Linear: 0.5 s in Release on a loaded 2-core machine; the quadratic version needs over 40 s unloaded.
  EXPECT_LT(seconds, 30.0);
}

json::Document nestedArrays(int depth, json::Allocator* alloc = nullptr) {
  json::Document d;
  auto& a = alloc ? *alloc : d.GetAllocator();
  json::Value v(rapidjson::kArrayType);
  for (int i = 0; i < depth; ++i) {
    json::Value outer(rapidjson::kArrayType);
    outer.PushBack(v, a);
    v = outer;
  }
  d.SetArray().PushBack(v, a);
  return d;
}

// 45k nested arrays used to overflow the stack in the differ (SIGSEGV).
TEST(DiffBounds, DeepDocumentsAreGivenUpWithoutRecursing) {
  json::Document a = nestedArrays(45000);
  json::Document b = nestedArrays(45000);
  b.PushBack(1, b.GetAllocator());  // differ at the top too
  JsonPatch p = diff(a, b);
  EXPECT_TRUE(p.tooLarge);
  EXPECT_EQ(p.json, "[]");
  EXPECT_TRUE(p.empty());
  // Replacing a shallow value by a deep one would recurse while writing it.
  auto shallow = parseJson(R"({"x":1})");
  json::Document deep;
  deep.SetObject();
  json::Document nested = nestedArrays(45000, &deep.GetAllocator());
  deep.AddMember("x", static_cast<json::Value&>(nested), deep.GetAllocator());
  EXPECT_TRUE(diff(shallow, deep).tooLarge);
  // Ordinary depth is fine.
  EXPECT_FALSE(diff(nestedArrays(60), nestedArrays(61)).tooLarge);
}

TEST(DiffBounds, PatchesOverTheLimitAreGivenUp) {
  auto from = parseJson(R"({"a":"x"})");
  auto to = parseJson("{\"a\":\"" + std::string(5000, 'y') + "\",\"b\":1}");
  JsonPatch small = diff(from, to, 1000);
  EXPECT_TRUE(small.tooLarge);
  EXPECT_EQ(small.json, "[]");
  JsonPatch fits = diff(from, to, 10000);
  EXPECT_FALSE(fits.tooLarge);
  EXPECT_EQ(fits.operations, 2u);
}

}  // namespace
}  // namespace spotfit::webhook
