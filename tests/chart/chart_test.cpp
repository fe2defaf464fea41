// The Helm chart (charts/spotfit/): `helm lint --strict` and `helm template` for the defaults and every
// value set in charts/spotfit/ci/, what each role/TLS/monitoring switch renders, and (ChartDrift, with the
// kubectl of the e2e control plane) that the defaults render the same objects as the kustomize base.
// helm is built from the Go module proxy by scripts/build-helm.sh (ctest fixture chart_helm_build).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kSource = spotfit::testpaths::sourceDir();
const std::string kChart = kSource + "/charts/spotfit";

struct Result {
  int code = -1;
  std::string out;
};

// stdout and stderr of a shell command, or stdout alone (helm warns on stderr about the chart's symlinks).
Result run(const std::string& command, bool withStderr = true) {
  Result r;
  FILE* p = popen((command + (withStderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string lastLine(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

const std::string& helm() {
  static const std::string path = [] {
    Result r = run("bash '" + kSource + "/scripts/build-helm.sh'");
    return r.code == 0 ? lastLine(r.out) : std::string();
  }();
  return path;
}

std::vector<std::string> ciValueSets() {
  std::vector<std::string> sets;
  for (const auto& e : fs::directory_iterator(kChart + "/ci")) {
    if (e.path().filename().string().ends_with("-values.yaml")) sets.push_back(e.path().string());
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

using Objects = std::map<std::string, YAML::Node>;  // "Kind/namespace/name" -> object

Objects parse(const std::string& yaml) {
  Objects objects;
  for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
    if (!doc.IsMap()) continue;
    std::string ns = doc["metadata"]["namespace"] ? doc["metadata"]["namespace"].as<std::string>() : "";
    objects[doc["kind"].as<std::string>() + "/" + ns + "/" + doc["metadata"]["name"].as<std::string>()] = doc;
  }
  return objects;
}

Objects render(const std::string& valuesFile, const std::string& extra = "") {
  std::string cmd = "'" + helm() + "' template spotfit '" + kChart + "' --namespace spotfit-system --include-crds";
  if (!valuesFile.empty()) cmd += " -f '" + valuesFile + "'";
  Result r = run(cmd + " " + extra, false);
  EXPECT_EQ(r.code, 0) << cmd << "\n" << run(cmd + " " + extra).out;
  return r.code == 0 ? parse(r.out) : Objects{};
}

std::string str(const YAML::Node& n) {
  return n && n.IsScalar() ? n.as<std::string>() : "";
}

const YAML::Node* container(const Objects& o, const std::string& deployment) {
  auto it = o.find("Deployment/spotfit-system/" + deployment);
  if (it == o.end()) return nullptr;
  static YAML::Node c;
  c = it->second["spec"]["template"]["spec"]["containers"][0];
  return &c;
}

// Every (apiGroup, resource, verb) the ClusterRoles and Roles grant.
std::set<std::string> grants(const Objects& o) {
  std::set<std::string> out;
  for (const auto& [key, obj] : o) {
    if (str(obj["kind"]) != "ClusterRole" && str(obj["kind"]) != "Role") continue;
    for (const auto& rule : obj["rules"]) {
      for (const auto& g : rule["apiGroups"]) {
        for (const auto& res : rule["resources"]) {
          for (const auto& v : rule["verbs"]) out.insert(str(g) + "/" + str(res) + ":" + str(v));
        }
      }
    }
  }
  return out;
}

// What one ServiceAccount of the release may do: the rules of the (Cluster)Roles bound to it, as in grants().
std::set<std::string> grantsOf(const Objects& o, const std::string& account) {
  std::set<std::string> out;
  for (const auto& [key, binding] : o) {
    if (str(binding["kind"]) != "ClusterRoleBinding" && str(binding["kind"]) != "RoleBinding") continue;
    bool bound = false;
    for (const auto& s : binding["subjects"]) {
      bound |=
          str(s["kind"]) == "ServiceAccount" && str(s["name"]) == account && str(s["namespace"]) == "spotfit-system";
    }
    if (!bound) continue;
    std::string kind = str(binding["roleRef"]["kind"]);
    std::string ns = kind == "Role" ? "spotfit-system" : "";
    auto role = o.find(kind + "/" + ns + "/" + str(binding["roleRef"]["name"]));
    if (role == o.end()) continue;
    for (const auto& g : grants(Objects{{role->first, role->second}})) out.insert(g);
  }
  return out;
}

// The resourceNames of a Role's rules for one resource.
std::set<std::string> resourceNames(const Objects& o, const std::string& role, const std::string& resource) {
  std::set<std::string> names;
  auto it = o.find("Role/spotfit-system/" + role);
  if (it == o.end()) return names;
  for (const auto& rule : it->second["rules"]) {
    bool match = false;
    for (const auto& r : rule["resources"]) match |= str(r) == resource;
    if (match) {
      for (const auto& n : rule["resourceNames"]) names.insert(str(n));
    }
  }
  return names;
}

std::string secretVolume(const Objects& o, const std::string& deployment) {
  auto it = o.find("Deployment/spotfit-system/" + deployment);
  if (it == o.end()) return "";
  for (const auto& v : it->second["spec"]["template"]["spec"]["volumes"]) {
    if (str(v["name"]) == "tls") return str(v["secret"]["secretName"]);
  }
  return "";
}

// A canonical text of a node: maps with sorted keys, so key order does not matter.
std::string canonical(const YAML::Node& n) {
  std::ostringstream o;
  if (n.IsMap()) {
    std::map<std::string, std::string> sorted;
    for (const auto& kv : n) sorted[kv.first.as<std::string>()] = canonical(kv.second);
    o << "{";
    for (const auto& [k, v] : sorted) o << k << ":" << v << ",";
    o << "}";
  } else if (n.IsSequence()) {
    o << "[";
    for (const auto& e : n) o << canonical(e) << ",";
    o << "]";
  } else if (n.IsScalar()) {
    o << "'" << n.as<std::string>() << "'";
  } else {
    o << "~";
  }
  return o.str();
}

class Chart : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(helm().empty()) << "scripts/build-helm.sh failed (see ctest chart_helm_build)"; }
};

TEST_F(Chart, LintsStrictWithTheDefaultsAndEveryCiValueSet) {
  std::vector<std::string> sets = ciValueSets();
  ASSERT_GE(sets.size(), 3u) << "issue 14: defaults and at least three value sets";
  sets.insert(sets.begin(), "");
  for (const auto& values : sets) {
    std::string cmd = "'" + helm() + "' lint --strict '" + kChart + "' --namespace spotfit-system";
    if (!values.empty()) cmd += " -f '" + values + "'";
    Result r = run(cmd);
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.out;
    EXPECT_NE(r.out.find("0 chart(s) failed"), std::string::npos) << r.out;
  }
}

TEST_F(Chart, DefaultsRunEveryRoleWithCertManager) {
  Objects o = render("");
  const YAML::Node* c = container(o, "spotfit");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(str((*c)["image"]), "ghcr.io/spotfit/spotfit:0.1.0") << "the tag scripts/build-image.sh writes";
  std::vector<std::string> args;
  for (const auto& a : (*c)["args"]) args.push_back(a.as<std::string>());
  EXPECT_EQ(args, (std::vector<std::string>{"serve", "--config", "/etc/spotfit/config.yaml"}))
      << "the scaler runs in its own Deployment";
  EXPECT_TRUE(grants(o).count("/nodes:create"));
  EXPECT_TRUE(o.count("Deployment/spotfit-system/spotfit-scaler"));
  EXPECT_TRUE(o.count("CustomResourceDefinition//spotfitpools.spotfit.io"));
  EXPECT_TRUE(o.count("CustomResourceDefinition//budgetpolicies.spotfit.io")) << "docs/budgets.md";
  ASSERT_TRUE(o.count("Certificate/spotfit-system/spotfit-serving"));
  EXPECT_EQ(str(o["Certificate/spotfit-system/spotfit-serving"]["spec"]["secretName"]), "spotfit-tls");
  EXPECT_EQ(secretVolume(o, "spotfit"), "spotfit-tls") << "one Secret name, as in manifests/ and certs/README.md";
  EXPECT_EQ(secretVolume(o, "spotfit-scaler"), "spotfit-tls");
  EXPECT_EQ(str(o["Certificate/spotfit-system/spotfit-serving"]["spec"]["issuerRef"]["name"]), "spotfit-ca");
  EXPECT_TRUE(o.count("Issuer/spotfit-system/spotfit-selfsigned"));
  EXPECT_TRUE(o.count("Issuer/spotfit-system/spotfit-ca"));
  YAML::Node webhook = o["MutatingWebhookConfiguration//spotfit"];
  EXPECT_EQ(str(webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]),
            "spotfit-system/spotfit-serving");
  EXPECT_FALSE(webhook["webhooks"][0]["clientConfig"]["caBundle"]);
  // GKE's rule for system-cluster-critical outside kube-system.
  YAML::Node quota = o["ResourceQuota/spotfit-system/spotfit-critical-pods"];
  EXPECT_EQ(str(quota["spec"]["scopeSelector"]["matchExpressions"][0]["values"][0]), "system-cluster-critical");
  for (const auto& key : {"ServiceMonitor/spotfit-system/spotfit", "PrometheusRule/spotfit-system/spotfit",
                          "Deployment/spotfit-system/spotfit-scheduler"}) {
    EXPECT_FALSE(o.count(key)) << key << " is off by default";
  }
}

TEST_F(Chart, WebhookOnlyHasNoNodeOrNodePoolAccess) {
  Objects o = render(kChart + "/ci/webhook-only-values.yaml");
  for (const auto& g : grants(o)) {
    EXPECT_EQ(g.find("/nodes"), std::string::npos) << g;
    EXPECT_EQ(g.find("spotfitpools"), std::string::npos) << g;
    EXPECT_EQ(g.find("pods/eviction"), std::string::npos) << g;
  }
  EXPECT_TRUE(grants(o).count("policy/poddisruptionbudgets:create")) << "the webhook still makes PDBs";
  const YAML::Node* c = container(o, "spotfit");
  ASSERT_NE(c, nullptr);
  for (const auto& a : (*c)["args"]) EXPECT_NE(a.as<std::string>(), "--scaler");
  for (const auto& key : {"Deployment/spotfit-system/spotfit-scaler", "ServiceAccount/spotfit-system/spotfit-scaler",
                          "NetworkPolicy/spotfit-system/spotfit-scaler", "ClusterRole//spotfit-extender"}) {
    EXPECT_FALSE(o.count(key)) << key;
  }
  EXPECT_TRUE(o.count("NetworkPolicy/spotfit-system/spotfit"));
  YAML::Node cfg = YAML::Load(str(o["ConfigMap/spotfit-system/spotfit-config"]["data"]["config.yaml"]));
  EXPECT_FALSE(cfg["extender"]["enabled"].as<bool>());
  YAML::Node webhook = o["MutatingWebhookConfiguration//spotfit"];
  EXPECT_EQ(str(webhook["webhooks"][0]["clientConfig"]["caBundle"]).substr(0, 20), "LS0tLS1CRUdJTiBDRVJU");
  EXPECT_FALSE(webhook["metadata"]["annotations"]);
  EXPECT_FALSE(o.count("Certificate/spotfit-system/spotfit-serving"));
  EXPECT_FALSE(o.count("Secret/spotfit-system/spotfit-tls")) << "mode secret: the user's Secret";
}

TEST_F(Chart, ExtenderWithoutScalerReadsNodesOnly) {
  Objects o = render(kChart + "/ci/extender-cert-manager-issuer-values.yaml");
  std::set<std::string> g = grants(o);
  EXPECT_TRUE(g.count("/nodes:list"));
  EXPECT_TRUE(g.count("/pods:watch"));
  EXPECT_FALSE(g.count("/nodes:create"));
  EXPECT_FALSE(g.count("/nodes:delete"));
  EXPECT_FALSE(g.count("spotfit.io/spotfitpools/status:patch"));
  EXPECT_FALSE(o.count("Deployment/spotfit-system/spotfit-scaler"));
  EXPECT_TRUE(grantsOf(o, "spotfit").count("/nodes:list")) << "the extender's reads, for the spotfit account";
  YAML::Node cert = o["Certificate/spotfit-system/spotfit-serving"];
  EXPECT_EQ(str(cert["spec"]["issuerRef"]["kind"]), "ClusterIssuer");
  EXPECT_EQ(str(cert["spec"]["issuerRef"]["name"]), "platform-ca");
  EXPECT_FALSE(o.count("Issuer/spotfit-system/spotfit-ca")) << "an issuerRef replaces the chart's own CA";
  EXPECT_FALSE(o.count("ResourceQuota/spotfit-system/spotfit-critical-pods"));
  EXPECT_FALSE(o["Deployment/spotfit-system/spotfit"]["spec"]["template"]["spec"]["priorityClassName"]);
}

TEST_F(Chart, SelfSignedWithSchedulerAndMonitoring) {
  Objects o = render(kChart + "/ci/full-self-signed-values.yaml");
  YAML::Node secret = o["Secret/spotfit-system/spotfit-tls"];
  ASSERT_TRUE(secret) << "the self-signed Secret";
  EXPECT_EQ(str(secret["type"]), "kubernetes.io/tls");
  std::string ca = str(secret["data"]["ca.crt"]);
  EXPECT_FALSE(ca.empty());
  EXPECT_FALSE(str(secret["data"]["tls.key"]).empty());
  EXPECT_EQ(str(o["MutatingWebhookConfiguration//spotfit"]["webhooks"][0]["clientConfig"]["caBundle"]), ca)
      << "the webhook trusts the CA that signed the Secret";
  // The serving certificate chains to that CA and names the Service the webhook and the extender call.
  fs::path dir = fs::temp_directory_path() / ("spotfit-chart-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string d = dir.string();
  Result decode = run("echo '" + ca + "' | base64 -d > '" + d + "/ca.crt' && echo '" + str(secret["data"]["tls.crt"]) +
                      "' | base64 -d > '" + d + "/tls.crt'");
  EXPECT_EQ(decode.code, 0) << decode.out;
  Result verify = run("openssl verify -CAfile '" + d + "/ca.crt' '" + d + "/tls.crt'");
  EXPECT_EQ(verify.code, 0) << verify.out;
  Result names = run("openssl x509 -in '" + d + "/tls.crt' -noout -ext subjectAltName");
  EXPECT_NE(names.out.find("DNS:spotfit.spotfit-system.svc"), std::string::npos) << names.out;
  fs::remove_all(dir);
  const YAML::Node* c = container(o, "spotfit");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(str((*c)["image"]), "registry.example.com/platform/spotfit:0.1.0-rc1");
  YAML::Node pod = o["Deployment/spotfit-system/spotfit"]["spec"]["template"]["spec"];
  EXPECT_EQ(str(pod["nodeSelector"]["karpenter.sh/capacity-type"]), "on-demand");
  EXPECT_EQ(str(pod["tolerations"][0]["value"]), "platform");
  EXPECT_EQ(o["Deployment/spotfit-system/spotfit"]["spec"]["replicas"].as<int>(), 3);

  // The second scheduler: its image tag, and the webhook points workflow pods at it.
  const YAML::Node* s = container(o, "spotfit-scheduler");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(str((*s)["image"]), "registry.k8s.io/kube-scheduler:v1.31.2");
  YAML::Node cfg = YAML::Load(str(o["ConfigMap/spotfit-system/spotfit-config"]["data"]["config.yaml"]));
  EXPECT_EQ(str(cfg["webhook"]["schedulerName"]), "spotfit");
  EXPECT_EQ(str(cfg["server"]["logLevel"]), "debug");
  YAML::Node sched =
      YAML::Load(str(o["ConfigMap/spotfit-system/spotfit-scheduler-config"]["data"]["scheduler-config.yaml"]));
  EXPECT_EQ(str(sched["profiles"][0]["schedulerName"]), "spotfit");
  EXPECT_EQ(str(sched["extenders"][0]["urlPrefix"]), "https://spotfit.spotfit-system.svc:8443/extender");
  EXPECT_EQ(str(sched["extenders"][0]["tlsConfig"]["caFile"]), "/etc/spotfit-scheduler/ca/ca.crt");

  // Monitoring: the metrics port, a ServiceMonitor on it, the rules and the dashboard of manifests/monitoring.
  bool metricsPort = false;
  for (const auto& p : o["Service/spotfit-system/spotfit"]["spec"]["ports"]) metricsPort |= str(p["name"]) == "metrics";
  EXPECT_TRUE(metricsPort);
  YAML::Node sm = o["ServiceMonitor/spotfit-system/spotfit"];
  EXPECT_EQ(str(sm["spec"]["endpoints"][0]["port"]), "metrics");
  EXPECT_EQ(str(sm["metadata"]["labels"]["release"]), "prometheus");
  // The scaler has no Service: a PodMonitor scrapes it as job spotfit-scaler (alert SpotfitScalerDown).
  YAML::Node pm = o["PodMonitor/spotfit-system/spotfit-scaler"];
  ASSERT_TRUE(pm) << "the scaler's pods are scraped too";
  EXPECT_EQ(str(pm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]), "spotfit-scaler");
  EXPECT_EQ(str(pm["spec"]["podMetricsEndpoints"][0]["port"]), "metrics");
  EXPECT_EQ(str(pm["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["replacement"]), "spotfit-scaler");
  EXPECT_EQ(str(pm["metadata"]["labels"]["release"]), "prometheus");
  YAML::Node rules = YAML::LoadFile(kSource + "/manifests/monitoring/prometheusrule.yaml");
  EXPECT_EQ(canonical(o["PrometheusRule/spotfit-system/spotfit"]["spec"]), canonical(rules["spec"]));
  YAML::Node dashboard = o["ConfigMap/spotfit-system/spotfit-grafana-dashboard"];
  EXPECT_EQ(str(dashboard["metadata"]["labels"]["grafana_dashboard"]), "1");
  EXPECT_NE(str(dashboard["data"]["grafana-dashboard.json"]).find("\"panels\""), std::string::npos);
}

TEST_F(Chart, ScalerRunsInItsOwnDeploymentAndAccount) {
  Objects o = render("");
  const YAML::Node* c = container(o, "spotfit-scaler");
  ASSERT_NE(c, nullptr);
  std::vector<std::string> args;
  for (const auto& a : (*c)["args"]) args.push_back(a.as<std::string>());
  EXPECT_EQ(args, (std::vector<std::string>{"serve", "--config", "/etc/spotfit/config.yaml", "--scaler-only"}));
  EXPECT_EQ((*c)["ports"].size(), 1u) << "8080 only";
  YAML::Node pod = o["Deployment/spotfit-system/spotfit-scaler"]["spec"]["template"]["spec"];
  EXPECT_EQ(str(pod["serviceAccountName"]), "spotfit-scaler");
  EXPECT_TRUE(o.count("ServiceAccount/spotfit-system/spotfit-scaler"));
  for (const auto& d : {"spotfit", "spotfit-scaler"}) {
    YAML::Node sc = o[std::string("Deployment/spotfit-system/") + d]["spec"]["template"]["spec"]["securityContext"];
    EXPECT_EQ(str(sc["runAsGroup"]), "65532") << d;
  }
  EXPECT_NE(str(o["Service/spotfit-system/spotfit"]["spec"]["selector"]["app.kubernetes.io/name"]), "spotfit-scaler");

  // Least privilege: the webhook + extender account reads; only the scaler's account writes nodes.
  std::set<std::string> web = grantsOf(o, "spotfit"), scaler = grantsOf(o, "spotfit-scaler");
  for (const auto& g :
       {"/nodes:create", "/nodes:delete", "/pods/eviction:create", "spotfit.io/spotfitpools/status:patch",
        "spotfit.io/budgetpolicies/status:patch", "cluster.x-k8s.io/machinedeployments/scale:patch",
        "coordination.k8s.io/leases:create", "/configmaps:patch", "/configmaps:create"}) {
    EXPECT_FALSE(web.count(g)) << g << " for the spotfit account";
  }
  for (const auto& g :
       {"/nodes:create", "/nodes:delete", "/pods/eviction:create", "spotfit.io/spotfitpools/status:patch",
        "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update", "/configmaps:patch",
        "spotfit.io/budgetpolicies:watch", "spotfit.io/budgetpolicies/status:patch"}) {
    EXPECT_TRUE(scaler.count(g)) << g << " for the spotfit-scaler account";
  }
  EXPECT_TRUE(web.count("/configmaps:get"));
  EXPECT_FALSE(scaler.count("/configmaps:create")) << "the ledger ConfigMap is shipped";
  EXPECT_EQ(resourceNames(o, "spotfit-leader-and-ledger", "configmaps"), std::set<std::string>{"spotfit-cost-ledger"});
  EXPECT_EQ(resourceNames(o, "spotfit-leader-and-ledger", "leases"), std::set<std::string>{"spotfit-scaler"});
  YAML::Node ledger = o["ConfigMap/spotfit-system/spotfit-cost-ledger"];
  ASSERT_TRUE(ledger) << "the empty ledger ConfigMap the scaler's Role names";
  EXPECT_FALSE(ledger["data"]);
  EXPECT_EQ(str(ledger["metadata"]["annotations"]["helm.sh/resource-policy"]), "keep") << "uninstall keeps the costs";

  // config scaler.ledgerConfigMap renames the ConfigMap and both Roles' resourceNames with it.
  Objects renamed = render("", "--set config.scaler.ledgerConfigMap=costs");
  EXPECT_TRUE(renamed.count("ConfigMap/spotfit-system/costs"));
  EXPECT_FALSE(renamed.count("ConfigMap/spotfit-system/spotfit-cost-ledger"));
  EXPECT_EQ(resourceNames(renamed, "spotfit-leader-and-ledger", "configmaps"), std::set<std::string>{"costs"});
  EXPECT_EQ(resourceNames(renamed, "spotfit-webhook-ledger", "configmaps"), std::set<std::string>{"costs"});

  // The scaler without the extender: the spotfit Deployment is the webhook alone and reads no nodes.
  Objects noExtender = render("", "--set roles.extender=false");
  EXPECT_TRUE(noExtender.count("Deployment/spotfit-system/spotfit-scaler"));
  EXPECT_FALSE(grantsOf(noExtender, "spotfit").count("/nodes:list"));
  EXPECT_TRUE(grantsOf(noExtender, "spotfit-scaler").count("/nodes:list"));
  YAML::Node cfg = YAML::Load(str(noExtender["ConfigMap/spotfit-system/spotfit-config"]["data"]["config.yaml"]));
  EXPECT_FALSE(cfg["extender"]["enabled"].as<bool>(true));

  Objects three = render("", "--set scaler.replicas=3");
  EXPECT_EQ(three["Deployment/spotfit-system/spotfit-scaler"]["spec"]["replicas"].as<int>(), 3);
}

TEST_F(Chart, OneSecretNameEverywhere) {
  Objects o = render(kChart + "/ci/full-self-signed-values.yaml", "--set tls.secretName=my-tls");
  EXPECT_TRUE(o.count("Secret/spotfit-system/my-tls"));
  EXPECT_EQ(secretVolume(o, "spotfit"), "my-tls");
  EXPECT_EQ(secretVolume(o, "spotfit-scaler"), "my-tls");
  for (const auto& v : o["Deployment/spotfit-system/spotfit-scheduler"]["spec"]["template"]["spec"]["volumes"]) {
    if (str(v["name"]) == "spotfit-ca") {
      EXPECT_EQ(str(v["secret"]["secretName"]), "my-tls");
    }
  }
  Objects cm = render("", "--set tls.secretName=my-tls");
  YAML::Node cert = cm["Certificate/spotfit-system/spotfit-serving"];
  ASSERT_TRUE(cert) << "the Certificate keeps its name (certs/README.md, inject-ca-from)";
  EXPECT_EQ(str(cert["spec"]["secretName"]), "my-tls");
  EXPECT_EQ(
      str(cm["MutatingWebhookConfiguration//spotfit"]["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]),
      "spotfit-system/spotfit-serving");
}

TEST_F(Chart, NetworkPolicyTakesThePodCidrAndPrometheusSelector) {
  Objects o = render("",
                     "--set 'networkPolicy.podCIDRs={192.168.0.0/16,fd00:10::/56}' "
                     "--set networkPolicy.prometheus.namespaceSelector.matchLabels.team=obs "
                     "--set networkPolicy.allowKubeSystem=false");
  for (const auto& name : {"spotfit", "spotfit-scaler"}) {
    YAML::Node np = o[std::string("NetworkPolicy/spotfit-system/") + name];
    ASSERT_TRUE(np) << name;
    for (const auto& rule : np["spec"]["ingress"]) {
      YAML::Node block = rule["from"][0]["ipBlock"];
      EXPECT_EQ(str(block["cidr"]), "0.0.0.0/0");
      ASSERT_EQ(block["except"].size(), 2u) << name;
      EXPECT_EQ(str(block["except"][0]), "192.168.0.0/16");
      EXPECT_EQ(str(block["except"][1]), "fd00:10::/56");
      for (const auto& peer : rule["from"]) {
        if (!peer["namespaceSelector"]) continue;
        EXPECT_NE(str(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]), "kube-system");
      }
    }
    YAML::Node metrics = np["spec"]["ingress"][name == std::string("spotfit") ? 1 : 0];
    EXPECT_EQ(str(metrics["ports"][0]["port"]), "8080");
    EXPECT_EQ(str(metrics["from"][1]["namespaceSelector"]["matchLabels"]["team"]), "obs") << name;
    EXPECT_EQ(str(metrics["from"][1]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]), "prometheus") << name;
  }
  for (const auto& rule : o["NetworkPolicy/spotfit-system/spotfit-scaler"]["spec"]["ingress"]) {
    for (const auto& p : rule["ports"]) EXPECT_NE(str(p["port"]), "8443") << "nothing reaches the scaler's 8443";
  }
  Objects off = render("", "--set networkPolicy.enabled=false");
  EXPECT_FALSE(off.count("NetworkPolicy/spotfit-system/spotfit"));
  EXPECT_FALSE(off.count("NetworkPolicy/spotfit-system/spotfit-scaler"));
}

TEST_F(Chart, RefusesAnUnknownTlsModeAndAMissingCaBundle) {
  std::string base = "'" + helm() + "' template spotfit '" + kChart + "' --namespace spotfit-system";
  Result bad = run(base + " --set tls.mode=bogus");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("tls.mode must be certManager, secret or selfSigned"), std::string::npos) << bad.out;
  Result noCa = run(base + " --set tls.mode=secret");
  EXPECT_NE(noCa.code, 0);
  EXPECT_NE(noCa.out.find("tls.caBundle is required with tls.mode=secret"), std::string::npos) << noCa.out;
}

// ---- ChartDrift: the chart's defaults against `kubectl kustomize manifests/` -------------------------------

// Labels only Helm adds, Helm's own helm.sh/ annotations, and annotations that only make Helm roll pods on a
// config change.
void normalize(YAML::Node& obj) {
  YAML::Node meta = obj["metadata"];
  if (meta["labels"]) {
    for (const char* l :
         {"helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}) {
      meta["labels"].remove(l);
    }
    if (meta["labels"].size() == 0) meta.remove("labels");
  }
  if (meta["annotations"]) {  // helm.sh/resource-policy (keep the ledger on uninstall) is Helm's alone
    std::vector<std::string> helmOnly;
    for (const auto& kv : meta["annotations"]) {
      if (kv.first.as<std::string>().starts_with("helm.sh/")) helmOnly.push_back(kv.first.as<std::string>());
    }
    for (const auto& a : helmOnly) meta["annotations"].remove(a);
    if (meta["annotations"].size() == 0) meta.remove("annotations");
  }
  if (str(obj["kind"]) == "Deployment") {
    YAML::Node ann = obj["spec"]["template"]["metadata"]["annotations"];
    if (ann) ann.remove("checksum/config");
  }
  if (str(obj["kind"]) == "ConfigMap" && obj["data"]) {  // compare the embedded documents, not their key order
    for (auto kv : obj["data"]) kv.second = YAML::Load(kv.second.as<std::string>());
  }
}

// $SPOTFIT_KUBECTL when set (any kubectl with kustomize v5, for a run by hand), else the e2e build's.
std::string kubectl() {
  if (const char* k = std::getenv("SPOTFIT_KUBECTL"); k && *k) return k;
  Result r = run("bash '" + kSource + "/scripts/e2e/build-control-plane.sh'");
  return r.code == 0 ? lastLine(r.out) + "/kubectl" : "";
}

void expectSameObjects(Objects chart, Objects kustomize, const std::set<std::string>& chartOnly,
                       const std::set<std::string>& kustomizeOnly) {
  for (const auto& key : chartOnly) EXPECT_EQ(chart.erase(key), 1u) << key << " should be in the chart only";
  for (const auto& key : kustomizeOnly) EXPECT_EQ(kustomize.erase(key), 1u) << key << " should be in kustomize only";
  std::set<std::string> a, b;
  for (const auto& kv : chart) a.insert(kv.first);
  for (const auto& kv : kustomize) b.insert(kv.first);
  ASSERT_EQ(a, b);
  for (auto& [key, obj] : chart) {
    YAML::Node c = YAML::Clone(obj), k = YAML::Clone(kustomize[key]);
    normalize(c);
    normalize(k);
    EXPECT_EQ(canonical(c), canonical(k)) << key << "\n--- chart:\n"
                                          << YAML::Dump(c) << "\n--- kustomize:\n"
                                          << YAML::Dump(k);
  }
}

Objects kustomizeRender(const std::string& dir) {
  std::string k = kubectl();
  EXPECT_FALSE(k.empty()) << "the e2e control plane build (kubectl) failed";
  Result r = run("'" + k + "' kustomize '" + dir + "'", false);
  EXPECT_EQ(r.code, 0) << run("'" + k + "' kustomize '" + dir + "'").out;
  return r.code == 0 ? parse(r.out) : Objects{};
}

TEST_F(Chart, DriftDefaultsRenderTheKustomizeBase) {
  Objects kustomize = kustomizeRender(kSource + "/manifests");
  Objects chart = render("");
  ASSERT_FALSE(kustomize.empty());
  // Only the chart: its TLS objects (tls.mode certManager; with the base you make the Secret spotfit-tls by
  // hand or with certs/README.md's Certificate of the same name spotfit-serving) and the quota for its
  // priority class (priorityClass.quota, GKE). Only the base: the Namespace (Helm installs into the one it is
  // given, --create-namespace). Everything else, scaler Deployment, accounts, NetworkPolicies and the ledger
  // ConfigMap included, must be the same object.
  expectSameObjects(chart, kustomize,
                    {"Issuer/spotfit-system/spotfit-selfsigned", "Certificate/spotfit-system/spotfit-ca",
                     "Issuer/spotfit-system/spotfit-ca", "Certificate/spotfit-system/spotfit-serving",
                     "ResourceQuota/spotfit-system/spotfit-critical-pods"},
                    {"Namespace//spotfit-system"});
}

// The anchor GitHub gives a Markdown heading: lower case, punctuation but '-' dropped, spaces to '-'.
std::string headingAnchor(const std::string& heading) {
  std::string a;
  for (char c : heading) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      a += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (c == ' ' || c == '-')
      a += '-';
  }
  return a;
}

TEST(Monitoring, EveryAlertLinksItsSectionOfDocsRunbooks) {
  std::set<std::string> anchors;
  std::ifstream doc(kSource + "/docs/runbooks.md");
  ASSERT_TRUE(doc) << "docs/runbooks.md";
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind('#', 0) != 0) continue;
    std::size_t text = line.find_first_not_of('#');
    if (text != std::string::npos && line[text] == ' ') anchors.insert(headingAnchor(line.substr(text + 1)));
  }
  YAML::Node rules = YAML::LoadFile(kSource + "/manifests/monitoring/prometheusrule.yaml");
  const std::string base = "https://github.com/spotfit/spotfit/blob/main/docs/runbooks.md#";
  std::size_t alerts = 0;
  for (const auto& group : rules["spec"]["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule["alert"]) continue;
      ++alerts;
      std::string alert = str(rule["alert"]), url = str(rule["annotations"]["runbook_url"]);
      ASSERT_EQ(url.rfind(base, 0), 0u) << alert << ": runbook_url " << url << " is not in docs/runbooks.md";
      std::string anchor = url.substr(base.size());
      EXPECT_EQ(anchor, headingAnchor(alert)) << alert << ": its section is named after it";
      EXPECT_TRUE(anchors.count(anchor)) << alert << ": docs/runbooks.md has no section #" << anchor;
    }
  }
  EXPECT_GE(alerts, 10u);
  for (const char* needed :
       {"spotfitdown", "spotfitcertificateexpiringsoon", "spotfitwebhookerrors", "spotfitextenderfailing"}) {
    EXPECT_TRUE(anchors.count(needed)) << needed;
  }
}

TEST(Monitoring, DashboardHasWebhookPanelsAndNamespaceWorkflowPoolVariables) {
  YAML::Node d = YAML::LoadFile(kSource + "/manifests/monitoring/grafana-dashboard.json");  // JSON is YAML
  std::set<std::string> variables;
  for (const auto& v : d["templating"]["list"]) variables.insert(str(v["name"]));
  std::string exprs;
  for (const auto& panel : d["panels"]) {
    for (const auto& t : panel["targets"]) exprs += str(t["expr"]) + "\n";
  }
  for (const char* v : {"namespace", "workflow", "pool"}) {
    EXPECT_TRUE(variables.count(v)) << "dashboard variable " << v;
    EXPECT_NE(exprs.find(std::string("=~\"$") + v + "\""), std::string::npos) << "no panel filters by $" << v;
  }
  for (const char* metric :
       {"spotfit_webhook_admissions_total", "spotfit_webhook_mutations_total", "spotfit_webhook_internal_errors_total",
        "spotfit_tls_certificate_expiry_timestamp_seconds"}) {
    EXPECT_NE(exprs.find(metric), std::string::npos) << "no webhook panel on " << metric;
  }
}

// docs/annotations.md is the one reference of spotfit.io/ names: every one the source uses is on it.
TEST(Docs, AnnotationsDocListsEverySpotfitName) {
  std::ifstream docFile(kSource + "/docs/annotations.md");
  ASSERT_TRUE(docFile) << "docs/annotations.md";
  std::stringstream doc;
  doc << docFile.rdbuf();
  const std::regex name(R"(spotfit\.io/[A-Za-z0-9._-]*[A-Za-z0-9])");
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(kSource + "/src")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream f(entry.path());
    std::stringstream text;
    text << f.rdbuf();
    const std::string s = text.str();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), name); it != std::sregex_iterator(); ++it) {
      names.insert(it->str());
    }
  }
  EXPECT_GE(names.size(), 15u);
  for (const auto& n : names) {
    EXPECT_NE(doc.str().find("`" + n), std::string::npos) << n << " is used in src/ but not in docs/annotations.md";
  }
}

