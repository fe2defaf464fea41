// Scaler::launch: one planned node from zone choice to in-flight model (launch.hpp).

#include "scaler/launch.hpp"

#include "scaler/scaler.hpp"

namespace spotfit::scaler {

namespace {
// How long a pool's capacity type is skipped after a provider error that is neither capacity nor quota.
constexpr Duration kLaunchErrorBackoff = std::chrono::seconds(30);
}  // namespace

const char* toString(LaunchFailureKind k) {
  switch (k) {
    case LaunchFailureKind::PoolGone:
      return "pool_gone";
    case LaunchFailureKind::NoProvider:
      return "no_provider";
    case LaunchFailureKind::NoZone:
      return "no_zone";
    case LaunchFailureKind::CostLimit:
      return "cost_limit";
    case LaunchFailureKind::ProviderError:
      break;
  }
  return "provider_error";
}

LaunchResult Scaler::launch(const LaunchSpec& spec, TimePoint now) {
  LaunchResult out;
  auto fail = [&](LaunchFailureKind kind, std::string message) {
    out.failure.kind = kind;
    out.failure.message = std::move(message);
    return out;
  };
  auto psIt = pools_.find(spec.pool);
  if (psIt == pools_.end() || !psIt->second.valid) {
    return fail(LaunchFailureKind::PoolGone, "pool " + spec.pool + " is gone or invalid");
  }
  const NodePool& pool = psIt->second.pool;
  const InstanceType* type = pool.instanceType(spec.instanceType);
  NodeProvider* provider = providerFor(pool);
  if (!type || !provider) {
    return fail(LaunchFailureKind::NoProvider, "pool " + spec.pool + " has no provider \"" + pool.provider.type + "\"");
  }
  std::string zone;
  if (spec.zone) {
    zone = *spec.zone;
  } else {
    bool found = false;
    for (const auto& z : pool.zones.empty() ? std::vector<std::string>{""} : pool.zones) {
      if (!unavailable_.unavailable({spec.pool, spec.instanceType, spec.capacityType, z}, now)) {
        zone = z;
        found = true;
        break;
      }
    }
    if (!found) {
      return fail(LaunchFailureKind::NoZone,
                  "no zone offers " + spec.instanceType + " " + std::string(toString(spec.capacityType)));
    }
  }
  if (spec.costBasis && pool.limits.costPerHour > 0) {
    double poolCost = 0;
    for (const auto& n : *spec.costBasis) {
      if (n.pool != spec.pool) continue;
      const InstanceType* t = pool.instanceType(n.instanceType);
      poolCost += n.hourlyPrice > 0 ? n.hourlyPrice : (t ? t->price(n.capacityType) : 0);
    }
    if (poolCost + type->price(spec.capacityType) > pool.limits.costPerHour + 1e-9) {
      return fail(LaunchFailureKind::CostLimit, "pool " + spec.pool + " would exceed its cost limit of " +
                                                    std::to_string(pool.limits.costPerHour) + " USD/h");
    }
  }
  out.requestedName = newNodeName(spec.pool, now);
  out.offering = spec.pool + "/" + spec.instanceType + "/" + std::string(toString(spec.capacityType)) +
                 (zone.empty() ? "" : "/" + zone);
  NodeTemplate tmpl = nodeTemplate(pool, *type, spec.capacityType, zone, out.requestedName);
  for (const auto& [k, v] : spec.labels) {
    tmpl.request.labels[k] = v;
    tmpl.model.labels[k] = v;
  }
  auto r = timedCreate(*provider, pool, tmpl.request);
  if (!r) {
    const ProviderErrorKind kind = providerErrorKind(r.error());
    switch (kind) {
      case ProviderErrorKind::InsufficientCapacity:  // this offering in this zone
        unavailable_.mark({spec.pool, spec.instanceType, spec.capacityType, zone}, now, r.error().message);
        break;
      case ProviderErrorKind::Quota:  // the pool's whole capacity type
        unavailable_.mark({spec.pool, "", spec.capacityType, ""}, now, r.error().message);
        break;
      case ProviderErrorKind::Other:  // the same, for a short while
        unavailable_.markUntil({spec.pool, "", spec.capacityType, ""}, now + kLaunchErrorBackoff, r.error().message);
        break;
    }
    out.failure.providerKind = kind;
    out.failure.providerMessage = r.error().message;
    return fail(LaunchFailureKind::ProviderError,
                "create " + out.offering + " failed (" + toString(kind) + "): " + r.error().message);
  }
  InFlightNode f;
  f.name = r->nodeName.empty() ? out.requestedName : r->nodeName;
  f.providerNamed = r->nodeName.empty();
  f.pool = spec.pool;
  f.instanceType = spec.instanceType;
  f.zone = zone;
  f.capacityType = spec.capacityType;
  f.createdAt = now;
  f.model = std::move(tmpl.model);
  f.model.name = f.name;
  f.podKeys = spec.podKeys;
  for (const auto* p : spec.pods) {
    for (const auto& [res, amount] : placement::podRequests(*p).extended) {
      if (amount > 0) f.extendedRequested.insert(res);
    }
  }
  out.node = std::move(f);
  return out;
}

}  // namespace spotfit::scaler
