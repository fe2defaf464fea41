#include "kube/rest_client.hpp"

#include <gtest/gtest.h>

#include "kube/objects.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using testsupport::Fault;
using namespace std::chrono_literals;

std::string podJson(const std::string& ns, const std::string& name, const std::string& node = "",
                    const std::string& labels = "{}") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","labels":)" + labels + R"(},"spec":{"nodeName":")" + node +
         R"(","containers":[{"name":"c","resources":{"requests":{"cpu":"100m"}}}]},"status":{"phase":"Running"}})";
}

struct Fixture : ::testing::Test {
  FakeApiServer api;
  ManualClock clock{true};  // sleeps (backoff, Retry-After) advance time instantly
  std::unique_ptr<RestClient> client;

  void SetUp() override {
    RestClientOptions o;
    o.seed = 42;
    auto c = RestClient::create(api.clientConfig(), clock, o);
    ASSERT_TRUE(c.ok()) << c.error().message;
    client = std::move(c).value();
  }
};

using RestClientTest = Fixture;

TEST_F(RestClientTest, CrudRoundTrip) {
  auto created = client->create(resources::kPods, "d", podJson("d", "p1"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto pod = decodePod(*created);
  ASSERT_TRUE(pod.ok());
  EXPECT_FALSE(pod->meta.resourceVersion.empty());
  EXPECT_FALSE(pod->meta.uid.empty());

  auto again = client->create(resources::kPods, "d", podJson("d", "p1"));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(isAlreadyExists(again.error())) << again.error().code;

  auto got = client->get(resources::kPods, "d", "p1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(decodePod(*got)->meta.name, "p1");

  auto missing = client->get(resources::kPods, "d", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(isNotFound(missing.error()));
  EXPECT_EQ(missing.error().code, "NotFound");
  EXPECT_NE(missing.error().message.find("HTTP 404"), std::string::npos);

  auto patched = client->patch(resources::kPods, "d", "p1", PatchType::Merge, R"({"metadata":{"labels":{"a":"b"}}})");
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ(decodePod(*patched)->meta.labels.getOr("a", ""), "b");

  auto jp = client->patch(resources::kPods, "d", "p1", PatchType::Json,
                          R"([{"op":"add","path":"/metadata/annotations","value":{"spotfit.io~1x":"1"}}])");
  ASSERT_TRUE(jp.ok()) << jp.error().message;

  // Optimistic concurrency: an update with a stale resourceVersion conflicts.
  std::string stale = podJson("d", "p1");
  stale.insert(stale.find("\"namespace\""), R"("resourceVersion":"1",)");
  auto conflict = client->update(resources::kPods, "d", "p1", stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(isConflict(conflict.error()));

  DeleteOptions del;
  del.preconditionUid = "not-the-uid";
  auto st = client->remove(resources::kPods, "d", "p1", del);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(isConflict(st.error()));
  del.preconditionUid = pod->meta.uid;
  del.propagation = PropagationPolicy::Background;
  ASSERT_TRUE(client->remove(resources::kPods, "d", "p1", del).ok());
  EXPECT_EQ(api.count("pods"), 0u);
  auto reqs = api.requests();
  EXPECT_NE(reqs.back().body.find(R"("propagationPolicy":"Background")"), std::string::npos);
}

TEST_F(RestClientTest, DryRunDoesNotPersist) {
  WriteOptions o;
  o.dryRun = true;
  auto created = client->create(resources::kPods, "d", podJson("d", "p1"), o);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(api.count("pods"), 0u);
  EXPECT_NE(api.requests().back().query.find("dryRun=All"), std::string::npos);
}

TEST_F(RestClientTest, ListPaginatesWithLimitAndContinue) {
  for (int i = 0; i < 7; ++i) api.upsert("pods", podJson("d", "p" + std::to_string(i)));
  ListOptions o;
  o.limit = 3;
  std::vector<std::string> names;
  auto rv = client->listAll(resources::kPods, "d", o, [&](const json::Value& item) -> Status {
    auto p = decodePod(item);
    if (!p.ok()) return p.error();
    names.push_back(p->meta.name);
    return {};
  });
  ASSERT_TRUE(rv.ok()) << rv.error().message;
  EXPECT_EQ(names.size(), 7u);
  EXPECT_EQ(api.countRequests("GET", "/api/v1/namespaces/d/pods"), 3u);
  EXPECT_EQ(*rv, std::to_string(api.resourceVersion()));
}

TEST_F(RestClientTest, RetriesServerErrorsHonouringRetryAfter) {
  api.upsert("pods", podJson("d", "p1"));
  Fault f;
  f.pathContains = "/pods/p1";
  f.status = 429;
  f.retryAfter = "3";
  f.times = 2;
  api.injectFault(f);
  auto before = clock.slept();
  auto got = client->get(resources::kPods, "d", "p1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(client->retries(), 2u);
  EXPECT_EQ(clock.slept() - before, std::chrono::seconds(6));  // two Retry-After: 3 waits
}

TEST_F(RestClientTest, GivesUpAfterMaxAttemptsWithTheLastApiError) {
  Fault f;
  f.status = 503;
  f.times = -1;
  api.injectFault(f);
  auto got = client->get(resources::kPods, "d", "p1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, "ServiceUnavailable");
  EXPECT_EQ(client->attempts(), 5u);
}

TEST_F(RestClientTest, NonIdempotentCreateIsNotRetriedOn500) {
  Fault f;
  f.status = 500;
  f.method = "POST";
  api.injectFault(f);
  auto r = client->create(resources::kPods, "d", podJson("d", "p1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InternalError");
  EXPECT_EQ(client->attempts(), 1u);
}

TEST_F(RestClientTest, RetriesADroppedConnection) {
  api.upsert("pods", podJson("d", "p1"));
  Fault f;
  f.disconnect = true;
  f.times = 2;
  api.injectFault(f);
  auto got = client->get(resources::kPods, "d", "p1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_GE(client->retries(), 1u);
}

TEST(RestClientDeadline, SlowServerFailsAtTheDeadline) {
  FakeApiServer api;
  auto client = RestClient::create(api.clientConfig()).value();
  Fault f;
  f.delay = 5s;
  api.injectFault(f);
  GetOptions o;
  o.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto got = client->get(resources::kPods, "d", "p1", o);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, "deadline");
  EXPECT_LT(took, 2s);
}

TEST_F(RestClientTest, EvictionSurfacesThePdbRefusal) {
  api.upsert("pods", podJson("d", "p1"));
  api.upsert("pods", podJson("d", "p2"));
  api.setEvictionHook([](const std::string&, const std::string& name) -> std::optional<std::string> {
    if (name == "p1") return std::string("Cannot evict pod as it would violate the pod's disruption budget.");
    return std::nullopt;
  });
  auto blocked = client->evict("d", "p1");
  ASSERT_TRUE(blocked.ok()) << blocked.error().message;
  EXPECT_EQ(blocked->outcome, EvictionOutcome::BlockedByDisruptionBudget);
  EXPECT_NE(blocked->message.find("disruption budget"), std::string::npos);
  EXPECT_EQ(client->attempts(), 1u);  // a PDB refusal is an answer, not a reason to retry
  EXPECT_EQ(api.count("pods"), 2u);

  auto ok = client->evict("d", "p2");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->outcome, EvictionOutcome::Evicted);
  EXPECT_EQ(api.count("pods"), 1u);
  EXPECT_NE(api.requests().back().body.find(R"("kind":"Eviction")"), std::string::npos);

  auto gone = client->evict("d", "p2");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->outcome, EvictionOutcome::NotFound);
}

TEST_F(RestClientTest, ThrottlingTooManyRequestsOnEvictionIsRetried) {
  api.upsert("pods", podJson("d", "p1"));
  Fault f;
  f.pathContains = "/eviction";
  f.status = 429;
  f.retryAfter = "1";
  api.injectFault(f);
  auto r = client->evict("d", "p1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, EvictionOutcome::Evicted);
  EXPECT_EQ(client->attempts(), 2u);
}

TEST_F(RestClientTest, StatusAndScaleSubresources) {
  api.upsert("deployments",
             R"({"metadata":{"name":"web","namespace":"d"},"spec":{"replicas":2},"status":{"replicas":2}})");
  auto scale = client->getScale({"apps", "v1", "deployments", "Deployment", true}, "d", "web");
  ASSERT_TRUE(scale.ok()) << scale.error().message;
  EXPECT_EQ(*scale, 2);
  ASSERT_TRUE(client->setScale({"apps", "v1", "deployments", "Deployment", true}, "d", "web", 5).ok());
  EXPECT_NE(api.object("deployments", "d", "web")->find(R"("replicas":5)"), std::string::npos);

  api.upsert("pods", podJson("d", "p1"));
  WriteOptions o;
  o.subresource = "status";
  auto st = client->patch(resources::kPods, "d", "p1", PatchType::Merge, R"({"status":{"phase":"Failed"}})", o);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(decodePod(*st)->phase, PodPhase::Failed);
  // The main resource ignores status changes.
  auto main = client->patch(resources::kPods, "d", "p1", PatchType::Merge, R"({"status":{"phase":"Running"}})");
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(decodePod(*main)->phase, PodPhase::Failed);
}

TEST_F(RestClientTest, KeepAliveReusesConnections) {
  api.upsert("pods", podJson("d", "p1"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->get(resources::kPods, "d", "p1").ok());
  EXPECT_EQ(client->transport().connectionsOpened(), 1u);
}

TEST(RateLimiterTest, BurstThenQps) {
  ManualClock clock(true);
  RateLimiter l(clock, 10, 3);
  auto deadline = clock.now() + 10s;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(l.acquire(deadline).ok());
  EXPECT_EQ(clock.slept(), Clock::Duration::zero());
  ASSERT_TRUE(l.acquire(deadline).ok());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(clock.slept()).count(), 100);
  EXPECT_FALSE(l.acquire(clock.now() + 10ms).ok());  // the next slot is 100 ms away
}

TEST(RetryAfter, Parses) {
  EXPECT_EQ(parseRetryAfter("5"), std::chrono::seconds(5));
  EXPECT_EQ(parseRetryAfter(" 0 "), std::chrono::seconds(0));
  EXPECT_FALSE(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parseRetryAfter("").has_value());
  EXPECT_FALSE(parseRetryAfter("-1").has_value());
}

TEST(ApiErrorTest, UsesStatusReasonOrHttpFallback) {
  auto e = apiError(422, R"({"kind":"Status","reason":"Invalid","message":"spec.x: bad"})");
  EXPECT_EQ(e.code, "Invalid");
  EXPECT_EQ(e.message, "Invalid (HTTP 422): spec.x: bad");
  auto g = apiError(410, "");
  EXPECT_TRUE(isGone(g));
  auto h = apiError(502, "<html>bad gateway</html>");
  EXPECT_TRUE(isTransient(h));
  EXPECT_FALSE(isTransient(apiError(403, "")));
}

}  // namespace
}  // namespace spotfit::kube
