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
#include "kube/objects.hpp"
#include "kube/time.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

class SnapshotBuilder {
 public:
  // From raw Node and Pod JSON values (informer stores or list pages). Malformed objects are skipped and
  // counted, never fatal.
  void addNode(const kube::json::Value& node);
  void addPod(const kube::json::Value& pod);
  // From informer stores (already decoded).
  void addNode(const kube::Node& node);
  void addPod(const kube::Pod& pod);
  // A PDB with a selector the placement model can express (matchLabels) or an empty one; a selector with
  // matchExpressions is kept as "every pod of the namespace" (over-protects, never under-protects); a null
  // selector selects nothing and is skipped.
  void addPdb(const kube::PodDisruptionBudget& pdb);
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

// A NodePool object as the NodePool informer stores it: its metadata plus the scaler's parse of it.
struct NodePoolObject {
  kube::ObjectMeta meta;
  ParsedNodePool parsed;
};
// kube::Decoder for Informer<NodePoolObject>: an object parseNodePoolObject refuses outright (not a JSON
// object, no name) is an error; a NodePool with invalid settings decodes, with its issues in `parsed`.
Result<NodePoolObject> decodeNodePoolObject(const kube::json::Value& v);

}  // namespace spotfit::scaler
