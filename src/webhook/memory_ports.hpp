#pragma once
// In-memory implementations of the webhook's ports. The VPA and Job indexes are also what the kube
// informer adapters feed in production (upsert/erase on watch events; look-ups are O(1) hash probes under
// a shared lock). The recorders are for tests and `spotfit mutate`.

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

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
