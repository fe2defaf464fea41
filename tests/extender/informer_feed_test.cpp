// The extender's cache fed by real informers from a fake API server: the golden cluster listed and
// watched over HTTP gives the golden filter answers, and a binding or deletion seen by the watch changes
// the next answer.
#include "extender/informer_feed.hpp"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <thread>

#include "extender/extender.hpp"
#include "extender_fixture.hpp"
#include "kube/json.hpp"
#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::extender {
namespace {

using namespace std::chrono_literals;
using testing::parseJson;
using testing::readTestdata;

std::string toJson(const spotfit::kube::json::Value& v) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::vector<std::string> passedNames(const std::string& body) {
  std::vector<std::string> out;
  auto d = parseJson(body);
  if (!d["NodeNames"].IsArray()) return out;
  for (const auto& n : d["NodeNames"].GetArray()) out.emplace_back(n.GetString());
  return out;
}

TEST(ExtenderInformerFeed, FollowsTheApiServer) {
  testsupport::FakeApiServer api;
  auto cluster = parseJson(readTestdata("cluster.json"));
  for (const auto& item : cluster["items"].GetArray()) {
    const std::string kind = item["kind"].GetString();
    api.upsert(kind == "Node" ? "nodes" : "pods", toJson(item));
  }
  auto client = kube::RestClient::create(api.clientConfig());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto nodes = kube::makeNodeInformer(**client);
  auto pods = kube::makePodInformer(**client);
  kube::ManualClock clock;
  ClusterCache cache(clock);
  connectInformers(cache, *nodes, *pods);
  nodes->start();
  pods->start();
  std::stop_source stop;
  ASSERT_TRUE(waitAndMarkSynced(cache, *nodes, *pods, stop.get_token()));
  ASSERT_TRUE(cache.isSynced());
  EXPECT_EQ(cache.stats().nodes, 6u);
  EXPECT_EQ(cache.stats().boundPods, 3u);  // the finished pod does not count

  Extender extender(cache, nullptr);
  const std::string t4 = readTestdata("args/t4-names.json");
  EXPECT_EQ(passedNames(extender.filterBody(t4).body), std::vector<std::string>{"ip-10-0-1-12.ec2.internal"});

  // Another client binds a 1-GPU pod to the free T4 node; the watch brings it in.
  spotfit::kube::json::Document pod;
  pod.CopyFrom(parseJson(t4)["Pod"], pod.GetAllocator());
  pod["metadata"]["name"].SetString("other-t4-0");
  pod["metadata"]["uid"].SetString("abcdef00-0000-4000-8000-000000000001");
  pod["spec"].AddMember("nodeName", "ip-10-0-1-12.ec2.internal", pod.GetAllocator());
  pod["status"]["phase"].SetString("Running");
  api.upsert("pods", toJson(pod));
  ASSERT_TRUE(pods->waitUntil([&] { return cache.stats().boundPods == 4; }, 10s));
  EXPECT_TRUE(passedNames(extender.filterBody(t4).body).empty());

  // It is deleted: the GPU is free again.
  ASSERT_TRUE(api.erase("pods", "ml", "other-t4-0"));
  ASSERT_TRUE(pods->waitUntil([&] { return cache.stats().boundPods == 3; }, 10s));
  EXPECT_EQ(passedNames(extender.filterBody(t4).body), std::vector<std::string>{"ip-10-0-1-12.ec2.internal"});

  // The node goes away: names mode now calls it unknown.
  ASSERT_TRUE(api.erase("nodes", "", "ip-10-0-1-12.ec2.internal"));
  ASSERT_TRUE(nodes->waitUntil([&] { return cache.stats().nodes == 5; }, 10s));
  auto d = parseJson(extender.filterBody(t4).body);
  EXPECT_STREQ(d["FailedNodes"]["ip-10-0-1-12.ec2.internal"].GetString(), "unknown to spotfit");
  pods->stop();
  nodes->stop();
}

TEST(ExtenderInformerFeed, SyncWaitStopsOnRequest) {
  testsupport::FakeApiServer api;
  testsupport::Fault f;
  f.pathContains = "/api/v1/pods";
  f.status = 500;
  f.times = -1;
  api.injectFault(f);
  auto client = kube::RestClient::create(api.clientConfig());
  ASSERT_TRUE(client.ok());
  auto nodes = kube::makeNodeInformer(**client);
  auto pods = kube::makePodInformer(**client);
  kube::ManualClock clock;
  ClusterCache cache(clock);
  connectInformers(cache, *nodes, *pods);
  nodes->start();
  pods->start();
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  EXPECT_FALSE(waitAndMarkSynced(cache, *nodes, *pods, stop.get_token(), 50ms));
  stopper.join();
  EXPECT_FALSE(cache.isSynced());
  pods->stop();
  nodes->stop();
}

}  // namespace
}  // namespace spotfit::extender
