#pragma once
// Where the workflow profiles (profile/profile.hpp) live durably: key "profiles.json" of the cost ledger's
// ConfigMap (ConfigMapLedgerStore), written by the leader-elected scaler's learner and read after a
// failover, by the webhook (right-sizing at admission) and by `spotfit profiles`. The ledger stays under
// 512 KiB (docs/scaler.md), the profiles under kMaxProfilesJsonBytes, so the ConfigMap stays under 1 MiB.

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "profile/profile.hpp"
#include "scaler/kube_actions.hpp"

namespace spotfit::scaler {

inline constexpr size_t kMaxProfilesJsonBytes = 256 * 1024;

// Version 1 (docs/profiles.md, "Stored form"):
//   {"version":1, "profiles":[[ns, workflow, runs, lastSeen, oomKills, [durations], [pods], [peak pods],
//    [arrivals], [[container, requestCpuMilli, requestMemoryBytes, oomMemoryBytes, oomKills, [cpuMilli],
//    [memoryBytes]], ...]], ...]}
// Rings are stored oldest first. Past `maxBytes` the least recently seen profiles are left out.
std::string profilesToJson(const profile::ProfileBook& book, size_t maxBytes = kMaxProfilesJsonBytes);
// Refuses (code "invalid", naming the entry) anything but that shape; the limits apply as for learning.
Result<profile::ProfileBook> profilesFromJson(std::string_view json, profile::ProfileLimits limits = {});

class ProfileStore {
 public:
  virtual ~ProfileStore() = default;
  virtual Result<std::optional<std::string>> load() = 0;  // nullopt: nothing stored yet
  virtual Status save(const std::string& json) = 0;
};

class InMemoryProfileStore final : public ProfileStore {
 public:
  Result<std::optional<std::string>> load() override { return data_; }
  Status save(const std::string& json) override {
    data_ = json;
    ++saves_;
    return {};
  }
  int saves() const { return saves_; }

 private:
  std::optional<std::string> data_;
  int saves_ = 0;
};

class ConfigMapProfileStore final : public ProfileStore {
 public:
  static constexpr const char* kProfilesKey = "profiles.json";
  explicit ConfigMapProfileStore(ConfigMapLedgerStore& configMap) : configMap_(configMap) {}
  Result<std::optional<std::string>> load() override;
  Status save(const std::string& json) override;

 private:
  ConfigMapLedgerStore& configMap_;
};

// A readers' snapshot of the stored profiles (the webhook re-reads it periodically, like LedgerSpend).
class StoredProfiles {
 public:
  explicit StoredProfiles(ProfileStore& store, profile::ProfileLimits limits = {}) : store_(store), limits_(limits) {}
  // One read of the store (nothing stored yet is no profiles). On failure the last snapshot stays.
  Status refresh();
  // nullptr until the first successful refresh.
  std::shared_ptr<const profile::ProfileBook> book() const;

 private:
  ProfileStore& store_;
  profile::ProfileLimits limits_;
  mutable std::shared_mutex mu_;
  std::shared_ptr<const profile::ProfileBook> book_;
};

}  // namespace spotfit::scaler

namespace spotfit::scaler {

// `spotfit profiles`: one row per (profile, container) with what was learned and what the webhook would
// request now under `cfg` ("-" where it would leave the request as written), optionally one namespace.
std::string profilesTable(const profile::ProfileBook& book, const profile::RightSizeConfig& cfg,
                          std::string_view namespaceFilter = {});
// The same as JSON: {"profiles":[{"namespace","workflow","runs","durationSecondsP50","podsMax",
// "peakConcurrencyMax","oomKills","lastSeen","containers":[{"name","cpuMilliP95","memoryBytesPeak",
// "requestCpuMilli","requestMemoryBytes","oomMemoryBytes","wouldRequestCpuMilli","wouldRequestMemoryBytes"}]}]}
// (the would-request keys only when the webhook would set them).
std::string profilesReportJson(const profile::ProfileBook& book, const profile::RightSizeConfig& cfg,
                               std::string_view namespaceFilter = {});

}  // namespace spotfit::scaler
