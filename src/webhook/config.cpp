#include "webhook/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "base/duration.hpp"
#include "kube/yaml.hpp"
#include "placement/capacity_preset.hpp"
#include "placement/quantity.hpp"
#include "server/config.hpp"

namespace spotfit::webhook {
namespace {

// Thrown inside the parser only; converted to an Error at the edge of parseWebhookConfig.
struct ConfigError {
  std::string message;
};

// What the apiserver accepts as spec.schedulerName: a DNS-1123 subdomain.
bool validSchedulerName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char ch : label) {
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string where(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return "";
  return " (line " + std::to_string(m.line + 1) + ")";
}

[[noreturn]] void fail(const std::string& path, const YAML::Node& n, const std::string& what) {
  throw ConfigError{path + ": " + what + where(n)};
}

class Mapping {
 public:
  Mapping(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (!node_.IsMap()) fail(path_, node_, "must be a mapping");
  }

  // Refuses keys that were never asked for.
  void checkKeys(std::initializer_list<const char*> known) const {
    std::set<std::string> names(known.begin(), known.end());
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar()) fail(path_, kv.first, "keys must be strings");
      std::string k = kv.first.Scalar();
      if (!names.count(k)) fail(path_ + "." + k, kv.first, "unknown key");
    }
  }

  YAML::Node get(const char* key) const { return node_[key]; }
  std::string path(const char* key) const { return path_ + "." + key; }

  void boolean(const char* key, bool& out) const {
    YAML::Node n = node_[key];
    if (!n) return;
    if (!n.IsScalar()) fail(path(key), n, "must be true or false");
    const std::string& s = n.Scalar();
    if (s == "true") {
      out = true;
    } else if (s == "false") {
      out = false;
    } else {
      fail(path(key), n, "must be true or false, got '" + s + "'");
    }
  }

  void string(const char* key, std::string& out) const {
    YAML::Node n = node_[key];
    if (!n) return;
    if (!n.IsScalar()) fail(path(key), n, "must be a string");
    out = n.Scalar();
  }

  void integer(const char* key, int64_t& out, int64_t min, int64_t max) const {
    YAML::Node n = node_[key];
    if (!n) return;
    if (!n.IsScalar()) fail(path(key), n, "must be an integer");
    const std::string& s = n.Scalar();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) fail(path(key), n, "must be an integer, got '" + s + "'");
    if (v < min || v > max) {
      fail(path(key), n, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = v;
  }

  // A duration in the one grammar (base/duration.hpp: "250ms", "10s", "1h30m"), within [min, max].
  void duration(const char* key, std::chrono::milliseconds& out, std::chrono::milliseconds min,
                std::chrono::milliseconds max) const {
    YAML::Node n = node_[key];
    if (!n) return;
    auto d = n.IsScalar() ? base::parseDuration(n.Scalar()) : Result<base::Millis>(makeError("invalid", ""));
    if (!d) {
      fail(path(key), n,
           "must be a duration like 500ms, 10s, 2m" + (n.IsScalar() ? ", got '" + n.Scalar() + "'" : std::string()));
    }
    if (*d < min || *d > max) {
      fail(path(key), n,
           "must be between " + base::formatDuration(min) + " and " + base::formatDuration(max) + ", got '" +
               n.Scalar() + "'");
    }
    out = *d;
  }

  // A Kubernetes quantity ("500m", "2", "16Mi"): millicores when `milli`, else whole units; positive.
  void quantity(const char* key, int64_t& out, bool milli) const {
    YAML::Node n = node_[key];
    if (!n) return;
    if (!n.IsScalar()) fail(path(key), n, "must be a quantity such as 500m, 2 or 16Mi");
    auto v = milli ? placement::parseMilli(n.Scalar()) : placement::parseValue(n.Scalar());
    if (!v || *v <= 0)
      fail(path(key), n, "must be a positive quantity such as 500m, 2 or 16Mi, got '" + n.Scalar() + "'");
    out = *v;
  }

  void strings(const char* key, std::vector<std::string>& out) const {
    YAML::Node n = node_[key];
    if (!n) return;
    if (!n.IsSequence()) fail(path(key), n, "must be a list of strings");
    out.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) fail(path(key) + "[" + std::to_string(i) + "]", n[i], "must be a string");
      out.push_back(n[i].Scalar());
    }
  }

  // A sub-mapping, or nullopt when absent.
  std::optional<Mapping> section(const char* key) const {
    YAML::Node n = node_[key];
    if (!n || n.IsNull()) return std::nullopt;
    return Mapping(n, path(key));
  }

 private:
  YAML::Node node_;
  std::string path_;
};

