#pragma once
// Builds the scaler's ClusterSnapshot from the API: Nodes and Pods decoded with kube/objects (the same
// decoders the informers use) into the placement model, plus the times only the scaler needs. Kubernetes
// does not record when a pod became unschedulable or bound in a form we keep, so the builder remembers
// when it first saw each (a pod already bound at first sight counts from its creation).

#include <map>
#include <optional>
#include <vector>
#include <string>

#include "kube/client.hpp"
#include "kube/time.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

class SnapshotBuilder {
 public:
  // From raw Node and Pod JSON values (informer stores or list pages). Malformed objects are skipped and
  // counted, never fatal.
  void addNode(const kube::json::Value& node);
  void addPod(const kube::json::Value& pod);
  // The snapshot of everything added since the last call; per-node requested sums are computed here.
  ClusterSnapshot take(TimePoint now);

  // Lists every Node and Pod through the client (the polling path until informers feed addNode/addPod).
  Result<ClusterSnapshot> list(kube::KubeClient& client, TimePoint now);

  int skipped() const { return skipped_; }

 private:
  ClusterSnapshot current_;
  std::vector<std::optional<kube::WallTime>> podCreated_;
  std::map<std::string, TimePoint> unschedulableSince_, boundAt_, finishedAt_;
  int skipped_ = 0;
};

}  // namespace spotfit::scaler
