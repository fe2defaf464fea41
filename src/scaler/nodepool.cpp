#include "scaler/nodepool.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <set>

#include "kube/yaml.hpp"
#include "placement/quantity.hpp"
#include "scaler/duration.hpp"

namespace spotfit::scaler {

bool NodePool::allows(CapacityType t) const {
  return std::find(capacityTypes.begin(), capacityTypes.end(), t) != capacityTypes.end();
}

const InstanceType* NodePool::instanceType(std::string_view n) const {
  for (const auto& it : instanceTypes) {
    if (it.name == n) return &it;
  }
  return nullptr;
}

std::string ConfigIssue::str() const {
  std::string out = path;
  if (line > 0) out += " (line " + std::to_string(line) + ")";
  return out + ": " + message;
}

std::string ParsedNodePool::summary() const {
  std::string out;
  for (const auto& i : issues) {
    if (!out.empty()) out += "; ";
    out += i.str();
  }
  return out;
}

namespace {

// Strict reader over a yaml-cpp tree: every problem becomes a ConfigIssue with path and line.
class Reader {
 public:
  explicit Reader(std::vector<ConfigIssue>& issues) : issues_(issues) {}

  void issue(const YAML::Node& n, const std::string& path, std::string message) {
    int line = 0;
    if (n.IsDefined()) {
      auto m = n.Mark();
      if (m.line >= 0) line = m.line + 1;
    }
    issues_.push_back({path, line, std::move(message)});
  }

