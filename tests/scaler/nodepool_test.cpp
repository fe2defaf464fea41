// NodePool parsing from the config file and from CRD objects: strict keys, key paths with lines,
// semantic validation, and node requests carrying the right labels, taints and capacity.

#include "scaler/nodepool.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "scaler/planner.hpp"
#include "test_paths.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

const char* kConfig = R"(server:
  port: 8443
scaler:
  namespace: spotfit
  batchIdle: 2s
  maxParallelDrains: 2
  interruptionTaints: [example.com/notice]
  interruption: {window: 10m, threshold: 2, coolOff: 1h, drainDeadline: 30s}
  nodePools:
    - name: gpu
      capacityTypes: [spot, on-demand]
      instanceTypes:
        - name: g4dn.xlarge
          cpu: "4"
          memory: 16Gi
          gpus: 1
          gpuProduct: Tesla-T4
          gpuMemoryMiB: 15360
          extended: {nvidia.com/mig-1g.5gb: 7, example.com/fpga: "2"}
          maxPods: 29
          onDemandPrice: 0.526
          spotPrice: 0.158
      zones: [us-east-1a, us-east-1b]
      labels: {team: ml}
      taints: [{key: nvidia.com/gpu, value: "true", effect: NoSchedule}]
      minNodes: 1
      maxNodes: 4
      limits: {cpu: "16", memory: 64Gi, gpus: 4, costPerHour: 3.5}
      disruption: {consolidateAfter: 30s, utilizationThreshold: 0.4, unneededTime: 5m, disruptCheckpointedJobs: true}
      provider: {type: kwok, readyTimeout: 2m, parameters: {readyDelay: 3s}}
)";

TEST(ScalerConfig, ParsesEveryField) {
  auto cfg = parseScalerConfig(kConfig);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->namespaceName, "spotfit");
  EXPECT_EQ(cfg->batchIdle, 2s);
  EXPECT_EQ(cfg->batchMax, 10s);
  EXPECT_EQ(cfg->maxParallelDrains, 2);
  EXPECT_EQ(cfg->interruptionTaints, std::vector<std::string>{"example.com/notice"});
  EXPECT_EQ(cfg->interruption.threshold, 2);
  EXPECT_EQ(cfg->interruption.coolOff, 1h);
  EXPECT_EQ(cfg->interruption.drainDeadline, 30s);
  ASSERT_EQ(cfg->nodePools.size(), 1u);
  const auto& p = cfg->nodePools[0];
  EXPECT_EQ(p.name, "gpu");
  EXPECT_EQ(p.capacityTypes, (std::vector<CapacityType>{CapacityType::Spot, CapacityType::OnDemand}));
  ASSERT_EQ(p.instanceTypes.size(), 1u);
  const auto& t = p.instanceTypes[0];
  EXPECT_EQ(t.cpuMilli, 4000);
  EXPECT_EQ(t.memoryBytes, 16LL << 30);
  EXPECT_EQ(t.gpus, 1);
  EXPECT_EQ(t.gpuProduct, "Tesla-T4");
  EXPECT_EQ(t.extended, (std::map<std::string, int64_t>{{"example.com/fpga", 2}, {"nvidia.com/mig-1g.5gb", 7}}));
  EXPECT_EQ(t.maxPods, 29);
  EXPECT_DOUBLE_EQ(t.spotPrice, 0.158);
  EXPECT_EQ(p.zones.size(), 2u);
  EXPECT_EQ(p.labels.at("team"), "ml");
  ASSERT_EQ(p.taints.size(), 1u);
  EXPECT_EQ(p.taints[0], (NodeTaint{"nvidia.com/gpu", "true", placement::TaintEffect::NoSchedule}));
  EXPECT_EQ(p.minNodes, 1);
  EXPECT_EQ(p.maxNodes, 4);
  EXPECT_EQ(p.limits.cpuMilli, 16000);
  EXPECT_EQ(p.limits.memoryBytes, 64LL << 30);
  EXPECT_EQ(p.limits.gpus, 4);
  EXPECT_DOUBLE_EQ(p.limits.costPerHour, 3.5);
  EXPECT_EQ(p.disruption.consolidateAfter, 30s);
  EXPECT_DOUBLE_EQ(p.disruption.utilizationThreshold, 0.4);
  EXPECT_EQ(p.disruption.unneededTime, 5min);
  EXPECT_TRUE(p.disruption.disruptCheckpointedJobs);
  EXPECT_EQ(p.provider.type, "kwok");
  EXPECT_EQ(p.provider.readyTimeout, 2min);
  EXPECT_EQ(p.provider.parameters.at("readyDelay"), "3s");
}

