// The simulator admits pods with the webhook's own decisions (webhook/scope.hpp, webhook/policy.hpp), so a
// coordinator stays on on-demand capacity in `spotfit simulate` exactly as it does at admission.

#include <gtest/gtest.h>

#include "sim/cluster.hpp"
#include "sim/engine.hpp"

namespace spotfit::sim {
namespace {

namespace pl = spotfit::placement;

PodClass admit(const std::map<std::string, std::string>& labels, const std::map<std::string, std::string>& ann = {}) {
  Workload w;
  auto spotfit = strategyByName("spotfit");
  EXPECT_TRUE(spotfit.ok());
  WorkflowSpec wf;
  wf.name = "etl";
  JobSpec job;
  job.name = "driver";
  job.requests.cpuMilli = 1000;
  job.requests.memoryBytes = int64_t{1} << 30;
  job.labels = labels;
  auto cls = admitPod(w, *spotfit, wf, job, ann);
  EXPECT_TRUE(cls.ok()) << (cls.ok() ? "" : cls.error().message);
  return cls.ok() ? *cls : PodClass{};
}

TEST(SimAdmission, ACoordinatorStaysOnDemandAndItsWorkersKeepSpot) {
  PodClass driver = admit({{"spark-role", "driver"}});
  EXPECT_EQ(driver.info.capacityPolicy, pl::CapacityPolicy::OnDemand);
  EXPECT_TRUE(driver.info.tolerations.empty());
  EXPECT_FALSE(driver.info.preferredCapacityType.has_value());

  PodClass executor = admit({{"spark-role", "executor"}});
  EXPECT_EQ(executor.info.capacityPolicy, pl::CapacityPolicy::SpotPreferred);
  EXPECT_FALSE(executor.info.tolerations.empty());

  PodClass head = admit({{"ray.io/node-type", "head"}});
  EXPECT_EQ(head.info.capacityPolicy, pl::CapacityPolicy::OnDemand);
}

TEST(SimAdmission, AnAnnotatedCoordinatorGoesWhereItsAnnotationSays) {
  PodClass driver = admit({{"spark-role", "driver"}}, {{"spotfit.io/capacity-type", "spot"}});
  EXPECT_EQ(driver.info.capacityPolicy, pl::CapacityPolicy::Spot);
  EXPECT_FALSE(driver.info.tolerations.empty());
}

}  // namespace
}  // namespace spotfit::sim
