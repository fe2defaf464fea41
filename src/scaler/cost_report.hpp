#pragma once
// Cost history from the ledger's daily windows, for `spotfit cost` (reads the ledger ConfigMap with the
// user's kubeconfig) and the scaler's `/cost` on the metrics port: spend per group and UTC day over the
// last N days, as a table, CSV or JSON (the same JSON in both places).

#include <map>
#include <string>
#include <vector>

#include "scaler/ledger.hpp"

namespace spotfit::scaler {

enum class CostGrouping {
  Namespace,  // per namespace
  Owner,      // per namespace and owner: the CronJob of a CronJob's Jobs, else the workflow
  Label,      // per value of the ledger's label key (scaler.ledgerLabel)
};

struct CostGroupBy {
  CostGrouping grouping = CostGrouping::Namespace;
  std::string labelKey;  // "label:<key>": must be the ledger's key; empty: whatever key it has
};

struct CostRow {
  std::string namespaceName, owner;    // owner empty when grouped by namespace
  std::string label;                   // the label's value when grouped by label (namespace then empty)
  std::map<std::string, double> days;  // "YYYY-MM-DD" -> USD
  double totalUsd = 0;
};

struct CostReport {
  CostGrouping by = CostGrouping::Namespace;
  std::string labelKey;           // when grouped by label
  std::vector<std::string> days;  // the window's days, oldest first
  std::vector<CostRow> rows;      // most expensive first
  double totalUsd = 0;
};

// "namespace", "owner" (also "cronjob" and "workflow": the same grouping), "label" or "label:<key>".
Result<CostGroupBy> parseCostGrouping(std::string_view text);
// "7d", "1d" ... "400d" (whole days).
Result<int> parseCostWindow(std::string_view text);

// The last `days` UTC days up to and including today's (running pods accrued up to `now`).
// By label: an error unless the ledger sums by a label key (the one `by` names, when it names one).
Result<CostReport> buildCostReport(const CostLedger& ledger, TimePoint now, int days, const CostGroupBy& by);

std::string costReportJson(const CostReport& r);
// GET /cost?window=7d&by=namespace on the scaler's metrics port: {status, JSON body}. 400 for bad
// parameters, 503 while this replica does not lead (no ledger).
std::pair<int, std::string> costEndpoint(const CostLedger* ledger, TimePoint now, std::string_view query);
std::string costReportCsv(const CostReport& r);
std::string costReportTable(const CostReport& r);

}  // namespace spotfit::scaler
