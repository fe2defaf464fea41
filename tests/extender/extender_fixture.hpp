#pragma once
// Shared helpers for the extender tests: the golden cluster from testdata/, a budget fake, JSON access.

#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>

#include "extender/cache.hpp"
#include "extender/extender.hpp"

namespace spotfit::extender::testing {

std::string readTestdata(const std::string& relative);  // tests/extender/testdata/<relative>

// Loads testdata/cluster.json into the cache and marks it synced.
void loadGoldenCluster(ClusterCache& cache);

class FakeBudget final : public BudgetStatus {
 public:
  std::set<std::string, std::less<>> over;
  bool overBudget(std::string_view workflow) const override { return over.count(workflow) > 0; }
};

rapidjson::Document parseJson(const std::string& text);

}  // namespace spotfit::extender::testing
