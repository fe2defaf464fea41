// `spotfit serve --scaler`: runs the scaler's reconcile loop next to the webhook and the extender.
// The `scaler:` config section is parsed strictly at configure time (bad config stops serve with the
// key path and line); the loop starts after the listeners are up and stops before HTTP drains.
//
// Replicas campaign for the Lease `spotfit-scaler` in the scaler's namespace (kube::LeaderElector,
// client-go timing); only the leader runs the loop. Each leadership term starts a fresh Scaler that reads
// the cost ledger and the scaler's memory (unavailable offerings, interruption history, cool-offs) back
// from their ConfigMap and adopts nodes still booting. Nodes, Pods, PodDisruptionBudgets
// and NodePool objects come from kube informers (list+watch, started with serve on every replica so a new
// leader starts warm); each pass builds the snapshot from their stores, reconciles, and copies the
// scaler's metrics into the Prometheus registry. /readyz reports the informers' hasSynced; the leader
// does not reconcile before Nodes, Pods and PDBs are synced (a missing NodePool CRD means config pools only).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "cli/serve_plugins.hpp"
#include "kube/clock.hpp"
#include "kube/config.hpp"
#include "kube/informer.hpp"
#include "kube/leader.hpp"
#include "kube/rest_client.hpp"
#include "scaler/clusterapi_provider.hpp"
#include "scaler/cost_report.hpp"
#include "scaler/kube_actions.hpp"
#include "scaler/kube_budget.hpp"
#include "scaler/kube_cronjob.hpp"
#include "scaler/kube_provreq.hpp"
#include "scaler/kube_snapshot.hpp"
#include "scaler/kwok_provider.hpp"
#include "scaler/learner_term.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/planner.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::cli {
namespace {

using scaler::MetricLabels;

std::map<std::string, std::string> labelMap(const MetricLabels& labels) {
  return {labels.begin(), labels.end()};
}

const char* helpFor(const std::string& name) {
  using namespace scaler::metric;
  static const std::map<std::string, const char*> help{
      {kNodes, "Nodes of each node pool by state (launching, ready, draining, interrupted) and capacity type"},
      {kDesiredNodes, "Nodes each pool should have: ready plus launching"},
      {kUnschedulablePods, "Pods waiting with PodScheduled=False, reason Unschedulable"},
      {kOldestUnschedulable, "Seconds the oldest unschedulable pod has waited"},
      {kPoolUtilization, "Requested share of the allocatable resources of each pool's ready nodes"},
      {kSpotCoolOff, "1 while a pool launches on-demand after an interruption storm"},
      {kInFlightNodes, "Nodes created and not yet initialized (Ready with their extended resources)"},
      {kDrains, "Node drains in progress"},
      {kWorkflowCost, "USD spent per running (or just stopped) workflow, the most expensive ones"},
      {kWorkflowBudget, "USD budget per workflow (spotfit.io/budget)"},
      {kNamespaceCost, "USD spent per namespace since the ledger started"},
      {kOwnerCost, "USD spent per namespace and owner (the CronJob of a Job, else the workflow) in the retained days"},
      {kBudgetPolicySpent, "USD a BudgetPolicy's scope spent in its current window (docs/budgets.md)"},
      {kBudgetPolicyLimit, "The limit in USD of a BudgetPolicy's window"},
      {kCostPerHour, "USD per hour of the running pods"},
      {kUnpricedNodes, "Nodes running pods that neither a node pool nor scaler.priceTable prices (not charged)"},
      {kSpotSavings, "USD saved by running on spot instead of on-demand"},
      {kScaleUps, "Nodes created, by pool and capacity type"},
      {kScaleUpFailures, "Failed node creations by pool and reason"},
      {kScaleDowns, "Nodes removed, by pool and reason (empty, underused, interrupted)"},
      {kScaleDownFailures, "Failed node removals by pool and reason"},
      {kInterruptions, "Spot interruption notices by pool and instance type"},
      {kProviderRequests, "Provider calls by provider, operation and result"},
      {kEvictions, "Eviction requests by result (evicted, blocked by a PDB, failed)"},
      {kProviderLatency, "Provider call latency by provider and operation"},
      {kPrewarmNodes, "Pre-warmed CronJob nodes by pool and result (launched, used by a pod, expired unused)"},
  };
  auto it = help.find(name);
  return it == help.end() ? "spotfit scaler metric" : it->second;
}

// Copies ScalerMetrics into prometheus-cpp families (scaler/ does not link prometheus-cpp).
class MetricsExporter {
 public:
  explicit MetricsExporter(prometheus::Registry& registry) : registry_(registry) {
    latency_ = &prometheus::BuildHistogram()
                    .Name(scaler::metric::kProviderLatency)
                    .Help(helpFor(scaler::metric::kProviderLatency))
                    .Register(registry_);
  }

