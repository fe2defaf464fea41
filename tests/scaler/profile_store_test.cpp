// The workflow profiles' stored form: a bounded JSON value in key "profiles.json" of the ledger's ConfigMap,
// read back after a failover and by the webhook.
#include "scaler/profile_store.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "scaler/ledger.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::scaler {
namespace {

using testsupport::FakeApiServer;

constexpr int64_t kMi = int64_t{1} << 20;

profile::ProfileBook sampleBook() {
  profile::ProfileBook book;
  const profile::ProfileKey key{"team-a", "nightly-etl"};
  for (int i = 0; i < 20; ++i) {  // more runs than a ring holds
    profile::ContainerObservation c;
    c.name = "main";
    c.peakCpuMilli = 400 + i;
    c.peakMemoryBytes = (900 + i) * kMi;
    c.requestCpuMilli = 2000;
    c.requestMemoryBytes = 4096 * kMi;
    c.oomKilled = i == 7;
    c.memoryLimitBytes = 1024 * kMi;
    book.recordPod(key, {c}, 1000 + i);
    book.recordRun(key, profile::RunObservation{1000 + i * 3600, 1600 + i * 3600, 4, 2}, 1600 + i * 3600);
  }
  return book;
}

TEST(ProfileStore, RoundTripsEverythingLearned) {
  const profile::ProfileBook book = sampleBook();
  const std::string json = profilesToJson(book);
  auto back = profilesFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  const profile::WorkflowProfile* p = back->find({"team-a", "nightly-etl"});
  const profile::WorkflowProfile* want = book.find({"team-a", "nightly-etl"});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->runs, 20);
  EXPECT_EQ(p->lastSeen, want->lastSeen);
  EXPECT_EQ(p->oomKills, 1);
  EXPECT_EQ(p->durationSeconds.values(), want->durationSeconds.values());
  EXPECT_EQ(p->arrivals.values(), want->arrivals.values());
  EXPECT_EQ(p->peakConcurrency.values(), want->peakConcurrency.values());
  ASSERT_EQ(p->containers.size(), 1u);
  EXPECT_EQ(p->containers[0].cpuMilli.values(), want->containers[0].cpuMilli.values());
  EXPECT_EQ(p->containers[0].memoryBytes.values(), want->containers[0].memoryBytes.values());
  EXPECT_EQ(p->containers[0].oomMemoryBytes, 1024 * kMi);
  EXPECT_EQ(p->containers[0].requestCpuMilli, 2000);
  // What the webhook would request is the same before and after the store.
  const auto a = profile::recommend(*want, {}), b = profile::recommend(*p, {});
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].cpuMilli, b[0].cpuMilli);
  EXPECT_EQ(a[0].memoryBytes, b[0].memoryBytes);
  EXPECT_EQ(profilesToJson(*back), json);
}

TEST(ProfileStore, StaysUnderItsByteBudgetKeepingTheMostRecent) {
  profile::ProfileBook book(profile::ProfileLimits{10000, 8, 253});
  for (int i = 0; i < 3000; ++i) {
    profile::ContainerObservation c{"worker", 100, 100 * kMi, 200, 200 * kMi, false, 0};
    book.recordPod({"ns", "workflow-" + std::to_string(i)}, {c}, i);
  }
  const std::string json = profilesToJson(book);
  EXPECT_LE(json.size(), kMaxProfilesJsonBytes);
  auto back = profilesFromJson(json, book.limits());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_GT(back->size(), 100u);
  EXPECT_LT(back->size(), 3000u);
  EXPECT_NE(back->find({"ns", "workflow-2999"}), nullptr);
  EXPECT_EQ(back->find({"ns", "workflow-0"}), nullptr);
}

TEST(ProfileStore, RefusesMalformedInputWithAClearError) {
  for (const char* bad : {
           "",
           "[]",
           R"({"version":2,"profiles":[]})",
           R"({"version":1,"profiles":{}})",
           R"({"version":1,"profiles":[["ns","wf",1,2,0,[],[],[],[]]]})",
           R"({"version":1,"profiles":[["ns","wf",1,2,0,[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],[],[],[],[]]]})",
           R"({"version":1,"profiles":[["ns","wf",1,2,0,["x"],[],[],[],[]]]})",
           R"({"version":1,"profiles":[["ns","wf",1,2,0,[],[],[],[],[["",0,0,0,0,[],[]]]]]})",
           R"({"version":1,"profiles":[["ns","wf",1,2,0,[],[],[],[],[["c",0,0,0,0,[],[1.5]]]]]})",
       }) {
    auto r = profilesFromJson(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "invalid");
    EXPECT_NE(r.error().message.find("workflow profiles"), std::string::npos) << r.error().message;
  }
  std::string tooMany = R"({"version":1,"profiles":[["ns","wf",1,2,0,[],[],[],[],[)";
  for (int i = 0; i < 9; ++i)
    tooMany += std::string(i ? "," : "") + R"(["c)" + std::to_string(i) + R"(",0,0,0,0,[],[]])";
  tooMany += "]]]}";
  EXPECT_FALSE(profilesFromJson(tooMany).ok());
}

// A new leader reads what the old one saved: the profiles are a key of the ledger's ConfigMap, written
// without disturbing the ledger.
TEST(ProfileStore, SurvivesFailoverThroughTheLedgerConfigMap) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  ConfigMapLedgerStore configMap(*client, "spotfit-system", "spotfit-cost-ledger");
  ASSERT_TRUE(configMap.save(CostLedger().toJson()).ok());
  ConfigMapProfileStore store(configMap);
  auto none = store.load();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store.save(profilesToJson(sampleBook())).ok());
  EXPECT_EQ(api.count("configmaps"), 1u);
  auto ledger = configMap.load();
  ASSERT_TRUE(ledger.ok() && ledger->has_value());
  EXPECT_TRUE(CostLedger::fromJson(**ledger).ok());

  ConfigMapLedgerStore otherReplica(*client, "spotfit-system", "spotfit-cost-ledger");
  ConfigMapProfileStore otherStore(otherReplica);
  StoredProfiles stored(otherStore);
  EXPECT_EQ(stored.book(), nullptr);
  ASSERT_TRUE(stored.refresh().ok());
  ASSERT_NE(stored.book(), nullptr);
  const profile::WorkflowProfile* p = stored.book()->find({"team-a", "nightly-etl"});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->runs, 20);
}

TEST(ProfileStore, AFailedRefreshKeepsTheLastSnapshot) {
  InMemoryProfileStore store;
  StoredProfiles stored(store);
  ASSERT_TRUE(stored.refresh().ok());  // nothing stored: no profiles, but loaded
  ASSERT_NE(stored.book(), nullptr);
  EXPECT_EQ(stored.book()->size(), 0u);
  ASSERT_TRUE(store.save(profilesToJson(sampleBook())).ok());
  ASSERT_TRUE(stored.refresh().ok());
  EXPECT_EQ(stored.book()->size(), 1u);
  ASSERT_TRUE(store.save("{not json").ok());
  EXPECT_FALSE(stored.refresh().ok());
  EXPECT_EQ(stored.book()->size(), 1u);
}

}  // namespace
}  // namespace spotfit::scaler
