// `spotfit serve` plugin for the admission webhook: reads the `webhook:` config section, registers
// POST /mutate on the HTTPS router and, when a cluster is reachable, VPA/Job/Namespace informers feeding
// the look-up indexes, the PDB writer and the Event sink.
#include <memory>

#include "cli/serve_plugins.hpp"
#include "kube/config.hpp"
#include "kube/periodic_refresh.hpp"
#include "kube/rest_client.hpp"
#include "scaler/kube_actions.hpp"
#include "scaler/ledger.hpp"
#include "scaler/ledger_spend.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/profile_store.hpp"
#include "webhook/admitter.hpp"
#include "webhook/kube_adapters.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/pdb.hpp"
#include "webhook/pdb_reconciler.hpp"

namespace spotfit::cli {
namespace {

namespace wh = spotfit::webhook;

// Everything the webhook keeps alive for the life of the process.
// The webhook's view of the stored profiles (a snapshot re-read by PeriodicRefresh).
class ProfilesPort final : public wh::ProfileLookup {
 public:
  explicit ProfilesPort(const scaler::StoredProfiles& stored) : stored_(stored) {}
  std::shared_ptr<const profile::ProfileBook> profiles() const override { return stored_.book(); }

 private:
  const scaler::StoredProfiles& stored_;
};

struct WebhookRuntime {
  std::unique_ptr<wh::WebhookMetrics> metrics;
  std::unique_ptr<kube::KubeClient> client;
  std::unique_ptr<wh::KubePdbWriter> pdbWriter;
  std::unique_ptr<wh::QueuedPdbEnsurer> pdbs;
  std::unique_ptr<wh::KubeEventSink> events;
  wh::VpaIndex vpas;
  wh::JobIndex jobs;
  wh::NamespaceIndex namespaces;
  std::unique_ptr<kube::Informer<kube::VerticalPodAutoscaler>> vpaInformer;
  std::unique_ptr<kube::Informer<kube::Job>> jobInformer;
  std::unique_ptr<kube::Informer<kube::Namespace>> namespaceInformer;
  // Ready nodes per capacity type: warns when a required capacity term matches none (never strand a pod).
  std::unique_ptr<wh::NodeCapacityIndex> capacityNodes;
  // The spot circuit breaker without spotfit's scaler (webhook.interruption), fed by the node informer
  // and, with the karpenter preset, a NodeClaim informer (declared before both: they call into it).
  std::unique_ptr<wh::SpotCoolOff> spotCoolOff;
  std::unique_ptr<kube::Informer<kube::Node>> nodeInformer;
  std::unique_ptr<kube::Informer<kube::NodeClaim>> nodeClaimInformer;
  // spotfit's PDBs, kept in step with their Job's parallelism (reads the Job and PDB informer stores).
  std::unique_ptr<kube::Informer<kube::PodDisruptionBudget>> pdbInformer;
  std::unique_ptr<wh::PdbReconciler> pdbReconciler;
  std::unique_ptr<wh::Admitter> admitter;
  // Budgets: the scaler's cost ledger (ConfigMap written by the leader) through the spend source the
  // extender uses too, re-read every `webhook.budgets.refresh`. Declared last so its thread stops before
  // what it reads is destroyed.
  std::unique_ptr<scaler::ConfigMapLedgerStore> ledger;
  std::unique_ptr<scaler::LedgerSpend> spend;
  std::unique_ptr<kube::PeriodicRefresh> ledgerRefresh;
  // BudgetPolicies (docs/budgets.md), decided with the ledger snapshot above.
  std::unique_ptr<kube::Informer<kube::BudgetPolicyObject>> budgetPolicyInformer;
  std::unique_ptr<wh::InformerBudgetGate> budgetGate;
  // Right-sizing from workflow profiles: the scaler's learned profiles (key profiles.json of the same
  // ConfigMap), re-read every `webhook.rightSizing.refresh`.
  std::unique_ptr<scaler::ConfigMapProfileStore> profileStore;
  std::unique_ptr<scaler::StoredProfiles> storedProfiles;
  std::unique_ptr<ProfilesPort> profiles;
  std::unique_ptr<kube::PeriodicRefresh> profileRefresh;