TEST(ScalerConfig, MissingSectionGivesDefaults) {
  auto cfg = parseScalerConfig("server: {port: 1}\n");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->batchIdle, 1s);
  EXPECT_EQ(cfg->offeringUnavailableFor, 3min);
  EXPECT_TRUE(cfg->nodePools.empty());
  EXPECT_FALSE(cfg->interruptionTaints.empty());
  ASSERT_TRUE(parseScalerConfig("").ok());
}

struct BadCase {
  const char* yaml;
  const char* expect;  // substring of the error message
};

TEST(ScalerConfig, ErrorsNameTheKeyPathAndLine) {
  const BadCase cases[] = {
      {"scaler:\n  batchIdel: 1s\n", "scaler.batchIdel (line 2): unknown field"},
      {"scaler:\n  batchIdle: soon\n", "scaler.batchIdle (line 2): invalid duration \"soon\""},
      {"scaler:\n  batchIdle: 20s\n", "scaler.batchIdle: must not exceed batchMax"},
      {"scaler:\n  maxParallelDrains: 0\n", "scaler.maxParallelDrains (line 2): must be at least 1"},
      {"scaler: [1]\n", "scaler (line 1): expected a mapping"},
      {"scaler:\n  nodePools:\n    - name: a\n      instanceTypes:\n        - {name: m, cpu: 4x, memory: 1Gi, "
       "onDemandPrice: 1}\n",
       "scaler.nodePools[0].instanceTypes[0].cpu (line 5): invalid quantity \"4x\""},
      {"scaler:\n  nodePools:\n    - name: a\n      instanceTypes: []\n      capacityTypes: [cheap]\n      "
       "provider: {type: memory}\n",
       "scaler.nodePools[0].capacityTypes[0] (line 5): expected spot or on-demand"},
      {"scaler:\n  nodePools:\n    - name: a\n      instanceTypes:\n        - {name: m, cpu: 4, memory: 1Gi}\n",
       "scaler.nodePools[0].instanceTypes[0].onDemandPrice (line 5): required field missing"},
      {"scaler:\n  nodePools:\n    - name: a\n      instanceTypes:\n        - {name: m, cpu: 4, memory: 1Gi, "
       "onDemandPrice: 1, extended: {mig: 1}}\n",
       "scaler.nodePools[0].instanceTypes[0].extended.mig (line 5): expected a domain-prefixed extended resource"},
      {"scaler:\n  nodePools:\n    - name: a\n      instanceTypes:\n        - {name: m, cpu: 4, memory: 1Gi, "
       "onDemandPrice: 1, extended: {nvidia.com/mig-1g.5gb: -1}}\n",
       "scaler.nodePools[0].instanceTypes[0].extended.nvidia.com/mig-1g.5gb (line 5): must be at least 0"},
      {"scaler:\n  nodePools:\n    - name: a\n      taints: [{key: k, effect: Sometimes}]\n",
       "scaler.nodePools[0].taints[0].effect (line 4): expected NoSchedule"},
      {"scaler:\n  nodePools:\n    - name: a\n      minNodes: -1\n",
       "scaler.nodePools[0].minNodes (line 4): must be at least 0"},
      {"scaler:\n  nodePools:\n    - name: a\n      disruption: {utilizationThreshold: 1.5}\n",
       "scaler.nodePools[0].disruption.utilizationThreshold (line 4): must be between 0 and 1"},
  };
  for (const auto& c : cases) {
    auto cfg = parseScalerConfig(c.yaml);
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_EQ(cfg.error().code, "invalid");
    EXPECT_NE(cfg.error().message.find(c.expect), std::string::npos) << cfg.error().message;
  }
}

