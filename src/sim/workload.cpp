#include "sim/workload.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "base/duration.hpp"
#include "base/vocabulary.hpp"
#include "kube/yaml.hpp"
#include "placement/cron.hpp"
#include "placement/quantity.hpp"
#include "scaler/prewarm.hpp"

namespace spotfit::sim {

std::string formatDuration(Millis ms) {
  std::ostringstream o;
  if (ms < 0) {
    o << "-";
    ms = -ms;
  }
  if (ms < kSecond) {
    o << ms << "ms";
    return o.str();
  }
  if (ms < kMinute) {
    o.setf(std::ios::fixed);
    o.precision(ms % kSecond ? 1 : 0);
    o << static_cast<double>(ms) / kSecond << "s";
    return o.str();
  }
  Millis h = ms / kHour, m = (ms % kHour) / kMinute, s = (ms % kMinute) / kSecond;
  if (h) o << h << "h";
  if (m) o << m << "m";
  if (s && !h) o << s << "s";
  if (!h && !m && !s) o << "0s";
  return o.str();
}

namespace {

// Thrown inside the parser only; converted to an Error at the boundary.
struct SchemaError {
  std::string message;
};

class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, const std::string& source, int fallbackLine = -1)
      : node_(node), path_(std::move(path)), source_(source) {
    line0_ = node_.IsDefined() && node_.Mark().line >= 0 ? node_.Mark().line : fallbackLine;
  }

  [[noreturn]] void fail(const std::string& what) const { failLine(line0_, path_, what); }
  [[noreturn]] void failAt(const YAML::Node& n, const std::string& path, const std::string& what) const {
    failLine(n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line : line0_, path, what);
  }
  [[noreturn]] void failLine(int line0, const std::string& path, const std::string& what) const {
    std::ostringstream o;
    o << source_;
    if (line0 >= 0) o << ":" << line0 + 1;
    o << ": " << (path.empty() ? "(top level)" : path) << ": " << what;
    throw SchemaError{o.str()};
  }

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  int line() const { return line0_ + 1; }