Toleration parseToleration(const YAML::Node& n, const std::string& path) {
  Mapping m(n, path);
  m.checkKeys({"key", "operator", "value", "effect", "tolerationSeconds"});
  Toleration t;
  m.string("key", t.key);
  m.string("operator", t.op);
  m.string("value", t.value);
  m.string("effect", t.effect);
  if (m.get("tolerationSeconds")) {
    int64_t s = 0;
    m.integer("tolerationSeconds", s, 0, INT64_MAX);
    t.tolerationSeconds = s;
  }
  if (t.op.empty()) t.op = "Equal";
  if (t.op != "Equal" && t.op != "Exists") fail(m.path("operator"), n, "must be Equal or Exists");
  if (t.op == "Exists" && !t.value.empty()) fail(m.path("value"), n, "must be empty when operator is Exists");
  if (t.key.empty() && t.op != "Exists") fail(m.path("key"), n, "may be empty only with operator Exists");
  if (!t.effect.empty() && t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute") {
    fail(m.path("effect"), n, "must be NoSchedule, PreferNoSchedule or NoExecute");
  }
  if (t.tolerationSeconds && t.effect != "NoExecute") {
    fail(m.path("tolerationSeconds"), n, "applies only to effect NoExecute");
  }
  return t;
}

void applyCapacityPreset(WebhookConfig& c, const placement::CapacityPreset& p) {
  c.affinity.capacityTypeLabel = p.label;
  c.affinity.spotValue = p.spotValue;
  c.affinity.onDemandValue = p.onDemandValue;
  c.tolerations.add.clear();
  for (const auto& t : p.spotTaints) c.tolerations.add.push_back({t.key, "Equal", t.value, t.effect, std::nullopt});
}