TEST(ScalerConfig, SemanticChecksApplyToConfigPools) {
  const std::string head = "scaler:\n  nodePools:\n    - name: a\n      capacityTypes: [spot]\n";
  auto minMax = parseScalerConfig(head +
                                  "      minNodes: 3\n      maxNodes: 2\n      provider: {type: memory}\n"
                                  "      instanceTypes: [{name: m, cpu: 1, memory: 1Gi, onDemandPrice: 1, "
                                  "spotPrice: 0.3}]\n");
  ASSERT_FALSE(minMax.ok());
  EXPECT_NE(minMax.error().message.find("scaler.nodePools[0].minNodes (line 3): minNodes 3 exceeds maxNodes 2"),
            std::string::npos)
      << minMax.error().message;
  auto noSpot = parseScalerConfig(head +
                                  "      provider: {type: memory}\n"
                                  "      instanceTypes: [{name: m, cpu: 1, memory: 1Gi, onDemandPrice: 1}]\n");
  ASSERT_FALSE(noSpot.ok());
  EXPECT_NE(noSpot.error().message.find("no instance type has a spotPrice"), std::string::npos);
  auto capi = parseScalerConfig(head +
                                "      provider: {type: clusterapi, parameters: {namespace: default}}\n"
                                "      instanceTypes: [{name: m, cpu: 1, memory: 1Gi, onDemandPrice: 1, "
                                "spotPrice: 0.3}]\n");
  ASSERT_FALSE(capi.ok());
  EXPECT_NE(capi.error().message.find("provider.parameters.machineDeployment"), std::string::npos)
      << capi.error().message;
  auto capiTwoTypes = parseScalerConfig(
      "scaler:\n  nodePools:\n    - {name: a, capacityTypes: [on-demand], provider: {type: clusterapi, parameters: "
      "{namespace: n, machineDeployment: md}}, instanceTypes: [{name: m, cpu: 1, memory: 1Gi, onDemandPrice: 1}, "
      "{name: m2, cpu: 1, memory: 1Gi, onDemandPrice: 1}]}\n");
  ASSERT_FALSE(capiTwoTypes.ok());
  EXPECT_NE(capiTwoTypes.error().message.find("exactly one instance type"), std::string::npos);
  auto dup = parseScalerConfig(
      "scaler:\n  nodePools:\n"
      "    - {name: a, capacityTypes: [on-demand], provider: {type: memory}, instanceTypes: [{name: m, cpu: 1, "
      "memory: 1Gi, onDemandPrice: 1}]}\n"
      "    - {name: a, capacityTypes: [on-demand], provider: {type: memory}, instanceTypes: [{name: m, cpu: 1, "
      "memory: 1Gi, onDemandPrice: 1}]}\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("scaler.nodePools[1].name (line 4): duplicate node pool a"), std::string::npos)
      << dup.error().message;
  auto manyErrors = parseScalerConfig("scaler:\n  a: 1\n  b: 2\n");
  ASSERT_FALSE(manyErrors.ok());
  EXPECT_NE(manyErrors.error().message.find("(and 1 more: scaler.b (line 3): unknown field)"), std::string::npos)
      << manyErrors.error().message;
  EXPECT_FALSE(parseScalerConfig("scaler: {nodePools: [").ok());
}

TEST(NodePoolObject, ValidObjectParses) {
  auto r = parseNodePoolObject(R"({"apiVersion":"spotfit.io/v1alpha1","kind":"SpotfitPool",
    "metadata":{"name":"batch-spot","generation":3},
    "spec":{"capacityTypes":["spot"],"provider":{"type":"memory"},
            "instanceTypes":[{"name":"m5.large","cpu":2,"memory":"8Gi","onDemandPrice":0.096,"spotPrice":0.035}],
            "disruption":{"consolidateAfter":"45s"}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->valid()) << r->summary();
  EXPECT_EQ(r->pool.name, "batch-spot");
  EXPECT_EQ(r->pool.generation, 3);
  EXPECT_EQ(r->pool.instanceTypes[0].cpuMilli, 2000);
  EXPECT_EQ(r->pool.disruption.consolidateAfter, 45s);
  EXPECT_EQ(r->pool.disruption.unneededTime, 10min);
}

TEST(NodePoolObject, InvalidSpecIsReportedNotThrown) {
  auto r = parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{"name":"bad"},
    "spec":{"capacityTypes":["spot"],"provider":{"type":"aws"},"colour":"red",
            "instanceTypes":[{"name":"m5.large","cpu":"lots","memory":"8Gi","onDemandPrice":0.096}]}})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid());
  const auto s = r->summary();
  EXPECT_NE(s.find("spec.colour (line 2): unknown field"), std::string::npos) << s;
  EXPECT_NE(s.find("spec.instanceTypes[0].cpu (line 3): invalid quantity \"lots\""), std::string::npos) << s;
  auto unknownProvider = parseNodePoolObject(R"({"metadata":{"name":"p"},"spec":{"capacityTypes":["on-demand"],
    "provider":{"type":"aws"},"instanceTypes":[{"name":"m","cpu":1,"memory":"1Gi","onDemandPrice":1}]}})");
  ASSERT_TRUE(unknownProvider.ok());
  EXPECT_NE(unknownProvider->summary().find("spec.provider.type: unknown provider \"aws\""), std::string::npos)
      << unknownProvider->summary();
  auto badName = parseNodePoolObject(R"({"metadata":{"name":"Bad_Name"},"spec":{"capacityTypes":["on-demand"],
    "provider":{"type":"memory"},"instanceTypes":[{"name":"m","cpu":1,"memory":"1Gi","onDemandPrice":1}]}})");
  ASSERT_TRUE(badName.ok());
  EXPECT_NE(badName->summary().find("spec.name"), std::string::npos);
}

