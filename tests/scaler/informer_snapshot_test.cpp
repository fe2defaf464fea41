// The serve loop's informer-fed snapshot: Nodes, Pods and PDBs from kube informers' stores through
// SnapshotBuilder, and NodePool objects through Informer<NodePoolObject> with the scaler's decoder.

#include <gtest/gtest.h>

#include "kube/informer.hpp"
#include "kube/rest_client.hpp"
#include "scaler/kube_snapshot.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeApiServer;

struct Env {
  FakeApiServer api;
  std::unique_ptr<kube::RestClient> client = kube::RestClient::create(api.clientConfig()).value();
};

TEST(InformerSnapshot, NodesPodsAndPdbsFromInformerStores) {
  Env env;
  env.api.upsert("nodes", R"({"metadata":{"name":"n1","labels":{"spotfit.io/pool":"od"}},
      "status":{"allocatable":{"cpu":"4","memory":"16Gi","pods":"110"},
                "conditions":[{"type":"Ready","status":"True"}]}})");
  env.api.upsert("pods", R"({"metadata":{"name":"web","namespace":"team","uid":"u-web","labels":{"app":"web"}},
      "spec":{"nodeName":"n1","containers":[{"name":"c","resources":{"requests":{"cpu":"1","memory":"1Gi"}}}]},
      "status":{"phase":"Running"}})");
  env.api.upsert("poddisruptionbudgets", R"({"metadata":{"name":"web","namespace":"team"},
      "spec":{"selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":0}})");
  env.api.upsert("poddisruptionbudgets", R"({"metadata":{"name":"expr","namespace":"team"},
      "spec":{"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["x"]}]}},
      "status":{"disruptionsAllowed":2}})");
  env.api.upsert("poddisruptionbudgets", R"({"metadata":{"name":"null","namespace":"team"},"spec":{},
      "status":{"disruptionsAllowed":1}})");
  auto nodes = kube::makeNodeInformer(*env.client);
  auto pods = kube::makePodInformer(*env.client);
  auto pdbs = kube::makePdbInformer(*env.client);
  nodes->start();
  pods->start();
  pdbs->start();
  ASSERT_TRUE(nodes->waitForSync(10s));
  ASSERT_TRUE(pods->waitForSync(10s));
  ASSERT_TRUE(pdbs->waitForSync(10s));
  SnapshotBuilder b;
  for (const auto& n : nodes->store().list()) b.addNode(*n);
  for (const auto& p : pods->store().list()) b.addPod(*p);
  for (const auto& d : pdbs->store().list()) b.addPdb(*d);
  auto s = b.take(TimePoint{} + 1h);
  ASSERT_EQ(s.nodes.size(), 1u);
  EXPECT_TRUE(s.nodes[0].ready);
  EXPECT_EQ(s.nodes[0].info.requested.cpuMilli, 1000);
  ASSERT_EQ(s.pods.size(), 1u);
  EXPECT_EQ(s.pods[0].boundAt, TimePoint{} + 1h);
  ASSERT_EQ(s.pdbs.size(), 2u) << "a PDB with a null selector selects nothing and is dropped";
  const auto& web = s.pdbs[0].name == "web" ? s.pdbs[0] : s.pdbs[1];
  const auto& expr = s.pdbs[0].name == "expr" ? s.pdbs[0] : s.pdbs[1];
  EXPECT_EQ(web.disruptionsAllowed, 0);
  EXPECT_TRUE(placement::selects(web, s.pods[0].info));
  EXPECT_TRUE(expr.matchLabels.empty()) << "matchExpressions widen to the whole namespace";
  EXPECT_EQ(expr.disruptionsAllowed, 2);
  // take() hands each PDB out once: the next snapshot is built from the stores again.
  EXPECT_TRUE(b.take(TimePoint{} + 2h).pdbs.empty());
}

TEST(InformerSnapshot, NodePoolInformerDecodesWithTheScalerParser) {
  Env env;
  env.api.upsert("spotfitpools", R"({"apiVersion":"spotfit.io/v1alpha1","kind":"SpotfitPool",
      "metadata":{"name":"batch","generation":2,"resourceVersion":"1"},
      "spec":{"capacityTypes":["spot"],"provider":{"type":"memory"},
              "instanceTypes":[{"name":"m5.large","cpu":2,"memory":"8Gi","onDemandPrice":0.096,"spotPrice":0.035}]}})");
  env.api.upsert("spotfitpools", R"({"kind":"SpotfitPool","metadata":{"name":"bad"},
      "spec":{"capacityTypes":["spot"],"provider":{"type":"aws"}}})");
  kube::Informer<NodePoolObject> pools(*env.client, kube::resources::kNodePools, &decodeNodePoolObject);
  pools.start();
  ASSERT_TRUE(pools.waitForSync(10s)) << pools.lastError();
  auto all = pools.store().list();
  ASSERT_EQ(all.size(), 2u);
  const auto& batch = all[0]->meta.name == "batch" ? *all[0] : *all[1];
  const auto& bad = all[0]->meta.name == "bad" ? *all[0] : *all[1];
  EXPECT_TRUE(batch.parsed.valid()) << batch.parsed.summary();
  EXPECT_EQ(batch.parsed.pool.generation, 2);
  EXPECT_EQ(batch.parsed.pool.instanceTypes.at(0).spotPrice, 0.035);
  EXPECT_FALSE(bad.parsed.valid());
  pools.stop();
}

TEST(InformerSnapshot, NodePoolDecoderRefusesObjectsWithoutMetadata) {
  auto doc = kube::json::parse(R"({"kind":"SpotfitPool","spec":{}})");
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(decodeNodePoolObject(*doc).ok());
  auto arr = kube::json::parse(R"([1,2])");
  ASSERT_TRUE(arr.ok());
  EXPECT_FALSE(decodeNodePoolObject(*arr).ok());
}

}  // namespace
}  // namespace spotfit::scaler