  bool map(const YAML::Node& n, const std::string& path, const std::set<std::string>& allowed) {
    if (!n.IsMap()) {
      issue(n, path, "expected a mapping");
      return false;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
      if (!allowed.count(key)) issue(it->first, path + "." + key, "unknown field");
    }
    return true;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      issue(n, path, "expected a scalar value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& path, bool nonEmpty = false) {
    auto s = scalar(n, path);
    if (s && nonEmpty && s->empty()) {
      issue(n, path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int64_t> integer(const YAML::Node& n, const std::string& path, int64_t min = 0) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size()) {
      issue(n, path, "expected an integer, got \"" + *s + "\"");
      return std::nullopt;
    }
    if (v < min) {
      issue(n, path, "must be at least " + std::to_string(min));
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> number(const YAML::Node& n, const std::string& path, double min, double max) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || p != s->data() + s->size() || !std::isfinite(v)) {
      issue(n, path, "expected a number, got \"" + *s + "\"");
      return std::nullopt;
    }
    if (v < min || v > max) {
      issue(n, path, "must be between " + fmt(min) + " and " + fmt(max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    if (*s == "true") return true;
    if (*s == "false") return false;
    issue(n, path, "expected true or false, got \"" + *s + "\"");
    return std::nullopt;
  }

  std::optional<Duration> duration(const YAML::Node& n, const std::string& path) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto d = parseDuration(*s);
    if (!d) {
      issue(n, path, d.error().message);
      return std::nullopt;
    }
    return *d;
  }

  // cpu quantities in millicores, everything else as whole values (bytes for memory).
  std::optional<int64_t> quantity(const YAML::Node& n, const std::string& path, bool milli) {
    auto s = scalar(n, path);
    if (!s) return std::nullopt;
    auto q = milli ? placement::parseMilli(*s) : placement::parseValue(*s);
    if (!q) {
      issue(n, path, "invalid quantity \"" + *s + "\": " + q.error().message);
      return std::nullopt;
    }
    if (*q < 0) {
      issue(n, path, "must not be negative");
      return std::nullopt;
    }
    return *q;
  }

  template <typename F>
  void sequence(const YAML::Node& n, const std::string& path, F&& each) {
    if (!n.IsSequence()) {
      issue(n, path, "expected a list");
      return;
    }
    for (size_t i = 0; i < n.size(); ++i) each(n[i], path + "[" + std::to_string(i) + "]");
  }

  std::map<std::string, std::string> stringMap(const YAML::Node& n, const std::string& path) {
    std::map<std::string, std::string> out;
    if (!n.IsMap()) {
      issue(n, path, "expected a mapping");
      return out;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      auto k = string(it->first, path, true);
      if (!k) continue;
      auto v = string(it->second, path + "." + *k);
      if (v) out[*k] = *v;
    }
    return out;
  }

 private:
  static std::string fmt(double v) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, p) : std::string("?");
  }
  std::vector<ConfigIssue>& issues_;
};

// Extended resources of an instance type other than whole GPUs (`gpus`): MIG profiles, time-sliced GPUs,
// vendor devices. Whole units, as the kubelet advertises them; at most kMaxExtendedResources names.
constexpr size_t kMaxExtendedResources = 32;
void parseExtended(Reader& r, const YAML::Node& n, const std::string& path, std::map<std::string, int64_t>& out) {
  if (!n.IsMap()) {
    r.issue(n, path, "expected a mapping of resource name to count");
    return;
  }
  if (n.size() > kMaxExtendedResources) {
    r.issue(n, path, "more than " + std::to_string(kMaxExtendedResources) + " extended resources");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    const std::string p = path + "." + name;
    // A domain-prefixed name, as Kubernetes requires of extended resources; cpu, memory and gpus have fields.
    if (name.empty() || name.size() > 253 || name.find('/') == std::string::npos || name == "nvidia.com/gpu") {
      r.issue(
          it->first, p,
          "expected a domain-prefixed extended resource name such as nvidia.com/mig-1g.5gb (whole GPUs go in gpus)");
      continue;
    }
    if (auto v = r.integer(it->second, p)) out[name] = *v;
  }
}

void parseInstanceType(Reader& r, const YAML::Node& n, const std::string& path, InstanceType& t) {
  if (!r.map(n, path,
             {"name", "cpu", "memory", "gpus", "gpuProduct", "gpuMemoryMiB", "extended", "maxPods", "onDemandPrice",
              "spotPrice"}))
    return;
  for (const char* required : {"name", "cpu", "memory", "onDemandPrice"}) {
    if (!n[required]) r.issue(n, path + "." + required, "required field missing");
  }
  if (n["name"]) t.name = r.string(n["name"], path + ".name", true).value_or("");
  if (n["cpu"]) t.cpuMilli = r.quantity(n["cpu"], path + ".cpu", true).value_or(0);
  if (n["memory"]) t.memoryBytes = r.quantity(n["memory"], path + ".memory", false).value_or(0);
  if (n["gpus"]) t.gpus = r.integer(n["gpus"], path + ".gpus").value_or(0);
  if (n["gpuProduct"]) t.gpuProduct = r.string(n["gpuProduct"], path + ".gpuProduct").value_or("");
  if (n["gpuMemoryMiB"]) t.gpuMemoryMiB = r.integer(n["gpuMemoryMiB"], path + ".gpuMemoryMiB").value_or(0);
  if (n["extended"]) parseExtended(r, n["extended"], path + ".extended", t.extended);
  if (n["maxPods"]) t.maxPods = r.integer(n["maxPods"], path + ".maxPods", 1).value_or(110);
  if (n["onDemandPrice"]) t.onDemandPrice = r.number(n["onDemandPrice"], path + ".onDemandPrice", 0, 1e6).value_or(0);
  if (n["spotPrice"]) t.spotPrice = r.number(n["spotPrice"], path + ".spotPrice", 0, 1e6).value_or(0);
}

// The NodePool spec fields (plus `name` when reading the config file).
void parseSpec(Reader& r, const YAML::Node& n, const std::string& path, NodePool& pool, bool withName) {
  std::set<std::string> allowed{"capacityTypes", "instanceTypes", "zones",      "labels",   "taints",       "minNodes",
                                "maxNodes",      "limits",        "disruption", "provider", "gangTopology", "spotRisk"};
  if (withName) allowed.insert("name");
  if (!r.map(n, path, allowed)) return;
  for (const char* required : {"capacityTypes", "instanceTypes", "provider"}) {
    if (!n[required]) r.issue(n, path + "." + required, "required field missing");
  }
  if (withName) {
    if (!n["name"])
      r.issue(n, path + ".name", "required field missing");
    else
      pool.name = r.string(n["name"], path + ".name", true).value_or("");
  }
  if (auto c = n["capacityTypes"]) {
    r.sequence(c, path + ".capacityTypes", [&](const YAML::Node& e, const std::string& p) {
      auto s = r.string(e, p);
      if (!s) return;
      if (*s == "spot")
        pool.capacityTypes.push_back(CapacityType::Spot);
      else if (*s == "on-demand")
        pool.capacityTypes.push_back(CapacityType::OnDemand);
      else
        r.issue(e, p, "expected spot or on-demand, got \"" + *s + "\"");
    });
  }
  if (auto c = n["instanceTypes"]) {
    r.sequence(c, path + ".instanceTypes", [&](const YAML::Node& e, const std::string& p) {
      InstanceType t;
      parseInstanceType(r, e, p, t);
      pool.instanceTypes.push_back(std::move(t));
    });
  }
  if (auto c = n["zones"]) {
    r.sequence(c, path + ".zones", [&](const YAML::Node& e, const std::string& p) {
      if (auto s = r.string(e, p, true)) pool.zones.push_back(*s);
    });
  }
  if (auto c = n["gangTopology"]) {
    auto s = r.string(c, path + ".gangTopology");
    if (s && *s != "zone" && *s != "any") {
      r.issue(c, path + ".gangTopology", "must be \"zone\" or \"any\", got \"" + *s + "\"");
    }
    pool.gangSameZone = s == std::optional<std::string>("zone");
  }
  if (auto c = n["labels"]) pool.labels = r.stringMap(c, path + ".labels");
  if (auto c = n["taints"]) {
    r.sequence(c, path + ".taints", [&](const YAML::Node& e, const std::string& p) {
      if (!r.map(e, p, {"key", "value", "effect"})) return;
      NodeTaint t;
      if (!e["key"])
        r.issue(e, p + ".key", "required field missing");
      else
        t.key = r.string(e["key"], p + ".key", true).value_or("");
      if (e["value"]) t.value = r.string(e["value"], p + ".value").value_or("");
      if (!e["effect"]) {
        r.issue(e, p + ".effect", "required field missing");
      } else if (auto eff = r.string(e["effect"], p + ".effect")) {
        if (auto parsed = placement::parseTaintEffect(*eff))
          t.effect = *parsed;
        else
          r.issue(e["effect"], p + ".effect", "expected NoSchedule, PreferNoSchedule or NoExecute");
      }
      pool.taints.push_back(std::move(t));
    });
  }
  if (auto c = n["minNodes"]) pool.minNodes = r.integer(c, path + ".minNodes").value_or(0);
  if (auto c = n["maxNodes"]) pool.maxNodes = r.integer(c, path + ".maxNodes").value_or(pool.maxNodes);
  if (auto c = n["limits"]) {
    const std::string p = path + ".limits";
    if (r.map(c, p, {"cpu", "memory", "gpus", "costPerHour"})) {
      if (c["cpu"]) pool.limits.cpuMilli = r.quantity(c["cpu"], p + ".cpu", true).value_or(0);
      if (c["memory"]) pool.limits.memoryBytes = r.quantity(c["memory"], p + ".memory", false).value_or(0);
      if (c["gpus"]) pool.limits.gpus = r.integer(c["gpus"], p + ".gpus").value_or(0);
      if (c["costPerHour"])
        pool.limits.costPerHour = r.number(c["costPerHour"], p + ".costPerHour", 0, 1e9).value_or(0);
    }
  }
  if (auto c = n["disruption"]) {
    const std::string p = path + ".disruption";
    auto& d = pool.disruption;
    if (r.map(c, p,
              {"consolidateAfter", "utilizationThreshold", "unneededTime", "consolidateUnderused",
               "disruptCheckpointedJobs", "checkpointRestartTime", "checkpointLostWork", "moveMargin",
               "consolidateMultiNode", "drainTimeout"})) {
      if (c["consolidateAfter"])
        d.consolidateAfter = r.duration(c["consolidateAfter"], p + ".consolidateAfter").value_or(d.consolidateAfter);
      if (c["utilizationThreshold"])
        d.utilizationThreshold =
            r.number(c["utilizationThreshold"], p + ".utilizationThreshold", 0, 1).value_or(d.utilizationThreshold);
      if (c["unneededTime"])
        d.unneededTime = r.duration(c["unneededTime"], p + ".unneededTime").value_or(d.unneededTime);
      if (c["consolidateUnderused"])
        d.consolidateUnderused =
            r.boolean(c["consolidateUnderused"], p + ".consolidateUnderused").value_or(d.consolidateUnderused);
      if (c["disruptCheckpointedJobs"])
        d.disruptCheckpointedJobs =
            r.boolean(c["disruptCheckpointedJobs"], p + ".disruptCheckpointedJobs").value_or(false);
      if (c["checkpointRestartTime"])
        d.checkpointRestartTime =
            r.duration(c["checkpointRestartTime"], p + ".checkpointRestartTime").value_or(d.checkpointRestartTime);
      if (c["checkpointLostWork"])
        d.checkpointLostWork =
            r.number(c["checkpointLostWork"], p + ".checkpointLostWork", 0, 1).value_or(d.checkpointLostWork);
      if (c["moveMargin"]) d.moveMargin = r.number(c["moveMargin"], p + ".moveMargin", 0, 1e6).value_or(d.moveMargin);
      if (c["consolidateMultiNode"])
        d.consolidateMultiNode =
            r.boolean(c["consolidateMultiNode"], p + ".consolidateMultiNode").value_or(d.consolidateMultiNode);
      if (c["drainTimeout"])
        d.drainTimeout = r.duration(c["drainTimeout"], p + ".drainTimeout").value_or(d.drainTimeout);
    }
  }
  if (auto c = n["spotRisk"]) {
    const std::string p = path + ".spotRisk";
    auto& k = pool.spotRisk;
    if (r.map(c, p,
              {"enabled", "priorInterruptionsPerHour", "priorWeight", "resumableLostWork", "defaultRuntime",
               "maxOfferingShare", "maxSpreadPremium"})) {
      if (c["enabled"]) k.enabled = r.boolean(c["enabled"], p + ".enabled").value_or(k.enabled);
      if (c["priorInterruptionsPerHour"])
        k.priorInterruptionsPerHour =
            r.number(c["priorInterruptionsPerHour"], p + ".priorInterruptionsPerHour", 0, 1000)
                .value_or(k.priorInterruptionsPerHour);
      if (c["priorWeight"]) k.priorWeight = r.duration(c["priorWeight"], p + ".priorWeight").value_or(k.priorWeight);
      if (c["resumableLostWork"])
        k.resumableLostWork =
            r.number(c["resumableLostWork"], p + ".resumableLostWork", 0, 1).value_or(k.resumableLostWork);
      if (c["defaultRuntime"])
        k.defaultRuntime = r.duration(c["defaultRuntime"], p + ".defaultRuntime").value_or(k.defaultRuntime);
      if (c["maxOfferingShare"]) {
        k.maxOfferingShare =
            r.number(c["maxOfferingShare"], p + ".maxOfferingShare", 0, 1).value_or(k.maxOfferingShare);
        if (k.maxOfferingShare <= 0) r.issue(c["maxOfferingShare"], p + ".maxOfferingShare", "must be above 0");
      }
      if (c["maxSpreadPremium"])
        k.maxSpreadPremium =
            r.number(c["maxSpreadPremium"], p + ".maxSpreadPremium", 0, 100).value_or(k.maxSpreadPremium);
    }
  }
  if (auto c = n["provider"]) {
    const std::string p = path + ".provider";
    if (r.map(c, p, {"type", "readyTimeout", "parameters"})) {
      if (!c["type"])
        r.issue(c, p + ".type", "required field missing");
      else
        pool.provider.type = r.string(c["type"], p + ".type", true).value_or("");
      if (c["readyTimeout"])
        pool.provider.readyTimeout =
            r.duration(c["readyTimeout"], p + ".readyTimeout").value_or(pool.provider.readyTimeout);
      if (c["parameters"]) pool.provider.parameters = r.stringMap(c["parameters"], p + ".parameters");
    }
  }
}

bool isDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char ch : s) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')) return false;
  }
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  return alnum(s.front()) && alnum(s.back());
}

// scaler.profiles (scaler/learner_config.hpp).
void parseLearnerSection(Reader& r, const YAML::Node& n, const std::string& path, LearnerConfig& cfg) {
  if (!n || !r.map(n, path, {"learn", "metricsInterval", "metricsTimeout", "saveInterval", "metricsServer"})) return;
  if (n["metricsServer"]) {
    cfg.metricsServer = r.string(n["metricsServer"], path + ".metricsServer").value_or("");
    if (!cfg.metricsServer.empty() && cfg.metricsServer.rfind("http://", 0) != 0 &&
        cfg.metricsServer.rfind("https://", 0) != 0)
      r.issue(n["metricsServer"], path + ".metricsServer", "must be an http:// or https:// URL");
  }
  if (n["learn"]) cfg.learn = r.boolean(n["learn"], path + ".learn").value_or(cfg.learn);
  const std::pair<const char*, Duration*> fields[] = {{"metricsInterval", &cfg.metricsInterval},
                                                      {"metricsTimeout", &cfg.metricsTimeout},
                                                      {"saveInterval", &cfg.saveInterval}};
  for (auto [key, into] : fields) {
    if (!n[key]) continue;
    const std::string p = path + "." + key;
    *into = r.duration(n[key], p).value_or(*into);
    if (*into > std::chrono::hours(24)) r.issue(n[key], p, "must be at most 24h");
  }
  if (n["metricsTimeout"] && cfg.metricsTimeout <= Duration::zero())
    r.issue(n["metricsTimeout"], path + ".metricsTimeout", "must be positive");
}

}  // namespace

