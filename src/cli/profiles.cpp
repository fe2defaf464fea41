// spotfit profiles: the workflow profiles the scaler learned (key profiles.json of the ledger ConfigMap),
// read through the API with the user's kubeconfig (`get` on one ConfigMap), and what the webhook would
// request for each container now (docs/profiles.md).

#include <charconv>
#include <iostream>

#include "cli/args.hpp"
#include "kube/config.hpp"
#include "kube/rest_client.hpp"
#include "scaler/kube_actions.hpp"
#include "scaler/profile_store.hpp"

namespace spotfit::cli {
namespace {

int64_t intFlag(const Flags& flags, const char* name, int64_t min, int64_t max) {
  const std::string v = flags.get(name);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < min || out > max) {
    throw UsageError{"--" + std::string(name) + " takes an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got '" + v + "'"};
  }
  return out;
}

int runProfiles(const std::vector<std::string>& args) {
  Flags flags("profiles", "[flags]",
              "List the workflow profiles the scaler learned (ConfigMap --ledger-namespace/--ledger-configmap,\n"
              "key profiles.json), read with your kubeconfig: runs, median duration, most pods and peak\n"
              "concurrency of a run, OOM kills, and per container the p95 CPU and peak memory used, the\n"
              "requests the last run had and what the webhook would request now (cpu/memory, '-' = as\n"
              "written). --min-runs and --headroom-percent should match webhook.rightSizing.");
  flags.string("kubeconfig", "FILE", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
  flags.string("context", "NAME", "kubeconfig context");
  flags.string("ledger-namespace", "NS", "spotfit's namespace", std::string("spotfit-system"));
  flags.string("ledger-configmap", "NAME", "the ledger ConfigMap (scaler.ledgerConfigMap)",
               std::string("spotfit-cost-ledger"));
  flags.string("namespace", "NS", "only this namespace's workflows");
  flags.string("min-runs", "N", "runs before a profile sizes requests (webhook.rightSizing.minRuns)", std::string("3"));
  flags.string("headroom-percent", "P", "headroom over p95 usage (webhook.rightSizing.headroomPercent)",
               std::string("20"));
  flags.string("output", "FORMAT", "table or json", std::string("table"));
  if (!flags.parse(args)) return kExitOk;
  const std::string output = flags.get("output");
  if (output != "table" && output != "json") throw UsageError{"--output takes table or json, got '" + output + "'"};
  profile::RightSizeConfig cfg;
  cfg.minRuns = intFlag(flags, "min-runs", 1, 1000);
  cfg.headroom = 1.0 + static_cast<double>(intFlag(flags, "headroom-percent", 0, 1000)) / 100.0;

  auto config = kube::loadDefaultConfig(flags.has("kubeconfig") ? flags.get("kubeconfig") : std::string(),
                                        flags.has("context") ? flags.get("context") : std::string());
  if (!config) {
    std::cerr << "spotfit profiles: " << config.error().message << "\n";
    return kExitFailure;
  }
  auto client = kube::RestClient::create(*config);
  if (!client) {
    std::cerr << "spotfit profiles: " << client.error().message << "\n";
    return kExitFailure;
  }
  scaler::ConfigMapLedgerStore configMap(**client, flags.get("ledger-namespace"), flags.get("ledger-configmap"));
  scaler::ConfigMapProfileStore store(configMap);
  auto text = store.load();
  if (!text) {
    std::cerr << "spotfit profiles: reading the profiles: " << text.error().message << "\n";
    return kExitFailure;
  }
  profile::ProfileBook book;
  if (*text) {
    auto parsed = scaler::profilesFromJson(**text);
    if (!parsed) {
      std::cerr << "spotfit profiles: " << parsed.error().message << "\n";
      return kExitFailure;
    }
    book = std::move(*parsed);
  }
  const std::string ns = flags.has("namespace") ? flags.get("namespace") : std::string();
  std::cout << (output == "json" ? scaler::profilesReportJson(book, cfg, ns) : scaler::profilesTable(book, cfg, ns));
  return kExitOk;
}

const Command kProfiles("profiles", "what spotfit learned about each workflow and what it would request", runProfiles);

}  // namespace
}  // namespace spotfit::cli