  void publish(scaler::ScalerMetrics& m) {
    for (const auto& [name, series] : m.counters()) {
      auto& fam = counterFamily(name);
      for (const auto& [labels, value] : series) {
        double& seen = exported_[{name, labels}];
        if (value > seen) fam.Add(labelMap(labels)).Increment(value - seen);
        seen = value;
      }
    }
    std::set<std::pair<std::string, MetricLabels>> live;
    for (const auto& [name, series] : m.gauges()) {
      auto& fam = gaugeFamily(name);
      for (const auto& [labels, value] : series) {
        auto& g = gauges_[{name, labels}];
        if (!g) g = &fam.Add(labelMap(labels));
        g->Set(value);
        live.insert({name, labels});
      }
    }
    for (auto it = gauges_.begin(); it != gauges_.end();) {  // series of deleted pools and workflows
      if (live.count(it->first)) {
        ++it;
        continue;
      }
      gaugeFamily(it->first.first).Remove(it->second);
      it = gauges_.erase(it);
    }
    static const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                 0.5,   1,    2.5,   5,    10,  30};
    for (const auto& o : m.takeLatencies()) latency_->Add(labelMap(o.labels), buckets).Observe(o.seconds);
  }

 private:
  prometheus::Family<prometheus::Counter>& counterFamily(const std::string& name) {
    auto& f = counters_[name];
    if (!f) f = &prometheus::BuildCounter().Name(name).Help(helpFor(name)).Register(registry_);
    return *f;
  }
  prometheus::Family<prometheus::Gauge>& gaugeFamily(const std::string& name) {
    auto& f = gaugeFams_[name];
    if (!f) f = &prometheus::BuildGauge().Name(name).Help(helpFor(name)).Register(registry_);
    return *f;
  }

  prometheus::Registry& registry_;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gaugeFams_;
  std::map<std::pair<std::string, MetricLabels>, double> exported_;
  std::map<std::pair<std::string, MetricLabels>, prometheus::Gauge*> gauges_;
};

class ScalerRuntime {
 public:
  ScalerRuntime(scaler::ScalerConfig config, std::string kubeconfig, prometheus::Registry& registry, server::Log log)
      : config_(std::move(config)), kubeconfig_(std::move(kubeconfig)), exporter_(registry), log_(std::move(log)) {}

