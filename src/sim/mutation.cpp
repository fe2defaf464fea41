// What admission does to a simulated job's pods. Strategies without spotfit's webhook get the pod as
// written (on-demand only); with it, the spotfit.io/* annotations decide capacity type, right-sizing and
// the checkpoint hook (see DESIGN.md, "Opt-in and annotations").

#include <cmath>

#include "placement/model.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

namespace {

pl::Resources toResources(const ResourceAmounts& r) {
  pl::Resources out;
  out.cpuMilli = r.cpuMilli;
  out.memory = r.memoryBytes;
  for (const auto& [k, v] : r.extended) out.set(k, v);
  return out;
}

std::string annotation(const std::map<std::string, std::string>& a, const std::string& key, const std::string& def) {
  auto it = a.find(key);
  return it == a.end() ? def : it->second;
}

// VPA-like target: observed usage plus a safety margin, rounded up to 10 millicores / 1 MiB.
int64_t rightSized(int64_t usage, double margin, int64_t granularity) {
  double v = static_cast<double>(usage) * (1.0 + margin);
  int64_t out = static_cast<int64_t>(std::ceil(v / static_cast<double>(granularity))) * granularity;
  return std::max<int64_t>(out, granularity);
}

}  // namespace

PodClass mutatePod(const Workload& w, const StrategyConfig& s, const WorkflowSpec& wf, const JobSpec& job,
                   const std::map<std::string, std::string>& ann) {
  PodClass cls;
  pl::PodInfo& p = cls.info;
  p.namespace_ = "default";
  p.name = wf.name + "-" + job.name;
  p.ownerKind = "Job";
  p.ownerName = job.name;
  p.hasController = true;
  p.workflow = annotation(ann, "spotfit.io/workflow", wf.name);
  for (const auto& [k, v] : ann) p.annotations[k] = v;
  for (const auto& [k, v] : job.nodeSelector) p.nodeSelector[k] = v;
  for (const auto& t : job.tolerations) {
    pl::Toleration tol;
    tol.key = t.key;
    tol.op = t.op == "Exists" ? pl::TolerationOperator::Exists : pl::TolerationOperator::Equal;
    tol.value = t.value;
    if (!t.effect.empty()) tol.effect = pl::parseTaintEffect(t.effect);
    p.tolerations.push_back(tol);
  }
  // A required GPU product is the user's constraint under every strategy (without spotfit it would be a
  // nodeSelector on nvidia.com/gpu.product).
  p.gpuProduct = annotation(ann, "spotfit.io/gpu-product", "");
  p.doNotDisrupt = annotation(ann, "spotfit.io/do-not-disrupt", "false") == "true";

  pl::Container c;
  c.name = "main";
  c.requests = toResources(job.requests);
  cls.usage = job.usage ? toResources(*job.usage) : c.requests;
  // Extended resources are used exactly as requested.
  for (const auto& [k, v] : c.requests.extended) cls.usage.set(k, v);

  if (s.spot) {
    std::string ct = annotation(ann, "spotfit.io/capacity-type", "spot-preferred");
    p.capacityPolicy = pl::parseCapacityPolicy(ct).value_or(pl::CapacityPolicy::SpotPreferred);
    if (p.capacityPolicy == pl::CapacityPolicy::SpotPreferred) p.preferredCapacityType = pl::CapacityType::Spot;
    cls.mutations.push_back("capacity-affinity");
  } else {
    p.capacityPolicy = pl::CapacityPolicy::OnDemand;
  }
  if (s.rightSize && job.usage && annotation(ann, "spotfit.io/right-size", "vpa") == "vpa") {
    const double margin = w.spotfit.rightSizeMargin;
    if (job.usage->cpuMilli > 0) c.requests.cpuMilli = rightSized(job.usage->cpuMilli, margin, 10);
    if (job.usage->memoryBytes > 0) c.requests.memory = rightSized(job.usage->memoryBytes, margin, 1 << 20);
    cls.mutations.push_back("requests");
  }
  if (s.checkpointHooks && annotation(ann, "spotfit.io/checkpoint", "") != "none") {
    cls.checkpointHook = true;
    cls.mutations.push_back("prestop-checkpoint");
  }
  cls.checkpointed = cls.checkpointHook && job.resumable;
  p.containers.push_back(c);
  cls.requests = pl::podRequests(p);
  return cls;
}

}  // namespace spotfit::sim