  // Mapping with a fixed set of keys: unknown keys are errors.
  void expectMap(std::initializer_list<const char*> allowed) const {
    if (!node_.IsMap()) fail("expected a mapping");
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node_) {
      std::string key = kv.first.Scalar();
      if (!ok.count(key)) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        failAt(kv.first, child(key), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  bool has(const char* key) const {
    const YAML::Node& n = node_;
    return n.IsMap() && n[key].IsDefined() && !n[key].IsNull();
  }

  Reader operator[](const char* key) const {
    const YAML::Node& n = node_;
    return Reader(n.IsMap() ? n[key] : YAML::Node(), child(key), source_, line0_);
  }
  Reader at(size_t i) const {
    const YAML::Node& n = node_;
    return Reader(n[i], path_ + "[" + std::to_string(i) + "]", source_, line0_);
  }
  std::string child(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  std::string str() const {
    if (!node_.IsScalar()) fail("expected a string");
    return node_.Scalar();
  }
  std::string nonEmptyStr() const {
    std::string s = str();
    if (s.empty()) fail("must not be empty");
    return s;
  }
  double number(double min, double max) const {
    std::string s = str();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) fail("expected a number, got '" + s + "'");
    if (v < min || v > max) {
      std::ostringstream o;
      o << "must be between " << min << " and " << max << ", got " << s;
      fail(o.str());
    }
    return v;
  }
  int64_t integer(int64_t min, int64_t max) const {
    std::string s = str();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) fail("expected a whole number, got '" + s + "'");
    if (v < min || v > max)
      fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    return v;
  }
  bool boolean() const {
    std::string s = str();
    if (s == "true") return true;
    if (s == "false") return false;
    fail("expected true or false, got '" + s + "'");
  }
  Millis duration() const {
    auto d = base::parseDuration(str());
    if (!d) fail("bad duration '" + str() + "' (use e.g. 90s, 15m, 2h, 1h30m, 2d)");
    return d->count();
  }
  size_t seqSize() const {
    if (!node_.IsSequence()) fail("expected a list");
    return node_.size();
  }
  std::map<std::string, std::string> stringMap() const {
    if (!node_.IsMap()) fail("expected a mapping of strings");
    std::map<std::string, std::string> out;
    for (const auto& kv : node_) {
      std::string key = kv.first.Scalar();
      if (!kv.second.IsScalar()) failAt(kv.second, child(key), "expected a string");
      out[key] = kv.second.Scalar();
    }
    return out;
  }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  int line0_ = -1;
};

ResourceAmounts readResources(const Reader& r) {
  if (!r.node().IsMap()) r.fail("expected a mapping of resource name to quantity (cpu, memory, nvidia.com/gpu, ...)");
  ResourceAmounts out;
  for (const auto& kv : r.node()) {
    std::string key = kv.first.Scalar();
    Reader vr = r[key.c_str()];
    std::string text = vr.str();
    if (key == "cpu") {
      auto q = placement::parseMilli(text);
      if (!q) vr.fail(q.error().message);
      out.cpuMilli = *q;
    } else if (key == "memory") {
      auto q = placement::parseValue(text);
      if (!q) vr.fail(q.error().message);
      out.memoryBytes = *q;
    } else if (key.find('/') != std::string::npos) {
      auto q = placement::parseValue(text);
      if (!q) vr.fail(q.error().message);
      out.extended[key] = *q;
    } else {
      vr.fail("unknown resource (use cpu, memory or an extended resource such as nvidia.com/gpu)");
    }
    if (out.cpuMilli < 0 || out.memoryBytes < 0) vr.fail("must not be negative");
  }
  return out;
}

DurationDist readDurationDist(const Reader& r) {
  DurationDist d;
  if (r.node().IsScalar()) {
    d.kind = DurationDist::Kind::Fixed;
    d.a = r.duration();
    if (d.a <= 0) r.fail("must be positive");
    return d;
  }
  r.expectMap({"fixed", "min", "max", "mean", "stddev", "distribution"});
  std::string kind = r.has("distribution") ? r["distribution"].str() : "";
  if (kind.empty()) {
    if (r.has("fixed"))
      kind = "fixed";
    else if (r.has("min") || r.has("max"))
      kind = "uniform";
    else if (r.has("stddev"))
      kind = "lognormal";
    else if (r.has("mean"))
      kind = "exponential";
    else
      r.fail("give a duration (\"5m\"), or fixed, min+max, mean+stddev (lognormal) or mean (exponential)");
  }
  if (kind == "fixed") {
    d.kind = DurationDist::Kind::Fixed;
    if (!r.has("fixed")) r.fail("distribution fixed needs 'fixed'");
    d.a = r["fixed"].duration();
  } else if (kind == "uniform") {
    d.kind = DurationDist::Kind::Uniform;
    if (!r.has("min") || !r.has("max")) r.fail("distribution uniform needs 'min' and 'max'");
    d.a = r["min"].duration();
    d.b = r["max"].duration();
    if (d.b < d.a) r["max"].fail("must not be below min");
  } else if (kind == "lognormal") {
    d.kind = DurationDist::Kind::LogNormal;
    if (!r.has("mean") || !r.has("stddev")) r.fail("distribution lognormal needs 'mean' and 'stddev'");
    d.a = r["mean"].duration();
    d.b = r["stddev"].duration();
  } else if (kind == "exponential") {
    d.kind = DurationDist::Kind::Exponential;
    if (!r.has("mean")) r.fail("distribution exponential needs 'mean'");
    d.a = r["mean"].duration();
  } else {
    r["distribution"].fail("unknown distribution '" + kind + "' (fixed, uniform, lognormal, exponential)");
  }
  if (d.a <= 0) r.fail("durations must be positive");
  return d;
}

std::vector<Toleration> readTolerations(const Reader& r) {
  std::vector<Toleration> out;
  for (size_t i = 0; i < r.seqSize(); ++i) {
    Reader t = r.at(i);
    t.expectMap({"key", "operator", "value", "effect"});
    Toleration tol;
    if (t.has("key")) tol.key = t["key"].str();
    if (t.has("operator")) {
      tol.op = t["operator"].str();
      if (tol.op != "Equal" && tol.op != "Exists") t["operator"].fail("must be Equal or Exists");
    }
    if (t.has("value")) tol.value = t["value"].str();
    if (t.has("effect")) {
      tol.effect = t["effect"].str();
      if (tol.effect != "NoSchedule" && tol.effect != "PreferNoSchedule" && tol.effect != "NoExecute")
        t["effect"].fail("must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    if (tol.key.empty() && tol.op != "Exists") t.fail("a toleration without a key must use operator Exists");
    out.push_back(tol);
  }
  return out;
}

const std::set<std::string>& knownAnnotations() {
  static const std::set<std::string> k = {vocab::kAnnotationCapacityType,
                                          vocab::kAnnotationWorkflow,
                                          vocab::kAnnotationBudget,
                                          vocab::kAnnotationBudgetAction,
                                          vocab::kAnnotationCheckpoint,
                                          vocab::kAnnotationMinAvailable,
                                          vocab::kAnnotationRightSize,
                                          vocab::kAnnotationGpuProduct,
                                          vocab::kAnnotationDoNotDisrupt,
                                          vocab::kAnnotationGang,
                                          vocab::kAnnotationGangSize,
                                          vocab::kAnnotationGangTopology,
                                          vocab::kAnnotationGangMixedCapacity,
                                          vocab::kAnnotationExpectedDuration,
                                          vocab::kAnnotationPrewarm};
  return k;
}

std::map<std::string, std::string> readAnnotations(const Reader& r) {
  auto m = r.stringMap();
  for (const auto& [k, v] : m) {
    Reader vr = r[k.c_str()];
    if (k.rfind(vocab::kPrefix, 0) == 0 && !knownAnnotations().count(k)) vr.fail("unknown spotfit annotation");
    if (k == vocab::kAnnotationCapacityType && v != "spot-preferred" && v != "spot" && v != "on-demand")
      vr.fail("must be spot-preferred, spot or on-demand, got '" + v + "'");
    if (k == vocab::kAnnotationRightSize && v != "profile" && v != "vpa" && v != "off") {
      vr.fail("must be profile, vpa or off, got '" + v + "'");
    }
    if (k == vocab::kAnnotationPrewarm) {
      if (auto s = scaler::parsePrewarm(v); !s) vr.fail(s.error().message);
    }
    if (k == vocab::kAnnotationDoNotDisrupt && v != "true" && v != "false")
      vr.fail("must be true or false, got '" + v + "'");
    if (k == vocab::kAnnotationExpectedDuration) {
      auto d = base::parseDuration(v);
      if (!d) vr.fail(d.error().message);
      if (d->count() <= 0) vr.fail("must be positive");
    }
  }
  return m;
}

InstanceTypeSpec readInstanceType(const Reader& r) {
  r.expectMap({"name", "cpu", "memory", "gpus", "gpuProduct", "maxPods", "onDemandPrice", "spotPrice", "extended"});
  InstanceTypeSpec t;
  for (const char* req : {"name", "cpu", "memory", "onDemandPrice"})
    if (!r.has(req)) r.fail(std::string("missing required key '") + req + "'");
  t.name = r["name"].nonEmptyStr();
  {
    auto q = placement::parseMilli(r["cpu"].str());
    if (!q) r["cpu"].fail(q.error().message);
    if (*q <= 0) r["cpu"].fail("must be positive");
    t.cpuMilli = *q;
  }
  {
    auto q = placement::parseValue(r["memory"].str());
    if (!q) r["memory"].fail(q.error().message);
    if (*q <= 0) r["memory"].fail("must be positive");
    t.memoryBytes = *q;
  }
  if (r.has("gpus")) t.gpus = r["gpus"].integer(0, 64);
  if (r.has("gpuProduct")) t.gpuProduct = r["gpuProduct"].str();
  if (r.has("maxPods")) t.maxPods = r["maxPods"].integer(1, 10000);
  t.onDemandPrice = r["onDemandPrice"].number(0.0001, 1e6);
  if (r.has("spotPrice")) t.spotPrice = r["spotPrice"].number(0.0001, 1e6);
  if (r.has("extended")) {
    Reader e = r["extended"];
    auto m = e.stringMap();
    for (const auto& [k, v] : m) {
      auto q = placement::parseValue(v);
      if (!q) e[k.c_str()].fail(q.error().message);
      t.extended[k] = *q;
    }
  }
  return t;
}

NodePoolSpec readPool(const Reader& r) {
  r.expectMap({"name", "capacityTypes", "min", "max", "labels", "taints", "instanceTypes"});
  NodePoolSpec p;
  if (!r.has("name")) r.fail("missing required key 'name'");
  p.name = r["name"].nonEmptyStr();
  if (r.has("capacityTypes")) {
    Reader c = r["capacityTypes"];
    p.spot = p.onDemand = false;
    for (size_t i = 0; i < c.seqSize(); ++i) {
      std::string v = c.at(i).str();
      if (v == "spot")
        p.spot = true;
      else if (v == "on-demand")
        p.onDemand = true;
      else
        c.at(i).fail("must be spot or on-demand, got '" + v + "'");
    }
    if (!p.spot && !p.onDemand) c.fail("must name at least one capacity type");
  }
  if (r.has("min")) p.minNodes = r["min"].integer(0, 100000);
  if (r.has("max")) p.maxNodes = r["max"].integer(0, 100000);
  if (p.maxNodes < p.minNodes) r["max"].fail("must not be below min");
  if (r.has("labels")) p.labels = r["labels"].stringMap();
  if (r.has("taints")) {
    Reader ts = r["taints"];
    for (size_t i = 0; i < ts.seqSize(); ++i) {
      Reader t = ts.at(i);
      t.expectMap({"key", "value", "effect"});
      Taint taint;
      if (!t.has("key")) t.fail("missing required key 'key'");
      taint.key = t["key"].nonEmptyStr();
      if (t.has("value")) taint.value = t["value"].str();
      taint.effect = t.has("effect") ? t["effect"].str() : "NoSchedule";
      if (taint.effect != "NoSchedule" && taint.effect != "PreferNoSchedule" && taint.effect != "NoExecute")
        t["effect"].fail("must be NoSchedule, PreferNoSchedule or NoExecute");
      p.taints.push_back(taint);
    }
  }
  if (!r.has("instanceTypes")) r.fail("missing required key 'instanceTypes'");
  Reader its = r["instanceTypes"];
  if (its.seqSize() == 0) its.fail("must list at least one instance type");
  std::set<std::string> seen;
  for (size_t i = 0; i < its.seqSize(); ++i) {
    InstanceTypeSpec t = readInstanceType(its.at(i));
    if (!seen.insert(t.name).second) its.at(i)["name"].fail("duplicate instance type '" + t.name + "' in this pool");
    p.instanceTypes.push_back(t);
  }
  if (p.spot && !p.onDemand) {
    for (size_t i = 0; i < p.instanceTypes.size(); ++i)
      if (!p.instanceTypes[i].spotPrice) its.at(i).fail("a spot-only pool needs spotPrice on every instance type");
  }
  return p;
}

JobSpec readJob(const Reader& r) {
  r.expectMap({"name", "parallelism", "completions", "after", "duration", "requests", "usage", "annotations", "labels",
               "nodeSelector", "tolerations", "resumable"});
  JobSpec j;
  j.line = r.line();
  for (const char* req : {"name", "duration", "requests"})
    if (!r.has(req)) r.fail(std::string("missing required key '") + req + "'");
  j.name = r["name"].nonEmptyStr();
  if (r.has("completions")) j.completions = r["completions"].integer(1, 1'000'000);
  j.parallelism = r.has("parallelism") ? r["parallelism"].integer(1, 1'000'000) : j.completions;
  if (r.has("after")) {
    Reader a = r["after"];
    for (size_t i = 0; i < a.seqSize(); ++i) j.after.push_back(a.at(i).nonEmptyStr());
  }
  j.duration = readDurationDist(r["duration"]);
  j.requests = readResources(r["requests"]);
  if (j.requests.cpuMilli == 0 && j.requests.memoryBytes == 0 && j.requests.extended.empty())
    r["requests"].fail("must request at least one resource");
  if (r.has("usage")) {
    Reader u = r["usage"];
    j.usage = readResources(u);
    for (const auto& [k, v] : j.usage->extended) {
      (void)v;
      if (!j.requests.extended.count(k)) u[k.c_str()].fail("usage names a resource the job does not request");
    }
  }
  if (r.has("annotations")) j.annotations = readAnnotations(r["annotations"]);
  if (r.has("labels")) j.labels = r["labels"].stringMap();
  if (r.has("nodeSelector")) j.nodeSelector = r["nodeSelector"].stringMap();
  if (r.has("tolerations")) j.tolerations = readTolerations(r["tolerations"]);
  if (r.has("resumable")) j.resumable = r["resumable"].boolean();
  return j;
}

ArrivalSpec readArrival(const Reader& r, Millis horizon) {
  r.expectMap({"at", "every", "start", "until", "diurnal", "cron"});
  ArrivalSpec a;
  int kinds = 0;
  if (r.has("at")) {
    ++kinds;
    Reader at = r["at"];
    for (size_t i = 0; i < at.seqSize(); ++i) {
      Millis t = at.at(i).duration();
      if (t > horizon) at.at(i).fail("arrival after the horizon (" + formatDuration(horizon) + ")");
      a.at.push_back(t);
    }
    std::sort(a.at.begin(), a.at.end());
  }
  if (r.has("every")) {
    ++kinds;
    a.every = r["every"].duration();
    if (*a.every <= 0) r["every"].fail("must be positive");
    if (r.has("start")) a.everyStart = r["start"].duration();
    if (r.has("until")) a.everyUntil = r["until"].duration();
  } else if (r.has("start") || r.has("until")) {
    r.fail("'start' and 'until' go with 'every'");
  }
  if (r.has("diurnal")) {
    ++kinds;
    Reader d = r["diurnal"];
    d.expectMap({"perHour", "peakHour", "amplitude"});
    if (!d.has("perHour")) d.fail("missing required key 'perHour'");
    a.diurnalPerHour = d["perHour"].number(0, 1e6);
    if (d.has("peakHour")) a.diurnalPeakHour = d["peakHour"].number(0, 24);
    if (d.has("amplitude")) a.diurnalAmplitude = d["amplitude"].number(0, 1);
  }
  if (r.has("cron")) {
    ++kinds;
    a.cron = r["cron"].str();
    if (auto s = placement::parseCron(*a.cron); !s) r["cron"].fail(s.error().message);
  }
  if (kinds == 0) r.fail("give one of: at (list of times), every (period), diurnal (rate), cron (schedule)");
  if (kinds > 1) r.fail("give only one of: at, every, diurnal, cron");
  return a;
}

// How many times a workflow arrives within the horizon (diurnal: the expected count at the peak rate).
double arrivalsBound(const ArrivalSpec& a, Millis horizon) {
  double n = static_cast<double>(a.at.size());
  if (a.every) {
    const Millis until = std::min(a.everyUntil.value_or(horizon), horizon);
    if (until >= a.everyStart) n += static_cast<double>((until - a.everyStart) / *a.every + 1);
  }
  if (a.diurnalPerHour)
    n += *a.diurnalPerHour * (1 + a.diurnalAmplitude) * static_cast<double>(horizon) / static_cast<double>(kHour);
  if (a.cron) n += static_cast<double>(cronArrivals(*a.cron, horizon, static_cast<size_t>(kMaxTasks) + 1).size());
  return n;
}

WorkflowSpec readWorkflow(const Reader& r, Millis horizon) {
  r.expectMap({"name", "arrival", "annotations", "jobs"});
  WorkflowSpec w;
  for (const char* req : {"name", "arrival", "jobs"})
    if (!r.has(req)) r.fail(std::string("missing required key '") + req + "'");
  w.name = r["name"].nonEmptyStr();
  w.arrival = readArrival(r["arrival"], horizon);
  if (r.has("annotations")) w.annotations = readAnnotations(r["annotations"]);
  Reader js = r["jobs"];
  if (js.seqSize() == 0) js.fail("must list at least one job");
  std::set<std::string> names;
  for (size_t i = 0; i < js.seqSize(); ++i) {
    JobSpec j = readJob(js.at(i));
    if (!names.insert(j.name).second) js.at(i)["name"].fail("duplicate job name '" + j.name + "'");
    w.jobs.push_back(std::move(j));
  }
  // Dependencies name earlier jobs only: that rules out cycles and unknown names in one check.
  std::set<std::string> earlier;
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    for (size_t k = 0; k < w.jobs[i].after.size(); ++k) {
      if (!earlier.count(w.jobs[i].after[k]))
        js.at(i)["after"].at(k).fail("'" + w.jobs[i].after[k] + "' is not an earlier job of this workflow");
    }
    earlier.insert(w.jobs[i].name);
  }
  return w;
}

void checkSchedulable(const Workload& w, const Reader& root) {
  // A job whose pods fit no instance type of any pool can never run: say so now rather than report every
  // task as lost after a day of simulated time.
  Reader wfs = root["workflows"];
  for (size_t i = 0; i < w.workflows.size(); ++i) {
    for (size_t k = 0; k < w.workflows[i].jobs.size(); ++k) {
      const JobSpec& j = w.workflows[i].jobs[k];
      bool fits = false;
      for (const auto& p : w.nodePools)
        for (const auto& t : p.instanceTypes) {
          bool ok = j.requests.cpuMilli <= t.cpuMilli && j.requests.memoryBytes <= t.memoryBytes;
          for (const auto& [name, n] : j.requests.extended) {
            int64_t have = name == "nvidia.com/gpu" ? t.gpus : (t.extended.count(name) ? t.extended.at(name) : 0);
            if (n > have) ok = false;
          }
          fits = fits || ok;
        }
      if (!fits)
        wfs.at(i)["jobs"].at(k)["requests"].fail(
            "no instance type of any node pool is large enough for this job's pods");
    }
  }
}

Workload readWorkload(const YAML::Node& rootNode, const std::string& source) {
  Reader r(rootNode, "", source);
  if (!rootNode.IsMap()) r.fail("expected a mapping with nodePools and workflows");
  r.expectMap({"apiVersion", "kind", "horizon", "drainLimit", "sampleInterval", "seed", "provisioning", "nodePools",
               "spotMarket", "checkpoint", "clusterAutoscaler", "spotfit", "karpenter", "workflows"});
  Workload w;
  w.source = source;
  if (r.has("apiVersion") && r["apiVersion"].str() != vocab::kApiVersion)
    r["apiVersion"].fail(std::string("must be ") + vocab::kApiVersion);
  if (r.has("kind") && r["kind"].str() != "Simulation") r["kind"].fail("must be Simulation");
  if (r.has("horizon")) w.horizon = r["horizon"].duration();
  if (w.horizon <= 0 || w.horizon > 366 * 24 * kHour) r["horizon"].fail("must be between 1ms and 366d");
  if (r.has("drainLimit")) w.drainLimit = r["drainLimit"].duration();
  if (r.has("sampleInterval")) w.sampleInterval = r["sampleInterval"].duration();
  if (w.sampleInterval < kSecond) r["sampleInterval"].fail("must be at least 1s");
  if (w.drainLimit < 0 || w.drainLimit > 366 * 24 * kHour) r["drainLimit"].fail("must be between 0s and 366d");
  if (const int64_t samples = (w.horizon + w.drainLimit) / w.sampleInterval + 1; samples > kMaxSamples) {
    const Millis finest = (w.horizon + w.drainLimit + kMaxSamples - 2) / (kMaxSamples - 1);
    r["sampleInterval"].fail("horizon + drainLimit (" + formatDuration(w.horizon + w.drainLimit) + ") at " +
                             formatDuration(w.sampleInterval) + " is " + std::to_string(samples) +
                             " samples; at most " + std::to_string(kMaxSamples) +
                             " (use a sampleInterval of at least " +
                             formatDuration((finest + kSecond - 1) / kSecond * kSecond) + ")");
  }
  if (r.has("seed")) w.seed = static_cast<uint64_t>(r["seed"].integer(0, INT64_MAX));
  if (r.has("provisioning")) {
    Reader p = r["provisioning"];
    p.expectMap({"delay", "jitter", "podStartup"});
    if (p.has("delay")) w.provisioning.delay = p["delay"].duration();
    if (p.has("jitter")) w.provisioning.jitter = p["jitter"].duration();
    if (p.has("podStartup")) w.provisioning.podStartup = p["podStartup"].duration();
  }
  if (!r.has("nodePools")) r.fail("missing required key 'nodePools'");
  Reader pools = r["nodePools"];
  if (pools.seqSize() == 0) pools.fail("must list at least one node pool");
  std::set<std::string> poolNames;
  for (size_t i = 0; i < pools.seqSize(); ++i) {
    NodePoolSpec p = readPool(pools.at(i));
    if (!poolNames.insert(p.name).second) pools.at(i)["name"].fail("duplicate node pool '" + p.name + "'");
    w.nodePools.push_back(std::move(p));
  }
  if (r.has("spotMarket")) {
    Reader s = r["spotMarket"];
    s.expectMap({"interruptionsPerHour", "notice", "unavailable"});
    if (s.has("interruptionsPerHour")) {
      Reader ir = s["interruptionsPerHour"];
      if (ir.node().IsScalar()) {
        w.spotMarket.defaultInterruptionsPerHour = ir.number(0, 1000);
      } else {
        if (!ir.node().IsMap()) ir.fail("expected a number or a mapping of instance type to rate");
        for (const auto& kv : ir.node()) {
          std::string k = kv.first.Scalar();
          double v = ir[k.c_str()].number(0, 1000);
          if (k == "default")
            w.spotMarket.defaultInterruptionsPerHour = v;
          else
            w.spotMarket.interruptionsPerHour[k] = v;
        }
      }
    }
    if (s.has("notice")) w.spotMarket.notice = s["notice"].duration();
    if (s.has("unavailable")) {
      Reader u = s["unavailable"];
      for (size_t i = 0; i < u.seqSize(); ++i) {
        Reader e = u.at(i);
        e.expectMap({"instanceType", "capacityType", "from", "to"});
        UnavailableWindow win;
        if (e.has("instanceType")) win.instanceType = e["instanceType"].nonEmptyStr();
        if (e.has("capacityType")) {
          win.capacityType = e["capacityType"].str();
          if (win.capacityType != "spot" && win.capacityType != "on-demand")
            e["capacityType"].fail("must be spot or on-demand");
        }
        if (!e.has("from") || !e.has("to")) e.fail("needs 'from' and 'to'");
        win.from = e["from"].duration();
        win.to = e["to"].duration();
        if (win.to <= win.from) e["to"].fail("must be after 'from'");
        w.spotMarket.unavailable.push_back(win);
      }
    }
  }
  if (r.has("checkpoint")) {
    Reader c = r["checkpoint"];
    c.expectMap({"saveTime", "lostWithCheckpoint", "lostWithoutCheckpoint"});
    if (c.has("saveTime")) w.checkpoint.saveTime = c["saveTime"].duration();
    if (c.has("lostWithCheckpoint")) w.checkpoint.lostWithCheckpoint = c["lostWithCheckpoint"].number(0, 1);
    if (c.has("lostWithoutCheckpoint")) w.checkpoint.lostWithoutCheckpoint = c["lostWithoutCheckpoint"].number(0, 1);
  }
  if (r.has("clusterAutoscaler")) {
    Reader c = r["clusterAutoscaler"];
    c.expectMap({"scanInterval", "maxNodeProvisionTime", "scaleDownUtilization", "scaleDownUnneededTime",
                 "scaleDownDelayAfterAdd", "backoff"});
    auto& ca = w.clusterAutoscaler;
    if (c.has("scanInterval")) ca.scanInterval = c["scanInterval"].duration();
    if (ca.scanInterval < 100) c["scanInterval"].fail("must be at least 100ms");
    if (c.has("maxNodeProvisionTime")) ca.maxNodeProvisionTime = c["maxNodeProvisionTime"].duration();
    if (c.has("scaleDownUtilization")) ca.scaleDownUtilization = c["scaleDownUtilization"].number(0, 1);
    if (c.has("scaleDownUnneededTime")) ca.scaleDownUnneededTime = c["scaleDownUnneededTime"].duration();
    if (c.has("scaleDownDelayAfterAdd")) ca.scaleDownDelayAfterAdd = c["scaleDownDelayAfterAdd"].duration();
    if (c.has("backoff")) ca.backoff = c["backoff"].duration();
  }
  if (r.has("spotfit")) {
    Reader c = r["spotfit"];
    c.expectMap({"batchIdle", "batchMax", "unavailableFor", "consolidateAfter", "consolidationInterval",
                 "interruptionThreshold", "interruptionWindow", "coolOff", "rightSizeMargin", "scaleDownCooldown",
                 "spotRisk"});
    auto& s = w.spotfit;
    if (c.has("batchIdle")) s.batchIdle = c["batchIdle"].duration();
    if (c.has("batchMax")) s.batchMax = c["batchMax"].duration();
    if (s.batchMax < s.batchIdle) c["batchMax"].fail("must not be below batchIdle");
    if (c.has("unavailableFor")) s.unavailableFor = c["unavailableFor"].duration();
    if (c.has("consolidateAfter")) s.consolidateAfter = c["consolidateAfter"].duration();
    if (c.has("consolidationInterval")) s.consolidationInterval = c["consolidationInterval"].duration();
    if (s.consolidationInterval < 100) c["consolidationInterval"].fail("must be at least 100ms");
    if (c.has("interruptionThreshold")) s.interruptionThreshold = c["interruptionThreshold"].integer(1, 1000000);
    if (c.has("interruptionWindow")) s.interruptionWindow = c["interruptionWindow"].duration();
    if (c.has("coolOff")) s.coolOff = c["coolOff"].duration();
    if (c.has("rightSizeMargin")) s.rightSizeMargin = c["rightSizeMargin"].number(0, 10);
    if (c.has("scaleDownCooldown")) s.scaleDownCooldown = c["scaleDownCooldown"].duration();
    if (c.has("spotRisk")) {
      Reader k = c["spotRisk"];
      k.expectMap(
          {"priorInterruptionsPerHour", "priorWeight", "defaultRuntime", "maxOfferingShare", "maxSpreadPremium"});
      if (k.has("maxSpreadPremium")) s.riskMaxSpreadPremium = k["maxSpreadPremium"].number(0, 100);
      if (k.has("priorInterruptionsPerHour")) s.riskPriorPerHour = k["priorInterruptionsPerHour"].number(0, 1000);
      if (k.has("priorWeight")) s.riskPriorWeight = k["priorWeight"].duration();
      if (k.has("defaultRuntime")) s.riskDefaultRuntime = k["defaultRuntime"].duration();
      if (k.has("maxOfferingShare")) {
        s.riskMaxOfferingShare = k["maxOfferingShare"].number(0, 1);
        if (s.riskMaxOfferingShare <= 0) k["maxOfferingShare"].fail("must be above 0");
      }
    }
  }
  if (r.has("karpenter")) {
    Reader c = r["karpenter"];
    c.expectMap({"batchIdle", "batchMax", "consolidateAfter", "disruptionInterval", "validation", "budgetNodes",
                 "unavailableFor", "spotToSpot"});
    auto& k = w.karpenter;
    if (c.has("batchIdle")) k.batchIdle = c["batchIdle"].duration();
    if (c.has("batchMax")) k.batchMax = c["batchMax"].duration();
    if (k.batchMax < k.batchIdle) c["batchMax"].fail("must not be below batchIdle");
    if (c.has("consolidateAfter")) k.consolidateAfter = c["consolidateAfter"].duration();
    if (c.has("disruptionInterval")) k.disruptionInterval = c["disruptionInterval"].duration();
    if (k.disruptionInterval < 100) c["disruptionInterval"].fail("must be at least 100ms");
    if (c.has("validation")) k.validation = c["validation"].duration();
    if (c.has("budgetNodes")) k.budgetNodes = c["budgetNodes"].number(0, 1);
    if (c.has("unavailableFor")) k.unavailableFor = c["unavailableFor"].duration();
    if (c.has("spotToSpot")) k.spotToSpot = c["spotToSpot"].boolean();
  }
  if (!r.has("workflows")) r.fail("missing required key 'workflows'");
  Reader wfs = r["workflows"];
  if (wfs.seqSize() == 0) wfs.fail("must list at least one workflow");
  std::set<std::string> wfNames;
  double tasks = 0;  // a double: arrivals × completions may overflow any integer before the check
  for (size_t i = 0; i < wfs.seqSize(); ++i) {
    WorkflowSpec wf = readWorkflow(wfs.at(i), w.horizon);
    if (!wfNames.insert(wf.name).second) wfs.at(i)["name"].fail("duplicate workflow '" + wf.name + "'");
    double perRun = 0;
    for (const auto& j : wf.jobs) perRun += static_cast<double>(j.completions);
    tasks += arrivalsBound(wf.arrival, w.horizon) * perRun;
    if (tasks > static_cast<double>(kMaxTasks)) {
      wfs.at(i).fail("the workload creates about " + std::to_string(static_cast<int64_t>(std::min(tasks, 1e18))) +
                     " tasks by this workflow; at most " + std::to_string(kMaxTasks) +
                     " (fewer arrivals, completions or a shorter horizon)");
    }
    w.workflows.push_back(std::move(wf));
  }
  checkSchedulable(w, r);
  return w;
}

}  // namespace

constexpr size_t kMaxWorkloadBytes = 16 * 1024 * 1024;

Result<Workload> parseWorkload(const std::string& yamlText, const std::string& source) {
  YAML::Node root;
  try {
    kube::yaml::YamlLimits limits;
    limits.maxBytes = kMaxWorkloadBytes;
    auto loaded = kube::yaml::load(yamlText, limits, source);
    if (!loaded.ok()) return loaded.error();
    root = *loaded;
  } catch (const YAML::Exception& e) {
    std::ostringstream o;
    o << source;
    if (e.mark.line >= 0) o << ":" << e.mark.line + 1;
    o << ": invalid YAML: " << e.msg;
    return makeError("invalid", o.str());
  }
  try {
    return readWorkload(root, source);
  } catch (const SchemaError& e) {
    return makeError("invalid", e.message);
  } catch (const YAML::Exception& e) {
    std::ostringstream o;
    o << source;
    if (e.mark.line >= 0) o << ":" << e.mark.line + 1;
    o << ": " << e.msg;
    return makeError("invalid", o.str());
  }
}

Result<Workload> loadWorkload(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > kMaxWorkloadBytes) return makeError("invalid", path + ": larger than 16 MiB");
  return parseWorkload(ss.str(), path);
}

}  // namespace spotfit::sim
