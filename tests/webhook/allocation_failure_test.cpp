// Running out of memory in the middle of an admission (issue 15): RapidJSON 1.1 never checks what its
// allocator returns, so with its CrtAllocator a failed malloc is written through as NULL (SIGSEGV). With
// kube::json's throwing allocator every failure point of a /mutate request ends in a clean answer and the
// next request is served as before.
#include <gtest/gtest.h>

#include <string>

#include "kube/json.hpp"
#include "server/http.hpp"
#include "webhook/admitter.hpp"
#include "webhook/options.hpp"

namespace spotfit::webhook {
namespace {

const std::string kReview =
    R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",)"
    R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml","object":)"
    R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml","labels":{"app":"train"},)"
    R"("annotations":{"spotfit.io/checkpoint":"save --to /ckpt"}},)"
    R"("spec":{"containers":[{"name":"main","image":"trainer:1"},{"name":"side","image":"log:1"}]}}}})";

server::Request mutateRequest() {
  server::Request req;
  req.method = "POST";
  req.path = "/mutate";
  req.body = kReview;
  return req;
}

TEST(WebhookAllocationFailure, EveryFailurePointGetsACleanAnswerAndTheNextRequestIsServed) {
  WebhookConfig config;
  Admitter admitter(config, AdmitterPorts{});
  server::Router router;
  std::vector<std::string> logged;
  router.setErrorLog([&](const server::Request&, std::string_view what) { logged.emplace_back(what); });
  registerRoutes(router, admitter);

  const server::Response good = router.dispatch(mutateRequest());
  ASSERT_EQ(good.status, 200);
  ASSERT_NE(good.body.find("\"patchType\":\"JSONPatch\""), std::string::npos) << good.body;

  int failedRuns = 0;
  bool completed = false;
  for (int64_t n = 0; n < 100000 && !completed; ++n) {
    server::Response r;
    int64_t refused = 0;
    {
      kube::json::testing::FailAllocationsAfter guard(n);
      r = router.dispatch(mutateRequest());
      refused = guard.refused();
    }
    if (refused == 0) {
      // n allocations are enough for the whole request: the answer is the ordinary one.
      completed = true;
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, good.body);
      continue;
    }
    ++failedRuns;
    // Either the router's catch-all (500, the exception text only in the log) or the admitter's own
    // (200, the pod admitted unchanged with a warning).
    if (r.status == 500) {
      EXPECT_EQ(r.body, "internal error\n");
    } else {
      ASSERT_EQ(r.status, 200) << "allocation " << n;
      auto d = kube::json::parse(r.body);
      ASSERT_TRUE(d.ok()) << r.body;
      EXPECT_EQ(r.body.find("patchType"), std::string::npos) << r.body;
      EXPECT_NE(r.body.find("internal error, admitted unchanged"), std::string::npos) << r.body;
    }
    // The process is still serving: the next request gets the ordinary answer.
    const server::Response after = router.dispatch(mutateRequest());
    EXPECT_EQ(after.status, 200);
    EXPECT_EQ(after.body, good.body);
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(failedRuns, 3);
  ASSERT_FALSE(logged.empty());
  EXPECT_EQ(logged.front(), "std::bad_alloc");
}

}  // namespace
}  // namespace spotfit::webhook