std::vector<ConfigIssue> validateNodePool(const NodePool& pool, const std::string& path) {
  std::vector<ConfigIssue> out;
  auto add = [&](std::string p, std::string m) { out.push_back({std::move(p), 0, std::move(m)}); };
  if (!isDnsSubdomain(pool.name) || pool.name.size() > 50) {
    add(path + ".name", "\"" + pool.name + "\" is not a DNS subdomain of at most 50 characters");
  }
  std::set<CapacityType> seenTypes;
  for (auto t : pool.capacityTypes) {
    if (!seenTypes.insert(t).second) add(path + ".capacityTypes", "duplicate " + std::string(toString(t)));
  }
  std::set<std::string> names;
  bool anySpot = false;
  for (size_t i = 0; i < pool.instanceTypes.size(); ++i) {
    const auto& t = pool.instanceTypes[i];
    const std::string p = path + ".instanceTypes[" + std::to_string(i) + "]";
    if (!t.name.empty() && !names.insert(t.name).second) add(p + ".name", "duplicate instance type " + t.name);
    if (t.cpuMilli <= 0) add(p + ".cpu", "must be positive");
    if (t.memoryBytes <= 0) add(p + ".memory", "must be positive");
    if (pool.allows(CapacityType::OnDemand) && t.onDemandPrice <= 0) add(p + ".onDemandPrice", "must be positive");
    if (t.gpus == 0 && !t.gpuProduct.empty()) add(p + ".gpuProduct", "set on an instance type without gpus");
    anySpot = anySpot || t.spotPrice > 0;
  }
  if (pool.allows(CapacityType::Spot) && !pool.instanceTypes.empty() && !anySpot) {
    add(path + ".instanceTypes", "the pool allows spot but no instance type has a spotPrice");
  }
  if (pool.minNodes > pool.maxNodes) {
    add(path + ".minNodes",
        "minNodes " + std::to_string(pool.minNodes) + " exceeds maxNodes " + std::to_string(pool.maxNodes));
  }
  const auto& prov = pool.provider;
  const std::string pp = path + ".provider";
  auto allowParams = [&](std::set<std::string> allowed, std::set<std::string> required) {
    for (const auto& [k, v] : prov.parameters) {
      if (!allowed.count(k)) add(pp + ".parameters." + k, "unknown parameter for provider " + prov.type);
    }
    for (const auto& k : required) {
      if (!prov.parameters.count(k) || prov.parameters.at(k).empty()) {
        add(pp + ".parameters." + k, "required by provider " + prov.type);
      }
    }
  };
  if (prov.type == "kwok") {
    allowParams({"readyDelay", "unavailableOfferings"}, {});
    if (auto it = prov.parameters.find("readyDelay"); it != prov.parameters.end()) {
      if (auto d = parseDuration(it->second); !d) add(pp + ".parameters.readyDelay", d.error().message);
    }
  } else if (prov.type == "clusterapi") {
    allowParams({"namespace", "machineDeployment"}, {"namespace", "machineDeployment"});
    // A MachineDeployment has one machine template: one instance type and one capacity type per pool.
    if (pool.instanceTypes.size() > 1) add(path + ".instanceTypes", "a clusterapi pool has exactly one instance type");
    if (pool.capacityTypes.size() > 1) add(path + ".capacityTypes", "a clusterapi pool has exactly one capacity type");
  } else if (prov.type == "memory") {
    allowParams({}, {});
  } else if (!prov.type.empty()) {
    add(pp + ".type", "unknown provider \"" + prov.type + "\" (expected kwok, clusterapi or memory)");
  }
  if (prov.readyTimeout.count() <= 0) add(pp + ".readyTimeout", "must be positive");
  return out;
}

