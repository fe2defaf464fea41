#pragma once
// Builds the scaler's ClusterSnapshot from the API: Nodes and Pods decoded with kube/objects (the same
// decoders the informers use) into the placement model, plus the times only the scaler needs. Kubernetes
// does not record when a pod became unschedulable or bound in a form we keep, so the builder remembers
// when it first saw each (a pod already bound at first sight counts from its creation).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/time.hpp"
#include "kube/objects.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

class SnapshotBuilder {
 public:
  // From informer stores (already decoded; the informers skip objects that do not decode).
  void addNode(const kube::Node& node);
  void addPod(const kube::Pod& pod);
  // A PDB with a selector the placement model can express (matchLabels) or an empty one; a selector with
  // matchExpressions is kept as "every pod of the namespace" (over-protects, never under-protects); a null
  // selector selects nothing and is skipped.
  void addPdb(const kube::PodDisruptionBudget& pdb);
  // The snapshot of everything added since the last call; per-node requested sums are computed here.
  ClusterSnapshot take(TimePoint now);

 private:
  ClusterSnapshot current_;
  std::vector<std::optional<base::WallTime>> podCreated_;
  std::map<std::string, TimePoint> unschedulableSince_, boundAt_, finishedAt_;
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
