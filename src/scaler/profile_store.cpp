#include "scaler/profile_store.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "kube/json.hpp"

namespace spotfit::scaler {

namespace {

using Writer = spotfit::kube::json::Writer<>;

void putString(Writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

void putRing(Writer& w, const profile::Ring& r) {
  w.StartArray();
  for (int64_t v : r.values()) w.Int64(v);
  w.EndArray();
}

std::string profileRow(const profile::ProfileKey& key, const profile::WorkflowProfile& p) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  putString(w, key.namespaceName);
  putString(w, key.workflow);
  w.Int64(p.runs);
  w.Int64(p.lastSeen);
  w.Int64(p.oomKills);
  putRing(w, p.durationSeconds);
  putRing(w, p.pods);
  putRing(w, p.peakConcurrency);
  putRing(w, p.arrivals);
  w.StartArray();
  for (const auto& c : p.containers) {
    w.StartArray();
    putString(w, c.name);
    w.Int64(c.requestCpuMilli);
    w.Int64(c.requestMemoryBytes);
    w.Int64(c.oomMemoryBytes);
    w.Int64(c.oomKills);
    putRing(w, c.cpuMilli);
    putRing(w, c.memoryBytes);
    w.EndArray();
  }
  w.EndArray();
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

bool readRing(const spotfit::kube::json::Value& v, profile::Ring& into) {
  if (!v.IsArray() || v.Size() > profile::kRing) return false;
  for (const auto& e : v.GetArray()) {
    if (!e.IsInt64()) return false;
    into.push(e.GetInt64());
  }
  return true;
}

std::string text(const spotfit::kube::json::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

}  // namespace

std::string profilesToJson(const profile::ProfileBook& book, size_t maxBytes) {
  std::vector<std::pair<int64_t, const std::pair<const profile::ProfileKey, profile::WorkflowProfile>*>> byRecency;
  for (const auto& entry : book.profiles()) byRecency.emplace_back(entry.second.lastSeen, &entry);
  std::stable_sort(byRecency.begin(), byRecency.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  static constexpr std::string_view kHead = R"({"version":1,"profiles":[)", kTail = "]}";
  std::string out(kHead);
  bool first = true;
  for (const auto& [seen, entry] : byRecency) {
    std::string row = profileRow(entry->first, entry->second);
    if (out.size() + row.size() + 1 + kTail.size() > maxBytes) continue;  // a smaller, older one may still fit
    if (!first) out += ',';
    out += row;
    first = false;
  }
  out += kTail;
  return out;
}

Result<profile::ProfileBook> profilesFromJson(std::string_view json, profile::ProfileLimits limits) {
  auto bad = [](const std::string& why) { return makeError("invalid", "workflow profiles: " + why); };
  spotfit::kube::json::Document d;
  if (Status parsed = kube::json::parseInto(d, json); !parsed) return bad(parsed.error().message);
  if (!d.IsObject() || !d.HasMember("version") || !d["version"].IsInt() || d["version"].GetInt() != 1) {
    return bad("unsupported version");
  }
  profile::ProfileBook book(limits);
  if (!d.HasMember("profiles")) return book;
  if (!d["profiles"].IsArray()) return bad("profiles is not a list");
  size_t index = 0;
  for (const auto& e : d["profiles"].GetArray()) {
    const std::string where = "malformed profile " + std::to_string(index++);
    if (!e.IsArray() || e.Size() != 10 || !e[0].IsString() || !e[1].IsString() || !e[2].IsInt64() || !e[3].IsInt64() ||
        !e[4].IsInt64() || !e[9].IsArray()) {
      return bad(where);
    }
    profile::WorkflowProfile p;
    p.runs = e[2].GetInt64();
    p.lastSeen = e[3].GetInt64();
    p.oomKills = e[4].GetInt64();
    if (!readRing(e[5], p.durationSeconds) || !readRing(e[6], p.pods) || !readRing(e[7], p.peakConcurrency) ||
        !readRing(e[8], p.arrivals)) {
      return bad(where + ": a series is not a list of at most " + std::to_string(profile::kRing) + " integers");
    }
    if (e[9].Size() > limits.maxContainers) return bad(where + ": too many containers");
    for (const auto& c : e[9].GetArray()) {
      if (!c.IsArray() || c.Size() != 7 || !c[0].IsString() || c[0].GetStringLength() == 0 ||
          c[0].GetStringLength() > limits.maxNameBytes || !c[1].IsInt64() || !c[2].IsInt64() || !c[3].IsInt64() ||
          !c[4].IsInt64()) {
        return bad(where + ": malformed container");
      }
      profile::ContainerProfile cp;
      cp.name = text(c[0]);
      cp.requestCpuMilli = c[1].GetInt64();
      cp.requestMemoryBytes = c[2].GetInt64();
      cp.oomMemoryBytes = c[3].GetInt64();
      cp.oomKills = c[4].GetInt64();
      if (!readRing(c[5], cp.cpuMilli) || !readRing(c[6], cp.memoryBytes)) {
        return bad(where + ": container " + cp.name + ": a series is not a list of at most " +
                   std::to_string(profile::kRing) + " integers");
      }
      p.containers.push_back(std::move(cp));
    }
    book.restore({text(e[0]), text(e[1])}, std::move(p));  // names over the limits are dropped, not refused
  }
  return book;
}

Result<std::optional<std::string>> ConfigMapProfileStore::load() {
  return configMap_.loadKey(kProfilesKey);
}

Status ConfigMapProfileStore::save(const std::string& json) {
  return configMap_.writeData(std::string("{\"") + kProfilesKey + "\":" + kube::json::quoted(json) + "}");
}

Status StoredProfiles::refresh() {
  auto loaded = store_.load();
  if (!loaded) return loaded.error();
  auto book = std::make_shared<profile::ProfileBook>(limits_);
  if (*loaded) {
    auto decoded = profilesFromJson(**loaded, limits_);
    if (!decoded) return decoded.error();
    *book = std::move(*decoded);
  }
  std::unique_lock lock(mu_);
  book_ = std::move(book);
  return {};
}

std::shared_ptr<const profile::ProfileBook> StoredProfiles::book() const {
  std::shared_lock lock(mu_);
  return book_;
}

}  // namespace spotfit::scaler

namespace spotfit::scaler {

namespace {

std::string cpuText(int64_t milli) {
  if (milli <= 0) return "-";
  return milli % 1000 == 0 ? std::to_string(milli / 1000) : std::to_string(milli) + "m";
}

std::string memoryText(int64_t bytes) {
  if (bytes <= 0) return "-";
  constexpr int64_t kMi = int64_t{1} << 20;
  if (bytes % (kMi * 1024) == 0) return std::to_string(bytes / (kMi * 1024)) + "Gi";
  return std::to_string((bytes + kMi - 1) / kMi) + "Mi";
}

template <typename Row>
void eachProfile(const profile::ProfileBook& book, const profile::RightSizeConfig& cfg, std::string_view ns,
                 Row&& row) {
  for (const auto& [key, p] : book.profiles()) {
    if (!ns.empty() && key.namespaceName != ns) continue;
    row(key, p, profile::recommend(p, cfg));
  }
}

const profile::ContainerRequests* wanted(const std::vector<profile::ContainerRequests>& r, const std::string& name) {
  for (const auto& c : r) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

std::string profilesTable(const profile::ProfileBook& book, const profile::RightSizeConfig& cfg,
                          std::string_view namespaceFilter) {
  std::vector<std::vector<std::string>> rows{{"NAMESPACE", "WORKFLOW", "RUNS", "DURATION", "PODS", "PEAK", "OOM",
                                              "CONTAINER", "CPU-P95", "MEM-PEAK", "REQUESTS", "WOULD-REQUEST"}};
  eachProfile(book, cfg, namespaceFilter, [&](const auto& key, const auto& p, const auto& rec) {
    const std::vector<std::string> head{
        key.namespaceName,
        key.workflow,
        std::to_string(p.runs),
        p.durationSeconds.empty() ? "-" : std::to_string(p.durationSeconds.quantile(0.5)) + "s",
        std::to_string(p.pods.max()),
        std::to_string(p.peakConcurrency.max()),
        std::to_string(p.oomKills)};
    if (p.containers.empty()) {
      auto r = head;
      for (int i = 0; i < 5; ++i) r.emplace_back("-");
      rows.push_back(std::move(r));
    }
    for (const auto& c : p.containers) {
      auto r = head;
      const auto* w = wanted(rec, c.name);
      r.push_back(c.name);
      r.push_back(cpuText(c.cpuMilli.quantile(cfg.cpuQuantile)));
      r.push_back(memoryText(c.memoryBytes.max()));
      r.push_back(cpuText(c.requestCpuMilli) + "/" + memoryText(c.requestMemoryBytes));
      r.push_back(!w ? std::string("-")
                     : (w->cpuMilli ? cpuText(*w->cpuMilli) : "-") + "/" +
                           (w->memoryBytes ? memoryText(*w->memoryBytes) : "-"));
      rows.push_back(std::move(r));
    }
  });
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

std::string profilesReportJson(const profile::ProfileBook& book, const profile::RightSizeConfig& cfg,
                               std::string_view namespaceFilter) {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("profiles");
  w.StartArray();
  eachProfile(book, cfg, namespaceFilter, [&](const auto& key, const auto& p, const auto& rec) {
    w.StartObject();
    w.Key("namespace");
    putString(w, key.namespaceName);
    w.Key("workflow");
    putString(w, key.workflow);
    w.Key("runs");
    w.Int64(p.runs);
    w.Key("durationSecondsP50");
    w.Int64(p.durationSeconds.quantile(0.5));
    w.Key("podsMax");
    w.Int64(p.pods.max());
    w.Key("peakConcurrencyMax");
    w.Int64(p.peakConcurrency.max());
    w.Key("oomKills");
    w.Int64(p.oomKills);
    w.Key("lastSeen");
    w.Int64(p.lastSeen);
    w.Key("containers");
    w.StartArray();
    for (const auto& c : p.containers) {
      w.StartObject();
      w.Key("name");
      putString(w, c.name);
      w.Key("cpuMilliP95");
      w.Int64(c.cpuMilli.quantile(cfg.cpuQuantile));
      w.Key("memoryBytesPeak");
      w.Int64(c.memoryBytes.max());
      w.Key("requestCpuMilli");
      w.Int64(c.requestCpuMilli);
      w.Key("requestMemoryBytes");
      w.Int64(c.requestMemoryBytes);
      w.Key("oomMemoryBytes");
      w.Int64(c.oomMemoryBytes);
      if (const auto* want = wanted(rec, c.name)) {
        if (want->cpuMilli) {
          w.Key("wouldRequestCpuMilli");
          w.Int64(*want->cpuMilli);
        }
        if (want->memoryBytes) {
          w.Key("wouldRequestMemoryBytes");
          w.Int64(*want->memoryBytes);
        }
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
  w.EndArray();
  w.EndObject();
  std::string out(buf.GetString(), buf.GetSize());
  out += '\n';
  return out;
}

}  // namespace spotfit::scaler
