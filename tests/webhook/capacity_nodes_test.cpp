// Never strand a pod: Ready nodes per capacity type (node informer -> NodeCapacityIndex), the warning
// and the counter when a required capacity term this admission wrote matches no Ready node.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"
#include "webhook/admitter.hpp"
#include "webhook/kube_adapters.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testsupport::FakeApiServer;

TEST(NodeCapacityIndex, CountsReadyNodesAsTheRequiredTermsMatchThem) {
  // GKE: on-demand nodes have no cloud.google.com/gke-spot label; `NotIn [true]` matches them.
  NodeCapacityIndex gke("cloud.google.com/gke-spot", "true", "");
  EXPECT_EQ(gke.readyNodes(true), std::nullopt) << "unknown until the informer has listed the nodes";
  EXPECT_EQ(gke.summary(), "nodes not listed yet");
  gke.markSynced();
  EXPECT_EQ(gke.readyNodes(true), 0u);
  gke.upsert("spot-1", true, "true");
  gke.upsert("od-1", true, std::nullopt);
  gke.upsert("od-2", false, std::nullopt);  // NotReady or cordoned
  EXPECT_EQ(gke.readyNodes(true), 1u);
  EXPECT_EQ(gke.readyNodes(false), 1u);
  gke.erase("od-1");
  EXPECT_EQ(gke.readyNodes(false), 0u);
  EXPECT_EQ(gke.summary(),
            "spot: 1 Ready nodes (cloud.google.com/gke-spot In [true]), on-demand: 0 Ready nodes "
            "(cloud.google.com/gke-spot NotIn [true]); pods required on on-demand stay Pending until a "
            "provisioner adds such a node");

  // spotfit (and karpenter, eks): on-demand needs the label with its on-demand value.
  NodeCapacityIndex own("spotfit.io/capacity-type", "spot", "on-demand");
  own.markSynced();
  own.upsert("eks-node", true, std::nullopt);
  EXPECT_EQ(own.readyNodes(false), 0u) << "a node without spotfit's label is not on-demand for spotfit";
  own.upsert("od", true, "on-demand");
  EXPECT_EQ(own.readyNodes(false), 1u);
}

struct StrandFixture : ::testing::Test {
  WebhookConfig config;
  NodeCapacityIndex nodes{"spotfit.io/capacity-type", "spot", "on-demand"};
  prometheus::Registry registry;
  WebhookMetrics metrics{registry};

  Admission admit(const std::string& annotations) {
    const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml",
      "annotations":{)" + annotations +
                            R"(},
      "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"u1","controller":true}]},
      "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}})";
    AdmitterPorts ports;
    ports.nodes = &nodes;
    ports.metrics = &metrics;
    return Admitter(config, ports)
        .review(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
      "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml","object":)" +
                pod + "}}");
  }
  double counted() {
    prometheus::TextSerializer s;
    const std::string text = s.Serialize(registry.Collect());
    const std::string name = "\nspotfit_webhook_unsatisfiable_required_terms_total ";
    auto at = text.find(name);
    EXPECT_NE(at, std::string::npos);
    return std::stod(text.substr(at + name.size()));
  }
};

TEST_F(StrandFixture, RequiredTermWithoutAReadyNodeWarnsAndCounts) {
  nodes.markSynced();
  nodes.upsert("spot-1", true, "spot");
  Admission a = admit(R"("spotfit.io/capacity-type":"on-demand")");
  EXPECT_EQ(a.result, ReviewResult::Patched);
  ASSERT_EQ(a.response.warnings.size(), 1u) << a.body;
  EXPECT_EQ(a.response.warnings[0],
            "spotfit: no Ready node has spotfit.io/capacity-type In [on-demand] (required on-demand)");
  EXPECT_LT(a.response.warnings[0].size(), 120u);
  EXPECT_EQ(counted(), 1);

  // A spot pod has a node; a spot-preferred pod has no required term: neither warns.
  EXPECT_TRUE(admit(R"("spotfit.io/capacity-type":"spot")").response.warnings.empty());
  EXPECT_TRUE(admit("").response.warnings.empty());
  EXPECT_EQ(counted(), 1);

  // Once an on-demand node is Ready, no warning.
  nodes.upsert("od-1", true, "on-demand");
  EXPECT_TRUE(admit(R"("spotfit.io/capacity-type":"on-demand")").response.warnings.empty());
  EXPECT_EQ(counted(), 1);
}

TEST_F(StrandFixture, NoWarningWhileTheNodesAreNotKnown) {
  Admission a = admit(R"("spotfit.io/capacity-type":"on-demand")");
  EXPECT_TRUE(a.response.warnings.empty());
  EXPECT_EQ(counted(), 0);
}

TEST_F(StrandFixture, PresetTermsAreWhatTheWarningNames) {
  auto gke = parseWebhookConfigText("webhook:\n  capacity: {preset: gke}\n");
  ASSERT_TRUE(gke.ok());
  config = *gke;
  NodeCapacityIndex gkeNodes("cloud.google.com/gke-spot", "true", "");
  gkeNodes.markSynced();
  gkeNodes.upsert("od", true, std::nullopt);
  AdmitterPorts ports;
  ports.nodes = &gkeNodes;
  ports.metrics = &metrics;
  const std::string review = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
    "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml","object":
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"spotfit.io/capacity-type":"spot"}},
    "spec":{"containers":[{"name":"main"}]}}}})";
  Admission a = Admitter(config, ports).review(review);
  ASSERT_EQ(a.response.warnings.size(), 1u) << a.body;
  EXPECT_EQ(a.response.warnings[0], "spotfit: no Ready node has cloud.google.com/gke-spot In [true] (required spot)");
}

TEST(FeedFromNodes, TheNodeInformerKeepsTheIndexInStep) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  auto inf = kube::makeNodeInformer(*client);
  NodeCapacityIndex index("kubernetes.azure.com/scalesetpriority", "spot", "");
  feedFrom(*inf, index);
  auto node = [](const std::string& name, const std::string& labels, const std::string& ready, bool cordoned) {
    return R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name + R"(","labels":{)" + labels +
           R"(}},"spec":{"unschedulable":)" + (cordoned ? "true" : "false") +
           R"(},"status":{"conditions":[{"type":"Ready","status":")" + ready + R"("}]}})";
  };
  api.upsert("nodes", node("spot", R"("kubernetes.azure.com/scalesetpriority":"spot")", "True", false));
  api.upsert("nodes", node("regular", "", "True", true));
  EXPECT_EQ(index.readyNodes(true), std::nullopt);
  inf->start();
  ASSERT_TRUE(inf->waitForSync(std::chrono::seconds(30)));
  EXPECT_EQ(index.readyNodes(true), 1u);
  EXPECT_EQ(index.readyNodes(false), 0u) << "a cordoned node takes no new pod";
  api.upsert("nodes", node("regular", "", "True", false));
  EXPECT_TRUE(inf->waitUntil([&] { return index.readyNodes(false) == 1u; }, std::chrono::seconds(30)));
  api.upsert("nodes", node("spot", R"("kubernetes.azure.com/scalesetpriority":"spot")", "False", false));
  EXPECT_TRUE(inf->waitUntil([&] { return index.readyNodes(true) == 0u; }, std::chrono::seconds(30)));
  api.erase("nodes", "", "regular");
  EXPECT_TRUE(inf->waitUntil([&] { return index.readyNodes(false) == 0u; }, std::chrono::seconds(30)));
  inf->stop();
}

}  // namespace
}  // namespace spotfit::webhook
