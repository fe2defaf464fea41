#include "webhook/memory_ports.hpp"

namespace spotfit::webhook {
namespace {

std::string join(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a);
  k += '\0';
  k.append(b);
  return k;
}

}  // namespace

std::string VpaIndex::key(std::string_view ns, std::string_view kind, std::string_view name) {
  return join(join(ns, kind), name);
}

std::shared_ptr<const Vpa> VpaIndex::find(std::string_view ns, std::string_view kind, std::string_view name) const {
  const std::string k = key(ns, kind, name);
  std::shared_lock lock(mu_);
  auto it = byTarget_.find(k);
  return it == byTarget_.end() ? nullptr : it->second;
}

void VpaIndex::upsert(Vpa vpa) {
  const std::string target = key(vpa.namespace_, vpa.targetKind, vpa.targetName);
  const std::string self = join(vpa.namespace_, vpa.name);
  auto ptr = std::make_shared<const Vpa>(std::move(vpa));
  std::unique_lock lock(mu_);
  // A VPA whose targetRef changed must stop answering for its old target.
  if (auto old = targetByVpa_.find(self); old != targetByVpa_.end() && old->second != target) {
    byTarget_.erase(old->second);
  }
  targetByVpa_[self] = target;
  byTarget_[target] = std::move(ptr);
}

void VpaIndex::erase(std::string_view ns, std::string_view vpaName) {
  const std::string self = join(ns, vpaName);
  std::unique_lock lock(mu_);
  auto it = targetByVpa_.find(self);
  if (it == targetByVpa_.end()) return;
  auto t = byTarget_.find(it->second);
  if (t != byTarget_.end() && t->second->name == vpaName) byTarget_.erase(t);
  targetByVpa_.erase(it);
}

size_t VpaIndex::size() const {
  std::shared_lock lock(mu_);
  return byTarget_.size();
}

std::optional<JobInfo> JobIndex::find(std::string_view ns, std::string_view name) const {
  const std::string k = join(ns, name);
  std::shared_lock lock(mu_);
  auto it = jobs_.find(k);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void JobIndex::upsert(std::string_view ns, std::string_view name, JobInfo info) {
  std::unique_lock lock(mu_);
  jobs_[join(ns, name)] = std::move(info);
}

void JobIndex::erase(std::string_view ns, std::string_view name) {
  std::unique_lock lock(mu_);
  jobs_.erase(join(ns, name));
}

std::optional<std::map<std::string, std::string>> NamespaceIndex::labels(std::string_view ns) const {
  std::shared_lock lock(mu_);
  auto it = labels_.find(std::string(ns));
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

void NamespaceIndex::upsert(std::string_view ns, std::map<std::string, std::string> labels) {
  std::unique_lock lock(mu_);
  labels_[std::string(ns)] = std::move(labels);
}

void NamespaceIndex::erase(std::string_view ns) {
  std::unique_lock lock(mu_);
  labels_.erase(std::string(ns));
}

std::optional<double> StaticSpend::spendUsd(std::string_view ns, std::string_view workflow) const {
  std::lock_guard lock(mu_);
  auto it = spend_.find(join(ns, workflow));
  if (it == spend_.end()) return std::nullopt;
  return it->second;
}

void StaticSpend::set(std::string_view ns, std::string_view workflow, double usd) {
  std::lock_guard lock(mu_);
  spend_[join(ns, workflow)] = usd;
}

void StaticSpend::replaceAll(const std::map<std::pair<std::string, std::string>, double>& spend) {
  std::unordered_map<std::string, double> next;
  for (const auto& [key, usd] : spend) next[join(key.first, key.second)] = usd;
  std::lock_guard lock(mu_);
  spend_.swap(next);
}

std::shared_ptr<const profile::ProfileBook> StaticProfiles::profiles() const {
  std::lock_guard lock(mu_);
  return book_;
}

void StaticProfiles::set(profile::ProfileBook book) {
  auto next = std::make_shared<const profile::ProfileBook>(std::move(book));
  std::lock_guard lock(mu_);
  book_ = std::move(next);
}

void RecordingEvents::record(const EventRecord& event) {
  std::lock_guard lock(mu_);
  events_.push_back(event);
}

std::vector<EventRecord> RecordingEvents::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

void RecordingPdbEnsurer::ensure(const PdbRequest& request) {
  std::lock_guard lock(mu_);
  requests_.push_back(request);
}

std::vector<PdbRequest> RecordingPdbEnsurer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

NodeCapacityIndex::NodeCapacityIndex(std::string label, std::string spotValue, std::string onDemandValue)
    : label_(std::move(label)), spotValue_(std::move(spotValue)), onDemandValue_(std::move(onDemandValue)) {}

bool NodeCapacityIndex::matches(bool spot, const std::optional<std::string>& value) const {
  if (spot) return value == spotValue_;
  if (onDemandValue_.empty()) return value != spotValue_;
  return value == onDemandValue_;
}

std::optional<size_t> NodeCapacityIndex::readyNodes(bool spot) const {
  std::shared_lock lock(mu_);
  if (!synced_ && !(syncedProbe_ && syncedProbe_())) return std::nullopt;
  size_t n = 0;
  for (const auto& [name, node] : nodes_) {
    if (node.first && matches(spot, node.second)) ++n;
  }
  return n;
}

void NodeCapacityIndex::upsert(std::string_view node, bool ready, std::optional<std::string> labelValue) {
  std::unique_lock lock(mu_);
  nodes_[std::string(node)] = {ready, std::move(labelValue)};
}

void NodeCapacityIndex::erase(std::string_view node) {
  std::unique_lock lock(mu_);
  nodes_.erase(std::string(node));
}

void NodeCapacityIndex::setSyncedProbe(std::function<bool()> probe) {
  std::unique_lock lock(mu_);
  syncedProbe_ = std::move(probe);
}

void NodeCapacityIndex::markSynced() {
  std::unique_lock lock(mu_);
  synced_ = true;
}

std::string NodeCapacityIndex::term(bool spot) const {
  WebhookConfig::Affinity a;
  a.capacityTypeLabel = label_;
  a.spotValue = spotValue_;
  a.onDemandValue = onDemandValue_;
  return requiredCapacityTerm(a, spot);
}

std::string NodeCapacityIndex::summary() const {
  auto spot = readyNodes(true);
  auto onDemand = readyNodes(false);
  if (!spot || !onDemand) return "nodes not listed yet";
  std::string out = "spot: " + std::to_string(*spot) + " Ready nodes (" + term(true) +
                    "), on-demand: " + std::to_string(*onDemand) + " Ready nodes (" + term(false) + ")";
  if (*spot == 0 || *onDemand == 0) {
    out += "; pods required on ";
    out += *spot == 0 && *onDemand == 0 ? "either capacity type" : (*spot == 0 ? "spot" : "on-demand");
    out += " stay Pending until a provisioner adds such a node";
  }
  return out;
}

}  // namespace spotfit::webhook
