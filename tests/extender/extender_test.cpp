#include "extender/extender.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <barrier>
#include <map>
#include <thread>

#include "extender/informer_adapter.hpp"
#include "extender_fixture.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"

namespace spotfit::extender {
namespace {

using testing::FakeBudget;
using testing::loadGoldenCluster;
using testing::parseJson;
using testing::readTestdata;

constexpr const char* kUnknown = "ip-10-0-9-99.ec2.internal";
const char* const kPods[] = {"t4", "a100x4", "mig", "cpu-ondemand", "cpu-big", "budget"};

std::string node(int i) {
  return "ip-10-0-1-" + std::to_string(i) + ".ec2.internal";
}

struct FilterView {
  std::vector<std::string> passed;
  std::map<std::string, std::string> failed, unresolvable;
  std::string error;
};

FilterView viewFilter(const std::string& body, NodeMode mode) {
  FilterView v;
  auto d = parseJson(body);
  EXPECT_TRUE(d.IsObject());
  v.error = d["Error"].GetString();
  if (!v.error.empty()) {  // a call error carries neither list
    EXPECT_TRUE(d["Nodes"].IsNull());
    EXPECT_TRUE(d["NodeNames"].IsNull());
    return v;
  }
  if (mode == NodeMode::kNames) {
    EXPECT_TRUE(d["Nodes"].IsNull());
    for (const auto& n : d["NodeNames"].GetArray()) v.passed.emplace_back(n.GetString());
  } else {
    EXPECT_TRUE(d["NodeNames"].IsNull());
    for (const auto& n : d["Nodes"]["items"].GetArray()) v.passed.emplace_back(n["metadata"]["name"].GetString());
  }
  for (const auto& m : d["FailedNodes"].GetObject()) v.failed[m.name.GetString()] = m.value.GetString();
  for (const auto& m : d["FailedAndUnresolvableNodes"].GetObject()) {
    v.unresolvable[m.name.GetString()] = m.value.GetString();
  }
  return v;
}

FilterView expected(const std::string& name, bool withUnknown) {
  FilterView v;
  auto d = parseJson(readTestdata("expected/" + name + ".json"));
  for (const auto& n : d["passed"].GetArray()) v.passed.emplace_back(n.GetString());
  for (const auto& m : d["failed"].GetObject()) v.failed[m.name.GetString()] = m.value.GetString();
  for (const auto& m : d["unresolvable"].GetObject()) v.unresolvable[m.name.GetString()] = m.value.GetString();
  if (!withUnknown) v.failed.erase(kUnknown);
  return v;
}

std::vector<std::pair<std::string, int64_t>> viewPriorities(const std::string& body) {
  std::vector<std::pair<std::string, int64_t>> out;
  auto d = parseJson(body);
  EXPECT_TRUE(d.IsArray());
  for (const auto& p : d.GetArray()) out.emplace_back(p["Host"].GetString(), p["Score"].GetInt64());
  return out;
}

class ExtenderGolden : public ::testing::Test {
 protected:
  kube::ManualClock clock;
  ClusterCache cache{clock};
  FakeBudget budget;
  Extender extender{cache, nullptr, &budget};
  void SetUp() override {
    loadGoldenCluster(cache);
    budget.spent["ml/train-42"] = 150;  // its pods carry spotfit.io/budget: "100"
  }
};

TEST_F(ExtenderGolden, FilterNamesModeMatchesTheHandWorkedAnswers) {
  for (const char* pod : kPods) {
    SCOPED_TRACE(pod);
    auto a = extender.filterBody(readTestdata(std::string("args/") + pod + "-names.json"));
    ASSERT_EQ(a.status, 200) << a.body;
    FilterView got = viewFilter(a.body, NodeMode::kNames);
    FilterView want = expected(pod, true);
    EXPECT_EQ(got.passed, want.passed);
    EXPECT_EQ(got.failed, want.failed);
    EXPECT_EQ(got.unresolvable, want.unresolvable);
    EXPECT_EQ(got.error, "");
  }
}

TEST_F(ExtenderGolden, FilterObjectsModeMatchesAndEchoesTheNodes) {
  for (const char* pod : kPods) {
    SCOPED_TRACE(pod);
    const std::string request = readTestdata(std::string("args/") + pod + "-nodes.json");
    auto a = extender.filterBody(request);
    ASSERT_EQ(a.status, 200) << a.body;
    FilterView got = viewFilter(a.body, NodeMode::kObjects);
    FilterView want = expected(pod, false);
    EXPECT_EQ(got.passed, want.passed);
    EXPECT_EQ(got.failed, want.failed);
    EXPECT_EQ(got.unresolvable, want.unresolvable);
    // The passing Node objects come back exactly as kube-scheduler sent them.
    auto req = parseJson(request);
    auto resp = parseJson(a.body);
    for (const auto& item : resp["Nodes"]["items"].GetArray()) {
      bool found = false;
      for (const auto& sent : req["Nodes"]["items"].GetArray()) found = found || sent == item;
      EXPECT_TRUE(found) << item["metadata"]["name"].GetString();
    }
  }
}

TEST_F(ExtenderGolden, BudgetWithinLimitOrUnknownSpendAllowsOnDemand) {
  for (std::optional<double> spent :
       {std::optional<double>(99.5), std::optional<double>(99.99), std::optional<double>()}) {
    if (spent) {
      budget.spent["ml/train-42"] = *spent;
    } else {
      budget.spent.clear();
    }
    auto a = extender.filterBody(readTestdata("args/budget-names.json"));
    ASSERT_EQ(a.status, 200);
    FilterView got = viewFilter(a.body, NodeMode::kNames);
    FilterView want = expected("budget-within", true);
    EXPECT_EQ(got.passed, want.passed);
    EXPECT_EQ(got.unresolvable, want.unresolvable);
  }
}

// placement/budget.hpp: spend that has reached the budget is over it, as in the webhook and the scaler
// (the extender used to need spend above it), and "$100" is the same budget as "100".
TEST_F(ExtenderGolden, BudgetReachedExactlyNarrowsToSpotLikeEveryRole) {
  budget.spent["ml/train-42"] = 100;
  for (const char* written : {"\"100\"", "\"$100\"", "\"100.00\""}) {
    SCOPED_TRACE(written);
    std::string body = readTestdata("args/budget-names.json");
    body.replace(body.find("\"100\""), 5, written);
    FilterView got = viewFilter(extender.filterBody(body).body, NodeMode::kNames);
    EXPECT_EQ(got.passed, expected("budget", true).passed);
    EXPECT_EQ(got.unresolvable, expected("budget", true).unresolvable);
  }
}

TEST_F(ExtenderGolden, BudgetNeedsTheSpotOnlyAction) {
  // Same pod, over budget, but budget-action alert: capacity is not narrowed.
  std::string body = readTestdata("args/budget-names.json");
  body.replace(body.find("\"spot-only\""), 11, "\"alert\"");
  FilterView got = viewFilter(extender.filterBody(body).body, NodeMode::kNames);
  EXPECT_EQ(got.passed, expected("budget-within", true).passed);
}

// The same cluster answered through names (cache) and full Node objects (request) gives the same
// filter verdicts and the same scores, for every golden pod.
TEST(ExtenderModes, NamesAndObjectsAgree) {
  for (const char* pod : kPods) {
    SCOPED_TRACE(pod);
    FakeBudget budget;
    budget.spent["ml/train-42"] = 150;
    kube::ManualClock clock;
    ClusterCache namesCache(clock), objectsCache(clock);
    loadGoldenCluster(namesCache);
    loadGoldenCluster(objectsCache);
    Extender byName(namesCache, nullptr, &budget), byObject(objectsCache, nullptr, &budget);
    const std::string names = readTestdata(std::string("args/") + pod + "-names.json");
    const std::string objects = readTestdata(std::string("args/") + pod + "-nodes.json");

    FilterView f1 = viewFilter(byName.filterBody(names).body, NodeMode::kNames);
    FilterView f2 = viewFilter(byObject.filterBody(objects).body, NodeMode::kObjects);
    f1.failed.erase(kUnknown);
    EXPECT_EQ(f1.passed, f2.passed);
    EXPECT_EQ(f1.failed, f2.failed);
    EXPECT_EQ(f1.unresolvable, f2.unresolvable);

    auto p1 = viewPriorities(byName.prioritizeBody(names).body);
    auto p2 = viewPriorities(byObject.prioritizeBody(objects).body);
    ASSERT_EQ(p1.size(), 7u);
    EXPECT_EQ(p1.back(), std::make_pair(std::string(kUnknown), int64_t{0}));
    p1.pop_back();
    EXPECT_EQ(p1, p2);
    // Both assumed the pod onto the same node.
    auto key = std::string(parseJson(names)["Pod"]["metadata"]["uid"].GetString());
    EXPECT_EQ(namesCache.assumedNode(key), objectsCache.assumedNode(key));
  }
}

TEST_F(ExtenderGolden, PrioritizeScoresWithThePlacementCoreAndOnlyRequestNames) {
  const std::string request = readTestdata("args/cpu-ondemand-names.json");
  auto a = extender.prioritizeBody(request);
  ASSERT_EQ(a.status, 200) << a.body;
  auto got = viewPriorities(a.body);
  auto args = parseJson(request);
  ASSERT_EQ(got.size(), args["NodeNames"].Size());
  auto pod = kube::decodePod(args["Pod"]);
  ASSERT_TRUE(pod.ok());
  placement::PodInfo info = pod->toPodInfo();
  // Independent recomputation from the golden cluster: cpu-ondemand fits -12 and -14 only.
  kube::ManualClock c2;
  ClusterCache fresh(c2);
  loadGoldenCluster(fresh);
  auto snap = fresh.snapshot();
  placement::NodeInfo scratch;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, args["NodeNames"][static_cast<rapidjson::SizeType>(i)].GetString());
    EXPECT_GE(got[i].second, 0);
    EXPECT_LE(got[i].second, 10);
    const placement::NodeInfo* n = snap.node(got[i].first, "", scratch);
    if (got[i].first == node(12) || got[i].first == node(14)) {
      ASSERT_NE(n, nullptr);
      EXPECT_EQ(got[i].second, placement::score(info, pod->requests(), *n)) << got[i].first;
    } else {
      EXPECT_EQ(got[i].second, 0) << got[i].first;
    }
  }
  // A CPU-only pod scores the GPU-free... both candidates are GPU nodes here; the A100 MIG node and the
  // T4 node must at least be ranked deterministically: the assumption went to the higher score.
  const auto best = got[1].second >= got[3].second ? node(12) : node(14);
  EXPECT_EQ(cache.assumedNode(info.uid), best);
}

