// Running out of memory while decoding a watch frame (issue 15): with RapidJSON's own allocator a failed
// malloc is used as NULL and the informer thread dies of SIGSEGV (or of an exception escaping it). With
// kube::json's throwing allocator the frame is dropped with an error naming it, which ends the watch (the
// informer records the error and resumes from its last resourceVersion), and the stream still serves the
// frames after it.
#include <gtest/gtest.h>

#include <string>

#include "kube/json.hpp"
#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using namespace std::chrono_literals;

std::string pod(int i) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p)" + std::to_string(i) +
         R"(","namespace":"d","labels":{"app":"x"}},"spec":{"containers":[{"name":"c"}]}})";
}

TEST(WatchAllocationFailure, AFrameThatRunsOutOfMemoryIsDroppedWithAnErrorAndTheNextIsDecoded) {
  FakeApiServer api;
  auto client = RestClient::create(api.clientConfig()).value();
  WatchOptions wo;
  wo.resourceVersion = std::to_string(api.resourceVersion());
  auto w = client->watch(resources::kPods, "", wo);
  ASSERT_TRUE(w.ok()) << w.error().message;
  constexpr int kPods = 200;
  for (int i = 0; i < kPods; ++i) api.upsert("pods", pod(i));

  int next = 0;  // the pod of the next frame
  auto expectPod = [&](const Result<std::optional<WatchEvent>>& ev) {
    ASSERT_TRUE(ev.ok()) << ev.error().message;
    ASSERT_TRUE(ev->has_value());
    EXPECT_EQ((*ev)->type, WatchEvent::Type::Added);
    EXPECT_EQ(std::string((*ev)->object()["metadata"]["name"].GetString()), "p" + std::to_string(next));
    ++next;
  };
  expectPod((*w)->next(5s));

  int dropped = 0;
  bool completed = false;
  for (int64_t n = 0; !completed && next < kPods - 1; ++n) {
    Result<std::optional<WatchEvent>> ev = std::optional<WatchEvent>{};
    int64_t refused = 0;
    {
      json::testing::FailAllocationsAfter guard(n);
      ev = (*w)->next(5s);
      refused = guard.refused();
    }
    if (refused == 0) {
      completed = true;
      expectPod(ev);
      continue;
    }
    ++dropped;
    ++next;  // that frame is gone
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ev.error().code, "resource");
    EXPECT_NE(ev.error().message.find("out of memory decoding a watch frame of "), std::string::npos)
        << ev.error().message;
    // The stream goes on with the following frame.
    expectPod((*w)->next(5s));
  }
  EXPECT_TRUE(completed);
  EXPECT_GE(dropped, 2);
}

}  // namespace
}  // namespace spotfit::kube