  ~WebhookRuntime() {
    // The informers call into the reconciler and the reconciler reads their stores: stop both threads first.
    if (pdbInformer) pdbInformer->stop();
    if (jobInformer) jobInformer->stop();
    if (pdbReconciler) pdbReconciler->stop();
  }
};

Status configureWebhook(ServeContext& ctx) {
  auto cfg = wh::parseWebhookConfig(ctx.section.node);
  if (!cfg) {
    return makeError("invalid", (ctx.section.file.empty() ? "" : ctx.section.file + ": ") + cfg.error().message);
  }
  auto rt = std::make_shared<WebhookRuntime>();
  rt->metrics = std::make_unique<wh::WebhookMetrics>(ctx.metrics);
  wh::AdmitterPorts ports;
  ports.metrics = rt->metrics.get();

  if (ctx.kubernetesConfigured()) {
    auto cluster = kube::loadDefaultConfig(ctx.kubeconfig);
    if (!cluster) return makeError("invalid", "webhook: cannot load the cluster config: " + cluster.error().message);
    auto client = kube::RestClient::create(*cluster);
    if (!client) return makeError("invalid", "webhook: cannot create the Kubernetes client: " + client.error().message);
    rt->client = std::move(*client);
    rt->pdbWriter = std::make_unique<wh::KubePdbWriter>(*rt->client);
    wh::WebhookMetrics* metrics = rt->metrics.get();
    rt->pdbs = std::make_unique<wh::QueuedPdbEnsurer>(
        *rt->pdbWriter, [metrics](const wh::PdbRequest&, const Status& s) { metrics->pdb(s.ok()); });
    rt->events = std::make_unique<wh::KubeEventSink>(*rt->client, kube::SystemClock::instance());
    ports.pdbs = rt->pdbs.get();
    ports.events = rt->events.get();
    // Look-ups on the admission path are in-memory indexes fed by informers (a VPA CRD that is not
    // installed leaves its informer waiting and the index empty).
    rt->vpaInformer = std::make_unique<kube::Informer<kube::VerticalPodAutoscaler>>(
        *rt->client, kube::resources::kVerticalPodAutoscalers, kube::decodeVerticalPodAutoscaler);
    rt->jobInformer = std::make_unique<kube::Informer<kube::Job>>(*rt->client, kube::resources::kJobs, kube::decodeJob);
    rt->namespaceInformer = std::make_unique<kube::Informer<kube::Namespace>>(*rt->client, kube::resources::kNamespaces,
                                                                              kube::decodeNamespace);
    wh::feedFrom(*rt->vpaInformer, rt->vpas);
    wh::feedFrom(*rt->jobInformer, rt->jobs);
    wh::feedFrom(*rt->namespaceInformer, rt->namespaces);
    if (cfg->pdb.enabled) {
      kube::InformerOptions pdbOptions;
      pdbOptions.labelSelector = wh::kSpotfitPdbSelector;
      rt->pdbInformer = kube::makePdbInformer(*rt->client, kube::SystemClock::instance(), pdbOptions);
      rt->pdbReconciler = std::make_unique<wh::PdbReconciler>(
          *rt->client, rt->jobInformer->store(), rt->pdbInformer->store(),
          [metrics](const std::string&, const Status& s) { metrics->pdbUpdate(s.ok()); });
      wh::feedFrom(*rt->jobInformer, *rt->pdbReconciler);
      wh::feedFrom(*rt->pdbInformer, *rt->pdbReconciler);
    }
    rt->capacityNodes = std::make_unique<wh::NodeCapacityIndex>(cfg->affinity.capacityTypeLabel,
                                                                cfg->affinity.spotValue, cfg->affinity.onDemandValue);
    rt->nodeInformer = kube::makeNodeInformer(*rt->client);
    wh::feedFrom(*rt->nodeInformer, *rt->capacityNodes);
    if (cfg->affinity.enabled) ports.nodes = rt->capacityNodes.get();
    // Never fails readiness: the body says which capacity type has no Ready node.
    ctx.readiness.addCheck("webhook-capacity-nodes", [nodes = rt->capacityNodes.get(), preset = cfg->capacityPreset] {
      return server::CheckResult::pass("preset " + preset + ": " + nodes->summary());
    });
    if (wh::spotCoolOffEnabled(*cfg)) {
      scaler::InterruptionPolicy policy;
      policy.window = cfg->interruption.window;
      policy.threshold = static_cast<int>(cfg->interruption.threshold);
      policy.coolOff = cfg->interruption.coolOff;
      rt->spotCoolOff = std::make_unique<wh::SpotCoolOff>(policy, kube::SystemClock::instance());
      auto counted = [metrics, log = ctx.log(), coolOff = rt->spotCoolOff.get()](bool started) {
        metrics->spotInterruption(started);
        if (started) log.warn("webhook: spot cool-off: new batch pods go on-demand", {{"state", coolOff->summary()}});
      };
      wh::feedInterruptions(*rt->nodeInformer, *rt->spotCoolOff, *cfg, counted);
      if (cfg->capacityPreset == "karpenter") {
        rt->nodeClaimInformer = std::make_unique<kube::Informer<kube::NodeClaim>>(
            *rt->client, kube::resources::kNodeClaims, kube::decodeNodeClaim);
        wh::feedInterruptions(*rt->nodeClaimInformer, *rt->spotCoolOff, counted);
      }
      ports.spotCoolOff = rt->spotCoolOff.get();
      ctx.readiness.addCheck("webhook-spot-cooloff", [coolOff = rt->spotCoolOff.get()] {
        return server::CheckResult::pass(coolOff->summary());
      });
    }
    ports.vpas = &rt->vpas;
    ports.jobs = &rt->jobs;
    ports.namespaces = &rt->namespaces;
    // The scaler's section says where its ledger lives (its own plugin reports errors in that section).
    auto scalerCfg = scaler::parseScalerSection(ctx.document.section("scaler").node);
    const scaler::ScalerConfig defaults;
    rt->ledger = std::make_unique<scaler::ConfigMapLedgerStore>(
        *rt->client, scalerCfg ? scalerCfg->namespaceName : defaults.namespaceName,
        scalerCfg ? scalerCfg->ledgerConfigMap : defaults.ledgerConfigMap);
    rt->spend = std::make_unique<scaler::LedgerSpend>(*rt->ledger, kube::SystemClock::instance());
    ports.spend = rt->spend.get();
    scaler::LedgerSpend* spend = rt->spend.get();  // not the shared_ptr: rt owns ledgerRefresh
    if (cfg->budgets.enabled) {
      rt->budgetPolicyInformer = std::make_unique<kube::Informer<kube::BudgetPolicyObject>>(
          *rt->client, kube::kBudgetPolicies, &kube::decodeBudgetPolicyObject);
      rt->budgetGate = std::make_unique<wh::InformerBudgetGate>(
          *rt->budgetPolicyInformer, *rt->spend,
          kube::BudgetPolicyContext{scalerCfg ? scalerCfg->namespaceName : defaults.namespaceName,
                                    scalerCfg ? scalerCfg->ledgerLabel : defaults.ledgerLabel, base::kZoneinfoDir},
          kube::SystemClock::instance());
      ports.budgetPolicies = rt->budgetGate.get();
    }
    rt->ledgerRefresh = std::make_unique<kube::PeriodicRefresh>(
        kube::SystemClock::instance(), cfg->budgets.refresh, [spend] { return spend->refresh(); },
        [log = ctx.log()](const Error& e) {
          log.warn("webhook: cost ledger not readable, budgets use the last snapshot", {{"error", e.message}});
        });
    if (cfg->rightSizing.enabled && cfg->rightSizing.profiles) {
      rt->profileStore = std::make_unique<scaler::ConfigMapProfileStore>(*rt->ledger);
      rt->storedProfiles = std::make_unique<scaler::StoredProfiles>(*rt->profileStore);
      rt->profiles = std::make_unique<ProfilesPort>(*rt->storedProfiles);
      ports.profiles = rt->profiles.get();
      scaler::StoredProfiles* stored = rt->storedProfiles.get();
      rt->profileRefresh = std::make_unique<kube::PeriodicRefresh>(
          kube::SystemClock::instance(), cfg->rightSizing.refresh, [stored] { return stored->refresh(); },
          [log = ctx.log()](const Error& e) {
            log.warn("webhook: workflow profiles not readable, right-sizing uses the last snapshot",
                     {{"error", e.message}});
          });
    }
    ctx.readiness.setFeature("webhook-pdb", cfg->pdb.enabled, cfg->pdb.enabled ? "" : "disabled in config");
    ctx.readiness.setFeature("webhook-budgets", cfg->budgets.enabled, cfg->budgets.enabled ? "" : "disabled in config");
    ctx.readiness.setFeature("webhook-vpa", cfg->rightSizing.enabled,
                             cfg->rightSizing.enabled ? "" : "disabled in config");
    ctx.onStart([rt] {
      rt->vpaInformer->start();
      rt->jobInformer->start();
      rt->namespaceInformer->start();
      rt->nodeInformer->start();
      if (rt->nodeClaimInformer) rt->nodeClaimInformer->start();
      rt->pdbs->start();
      if (rt->pdbReconciler) {
        rt->pdbReconciler->start();
        rt->pdbInformer->start();
      }
      rt->events->start();
      rt->ledgerRefresh->start();
      if (rt->budgetPolicyInformer) rt->budgetPolicyInformer->start();
      if (rt->profileRefresh) rt->profileRefresh->start();
      return Status{};
    });
    ctx.onStop([rt] {
      if (rt->profileRefresh) rt->profileRefresh->stop();
      if (rt->budgetPolicyInformer) rt->budgetPolicyInformer->stop();
      rt->ledgerRefresh->stop();
      rt->events->stop();
      rt->pdbs->stop();
      if (rt->pdbReconciler) {
        rt->pdbInformer->stop();
        rt->pdbReconciler->stop();
      }
      if (rt->nodeClaimInformer) rt->nodeClaimInformer->stop();
      rt->nodeInformer->stop();
      rt->namespaceInformer->stop();
      rt->jobInformer->stop();
      rt->vpaInformer->stop();
    });
  } else {
    ctx.readiness.setFeature("webhook-pdb", false, "no cluster configured");
    ctx.readiness.setFeature("webhook-vpa", false, "no cluster configured");
    ctx.readiness.setFeature("webhook-budgets", false, "no cluster configured (cost ledger unreachable)");
  }

  rt->admitter = std::make_unique<wh::Admitter>(*cfg, ports);
  const wh::Admitter* admitter = rt->admitter.get();
  ctx.router.add(
      "POST", "/mutate", [rt, admitter](const server::Request& r) { return admitter->handle(r); }, "/mutate");
  return {};
}

const ServePlugin kWebhook("webhook", "webhook", configureWebhook);

}  // namespace
}  // namespace spotfit::cli