std::string readText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  return text.str();
}

// README.md points only inside the repository, lists every doc in docs/, and the newcomer docs' file
// references resolve.
TEST(Docs, ReadmeAndNewcomerDocsPointAtFilesOfTheRepository) {
  const std::string readme = readText(kSource + "/README.md");
  ASSERT_FALSE(readme.empty());
  EXPECT_EQ(readme.find("](http"), std::string::npos) << "README links outside the repository";
  EXPECT_EQ(readme.find("../"), std::string::npos) << "README points outside the repository";
  for (const auto& entry : fs::directory_iterator(kSource + "/docs")) {
    if (entry.path().extension() != ".md") continue;
    std::string doc = "`docs/" + entry.path().filename().string() + "`";
    EXPECT_NE(readme.find(doc), std::string::npos) << "README's documentation table lacks " << doc;
  }
  const std::regex path(
      R"(`((?:docs|charts|manifests|scripts|tests|certs|examples)/[A-Za-z0-9_./-]+\.(?:md|yaml|sh|py|cpp|json))[`#])");
  for (const char* doc : {"README.md", "docs/quickstart.md", "docs/troubleshooting.md", "docs/upgrade.md",
                          "docs/architecture.md", "docs/annotations.md", "docs/runbooks.md"}) {
    const std::string text = readText(kSource + "/" + doc);
    EXPECT_FALSE(text.empty()) << doc;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), path); it != std::sregex_iterator(); ++it) {
      EXPECT_TRUE(fs::exists(kSource + "/" + (*it)[1].str()))
          << doc << " refers to " << (*it)[1] << ", which does not exist";
    }
  }
}

