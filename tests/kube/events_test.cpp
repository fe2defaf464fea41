#include "kube/events.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using namespace std::chrono_literals;

struct EventsTest : ::testing::Test {
  FakeApiServer api;
  ManualClock clock{false};
  std::unique_ptr<RestClient> client;
  void SetUp() override {
    RestClientOptions o;
    o.qps = 0;
    client = RestClient::create(api.clientConfig(), clock, o).value();
  }
  ObjectReference pod{"v1", "Pod", "ml", "train-0", "uid-1"};
};

TEST_F(EventsTest, CreatesThenAggregatesIdenticalEvents) {
  EventRecorderOptions o;
  o.instance = "spotfit-abc";
  EventRecorder rec(*client, clock, o);
  rec.record(pod, EventType::Warning, "ScaleUpBlocked", "workflow nightly is over budget");
  rec.flush();
  ASSERT_EQ(api.count("events"), 1u);
  clock.advance(30s);
  rec.record(pod, EventType::Warning, "ScaleUpBlocked", "workflow nightly is over budget");
  rec.record(pod, EventType::Warning, "ScaleUpBlocked", "workflow nightly is over budget");
  rec.flush();
  EXPECT_EQ(api.count("events"), 1u);
  EXPECT_EQ(rec.created(), 1u);
  EXPECT_EQ(rec.aggregated(), 2u);
  auto doc = json::parse(api.objects("events").front());
  const auto& ev = *doc;
  EXPECT_EQ(ev["count"].GetInt(), 3);
  EXPECT_EQ(std::string(ev["reason"].GetString()), "ScaleUpBlocked");
  EXPECT_EQ(std::string(ev["type"].GetString()), "Warning");
  EXPECT_EQ(std::string(ev["involvedObject"]["uid"].GetString()), "uid-1");
  EXPECT_EQ(std::string(ev["metadata"]["namespace"].GetString()), "ml");
  EXPECT_EQ(std::string(ev["source"]["component"].GetString()), "spotfit");
  EXPECT_EQ(std::string(ev["reportingInstance"].GetString()), "spotfit-abc");
  EXPECT_NE(std::string(ev["firstTimestamp"].GetString()), std::string(ev["lastTimestamp"].GetString()));
  EXPECT_EQ(api.countRequests("PATCH", "/events/"), 2u);

  // A different message is a different event.
  rec.record(pod, EventType::Warning, "ScaleUpBlocked", "another reason");
  rec.flush();
  EXPECT_EQ(api.count("events"), 2u);
}

TEST_F(EventsTest, ClusterScopedObjectsReportIntoDefault) {
  EventRecorder rec(*client, clock);
  rec.record({"v1", "Node", "", "ip-10-0-0-1", "n-uid"}, EventType::Normal, "Draining", "node is being drained");
  rec.flush();
  auto doc = json::parse(api.objects("events").front());
  EXPECT_EQ(std::string((*doc)["metadata"]["namespace"].GetString()), "default");
  EXPECT_FALSE((*doc)["involvedObject"].HasMember("namespace"));
}

TEST_F(EventsTest, RateLimitsStormsPerObject) {
  EventRecorderOptions o;
  o.burst = 5;
  o.refillEvery = 1min;
  EventRecorder rec(*client, clock, o);
  for (int i = 0; i < 12; ++i) rec.record(pod, EventType::Normal, "Tick", "tick " + std::to_string(i));
  ObjectReference other = pod;
  other.name = "train-1";
  rec.record(other, EventType::Normal, "Tick", "tick");
  rec.flush();
  EXPECT_EQ(rec.created(), 6u);  // 5 for the first pod, 1 for the other
  EXPECT_EQ(rec.dropped(), 7u);
  clock.advance(2min);  // two tokens back
  for (int i = 0; i < 3; ++i) rec.record(pod, EventType::Normal, "Tick", "later " + std::to_string(i));
  rec.flush();
  EXPECT_EQ(rec.created(), 8u);
}

TEST_F(EventsTest, ExpiredServerEventStartsANewOne) {
  EventRecorder rec(*client, clock);
  rec.record(pod, EventType::Normal, "Evicted", "for consolidation");
  rec.flush();
  auto doc = json::parse(api.objects("events").front());
  api.erase("events", "ml", (*doc)["metadata"]["name"].GetString());  // the event TTL passed
  clock.advance(1s);
  rec.record(pod, EventType::Normal, "Evicted", "for consolidation");
  rec.flush();
  EXPECT_EQ(api.count("events"), 1u);
  EXPECT_EQ(rec.created(), 2u);
}

TEST_F(EventsTest, LongMessagesAreTruncated) {
  EventRecorder rec(*client, clock);
  rec.record(pod, EventType::Normal, "Long", std::string(5000, 'x'));
  rec.flush();
  auto doc = json::parse(api.objects("events").front());
  EXPECT_EQ((*doc)["message"].GetStringLength(), 1024u);
}

}  // namespace
}  // namespace spotfit::kube
