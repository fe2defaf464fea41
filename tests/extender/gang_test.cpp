// Gangs in the extender: a member stays on the capacity type (and zone) of the nodes the scaler launched
// for its gang (labelled spotfit.io/gang=<gangLabelValue>) and ranks them first; other pods rank them last.

#include <gtest/gtest.h>

#include "extender/extender.hpp"
#include "extender/extender_fixture.hpp"
#include "kube/clock.hpp"
#include "placement/gang_detect.hpp"

namespace spotfit::extender {
namespace {

using testing::parseJson;

const std::string kGangKey = "ml/annotation/Job/train";

placement::NodeInfo node(const std::string& name, placement::CapacityType ct, const std::string& zone, bool gangNode) {
  placement::NodeInfo n;
  n.name = name;
  n.allocatable.cpuMilli = 8000;
  n.allocatable.memory = int64_t{32} << 30;
  n.allocatable.pods = 110;
  n.capacityType = ct;
  n.labels["kubernetes.io/hostname"] = name;
  n.labels["topology.kubernetes.io/zone"] = zone;
  n.labels["spotfit.io/capacity-type"] = std::string(placement::toString(ct));
  if (gangNode) n.labels["spotfit.io/gang"] = placement::gangLabelValue(kGangKey);
  return n;
}

std::string args(bool member, const std::string& topology = "") {
  std::string annotations = member ? R"("spotfit.io/gang":"true")" : "";
  if (member && !topology.empty()) annotations += R"(,"spotfit.io/gang-topology":")" + topology + "\"";
  return R"({"Pod":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"w-1","namespace":"ml","uid":"u1",
    "annotations":{)" +
         annotations + R"(},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"j","controller":true}]},
    "spec":{"tolerations":[{"operator":"Exists"}],"containers":[{"name":"c","resources":{"requests":{"cpu":"1"}}}]}},
    "NodeNames":["gang-a","od-a","spot-b","spot-a"]})";
}

struct ExtenderGang : ::testing::Test {
  kube::ManualClock clock;
  ClusterCache cache{clock};
  static ExtenderOptions options() {
    ExtenderOptions o;
    o.assumeOnPrioritize = false;
    return o;
  }
  Extender extender{cache, nullptr, nullptr, options()};
  void SetUp() override {
    cache.nodeUpserted(node("gang-a", placement::CapacityType::Spot, "a", true));
    cache.nodeUpserted(node("od-a", placement::CapacityType::OnDemand, "a", false));
    cache.nodeUpserted(node("spot-b", placement::CapacityType::Spot, "b", false));
    cache.nodeUpserted(node("spot-a", placement::CapacityType::Spot, "a", false));
    cache.synced();
  }
  std::vector<std::string> passed(const std::string& body) {
    auto a = extender.filterBody(body);
    EXPECT_EQ(a.status, 200) << a.body;
    auto d = parseJson(a.body);
    std::vector<std::string> out;
    for (const auto& n : d["NodeNames"].GetArray()) out.push_back(n.GetString());
    return out;
  }
  std::map<std::string, int64_t> scores(const std::string& body) {
    auto a = extender.prioritizeBody(body);
    EXPECT_EQ(a.status, 200) << a.body;
    std::map<std::string, int64_t> out;
    auto d = parseJson(a.body);
    for (const auto& h : d.GetArray()) out[h["Host"].GetString()] = h["Score"].GetInt64();
    return out;
  }
};

TEST_F(ExtenderGang, MemberKeepsToTheGangsCapacityType) {
  EXPECT_EQ(passed(args(true)), (std::vector<std::string>{"gang-a", "spot-b", "spot-a"}));
  auto d = parseJson(extender.filterBody(args(true)).body);
  ASSERT_TRUE(d["FailedNodes"].HasMember("od-a"));
  EXPECT_NE(std::string(d["FailedNodes"]["od-a"].GetString()).find("runs on spot nodes"), std::string::npos);
}

TEST_F(ExtenderGang, ZonalMemberKeepsToTheGangsZoneToo) {
  EXPECT_EQ(passed(args(true, "zone")), (std::vector<std::string>{"gang-a", "spot-a"}));
}

TEST_F(ExtenderGang, NonMembersAreNotRestrictedButRankGangNodesLast) {
  EXPECT_EQ(passed(args(false)).size(), 4u);
  auto s = scores(args(false));
  EXPECT_EQ(s["gang-a"], 0);
  EXPECT_GT(s["spot-a"], 0);
  auto m = scores(args(true));
  EXPECT_EQ(m["gang-a"], 10);
}

TEST_F(ExtenderGang, WithoutGangNodesAMemberIsFree) {
  cache.nodeDeleted("gang-a");
  EXPECT_EQ(passed(args(true)), (std::vector<std::string>{"od-a", "spot-b", "spot-a"}));
}

}  // namespace
}  // namespace spotfit::extender