// The kustomize base with components of manifests/components/, as a user's overlay outside the tree uses
// them (kustomize refuses an overlay inside the base's own root).
Objects kustomizeWithComponents(const std::vector<std::string>& components) {
  fs::path dir = fs::temp_directory_path() / ("spotfit-overlay-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string base = fs::relative(fs::path(kSource) / "manifests", dir).string();
  std::ofstream k(dir / "kustomization.yaml");
  k << "resources: [" << base << "]\ncomponents:\n";
  for (const auto& c : components) k << "  - " << base << "/components/" << c << "\n";
  k.close();
  Objects o = kustomizeRender(dir.string());
  fs::remove_all(dir);
  return o;
}

TEST_F(Chart, DriftCertManagerComponentRendersTheChartsCertManagerMode) {
  Objects kustomize = kustomizeWithComponents({"cert-manager"});
  Objects chart = render("");
  ASSERT_FALSE(kustomize.empty());
  // The chart's default tls.mode is certManager: its Issuers and Certificates are the component's.
  ASSERT_TRUE(kustomize.count("Certificate/spotfit-system/spotfit-serving"));
  expectSameObjects(chart, kustomize, {"ResourceQuota/spotfit-system/spotfit-critical-pods"},
                    {"Namespace//spotfit-system"});
}

TEST_F(Chart, DriftWebhookOnlyComponentRendersTheChartsWebhookOnlyRoles) {
  Objects kustomize = kustomizeWithComponents({"cert-manager", "webhook-only"});
  Objects chart = render("", "--set roles.extender=false,roles.scaler=false");
  ASSERT_FALSE(kustomize.empty());
  EXPECT_FALSE(kustomize.count("Deployment/spotfit-system/spotfit-scaler"));
  EXPECT_FALSE(grantsOf(kustomize, "spotfit").count("/nodes:list")) << "webhook only: no Node access";
  expectSameObjects(chart, kustomize, {"ResourceQuota/spotfit-system/spotfit-critical-pods"},
                    {"Namespace//spotfit-system"});
}

TEST_F(Chart, DriftMonitoringComponentRendersTheChartsMonitoring) {
  Objects kustomize = kustomizeWithComponents({"cert-manager", "monitoring"});
  Objects chart = render("",
                         "--set monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true,"
                         "monitoring.dashboard.enabled=true");
  ASSERT_FALSE(kustomize.empty());
  ASSERT_TRUE(kustomize.count("PodMonitor/spotfit-system/spotfit-scaler"));
  expectSameObjects(chart, kustomize, {"ResourceQuota/spotfit-system/spotfit-critical-pods"},
                    {"Namespace//spotfit-system"});
}

TEST_F(Chart, DriftMonitoringRendersTheKustomizeMonitoring) {
  Objects kustomize = kustomizeRender(kSource + "/manifests/monitoring");
  Objects chart = render("", "--set monitoring.prometheusRule.enabled=true,monitoring.dashboard.enabled=true");
  ASSERT_FALSE(kustomize.empty());
  Objects monitoring;
  for (const auto& key :
       {"PrometheusRule/spotfit-system/spotfit", "ConfigMap/spotfit-system/spotfit-grafana-dashboard"}) {
    ASSERT_TRUE(chart.count(key)) << key;
    monitoring[key] = chart[key];
  }
  // kustomize leaves the namespace to `kubectl apply -n`; the chart sets the release namespace.
  Objects placed;
  for (auto& [key, obj] : kustomize) {
    YAML::Node o = YAML::Clone(obj);
    o["metadata"]["namespace"] = "spotfit-system";
    placed[str(o["kind"]) + "/spotfit-system/" + str(o["metadata"]["name"])] = o;
  }
  expectSameObjects(monitoring, placed, {}, {});
}

}  // namespace