  Status start() {
    auto cluster = kube::loadDefaultConfig(kubeconfig_);
    if (!cluster) return makeError(cluster.error().code, "scaler: " + cluster.error().message);
    auto client = kube::RestClient::create(*cluster);
    if (!client) return makeError(client.error().code, "scaler: " + client.error().message);
    client_ = std::move(*client);
    kwok_ = std::make_unique<scaler::KwokProvider>(*client_, clock_);
    capi_ = std::make_unique<scaler::ClusterApiProvider>(*client_, clock_);
    actions_ = std::make_unique<scaler::KubeClusterActions>(*client_, clock_);
    store_ = std::make_unique<scaler::ConfigMapLedgerStore>(*client_, config_.namespaceName, config_.ledgerConfigMap);
    nodes_ = kube::makeNodeInformer(*client_);
    pods_ = kube::makePodInformer(*client_);
    pdbs_ = kube::makePdbInformer(*client_);
    if (config_.profiles.learn) {  // the profile learner (scaler/learner_term.hpp): one more watch, on Jobs
      profileStore_ = std::make_unique<scaler::ConfigMapProfileStore>(*store_);
      learner_ = std::make_unique<scaler::ClusterLearner>(*profileStore_, config_.profiles);
      if (!config_.profiles.metricsServer.empty()) {
        kube::ClusterConfig metrics;
        metrics.server = config_.profiles.metricsServer;
        metrics.source = "scaler.profiles.metricsServer";
        auto mc = kube::RestClient::create(metrics);
        if (!mc) return makeError(mc.error().code, "scaler.profiles.metricsServer: " + mc.error().message);
        metricsClient_ = std::move(*mc);
      }
      jobs_ = kube::makeJobInformer(*client_);
      scaler::attachLearner(*learner_, *pods_, *jobs_);
      jobs_->start();
    }
    nodes_->start();
    pods_->start();
    pdbs_->start();
    if (config_.watchNodePoolObjects) {
      pools_ = std::make_unique<kube::Informer<scaler::NodePoolObject>>(*client_, kube::resources::kNodePools,
                                                                        &scaler::decodeNodePoolObject);
      pools_->start();
    }
    if (config_.watchProvisioningRequests) {  // scaler/provreq.hpp; a missing CRD means no requests
      provreqs_ = std::make_unique<kube::Informer<scaler::ProvisioningRequestObject>>(
          *client_, scaler::kProvisioningRequests, &scaler::decodeProvisioningRequest);
      podTemplates_ = std::make_unique<kube::Informer<scaler::PodTemplateObject>>(*client_, scaler::kPodTemplates,
                                                                                  &scaler::decodePodTemplate);
      provreqStatus_ = std::make_unique<scaler::KubeProvReqStatusWriter>(*client_);
      provreqs_->start();
      podTemplates_->start();
    }
    // CronJobs, for pre-warmed capacity (not needed to scale: the loop does not wait for their sync).
    cronJobs_ = std::make_unique<kube::Informer<scaler::CronJobObject>>(*client_, scaler::kCronJobResource,
                                                                        &scaler::decodeCronJobObject);
    cronJobs_->start();
    if (config_.watchBudgetPolicies) {  // docs/budgets.md: status and Events of BudgetPolicies, by the leader
      budgets_ = std::make_unique<scaler::KubeBudgetPolicies>(*client_, clock_, config_.namespaceName,
                                                              config_.ledgerLabel, [this](const std::string& line) {
                                                                log_.info(line, {{"component", "budgets"}});
                                                              });
      budgets_->start();
    }
    informersStarted_.store(true, std::memory_order_release);
    kube::LeaderElectionConfig lec;
    lec.leaseNamespace = config_.namespaceName;
    lec.leaseName = "spotfit-scaler";
    const char* pod = std::getenv("POD_NAME");
    const char* host = std::getenv("HOSTNAME");
    lec.identity = std::string(pod && *pod ? pod : (host && *host ? host : "spotfit")) + "_" +
                   std::to_string(std::random_device{}() % 1000000);
    if (auto st = kube::validate(lec); !st) return st;
    kube::LeaderCallbacks cb;
    cb.onStartedLeading = [this](std::stop_token stop) { lead(stop); };
    cb.onNewLeader = [this](const std::string& id) { log_.info("scaler: lease holder", {{"leader", id}}); };
    elector_ = std::make_unique<kube::LeaderElector>(*client_, kube::SystemClock::instance(), lec, cb);
    log_.info("scaler: campaigning for the lease",
              {{"lease", config_.namespaceName + "/spotfit-scaler"}, {"identity", lec.identity}});
    thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested()) {
        elector_->run(stop);
        if (!stop.stop_requested()) kube::SystemClock::instance().sleepFor(std::chrono::seconds(1), stop);
      }
    });
    return {};
  }

  // For /readyz: empty when every informer the loop needs has synced; else which have not.
  std::string notSynced() const {
    if (!informersStarted_.load(std::memory_order_acquire)) return "informers not started";
    std::string out;
    std::vector<const kube::InformerBase*> all{nodes_.get(), pods_.get(), pdbs_.get()};
    for (const auto* i : all) {
      if (!i || !i->hasSynced()) out += (out.empty() ? "" : ", ") + (i ? i->name() : std::string("informers"));
    }
    if (pools_ && !pools_->hasSynced() && !pools_->notInstalled()) out += (out.empty() ? "" : ", ") + pools_->name();
    return out;
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    if (budgets_) budgets_->stop();
    if (provreqs_) provreqs_->stop();
    if (podTemplates_) podTemplates_->stop();
    if (pools_) pools_->stop();
    if (pdbs_) pdbs_->stop();
    if (cronJobs_) cronJobs_->stop();
    if (jobs_) jobs_->stop();
    if (pods_) pods_->stop();
    if (nodes_) nodes_->stop();
  }

 private:
  void syncPools(scaler::Scaler& sc, std::set<std::string>& knownPools) {
    if (!pools_) return;
    if (pools_->notInstalled()) {
      if (!poolsUnavailableLogged_) {
        log_.warn("scaler: NodePool objects unavailable (is the CRD installed?); using config pools only",
                  {{"error", pools_->lastError()}});
        poolsUnavailableLogged_ = true;
      }
    }
    if (!pools_->hasSynced()) return;
    std::set<std::string> seen;
    for (const auto& obj : pools_->store().list()) {
      seen.insert(obj->parsed.pool.name);
      sc.upsertPoolObject(obj->parsed);
    }
    for (const auto& name : knownPools) {
      if (!seen.count(name)) sc.removePoolObject(name);
    }
    knownPools = std::move(seen);
  }

  // ProvisioningRequests and their PodTemplates from the informers, once both have synced.
  void syncProvisioningRequests(scaler::ProvisioningRequestController& c, const scaler::ClusterSnapshot& snap) {
    if (provreqs_->notInstalled()) {
      if (!provreqsUnavailableLogged_) {
        log_.info("scaler: ProvisioningRequest CRD not installed; no ProvisioningRequests are served",
                  {{"error", provreqs_->lastError()}});
        provreqsUnavailableLogged_ = true;
      }
      return;
    }
    if (!provreqs_->hasSynced() || !podTemplates_->hasSynced()) return;
    std::vector<scaler::ProvisioningRequestObject> requests;
    for (const auto& r : provreqs_->store().list()) requests.push_back(*r);
    std::map<std::pair<std::string, std::string>, std::shared_ptr<const scaler::PodTemplateObject>> templates;
    for (const auto& t : podTemplates_->store().list()) templates[{t->meta.namespace_, t->meta.name}] = t;
    c.reconcile(
        requests,
        [&](const std::string& ns, const std::string& name) -> const scaler::PodTemplateObject* {
          auto it = templates.find({ns, name});
          return it == templates.end() ? nullptr : it->second.get();
        },
        snap);
  }

  // The snapshot from the informer stores, or nullopt while Nodes, Pods or PDBs have not synced.
  std::optional<scaler::ClusterSnapshot> snapshot(scaler::SnapshotBuilder& builder, scaler::TimePoint now) {
    if (!nodes_->hasSynced() || !pods_->hasSynced() || !pdbs_->hasSynced()) return std::nullopt;
    for (const auto& n : nodes_->store().list()) builder.addNode(*n);
    for (const auto& p : pods_->store().list()) builder.addPod(*p);
    for (const auto& d : pdbs_->store().list()) builder.addPdb(*d);
    auto snap = builder.take(now);
    if (cronJobs_) {
      for (const auto& cj : cronJobs_->store().list()) snap.cronJobs.push_back(cj->info);
    }
    return snap;
  }

  // One leadership term: a fresh Scaler (state is rebuilt from the cluster), the ledger and the scaler's
  // memory read back, the loop until the lease is lost or serve stops. Both are saved on a clean stop
  // only: after a lost lease the new leader owns them.
  void lead(std::stop_token stop) {
    log_.info("scaler: leading");
    scaler::Scaler sc(
        config_, clock_, *actions_, planner_,
        [this](const scaler::NodePool& pool) -> scaler::NodeProvider* {
          if (pool.provider.type == "kwok") return kwok_.get();
          if (pool.provider.type == "clusterapi") return capi_.get();
          return nullptr;
        },
        store_.get(),
        [this](const std::string& line) {
          log_.info(line, {{"component", "scaler"}});
        });
    if (auto st = sc.loadLedger(); !st) {
      log_.warn("scaler: cost ledger not loaded, starting empty", {{"error", st.error().message}});
    }
    if (auto st = sc.loadScalerState(); !st) {
      log_.warn("scaler: stored scaler state ignored (unavailable offerings, interruptions, cool-offs start empty)",
                {{"error", st.error().message}});
    }
    std::set<std::string> knownPools;
    std::optional<scaler::ProvisioningRequestController> provreq;
    if (provreqs_) {
      provreq.emplace(sc, *provreqStatus_, clock_, config_.provisioningRequestBookingTime,
                      [this](const std::string& line) {
                        log_.info(line, {{"component", "provisioning"}});
                      });
    }
    std::optional<scaler::LearnerTerm> learning;
    auto epoch = [this] {
      return std::chrono::duration_cast<std::chrono::seconds>(clock_.wallNow().time_since_epoch()).count();
    };
    if (learner_) {
      learning.emplace(*learner_, config_.profiles, metricsClient_ ? metricsClient_.get() : client_.get(), *pods_,
                       epoch(), [this](const std::string& line) {
                         log_.info(line, {{"component", "profiles"}});
                       });
    }
    scaler::SnapshotBuilder builder;
    bool waitLogged = false;
    std::stop_callback wake(stop, [this] { cv_.notify_all(); });
    while (!stop.stop_requested()) {
      const auto now = clock_.wallNow();
      std::optional<scaler::TimePoint> next;
      if (config_.watchNodePoolObjects) syncPools(sc, knownPools);
      auto snapshot = this->snapshot(builder, now);
      if (!snapshot) {
        if (!waitLogged) log_.info("scaler: waiting for informers to sync", {{"pending", notSynced()}});
        waitLogged = true;
      } else {
        if (provreq) syncProvisioningRequests(*provreq, *snapshot);
        next = sc.reconcile(*snapshot).wakeAt;
        if (budgets_) {
          budgets_->sync(sc.ledger(), now);
          budgets_->publish(sc.metrics());
        }
        if (learning) learning->tick(epoch());
        exporter_.publish(sc.metrics());
        if (now - costCopiedAt_ >= std::chrono::seconds(10)) {  // for /cost: a copy, at most 10 s old
          std::lock_guard lock(costMu_);
          costLedger_ = sc.ledger();
          costCopiedAt_ = now;
        }
      }
      auto until = now + std::chrono::seconds(1);
      if (next && *next < until) until = std::max(*next, now + std::chrono::milliseconds(50));
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, until - now, [&] { return stopping_ || stop.stop_requested(); });
      if (stopping_) break;
    }
    bool cleanStop;
    {
      std::lock_guard lock(mu_);
      cleanStop = stopping_;
    }
    // Not elector_->isLeader(): the elector clears that flag before it stops and joins this work, while
    // the lease stays ours until it releases it after the join. A clean stop is the only exit on which the
    // lease is certainly still held; after a lost lease the new leader owns the ConfigMap.
    if (cleanStop) {
      if (auto st = sc.flushLedger(); !st)
        log_.warn("scaler: final ledger save failed", {{"error", st.error().message}});
      if (learning) learning->finish(epoch());
    }
    learning.reset();
    {
      std::lock_guard lock(costMu_);
      costLedger_.reset();
      costCopiedAt_ = {};
    }
    log_.info(cleanStop ? "scaler: stopped" : "scaler: lost the lease; stopped leading");
  }

 public:
  // GET /cost (scaler/cost_report.hpp), from the leader's last copy of its ledger.
  server::Response cost(const server::Request& req) {
    std::lock_guard lock(costMu_);
    auto [status, body] = scaler::costEndpoint(costLedger_ ? &*costLedger_ : nullptr, clock_.wallNow(), req.query);
    return server::Response::json(status, std::move(body));
  }

 private:
  std::mutex costMu_;
  std::optional<scaler::CostLedger> costLedger_;  // guarded by costMu_
  scaler::TimePoint costCopiedAt_{};

  scaler::ScalerConfig config_;
  std::string kubeconfig_;
  MetricsExporter exporter_;
  server::Log log_;
  kube::Clock& clock_ = kube::SystemClock::instance();
  std::unique_ptr<kube::RestClient> client_;
  std::unique_ptr<scaler::KwokProvider> kwok_;
  std::unique_ptr<scaler::ClusterApiProvider> capi_;
  std::unique_ptr<scaler::KubeClusterActions> actions_;
  std::unique_ptr<scaler::ConfigMapLedgerStore> store_;
  std::unique_ptr<scaler::ConfigMapProfileStore> profileStore_;
  std::unique_ptr<scaler::ClusterLearner> learner_;  // before the informers whose handlers feed it
  std::unique_ptr<kube::Informer<kube::Job>> jobs_;
  std::unique_ptr<kube::RestClient> metricsClient_;  // scaler.profiles.metricsServer, when set
  scaler::PlacementPlanner planner_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::unique_ptr<kube::Informer<kube::Node>> nodes_;
  std::unique_ptr<kube::Informer<kube::Pod>> pods_;
  std::unique_ptr<kube::Informer<kube::PodDisruptionBudget>> pdbs_;
  std::unique_ptr<kube::Informer<scaler::NodePoolObject>> pools_;
  std::unique_ptr<kube::Informer<scaler::ProvisioningRequestObject>> provreqs_;
  std::unique_ptr<kube::Informer<scaler::PodTemplateObject>> podTemplates_;
  std::unique_ptr<scaler::KubeProvReqStatusWriter> provreqStatus_;
  bool provreqsUnavailableLogged_ = false;
  std::unique_ptr<kube::Informer<scaler::CronJobObject>> cronJobs_;
  std::unique_ptr<scaler::KubeBudgetPolicies> budgets_;
  std::atomic<bool> informersStarted_{false};
  bool poolsUnavailableLogged_ = false;
  std::jthread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

