// spotfit cost: cost history from the scaler's ledger ConfigMap, read through the API with the user's
// kubeconfig (`get` on one ConfigMap), per namespace or per owner (CronJob, else workflow) and UTC day.

#include <iostream>

#include "cli/args.hpp"
#include "kube/clock.hpp"
#include "kube/config.hpp"
#include "kube/rest_client.hpp"
#include "scaler/cost_report.hpp"
#include "scaler/kube_actions.hpp"

namespace spotfit::cli {
namespace {

int runCost(const std::vector<std::string>& args) {
  Flags flags("cost", "[flags]",
              "Print what the cluster spent per day (UTC) over a window, from the scaler's cost ledger\n"
              "(ConfigMap --ledger-namespace/--ledger-configmap, key ledger.json), read with your kubeconfig.\n"
              "Groups: namespace, or owner (the CronJob of a CronJob's Jobs, else the workflow; cronjob and\n"
              "workflow are accepted as the same grouping), or label:KEY (the pod label the scaler sums by,\n"
              "scaler.ledgerLabel). The same JSON is served by the scaler at /cost.");
  flags.string("kubeconfig", "FILE", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
  flags.string("context", "NAME", "kubeconfig context");
  flags.string("ledger-namespace", "NS", "spotfit's namespace", std::string("spotfit-system"));
  flags.string("ledger-configmap", "NAME", "the ledger ConfigMap (scaler.ledgerConfigMap)",
               std::string("spotfit-cost-ledger"));
  flags.string("window", "Nd", "days up to and including today", std::string("7d"));
  flags.string("by", "GROUP", "namespace, owner (cronjob, workflow), label:KEY (scaler.ledgerLabel)",
               std::string("namespace"));
  flags.string("output", "FORMAT", "table, csv or json", std::string("table"));
  // -o as kubectl spells it.
  std::vector<std::string> normalized;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) {
      normalized.push_back("--output=" + args[++i]);
    } else if (args[i].rfind("-o", 0) == 0 && args[i].size() > 2 && args[i][2] != '-') {
      normalized.push_back("--output=" + args[i].substr(args[i][2] == '=' ? 3 : 2));
    } else {
      normalized.push_back(args[i]);
    }
  }
  if (!flags.parse(normalized)) return kExitOk;
  const std::string output = flags.get("output");
  if (output != "table" && output != "csv" && output != "json") {
    throw UsageError{"--output takes table, csv or json, got '" + output + "'"};
  }
  auto window = scaler::parseCostWindow(flags.get("window"));
  if (!window) throw UsageError{window.error().message};
  auto by = scaler::parseCostGrouping(flags.get("by"));
  if (!by) throw UsageError{by.error().message};

  auto config = kube::loadDefaultConfig(flags.has("kubeconfig") ? flags.get("kubeconfig") : std::string(),
                                        flags.has("context") ? flags.get("context") : std::string());
  if (!config) {
    std::cerr << "spotfit cost: " << config.error().message << "\n";
    return kExitFailure;
  }
  auto client = kube::RestClient::create(*config);
  if (!client) {
    std::cerr << "spotfit cost: " << client.error().message << "\n";
    return kExitFailure;
  }
  scaler::ConfigMapLedgerStore store(**client, flags.get("ledger-namespace"), flags.get("ledger-configmap"));
  auto text = store.load();
  if (!text) {
    std::cerr << "spotfit cost: reading the ledger: " << text.error().message << "\n";
    return kExitFailure;
  }
  scaler::CostLedger ledger;
  if (*text) {
    auto parsed = scaler::CostLedger::fromJson(**text);
    if (!parsed) {
      std::cerr << "spotfit cost: " << parsed.error().message << "\n";
      return kExitFailure;
    }
    ledger = std::move(*parsed);
  }
  const auto report = scaler::buildCostReport(ledger, kube::SystemClock::instance().wallNow(), *window, *by);
  if (!report) {
    std::cerr << "spotfit cost: " << report.error().message << "\n";
    return kExitFailure;
  }
  if (output == "json") {
    std::cout << scaler::costReportJson(*report);
  } else if (output == "csv") {
    std::cout << scaler::costReportCsv(*report);
  } else {
    std::cout << scaler::costReportTable(*report);
  }
  return kExitOk;
}

const Command kCost("cost", "cost per namespace or CronJob per day, from the scaler's cost ledger", runCost);

}  // namespace
}  // namespace spotfit::cli
