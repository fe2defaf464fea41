#pragma once
// In-memory implementations of the webhook's ports. The VPA and Job indexes are also what the kube
// informer adapters feed in production (upsert/erase on watch events; look-ups are O(1) hash probes under
// a shared lock). The recorders are for tests and `spotfit mutate`.

#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "webhook/config.hpp"
#include "webhook/ports.hpp"

namespace spotfit::webhook {

class VpaIndex final : public VpaLookup {
 public:
  std::shared_ptr<const Vpa> find(std::string_view ns, std::string_view kind, std::string_view name) const override;
  void upsert(Vpa vpa);
  void erase(std::string_view ns, std::string_view vpaName);
  size_t size() const;

 private:
  static std::string key(std::string_view ns, std::string_view kind, std::string_view name);
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Vpa>> byTarget_;
  std::unordered_map<std::string, std::string> targetByVpa_;  // ns/vpa-name -> target key
};

class JobIndex final : public JobLookup {
 public:
  std::optional<JobInfo> find(std::string_view ns, std::string_view name) const override;
  void upsert(std::string_view ns, std::string_view name, JobInfo info);
  void erase(std::string_view ns, std::string_view name);

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, JobInfo> jobs_;
};

class NamespaceIndex final : public NamespaceLookup {
 public:
  std::optional<std::map<std::string, std::string>> labels(std::string_view ns) const override;
  void upsert(std::string_view ns, std::map<std::string, std::string> labels);
  void erase(std::string_view ns);

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::map<std::string, std::string>> labels_;
};

// Nodes by name -> (Ready and schedulable, value of the capacity label), counted the way the policy's
// required terms match them: spot is `label In [spotValue]`; on-demand is `label In [onDemandValue]`, or
// `label NotIn [spotValue]` (a node without the label matches) when onDemandValue is empty. One entry per
// Node object of the cluster (fed by the node informer), so it is bounded by the cluster's size.
class NodeCapacityIndex final : public CapacityNodes {
 public:
  NodeCapacityIndex(std::string label, std::string spotValue, std::string onDemandValue);
  std::optional<size_t> readyNodes(bool spot) const override;
  void upsert(std::string_view node, bool ready, std::optional<std::string> labelValue);
  void erase(std::string_view node);
  void markSynced();
  // Or: synced once `probe` says so (the node informer's hasSynced).
  void setSyncedProbe(std::function<bool()> probe);
  const std::string& label() const { return label_; }
  // "spot: 2 Ready nodes (label In [v]), on-demand: 0 Ready nodes (label NotIn [v])", or "nodes not
  // listed yet"; ends with a note when either count is zero.
  std::string summary() const;
  // The term a required `spot` / `on-demand` affinity puts on pods, e.g. "cloud.google.com/gke-spot NotIn [true]".
  std::string term(bool spot) const;

 private:
  bool matches(bool spot, const std::optional<std::string>& value) const;
  std::string label_, spotValue_, onDemandValue_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::pair<bool, std::optional<std::string>>> nodes_;
  bool synced_ = false;
  std::function<bool()> syncedProbe_;
};

class StaticSpend final : public SpendSource {
 public:
  std::optional<double> spendUsd(std::string_view ns, std::string_view workflow) const override;
  void set(std::string_view ns, std::string_view workflow, double usd);
  // Replaces every figure at once (a refreshed snapshot of the cost ledger), keyed by (namespace, workflow).
  void replaceAll(const std::map<std::pair<std::string, std::string>, double>& spend);

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, double> spend_;
};

class StaticProfiles final : public ProfileLookup {
 public:
  std::shared_ptr<const profile::ProfileBook> profiles() const override;
  void set(profile::ProfileBook book);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const profile::ProfileBook> book_;
};

class RecordingEvents final : public EventSink {
 public:
  void record(const EventRecord& event) override;
  std::vector<EventRecord> events() const;

 private:
  mutable std::mutex mu_;
  std::vector<EventRecord> events_;
};

class RecordingPdbEnsurer final : public PdbEnsurer {
 public:
  void ensure(const PdbRequest& request) override;
  std::vector<PdbRequest> requests() const;

 private:
  mutable std::mutex mu_;
  std::vector<PdbRequest> requests_;
};

}  // namespace spotfit::webhook
