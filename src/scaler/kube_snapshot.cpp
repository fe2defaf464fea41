#include "scaler/kube_snapshot.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include "kube/objects.hpp"

namespace spotfit::scaler {

void SnapshotBuilder::addNode(const kube::Node& node) {
  ClusterNode n;
  n.info = node.info;
  n.ready = node.ready.value_or(false);
  if (node.meta.creationTimestamp) n.created = *node.meta.creationTimestamp;
  n.deleting = node.meta.deletionTimestamp.has_value();
  current_.nodes.push_back(std::move(n));
}

void SnapshotBuilder::addPod(const kube::Pod& pod) {
  ClusterPod p;
  p.info = pod.toPodInfo();
  p.unschedulable = pod.unschedulable() && pod.nodeName.empty();
  p.deleting = pod.meta.deletionTimestamp.has_value();
  current_.pods.push_back(std::move(p));
  podCreated_.push_back(pod.meta.creationTimestamp);
}

void SnapshotBuilder::addPdb(const kube::PodDisruptionBudget& pdb) {
  if (!pdb.selector) return;
  placement::PodDisruptionBudget out;
  out.namespace_ = pdb.meta.namespace_;
  out.name = pdb.meta.name;
  if (pdb.selector->matchExpressions.empty()) {
    for (const auto& [k, v] : pdb.selector->matchLabels) out.matchLabels[k] = v;
  }
  out.disruptionsAllowed = static_cast<int32_t>(std::clamp<int64_t>(pdb.disruptionsAllowed, 0, INT32_MAX));
  current_.pdbs.push_back(std::move(out));
}

Result<NodePoolObject> decodeNodePoolObject(const kube::json::Value& v) {
  const auto* md = kube::json::find(v, "metadata");
  if (!md) return makeError("invalid", "SpotfitPool has no metadata");
  auto meta = kube::decodeMeta(*md);
  if (!meta) return meta.error();
  auto parsed = parseNodePoolObject(kube::json::toString(v));
  if (!parsed) return parsed.error();
  return NodePoolObject{std::move(*meta), std::move(*parsed)};
}

ClusterSnapshot SnapshotBuilder::take(TimePoint now) {
  ClusterSnapshot out;
  out.nodes.swap(current_.nodes);
  out.pods.swap(current_.pods);
  out.pdbs.swap(current_.pdbs);
  std::vector<std::optional<base::WallTime>> created;
  created.swap(podCreated_);
  std::map<std::string, placement::NodeInfo*> byName;
  for (auto& n : out.nodes) byName[n.info.name] = &n.info;
  std::set<std::string> live;
  for (size_t i = 0; i < out.pods.size(); ++i) {
    auto& p = out.pods[i];
    const std::string& uid = p.info.uid;
    live.insert(uid);
    if (p.unschedulable)
      p.unschedulableSince = unschedulableSince_.try_emplace(uid, now).first->second;
    else
      unschedulableSince_.erase(uid);
    if (!p.info.nodeName.empty()) {
      // Seen bound at once (e.g. after a restart): the best estimate of binding is the pod's creation.
      TimePoint first = boundAt_.count(uid) ? boundAt_[uid] : (created[i] ? std::min(*created[i], now) : now);
      p.boundAt = boundAt_.try_emplace(uid, first).first->second;
      if (isFinished(p.info)) p.finishedAt = finishedAt_.try_emplace(uid, now).first->second;
      auto n = byName.find(p.info.nodeName);
      if (n != byName.end() && !isFinished(p.info)) n->second->requested += placement::podRequests(p.info);
    }
  }
  for (auto* m : {&unschedulableSince_, &boundAt_, &finishedAt_}) {
    std::erase_if(*m, [&](const auto& kv) { return !live.count(kv.first); });
  }
  return out;
}

}  // namespace spotfit::scaler