WebhookConfig parse(const YAML::Node& node) {
  WebhookConfig c;
  if (!node || node.IsNull()) return c;
  Mapping root(node, "webhook");
  root.checkKeys({"ownNamespace", "excludedNamespaces", "requireNamespaceLabel", "maxBodyBytes", "defaultCapacityType",
                  "tolerations", "affinity", "rightSizing", "checkpoint", "labels", "pdb", "budgets", "scope",
                  "schedulerName", "capacity", "disruption", "interruption"});
  root.string("ownNamespace", c.ownNamespace);
  root.strings("excludedNamespaces", c.excludedNamespaces);
  root.boolean("requireNamespaceLabel", c.requireNamespaceLabel);
  int64_t body = static_cast<int64_t>(c.maxBodyBytes);
  root.integer("maxBodyBytes", body, 1024, int64_t{64} * 1024 * 1024);
  c.maxBodyBytes = static_cast<size_t>(body);
  std::string capacity(capacityTypeName(c.defaultCapacityType));
  root.string("defaultCapacityType", capacity);
  auto ct = parseCapacityType(capacity);
  if (!ct)
    fail(root.path("defaultCapacityType"), root.get("defaultCapacityType"),
         "must be spot-preferred, spot or on-demand");
  c.defaultCapacityType = *ct;
  root.string("schedulerName", c.schedulerName);
  if (!c.schedulerName.empty() && !validSchedulerName(c.schedulerName)) {
    fail(root.path("schedulerName"), root.get("schedulerName"),
         "must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)");
  }

  // The preset first: `affinity:` and `tolerations.add` below override what it sets.
  if (auto s = root.section("capacity")) {
    s->checkKeys({"preset"});
    s->string("preset", c.capacityPreset);
    const placement::CapacityPreset* preset = placement::findCapacityPreset(c.capacityPreset);
    if (!preset) {
      fail(s->path("preset"), s->get("preset"),
           "must be one of " + placement::capacityPresetNames() + ", got '" + c.capacityPreset + "'");
    }
    applyCapacityPreset(c, *preset);
  }
  if (auto s = root.section("tolerations")) {
    s->checkKeys({"enabled", "add"});
    s->boolean("enabled", c.tolerations.enabled);
    if (YAML::Node add = s->get("add")) {
      if (!add.IsSequence()) fail(s->path("add"), add, "must be a list of tolerations");
      c.tolerations.add.clear();
      for (size_t i = 0; i < add.size(); ++i) {
        c.tolerations.add.push_back(parseToleration(add[i], s->path("add") + "[" + std::to_string(i) + "]"));
      }
    }
  }
  if (auto s = root.section("affinity")) {
    s->checkKeys({"enabled", "capacityTypeLabel", "spotValue", "onDemandValue", "preferredWeight", "gpuProduct"});
    s->boolean("enabled", c.affinity.enabled);
    s->string("capacityTypeLabel", c.affinity.capacityTypeLabel);
    s->string("spotValue", c.affinity.spotValue);
    s->string("onDemandValue", c.affinity.onDemandValue);
    int64_t weight = c.affinity.preferredWeight;
    s->integer("preferredWeight", weight, 1, 100);
    c.affinity.preferredWeight = static_cast<int>(weight);
    s->boolean("gpuProduct", c.affinity.gpuProduct);
    if (c.affinity.capacityTypeLabel.empty())
      fail(s->path("capacityTypeLabel"), s->get("capacityTypeLabel"), "must not be empty");
    if (c.affinity.spotValue.empty()) fail(s->path("spotValue"), s->get("spotValue"), "must not be empty");
    if (c.affinity.onDemandValue == c.affinity.spotValue) {
      fail(s->path("onDemandValue"), s->get("onDemandValue"),
           "must differ from spotValue (empty: the label is absent)");
    }
  }
  if (auto s = root.section("disruption")) {
    s->checkKeys({"protect", "podFailurePolicy"});
    s->string("protect", c.disruption.protect);
    const std::string& p = c.disruption.protect;
    if (p != "auto" && p != "karpenter" && p != "cluster-autoscaler" && p != "both" && p != "none") {
      fail(s->path("protect"), s->get("protect"),
           "must be auto, karpenter, cluster-autoscaler, both or none, got '" + p + "'");
    }
    s->string("podFailurePolicy", c.disruption.podFailurePolicy);
    const std::string& f = c.disruption.podFailurePolicy;
    if (f != "auto" && f != "true" && f != "false") {
      fail(s->path("podFailurePolicy"), s->get("podFailurePolicy"), "must be auto, true or false, got '" + f + "'");
    }
  }
  if (auto s = root.section("interruption")) {
    s->checkKeys({"enabled", "window", "threshold", "coolOff", "taints"});
    s->string("enabled", c.interruption.enabled);
    const std::string& e = c.interruption.enabled;
    if (e != "auto" && e != "true" && e != "false") {
      fail(s->path("enabled"), s->get("enabled"), "must be auto, true or false, got '" + e + "'");
    }
    s->duration("window", c.interruption.window, std::chrono::seconds(1), std::chrono::hours(24));
    s->integer("threshold", c.interruption.threshold, 1, 1000);
    s->duration("coolOff", c.interruption.coolOff, std::chrono::seconds(1), std::chrono::hours(24));
    s->strings("taints", c.interruption.taints);
  }
  if (auto s = root.section("rightSizing")) {
    s->checkKeys(
        {"enabled", "profiles", "minRuns", "headroomPercent", "minCpu", "maxCpu", "minMemory", "maxMemory", "refresh"});
    s->boolean("enabled", c.rightSizing.enabled);
    s->boolean("profiles", c.rightSizing.profiles);
    auto& p = c.rightSizing.profile;
    s->integer("minRuns", p.minRuns, 1, 1000);
    int64_t headroom = std::llround((p.headroom - 1.0) * 100);
    s->integer("headroomPercent", headroom, 0, 1000);
    p.headroom = 1.0 + static_cast<double>(headroom) / 100.0;
    s->quantity("minCpu", p.minCpuMilli, true);
    s->quantity("maxCpu", p.maxCpuMilli, true);
    s->quantity("minMemory", p.minMemoryBytes, false);
    s->quantity("maxMemory", p.maxMemoryBytes, false);
    if (p.minCpuMilli > p.maxCpuMilli) fail(s->path("maxCpu"), s->get("maxCpu"), "must not be below minCpu");
    if (p.minMemoryBytes > p.maxMemoryBytes) {
      fail(s->path("maxMemory"), s->get("maxMemory"), "must not be below minMemory");
    }
    s->duration("refresh", c.rightSizing.refresh, kMinLedgerRefresh, kMaxLedgerRefresh);
  }
  if (auto s = root.section("checkpoint")) {
    s->checkKeys({"enabled", "command", "gracePeriodSeconds", "skipContainers"});
    s->boolean("enabled", c.checkpoint.enabled);
    s->string("command", c.checkpoint.command);
    s->integer("gracePeriodSeconds", c.checkpoint.gracePeriodSeconds, 0, 86400);
    s->strings("skipContainers", c.checkpoint.skipContainers);
  }
  if (auto s = root.section("labels")) {
    s->checkKeys({"enabled"});
    s->boolean("enabled", c.labels.enabled);
  }
  if (auto s = root.section("pdb")) {
    s->checkKeys({"enabled", "defaultMinAvailable", "minParallelism"});
    s->boolean("enabled", c.pdb.enabled);
    s->string("defaultMinAvailable", c.pdb.defaultMinAvailable);
    if (!validIntOrPercent(c.pdb.defaultMinAvailable)) {
      fail(s->path("defaultMinAvailable"), s->get("defaultMinAvailable"),
           "must be an integer or a percentage like 50%");
    }
    s->integer("minParallelism", c.pdb.minParallelism, 2, 1000000);
  }
  if (auto s = root.section("scope")) {
    s->checkKeys({"batchOwners", "batchPodLabels", "coordinators"});
    s->strings("batchOwners", c.scope.batchOwners);
    for (const auto& o : c.scope.batchOwners) {
      if (o.empty() || o.back() == '/' || o.find('/') != o.rfind('/')) {
        fail(s->path("batchOwners"), s->get("batchOwners"),
             "entries are group/Kind (core kinds: Kind), got '" + o + "'");
      }
    }
    s->strings("batchPodLabels", c.scope.batchPodLabels);
    if (YAML::Node roles = s->get("coordinators")) {
      if (!roles.IsSequence()) fail(s->path("coordinators"), roles, "must be a list of {label, values}");
      c.scope.coordinators.clear();
      for (size_t i = 0; i < roles.size(); ++i) {
        Mapping m(roles[i], s->path("coordinators") + "[" + std::to_string(i) + "]");
        m.checkKeys({"label", "values"});
        WebhookConfig::Scope::Role role;
        m.string("label", role.label);
        m.strings("values", role.values);
        if (role.label.empty()) fail(m.path("label"), roles[i], "must not be empty");
        if (role.values.empty()) fail(m.path("values"), roles[i], "must list at least one value");
        c.scope.coordinators.push_back(std::move(role));
      }
    }
  }
  if (auto s = root.section("budgets")) {
    s->checkKeys({"enabled", "refresh"});
    s->boolean("enabled", c.budgets.enabled);
    s->duration("refresh", c.budgets.refresh, kMinLedgerRefresh, kMaxLedgerRefresh);
  }
  return c;
}

}  // namespace