TEST(NodePoolObject, NotANodePoolIsAnError) {
  EXPECT_FALSE(parseNodePoolObject("{").ok());
  EXPECT_FALSE(parseNodePoolObject("[]").ok());
  EXPECT_FALSE(parseNodePoolObject(R"({"kind":"Pod","metadata":{"name":"x"}})").ok());
  // The kind was renamed from NodePool (which Karpenter's nodepools.karpenter.sh also uses) to SpotfitPool.
  auto oldKind =
      parseNodePoolObject(R"({"apiVersion":"spotfit.io/v1alpha1","kind":"NodePool","metadata":{"name":"x"}})");
  ASSERT_FALSE(oldKind.ok());
  EXPECT_EQ(oldKind.error().message, "object is not a SpotfitPool");
  EXPECT_FALSE(
      parseNodePoolObject(R"({"apiVersion":"karpenter.sh/v1","kind":"NodePool","metadata":{"name":"x"}})").ok());
  EXPECT_FALSE(parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{}})").ok());
  auto noSpec = parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{"name":"x"}})");
  ASSERT_TRUE(noSpec.ok());
  EXPECT_EQ(noSpec->summary(), "spec (line 1): required field missing");
}

TEST(NodePool, NodeRequestCarriesLabelsTaintsAndCapacity) {
  auto cfg = parseScalerConfig(kConfig);
  ASSERT_TRUE(cfg.ok());
  const auto& pool = cfg->nodePools[0];
  auto tmpl = nodeTemplate(pool, pool.instanceTypes[0], CapacityType::Spot, "us-east-1b", "gpu-abc");
  const auto& req = tmpl.request;
  EXPECT_EQ(req.cpuMilli, 4000);
  EXPECT_EQ(req.pods, 29);
  EXPECT_EQ(req.extended.at("nvidia.com/gpu"), 1);
  EXPECT_EQ(req.labels.at(std::string(kLabelCapacityType)), "spot");
  EXPECT_EQ(req.labels.at(std::string(kLabelNodePool)), "gpu");
  EXPECT_EQ(req.labels.at(std::string(kLabelInstanceType)), "g4dn.xlarge");
  EXPECT_EQ(req.labels.at(std::string(kLabelZone)), "us-east-1b");
  EXPECT_EQ(req.labels.at(std::string(kLabelGpuProduct)), "Tesla-T4");
  EXPECT_EQ(req.labels.at(std::string(kLabelGpuCount)), "1");
  EXPECT_EQ(req.labels.at(std::string(kLabelGpuMemory)), "15360");
  EXPECT_EQ(req.labels.at("team"), "ml");
  EXPECT_EQ(req.taints, pool.taints);
  EXPECT_EQ(req.providerParams.at("readyDelay"), "3s");
  // The model is what the solver plans with: same labels, price, pool and capacity type.
  EXPECT_EQ(tmpl.model.pool, "gpu");
  EXPECT_EQ(tmpl.model.capacityType, CapacityType::Spot);
  EXPECT_DOUBLE_EQ(tmpl.model.hourlyPrice, 0.158);
  EXPECT_EQ(tmpl.model.gpuProduct, "Tesla-T4");
  EXPECT_EQ(tmpl.model.allocatable.get("nvidia.com/gpu"), 1);
  EXPECT_TRUE(tmpl.model.inFlight);
  EXPECT_EQ(tmpl.model.labels.size(), req.labels.size());
}

TEST(NodePool, ExampleConfigInDocsParses) {
  std::ifstream in(spotfit::testpaths::sourceDir() + "/tests/scaler/testdata/scaler-config.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  auto cfg = parseScalerConfig(ss.str());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_GE(cfg->nodePools.size(), 2u);
}

}  // namespace
}  // namespace spotfit::scaler