TEST_F(ExtenderGolden, AssumptionBlocksTheLastGpuUntilBindingThenTheBindingDoes) {
  // eval-t4-0 takes the only free T4 (-12) through prioritize.
  auto p = extender.prioritizeBody(readTestdata("args/t4-names.json"));
  ASSERT_EQ(p.status, 200);
  auto scores = viewPriorities(p.body);
  EXPECT_GT(scores[1].second, 0);
  ASSERT_EQ(cache.assumedNode(
                std::string(parseJson(readTestdata("args/t4-names.json"))["Pod"]["metadata"]["uid"].GetString())),
            node(12));

  // A second T4 pod (same spec, other identity) now finds -12 taken: resolvable failure.
  auto args = parseJson(readTestdata("args/t4-names.json"));
  args["Pod"]["metadata"]["name"].SetString("eval-t4-1");
  args["Pod"]["metadata"]["uid"].SetString("99999999-0000-4000-8000-000000000001");
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  args.Accept(w);
  const std::string second(buf.GetString(), buf.GetSize());
  FilterView f = viewFilter(extender.filterBody(second).body, NodeMode::kNames);
  EXPECT_TRUE(f.passed.empty());
  // -12 has 3920m CPU and ~14.4Gi: with eval-t4-0 assumed (2 CPU, 8Gi, 1 GPU) nothing else fits.
  EXPECT_EQ(f.failed[node(12)], "Insufficient cpu, Insufficient memory, Insufficient nvidia.com/gpu");
  // Its prioritize gives -12 nothing and assumes nothing.
  auto p2 = viewPriorities(extender.prioritizeBody(second).body);
  EXPECT_EQ(p2[1].second, 0);
  EXPECT_EQ(cache.assumedNode("99999999-0000-4000-8000-000000000001"), std::nullopt);

  // The informer shows eval-t4-0 bound to -12: the ledger entry ends, the binding keeps the GPU used.
  auto first = kube::decodePod(parseJson(readTestdata("args/t4-names.json"))["Pod"]);
  ASSERT_TRUE(first.ok());
  first->nodeName = node(12);
  first->phase = kube::PodPhase::Running;
  applyPod(cache, *first);
  EXPECT_EQ(cache.stats().assumedPods, 0u);
  EXPECT_EQ(viewFilter(extender.filterBody(second).body, NodeMode::kNames).failed[node(12)],
            "Insufficient cpu, Insufficient memory, Insufficient nvidia.com/gpu");
  // It finishes: the GPU is free again.
  first->phase = kube::PodPhase::Succeeded;
  applyPod(cache, *first);
  EXPECT_EQ(viewFilter(extender.filterBody(second).body, NodeMode::kNames).passed, std::vector<std::string>{node(12)});
}