Result<ParsedNodePool> parseNodePoolObject(std::string_view json) {
  YAML::Node root;
  try {
    auto loaded = kube::yaml::load(json);
    if (!loaded.ok()) return makeError("invalid", "SpotfitPool: " + loaded.error().message);
    root = *loaded;
  } catch (const YAML::Exception& e) {
    return makeError("invalid", std::string("SpotfitPool is not valid JSON: ") + e.what());
  }
  if (!root.IsMap()) return makeError("invalid", "SpotfitPool is not a JSON object");
  auto kind = root["kind"];
  if (kind && (!kind.IsScalar() || kind.Scalar() != "SpotfitPool")) {
    return makeError("invalid", "object is not a SpotfitPool");
  }
  auto meta = root["metadata"];
  if (!meta || !meta.IsMap() || !meta["name"] || !meta["name"].IsScalar()) {
    return makeError("invalid", "SpotfitPool has no metadata.name");
  }
  ParsedNodePool out;
  out.pool.name = meta["name"].Scalar();
  if (meta["generation"] && meta["generation"].IsScalar()) {
    int64_t g = 0;
    const auto& s = meta["generation"].Scalar();
    std::from_chars(s.data(), s.data() + s.size(), g);
    out.pool.generation = g;
  }
  Reader r(out.issues);
  if (!root["spec"])
    r.issue(root, "spec", "required field missing");
  else
    parseSpec(r, root["spec"], "spec", out.pool, false);
  if (out.issues.empty()) out.issues = validateNodePool(out.pool, "spec");
  return out;
}