Result<WebhookConfig> parseWebhookConfig(const YAML::Node& node) {
  try {
    return parse(node);
  } catch (const ConfigError& e) {
    return makeError("invalid", e.message);
  } catch (const YAML::Exception& e) {
    return makeError("invalid", std::string("webhook: ") + e.what());
  }
}

Result<WebhookConfig> parseWebhookConfigText(std::string_view yaml) {
  YAML::Node doc;
  try {
    auto loaded = kube::yaml::load(yaml);
    if (!loaded.ok()) return makeError("invalid", "config: " + loaded.error().message);
    doc = *loaded;
  } catch (const YAML::Exception& e) {
    return makeError("invalid", std::string("config is not valid YAML: ") + e.what());
  }
  if (!doc || doc.IsNull()) return WebhookConfig{};
  if (!doc.IsMap()) return makeError("invalid", "config must be a YAML mapping");
  return parseWebhookConfig(doc["webhook"]);
}

Result<WebhookConfig> loadWebhookConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "cannot read config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parseWebhookConfigText(ss.str());
  if (!r) return makeError(r.error().code, path + ": " + r.error().message);
  return r;
}

bool validIntOrPercent(std::string_view s) {
  if (s.empty()) return false;
  std::string_view digits = s.back() == '%' ? s.substr(0, s.size() - 1) : s;
  if (digits.empty() || digits.size() > 9) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  if (s.back() == '%') {
    int v = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), v);
    return v <= 100;
  }
  return true;
}

std::string requiredCapacityTerm(const WebhookConfig::Affinity& a, bool spot) {
  if (spot) return a.capacityTypeLabel + " In [" + a.spotValue + "]";
  if (a.onDemandValue.empty()) return a.capacityTypeLabel + " NotIn [" + a.spotValue + "]";
  return a.capacityTypeLabel + " In [" + a.onDemandValue + "]";
}

std::string_view disruptionProtection(const WebhookConfig& c) {
  if (c.disruption.protect != "auto") return c.disruption.protect;
  if (c.capacityPreset == "karpenter") return "karpenter";
  if (c.capacityPreset == "spotfit") return "none";
  return "cluster-autoscaler";  // eks, gke, aks: Cluster Autoscaler or the cloud's managed node groups
}

bool addsPodFailurePolicy(const WebhookConfig& c) {
  if (c.disruption.podFailurePolicy != "auto") return c.disruption.podFailurePolicy == "true";
  return c.capacityPreset != "spotfit";
}

bool spotCoolOffEnabled(const WebhookConfig& c) {
  if (c.interruption.enabled != "auto") return c.interruption.enabled == "true";
  return c.capacityPreset != "spotfit";
}

std::string_view capacityTypeName(CapacityType t) {
  switch (t) {
    case CapacityType::Spot:
      return "spot";
    case CapacityType::OnDemand:
      return "on-demand";
    case CapacityType::SpotPreferred:
      break;
  }
  return "spot-preferred";
}

std::optional<CapacityType> parseCapacityType(std::string_view s) {
  if (s == "spot-preferred") return CapacityType::SpotPreferred;
  if (s == "spot") return CapacityType::Spot;
  if (s == "on-demand") return CapacityType::OnDemand;
  return std::nullopt;
}

}  // namespace spotfit::webhook