TEST_F(ExtenderGolden, AssumptionExpiresAfterThirtySeconds) {
  ASSERT_EQ(extender.prioritizeBody(readTestdata("args/t4-names.json")).status, 200);
  auto other = readTestdata("args/t4-names.json");
  other.replace(other.find("eval-t4-0"), 9, "eval-t4-9");
  const std::string uid = parseJson(other)["Pod"]["metadata"]["uid"].GetString();
  other.replace(other.find(uid), uid.size(), "aaaaaaaa-0000-4000-8000-000000000009");
  EXPECT_TRUE(viewFilter(extender.filterBody(other).body, NodeMode::kNames).passed.empty());
  clock.advance(std::chrono::seconds(30));
  EXPECT_EQ(viewFilter(extender.filterBody(other).body, NodeMode::kNames).passed, std::vector<std::string>{node(12)});
}

// Two pods prioritized at the same moment for the last free T4 in the cluster: exactly one is assumed
// onto it and only that one sees a positive score for it.
TEST(ExtenderConcurrency, TwoPodsNeverBothGetTheLastGpu) {
  const std::string base = readTestdata("args/t4-names.json");
  const std::string uid = parseJson(base)["Pod"]["metadata"]["uid"].GetString();
  for (int round = 0; round < 50; ++round) {
    kube::ManualClock clock;
    ClusterCache cache(clock);
    loadGoldenCluster(cache);
    Extender extender(cache, nullptr);
    std::string bodies[2] = {base, base};
    const std::string uids[2] = {"00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"};
    for (int i = 0; i < 2; ++i) bodies[i].replace(bodies[i].find(uid), uid.size(), uids[i]);
    int64_t scoreFor12[2] = {-1, -1};
    std::barrier start(2);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        auto a = extender.prioritizeBody(bodies[i]);
        scoreFor12[i] = viewPriorities(a.body)[1].second;
      });
    }
    for (auto& t : threads) t.join();
    const int assumed = (cache.assumedNode(uids[0]) == node(12)) + (cache.assumedNode(uids[1]) == node(12));
    ASSERT_EQ(assumed, 1) << "round " << round;
    ASSERT_EQ((scoreFor12[0] > 0) + (scoreFor12[1] > 0), 1) << "round " << round;
    ASSERT_EQ(cache.stats().assumedPods, 1u);
  }
}

