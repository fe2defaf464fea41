#pragma once
// Shared helpers for the extender tests: the golden cluster from testdata/, a budget fake, JSON access.

#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "extender/cache.hpp"
#include "extender/extender.hpp"
#include "kube/json.hpp"

namespace spotfit::extender::testing {

std::string readTestdata(const std::string& relative);  // tests/extender/testdata/<relative>

// Loads testdata/cluster.json into the cache and marks it synced.
void loadGoldenCluster(ClusterCache& cache);

// Spend by "namespace/workflow".
class FakeBudget final : public BudgetStatus {
 public:
  std::map<std::string, double, std::less<>> spent;
  std::optional<double> spendUsd(std::string_view ns, std::string_view workflow) const override {
    auto it = spent.find(std::string(ns) + "/" + std::string(workflow));
    if (it == spent.end()) return std::nullopt;
    return it->second;
  }
};

spotfit::kube::json::Document parseJson(const std::string& text);

}  // namespace spotfit::extender::testing
