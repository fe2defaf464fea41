#pragma once
// Capacity booked for ProvisioningRequests (scaler/provreq.hpp), as the reconcile loop sees it: nodes it
// must not scale down or consolidate while booked, and the part of their room still held for pods that
// have not arrived yet (counted as requested when the loop plans other pods, so no one else gets it).

#include <map>
#include <set>
#include <string>

#include "placement/resources.hpp"

namespace spotfit::scaler {

struct Booking {
  std::string namespaceName, request;                // the ProvisioningRequest
  std::set<std::string> nodes;                       // kept while the booking lasts
  std::map<std::string, placement::Resources> held;  // node -> room held for pods not bound yet
};

}  // namespace spotfit::scaler