TEST(ExtenderBadInput, AnswersFourHundredWithTheReason) {
  kube::ManualClock clock;
  ClusterCache cache(clock);
  loadGoldenCluster(cache);
  Extender extender(cache, nullptr);
  struct Case {
    std::string body, expect;
  };
  std::string badQuantity = readTestdata("args/t4-names.json");
  badQuantity.replace(badQuantity.find("\"8Gi\""), 5, "\"8 gigs\"");
  std::string badNode = readTestdata("args/t4-nodes.json");
  badNode.replace(badNode.rfind("\"NoSchedule\""), 12, "\"Sometimes\"");
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {R"({"Pod":{},"NodeNames":[1]})", "NodeNames[0]"},
      {R"({"Pod":{"metadata":"x"},"NodeNames":["a"]})", "ExtenderArgs.Pod: "},
      {badQuantity, "ExtenderArgs.Pod: "},
      {badNode, "ExtenderArgs.Nodes.items[5]: spec.taints[0].effect"},
  };
  for (const auto& c : cases) {
    for (int verb = 0; verb < 2; ++verb) {
      auto a = verb == 0 ? extender.filterBody(c.body) : extender.prioritizeBody(c.body);
      EXPECT_EQ(a.status, 400) << c.body.substr(0, 80);
      EXPECT_NE(a.body.find(c.expect), std::string::npos) << a.body;
    }
  }
}

