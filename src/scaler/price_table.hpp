#pragma once
// Prices for nodes spotfit did not create (Karpenter, Cluster Autoscaler, managed node groups): a table of
// USD per hour by instance type × capacity type × zone, from the scaler's config (`scaler.priceTable`),
// matched against the well-known node labels. The ledger charges pods on such nodes like pods on spotfit's
// own; a node neither a pool nor the table prices is reported (spotfit_scaler_unpriced_nodes, one log
// line per node), never charged as zero silently.

#include <optional>
#include <string>
#include <vector>

#include "placement/model.hpp"

namespace spotfit::scaler {

inline constexpr const char* kLabelTopologyZone = "topology.kubernetes.io/zone";
inline constexpr const char* kLabelAzurePriority = "kubernetes.azure.com/scalesetpriority";  // "spot" | "regular"
// Karpenter's kwok provider (and eks-node-viewer) put the instance's price on the node; honoured as a label.
inline constexpr const char* kLabelInstancePrice = "eks-node-viewer/instance-price";
inline constexpr size_t kMaxPriceTableEntries = 10000;

struct PriceEntry {
  std::string instanceType;
  std::optional<placement::CapacityType> capacityType;  // nullopt: either
  std::string zone;                                     // empty: any zone
  double usdPerHour = 0;
};

struct NodePrice {
  double usdPerHour = 0;
  double onDemandUsdPerHour = 0;  // for spot savings; the node's own price when the table has no on-demand row
};

// The capacity type a node's labels advertise: placement::capacityTypeFromLabels plus AKS spot pools.
placement::CapacityType nodeCapacityType(const placement::Labels& labels);

class PriceTable {
 public:
  PriceTable() = default;
  explicit PriceTable(std::vector<PriceEntry> entries) : entries_(std::move(entries)) {}
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // The price of a node with these labels: the instance-price label if positive, else the most specific
  // table row for its instance type (zone and capacity type > capacity type > zone > neither); nullopt
  // when nothing matches.
  std::optional<NodePrice> priceOf(const placement::Labels& labels) const;

 private:
  std::optional<double> lookup(const std::string& type, placement::CapacityType ct, const std::string& zone) const;
  std::vector<PriceEntry> entries_;
};

}  // namespace spotfit::scaler
