// The Cluster API provider against the fake API server (MachineDeployment scale subresource, Machine
// delete annotation), and the scaler claiming provider-named nodes for its in-flight entries.

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "scaler/clusterapi_provider.hpp"
#include "scaler/scaler_fixture.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeApiServer;

const std::map<std::string, std::string> kParams{{"namespace", "capi"}, {"machineDeployment", "workers"}};

int64_t replicas(FakeApiServer& api) {
  auto md = api.object("machinedeployments", "capi", "workers");
  auto doc = kube::json::parse(*md);
  return (*doc)["spec"]["replicas"].GetInt64();
}

TEST(ClusterApiProvider, ScalesTheMachineDeploymentAndDeletesAChosenMachine) {
  FakeApiServer api;
  api.addResource({"cluster.x-k8s.io", "v1beta1", "machines", "Machine", true, true, false});
  api.upsert("machinedeployments", R"({"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"MachineDeployment",
      "metadata":{"name":"workers","namespace":"capi"},"spec":{"replicas":1}})");
  auto client = kube::RestClient::create(api.clientConfig()).value();
  kube::ManualClock clock;
  ClusterApiProvider capi(*client, clock);
  NodeRequest req;
  req.nodeName = "ignored";
  req.pool = "capi-pool";
  req.instanceType = "m5.large";
  req.providerParams = kParams;
  auto created = capi.create(req);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->nodeName.empty());  // Cluster API names the node
  EXPECT_EQ(replicas(api), 2);
  api.upsert("machines", R"({"apiVersion":"cluster.x-k8s.io/v1beta1","kind":"Machine",
      "metadata":{"name":"workers-abc","namespace":"capi","labels":{"cluster.x-k8s.io/deployment-name":"workers"}},
      "spec":{"providerID":"aws:///i-1"},"status":{"nodeRef":{"name":"ip-10-0-0-1"}}})");
  auto listed = capi.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].nodeName, "ip-10-0-0-1");
  EXPECT_EQ((*listed)[0].providerId, "aws:///i-1");
  ASSERT_TRUE(capi.remove({"ip-10-0-0-1", "capi-pool", kParams}).ok());
  auto machine = api.object("machines", "capi", "workers-abc");
  ASSERT_TRUE(machine);
  EXPECT_NE(machine->find(kAnnotationDeleteMachine), std::string::npos) << *machine;
  EXPECT_EQ(replicas(api), 1);
  // The annotation comes before the scale-down, so the MachineSet deletes exactly that Machine.
  auto reqs = api.requests();
  size_t annotate = 0, scale = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (reqs[i].method == "PATCH" && reqs[i].path.find("/machines/workers-abc") != std::string::npos) annotate = i;
    if (reqs[i].method == "PATCH" && reqs[i].path.find("/machinedeployments/workers/scale") != std::string::npos)
      scale = i;
  }
  EXPECT_LT(annotate, scale);
  ASSERT_TRUE(capi.remove({"unknown-node", "capi-pool", kParams}).ok());  // no Machine: nothing to do
  EXPECT_EQ(replicas(api), 1);
  auto bad = capi.create([] {
    NodeRequest r;
    r.pool = "p";
    return r;
  }());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("needs parameters"), std::string::npos);
}

// Delegates to the in-memory provider but, like Cluster API, does not know the Node name.
class NamelessProvider final : public NodeProvider {
 public:
  explicit NamelessProvider(InMemoryProvider& inner) : inner_(inner) {}
  Result<ProviderNode> create(const NodeRequest& r) override {
    auto n = inner_.create(r);
    if (n) n->nodeName.clear();
    return n;
  }
  Status remove(const NodeRef& n) override { return inner_.remove(n); }
  Result<std::vector<ProviderNode>> list() override { return inner_.list(); }

 private:
  InMemoryProvider& inner_;
};

TEST(ScaleUp, ProviderNamedNodesAreClaimedByTheirInFlightEntry) {
  testing::Env env;
  auto p = testing::pool("capi", {CapacityType::OnDemand}, {testing::type("m5.large", 2000, 8, 0.096, 0)});
  p.provider.readyTimeout = 2min;
  env.config.nodePools = {p};
  NamelessProvider nameless(env.provider);
  env.scaler = std::make_unique<Scaler>(env.config, env.clock, env.actions, env.planner,
                                        [&](const NodePool&) -> NodeProvider* { return &nameless; });
  env.cluster.snapshot.pods.push_back(testing::pendingPod("a", 500, 512));
  env.closeBatch();
  ASSERT_EQ(env.scaler->inFlight().size(), 1u);
  env.clock.advance(30s);
  auto& node = env.cluster.addNode(p, "ip-10-0-0-7", CapacityType::OnDemand, env.clock.wallNow());
  node.ready = false;
  env.reconcile();
  ASSERT_EQ(env.scaler->inFlight().size(), 1u);
  EXPECT_EQ(env.scaler->inFlight().begin()->first, "ip-10-0-0-7");
  env.cluster.node("ip-10-0-0-7").ready = true;
  env.reconcile();
  EXPECT_TRUE(env.scaler->inFlight().empty());
  env.clock.advance(5min);
  env.reconcile();
  EXPECT_EQ(env.actions.count("NodeNotReady"), 0);
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
}

}  // namespace
}  // namespace spotfit::scaler