Result<ScalerConfig> parseScalerConfig(std::string_view yaml) {
  YAML::Node root;
  try {
    auto loaded = kube::yaml::load(yaml);
    if (!loaded.ok()) return makeError("invalid", "config: " + loaded.error().message);
    root = *loaded;
  } catch (const YAML::Exception& e) {
    return makeError("invalid", std::string("config is not valid YAML: ") + e.what());
  }
  if (root.IsNull() || !root.IsMap() || !root["scaler"]) return ScalerConfig{};
  return parseScalerSection(root["scaler"]);
}

Result<ScalerConfig> parseScalerSection(const YAML::Node& s) {
  ScalerConfig cfg;
  if (!s.IsDefined() || s.IsNull()) return cfg;
  std::vector<ConfigIssue> issues;
  Reader r(issues);
  const std::string base = "scaler";
  if (r.map(s, base,
            {"namespace",
             "batchIdle",
             "batchMax",
             "offeringUnavailableFor",
             "scaleDownCooldown",
             "gangPartialTimeout",
             "maxParallelDrains",
             "evictionRetry",
             "drainFailureBackoff",
             "interruptionTaints",
             "interruption",
             "ledgerConfigMap",
             "ledgerFlushInterval",
             "watchNodePoolObjects",
             "nodePools",
             "ledgerRetention",
             "ledgerMaxClosedWorkflows",
             "costSeriesTopWorkflows",
             "costSeriesTopOwners",
             "costSeriesGrace",
             "priceTable",
             "ledgerLabel",
             "provisioningRequestBookingTime",
             "watchProvisioningRequests",
             "watchBudgetPolicies",
             "prewarm",
             "profiles"})) {
    if (s["namespace"])
      cfg.namespaceName = r.string(s["namespace"], base + ".namespace", true).value_or(cfg.namespaceName);
    auto dur = [&](const char* key, Duration& into) {
      if (s[key]) into = r.duration(s[key], base + "." + key).value_or(into);
    };
    dur("batchIdle", cfg.batchIdle);
    dur("batchMax", cfg.batchMax);
    dur("offeringUnavailableFor", cfg.offeringUnavailableFor);
    dur("scaleDownCooldown", cfg.scaleDownCooldown);
    dur("gangPartialTimeout", cfg.gangPartialTimeout);
    dur("provisioningRequestBookingTime", cfg.provisioningRequestBookingTime);
    if (s["watchProvisioningRequests"])
      cfg.watchProvisioningRequests = r.boolean(s["watchProvisioningRequests"], base + ".watchProvisioningRequests")
                                          .value_or(cfg.watchProvisioningRequests);
    if (s["watchBudgetPolicies"])
      cfg.watchBudgetPolicies =
          r.boolean(s["watchBudgetPolicies"], base + ".watchBudgetPolicies").value_or(cfg.watchBudgetPolicies);
    dur("evictionRetry", cfg.evictionRetry);
    dur("drainFailureBackoff", cfg.drainFailureBackoff);
    dur("ledgerFlushInterval", cfg.ledgerFlushInterval);
    dur("ledgerRetention", cfg.ledgerRetention);
    if (s["ledgerRetention"] &&
        (cfg.ledgerRetention < std::chrono::hours(24) || cfg.ledgerRetention > std::chrono::hours(24 * 400))) {
      r.issue(s["ledgerRetention"], base + ".ledgerRetention", "must be between 24h and 400 days (9600h)");
    }
    auto bounded = [&](const char* key, int& into, int64_t max, const char* why) {
      if (!s[key]) return;
      const std::string p = base + "." + key;
      if (auto v = r.integer(s[key], p)) {
        if (*v > max)
          r.issue(s[key], p, "must be at most " + std::to_string(max) + " (" + why + ")");
        else
          into = static_cast<int>(*v);
      }
    };
    bounded("ledgerMaxClosedWorkflows", cfg.ledgerMaxClosedWorkflows, 5000, "the ledger is one ConfigMap");
    bounded("costSeriesTopWorkflows", cfg.costSeriesTopWorkflows, 10000, "series per scrape");
    bounded("costSeriesTopOwners", cfg.costSeriesTopOwners, 10000, "series per scrape");
    dur("costSeriesGrace", cfg.costSeriesGrace);
    if (auto pw = s["prewarm"]; pw && r.map(pw, base + ".prewarm", {"defaultLead", "grace"})) {
      const std::pair<const char*, Duration*> fields[] = {{"defaultLead", &cfg.prewarm.defaultLead},
                                                          {"grace", &cfg.prewarm.grace}};
      for (auto [key, into] : fields) {
        if (!pw[key]) continue;
        const std::string p = base + ".prewarm." + key;
        *into = r.duration(pw[key], p).value_or(*into);
        if (*into > std::chrono::hours(24)) r.issue(pw[key], p, "must be at most 24h");
      }
    }
    parseLearnerSection(r, s["profiles"], base + ".profiles", cfg.profiles);
    if (s["ledgerLabel"]) cfg.ledgerLabel = r.string(s["ledgerLabel"], base + ".ledgerLabel").value_or("");
    if (cfg.ledgerLabel.size() > 317)
      r.issue(s["ledgerLabel"], base + ".ledgerLabel", "not a label key (over 317 bytes)");
    if (auto t = s["priceTable"]) {
      const std::string tp = base + ".priceTable";
      if (t.IsSequence() && t.size() > kMaxPriceTableEntries) {
        r.issue(t, tp, "more than " + std::to_string(kMaxPriceTableEntries) + " rows");
      } else {
        r.sequence(t, tp, [&](const YAML::Node& e, const std::string& p) {
          if (!r.map(e, p, {"instanceType", "capacityType", "zone", "price"})) return;
          for (const char* required : {"instanceType", "price"}) {
            if (!e[required]) r.issue(e, p + "." + required, "required field missing");
          }
          PriceEntry row;
          if (e["instanceType"]) row.instanceType = r.string(e["instanceType"], p + ".instanceType", true).value_or("");
          if (e["zone"]) row.zone = r.string(e["zone"], p + ".zone").value_or("");
          if (e["capacityType"]) {
            auto ct = r.string(e["capacityType"], p + ".capacityType");
            if (ct && *ct == "spot")
              row.capacityType = CapacityType::Spot;
            else if (ct && *ct == "on-demand")
              row.capacityType = CapacityType::OnDemand;
            else if (ct)
              r.issue(e["capacityType"], p + ".capacityType", "expected spot or on-demand, got " + *ct);
          }
          if (e["price"]) row.usdPerHour = r.number(e["price"], p + ".price", 0, 1e6).value_or(0);
          cfg.priceTable.push_back(std::move(row));
        });
      }
    }
    if (s["maxParallelDrains"])
      cfg.maxParallelDrains = static_cast<int>(
          r.integer(s["maxParallelDrains"], base + ".maxParallelDrains", 1).value_or(cfg.maxParallelDrains));
    if (s["ledgerConfigMap"])
      cfg.ledgerConfigMap =
          r.string(s["ledgerConfigMap"], base + ".ledgerConfigMap", true).value_or(cfg.ledgerConfigMap);
    if (s["watchNodePoolObjects"])
      cfg.watchNodePoolObjects = r.boolean(s["watchNodePoolObjects"], base + ".watchNodePoolObjects").value_or(true);
    if (auto t = s["interruptionTaints"]) {
      cfg.interruptionTaints.clear();
      r.sequence(t, base + ".interruptionTaints", [&](const YAML::Node& e, const std::string& p) {
        if (auto v = r.string(e, p, true)) cfg.interruptionTaints.push_back(*v);
      });
    }
    if (auto i = s["interruption"]) {
      const std::string p = base + ".interruption";
      if (r.map(i, p, {"window", "threshold", "coolOff", "drainDeadline"})) {
        if (i["window"])
          cfg.interruption.window = r.duration(i["window"], p + ".window").value_or(cfg.interruption.window);
        if (i["threshold"])
          cfg.interruption.threshold =
              static_cast<int>(r.integer(i["threshold"], p + ".threshold", 1).value_or(cfg.interruption.threshold));
        if (i["coolOff"])
          cfg.interruption.coolOff = r.duration(i["coolOff"], p + ".coolOff").value_or(cfg.interruption.coolOff);
        if (i["drainDeadline"]) {
          cfg.interruption.drainDeadline =
              r.duration(i["drainDeadline"], p + ".drainDeadline").value_or(cfg.interruption.drainDeadline);
        }
      }
    }
    if (cfg.batchIdle > cfg.batchMax) issues.push_back({base + ".batchIdle", 0, "must not exceed batchMax"});
    if (auto pools = s["nodePools"]) {
      std::set<std::string> names;
      r.sequence(pools, base + ".nodePools", [&](const YAML::Node& e, const std::string& p) {
        NodePool pool;
        size_t before = issues.size();
        parseSpec(r, e, p, pool, true);
        if (issues.size() == before) {
          for (auto& i : validateNodePool(pool, p)) {
            if (i.line == 0 && e.Mark().line >= 0) i.line = e.Mark().line + 1;
            issues.push_back(std::move(i));
          }
        }
        if (!pool.name.empty() && !names.insert(pool.name).second) {
          r.issue(e, p + ".name", "duplicate node pool " + pool.name);
        }
        cfg.nodePools.push_back(std::move(pool));
      });
    }
  }
  if (!issues.empty()) {
    std::string msg = issues.front().str();
    if (issues.size() > 1) msg += " (and " + std::to_string(issues.size() - 1) + " more: ";
    for (size_t i = 1; i < issues.size(); ++i) msg += (i > 1 ? "; " : "") + issues[i].str();
    if (issues.size() > 1) msg += ")";
    return makeError("invalid", msg);
  }
  return cfg;
}

}  // namespace spotfit::scaler