TEST(ExtenderBadInput, UnsyncedCacheIsACallErrorNotARejection) {
  kube::ManualClock clock;
  ClusterCache cache(clock);
  Extender extender(cache, nullptr);
  auto f = extender.filterBody(readTestdata("args/t4-names.json"));
  EXPECT_EQ(f.status, 200);
  EXPECT_TRUE(f.callError);
  FilterView v = viewFilter(f.body, NodeMode::kNames);
  EXPECT_NE(v.error.find("not synced"), std::string::npos);
  auto p = extender.prioritizeBody(readTestdata("args/t4-names.json"));
  EXPECT_EQ(p.status, 503);
}

TEST(ExtenderRoutes, ServesTheVerbsAndCountsMetrics) {
  kube::ManualClock clock;
  ClusterCache cache(clock);
  loadGoldenCluster(cache);
  auto registry = std::make_shared<prometheus::Registry>();
  ExtenderMetrics metrics(*registry);
  Extender extender(cache, &metrics);
  server::Router router;
  registerRoutes(router, extender, "/extender/");

  server::Request req;
  req.method = "POST";
  req.path = "/extender/filter";
  req.contentType = "application/json";
  req.body = readTestdata("args/t4-names.json");
  server::Response r = router.dispatch(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "application/json");
  req.path = "/extender/prioritize";
  EXPECT_EQ(router.dispatch(req).status, 200);
  req.body = "{";
  r = router.dispatch(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not valid JSON"), std::string::npos);
  req.method = "GET";
  EXPECT_EQ(router.dispatch(req).status, 405);

  std::map<std::string, double> counters;
  for (const auto& family : registry->Collect()) {
    for (const auto& m : family.metric) {
      std::string key = family.name;
      for (const auto& l : m.label) key += "," + l.name + "=" + l.value;
      if (family.type == prometheus::MetricType::Counter) counters[key] = m.counter.value;
      if (family.type == prometheus::MetricType::Histogram)
        counters[key] = static_cast<double>(m.histogram.sample_count);
    }
  }
  EXPECT_EQ(counters["spotfit_extender_requests_total,result=ok,verb=filter"], 1);
  EXPECT_EQ(counters["spotfit_extender_requests_total,result=ok,verb=prioritize"], 1);
  EXPECT_EQ(counters["spotfit_extender_requests_total,result=bad_request,verb=prioritize"], 1);
  EXPECT_EQ(counters["spotfit_extender_request_duration_seconds,verb=filter"], 1);
  EXPECT_EQ(counters["spotfit_extender_request_duration_seconds,verb=prioritize"], 2);
  EXPECT_EQ(counters["spotfit_extender_rejections_total,reason=gpu_product"], 3);
  EXPECT_EQ(counters["spotfit_extender_rejections_total,reason=insufficient_resources"], 1);
  EXPECT_EQ(counters["spotfit_extender_rejections_total,reason=taint"], 1);
  EXPECT_EQ(counters["spotfit_extender_rejections_total,reason=unknown_node"], 1);
}

TEST(ExtenderReasons, StableMetricCodes) {
  using placement::FitCode;
  EXPECT_EQ(rejectionCode(FitCode::UnknownNode, false), "unknown_node");
  EXPECT_EQ(rejectionCode(FitCode::Unschedulable, true), "unschedulable");
  EXPECT_EQ(rejectionCode(FitCode::NodeAffinity, true), "node_affinity");
  EXPECT_EQ(rejectionCode(FitCode::Taint, true), "taint");
  EXPECT_EQ(rejectionCode(FitCode::GpuProduct, true), "gpu_product");
  EXPECT_EQ(rejectionCode(FitCode::CapacityType, true), "capacity_type");
  EXPECT_EQ(rejectionCode(FitCode::Budget, true), "budget");
  EXPECT_EQ(rejectionCode(FitCode::Resources, false), "insufficient_resources");
  EXPECT_EQ(rejectionCode(FitCode::Resources, true), "node_too_small");
  EXPECT_EQ(rejectionCode(FitCode::Gang, false), "gang");
  EXPECT_EQ(rejectionCode(FitCode::Fits, false), "other");
}

}  // namespace
}  // namespace spotfit::extender
