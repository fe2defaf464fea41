// State a client chooses (issue 15): the assumed-pod ledger is keyed by the request's pod identity, so
// identities longer than Kubernetes allows are refused and the ledger has a hard entry cap.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <string>

#include "extender/extender.hpp"
#include "extender_fixture.hpp"

namespace spotfit::extender {
namespace {

using testing::loadGoldenCluster;
using testing::parseJson;
using testing::readTestdata;

std::string withField(std::string body, const std::string& from, const std::string& to) {
  body.replace(body.find(from), from.size(), to);
  return body;
}

TEST(ExtenderHostile, IdentitiesLongerThanKubernetesAllowsAreRefusedBeforeTheLedger) {
  kube::ManualClock clock;
  ClusterCache cache(clock);
  loadGoldenCluster(cache);
  Extender extender(cache, nullptr);
  const std::string base = readTestdata("args/t4-names.json");
  const std::string uid = parseJson(base)["Pod"]["metadata"]["uid"].GetString();
  struct Case {
    std::string body, expect;
  };
  const Case cases[] = {
      {withField(base, uid, std::string(129, 'u')),
       "ExtenderArgs.Pod.metadata.uid is 129 bytes; Kubernetes allows 128"},
      {withField(base, "\"eval-t4-0\"", "\"" + std::string(254, 'n') + "\""), "metadata.name is 254 bytes"},
      {withField(base, "\"namespace\": \"ml\"", "\"namespace\": \"" + std::string(64, 's') + "\""),
       "metadata.namespace is 64 bytes"},
      {withField(base, "\"NodeNames\": [", "\"NodeNames\": [\"" + std::string(254, 'x') + "\", "),
       "node name [0] is 254 bytes"},
  };
  for (const auto& c : cases) {
    for (int verb = 0; verb < 2; ++verb) {
      auto a = verb == 0 ? extender.filterBody(c.body) : extender.prioritizeBody(c.body);
      EXPECT_EQ(a.status, 400) << c.expect;
      EXPECT_NE(a.body.find(c.expect), std::string::npos) << a.body;
    }
  }
  EXPECT_EQ(cache.stats().assumedPods, 0u);
  // At the limits themselves the request is served and assumed.
  const std::string longest = withField(base, uid, std::string(128, 'u'));
  EXPECT_EQ(extender.prioritizeBody(longest).status, 200);
  EXPECT_EQ(cache.stats().assumedPods, 1u);
}

TEST(ExtenderHostile, TheLedgerStopsAtItsCapUntilEntriesExpire) {
  kube::ManualClock clock;
  prometheus::Registry registry;
  ExtenderMetrics metrics(registry);
  ClusterCache cache(clock, ClusterCache::kDefaultAssumeTtl, /*maxAssumed=*/50);
  loadGoldenCluster(cache);
  ExtenderOptions options;
  Extender extender(cache, &metrics, nullptr, options);
  // A pod of 1 mCPU and 1 MiB fits its nodes hundreds of times over, so only the cap stops assumptions.
  std::string base = readTestdata("args/cpu-ondemand-names.json");
  base = withField(withField(base, "\"cpu\": \"2\"", "\"cpu\": \"1m\""), "\"memory\": \"4Gi\"", "\"memory\": \"1Mi\"");
  const std::string uid = parseJson(base)["Pod"]["metadata"]["uid"].GetString();
  auto body = [&](int i) { return withField(base, uid, "uid-" + std::to_string(i)); };
  for (int i = 0; i < 200; ++i) {
    auto a = extender.prioritizeBody(body(i));
    ASSERT_EQ(a.status, 200) << a.body;
  }
  EXPECT_EQ(cache.stats().assumedPods, 50u);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("spotfit_extender_assume_ledger_full_total"), std::string::npos);
  EXPECT_EQ(text.find("spotfit_extender_assume_ledger_full_total 0\n"), std::string::npos) << text;
  // A pod already in the ledger may still be re-assumed (a retry) while it is full.
  EXPECT_TRUE(cache.assumedNode("uid-0").has_value());
  // Expired entries make room again.
  clock.advance(ClusterCache::kDefaultAssumeTtl);
  EXPECT_EQ(extender.prioritizeBody(body(1000)).status, 200);
  EXPECT_TRUE(cache.assumedNode("uid-1000").has_value());
  EXPECT_EQ(cache.stats().assumedPods, 1u);
}

}  // namespace
}  // namespace spotfit::extender