Status configureScaler(ServeContext& ctx) {
  auto cfg = scaler::parseScalerSection(ctx.section.node);
  if (!cfg) {
    return makeError("invalid",
                     (ctx.section.file.empty() ? std::string() : ctx.section.file + ": ") + cfg.error().message);
  }
  if (!ctx.scaler) {
    ctx.readiness.setFeature("scaler", false, "serve without --scaler");
    return {};
  }
  if (!ctx.kubernetesConfigured()) {
    ctx.readiness.setFeature("scaler", false, "no Kubernetes API configured (--kubeconfig or in-cluster)");
    return {};
  }
  ctx.readiness.setFeature("scaler", true, std::to_string(cfg->nodePools.size()) + " configured node pool(s)");
  auto runtime = std::make_shared<ScalerRuntime>(std::move(*cfg), ctx.kubeconfig, ctx.metrics, ctx.log());
  ctx.readiness.addCheck("scaler-informers", [runtime] {
    auto pending = runtime->notSynced();
    return pending.empty() ? server::CheckResult::pass("synced") : server::CheckResult::fail("not synced: " + pending);
  });
  ctx.plainRouter.add("GET", "/cost", [runtime](const server::Request& req) { return runtime->cost(req); });
  ctx.onStart([runtime] { return runtime->start(); });
  ctx.onStop([runtime] { runtime->stop(); });
  return {};
}

const ServePlugin kScaler("scaler", "scaler", configureScaler);

}  // namespace
}  // namespace spotfit::cli
