// Running out of memory in the middle of a scheduler-extender request (issue 15): with RapidJSON's own
// allocator a failed malloc is used as NULL (SIGSEGV); with kube::json's throwing allocator every failure
// point of /filter ends in the router's 500 and the next request is answered as before.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extender/extender.hpp"
#include "extender_fixture.hpp"
#include "kube/clock.hpp"
#include "kube/json.hpp"
#include "server/http.hpp"

namespace spotfit::extender {
namespace {

using testing::loadGoldenCluster;
using testing::readTestdata;

TEST(ExtenderAllocationFailure, EveryFailurePointOfAFilterGets500AndTheNextRequestIsServed) {
  kube::ManualClock clock;
  ClusterCache cache(clock);
  loadGoldenCluster(cache);
  Extender extender(cache, nullptr);
  server::Router router;
  std::vector<std::string> logged;
  router.setErrorLog([&](const server::Request&, std::string_view what) { logged.emplace_back(what); });
  registerRoutes(router, extender, "/extender");
  server::Request req;
  req.method = "POST";
  req.path = "/extender/filter";
  req.body = readTestdata("args/t4-names.json");

  const server::Response good = router.dispatch(req);
  ASSERT_EQ(good.status, 200) << good.body;

  int failedRuns = 0;
  bool completed = false;
  for (int64_t n = 0; n < 100000 && !completed; ++n) {
    server::Response r;
    int64_t refused = 0;
    {
      kube::json::testing::FailAllocationsAfter guard(n);
      r = router.dispatch(req);
      refused = guard.refused();
    }
    if (refused == 0) {
      completed = true;
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, good.body);
      continue;
    }
    ++failedRuns;
    EXPECT_EQ(r.status, 500) << "allocation " << n << ": " << r.body;
    EXPECT_EQ(r.body, "internal error\n");
    const server::Response after = router.dispatch(req);
    EXPECT_EQ(after.status, 200);
    EXPECT_EQ(after.body, good.body);
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(failedRuns, 1);
  ASSERT_EQ(logged.size(), static_cast<size_t>(failedRuns));
  EXPECT_EQ(logged.front(), "std::bad_alloc");
}

}  // namespace
}  // namespace spotfit::extender
