// The kustomize base (manifests/) as a reviewer checks it for least privilege and reachability: which
// ServiceAccount may do what (resolving every binding in the base to its role's rules), which pods the
// NetworkPolicies admit on which port, the Deployments' security context and the Secret they mount.
// tests/e2e/test_access.py applies the same files to a real kube-apiserver.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

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
const fs::path kManifests = fs::path(spotfit::testpaths::sourceDir()) / "manifests";

std::vector<YAML::Node> docs(const std::string& relative) {
  std::vector<YAML::Node> out;
  for (const auto& d : YAML::LoadAllFromFile((kManifests / relative).string())) {
    if (d.IsMap()) out.push_back(d);
  }
  return out;
}

// Every object the kustomization lists.
std::vector<YAML::Node> kustomizeObjects() {
  std::vector<YAML::Node> out;
  YAML::Node k = YAML::LoadFile((kManifests / "kustomization.yaml").string());
  for (const auto& r : k["resources"]) {
    for (auto& d : docs(r.as<std::string>())) out.push_back(d);
  }
  return out;
}

YAML::Node find(const std::vector<YAML::Node>& objects, const std::string& kind, const std::string& name) {
  for (const auto& o : objects) {
    if (o["kind"].as<std::string>() == kind && o["metadata"]["name"].as<std::string>() == name) return o;
  }
  ADD_FAILURE() << kind << " " << name << " not in the kustomization";
  const YAML::Node none;
  return none["missing"];  // undefined: tests as false
}

// "group/resource:verb" -> resourceNames ("" = any name), for one ServiceAccount of spotfit-system.
using Grants = std::map<std::string, std::set<std::string>>;

Grants grantsOf(const std::vector<YAML::Node>& objects, const std::string& serviceAccount) {
  Grants g;
  for (const auto& b : objects) {
    std::string kind = b["kind"].as<std::string>();
    if (kind != "ClusterRoleBinding" && kind != "RoleBinding") continue;
    bool bound = false;
    for (const auto& s : b["subjects"]) {
      bound |= s["kind"].as<std::string>() == "ServiceAccount" && s["name"].as<std::string>() == serviceAccount &&
               s["namespace"].as<std::string>() == "spotfit-system";
    }
    if (!bound) continue;
    YAML::Node role = find(objects, b["roleRef"]["kind"].as<std::string>(), b["roleRef"]["name"].as<std::string>());
    if (!role) continue;
    for (const auto& rule : role["rules"]) {
      std::set<std::string> names;
      for (const auto& n : rule["resourceNames"]) names.insert(n.as<std::string>());
      if (names.empty()) names.insert("");
      for (const auto& grp : rule["apiGroups"]) {
        for (const auto& res : rule["resources"]) {
          for (const auto& verb : rule["verbs"]) {
            auto& set = g[grp.as<std::string>() + "/" + res.as<std::string>() + ":" + verb.as<std::string>()];
            set.insert(names.begin(), names.end());
          }
        }
      }
    }
  }
  return g;
}

bool allows(const Grants& g, const std::string& what, const std::string& name = "") {
  auto it = g.find(what);
  if (it == g.end()) return false;
  return it->second.count("") || (!name.empty() && it->second.count(name));
}

TEST(AccessManifests, WebhookAndExtenderAccountHoldsNoScalerRights) {
  auto objects = kustomizeObjects();
  Grants g = grantsOf(objects, "spotfit");
  // What the webhook and the extender call.
  for (const char* need : {"/nodes:list", "/nodes:watch", "/pods:watch", "/namespaces:watch", "batch/jobs:watch",
                           "policy/poddisruptionbudgets:create", "/events:create"}) {
    EXPECT_TRUE(allows(g, need)) << need;
  }
  EXPECT_TRUE(allows(g, "/configmaps:get", "spotfit-cost-ledger"));
  // What only the scaler may do.
  for (const char* denied : {"/nodes:delete", "/nodes:create", "/nodes:patch", "/nodes:update", "/nodes/status:patch",
                             "/pods/eviction:create", "cluster.x-k8s.io/machinedeployments:update",
                             "cluster.x-k8s.io/machinedeployments/scale:patch", "cluster.x-k8s.io/machines:patch",
                             "spotfit.io/spotfitpools/status:patch", "coordination.k8s.io/leases:create",
                             "coordination.k8s.io/leases:update", "/configmaps:create", "/configmaps:update",
                             "/configmaps:patch", "/configmaps:delete"}) {
    EXPECT_FALSE(g.count(denied)) << denied << " is granted to the webhook/extender account";
  }
  EXPECT_FALSE(allows(g, "/configmaps:get", "spotfit-config-of-someone-else"));
}

TEST(AccessManifests, ScalerAccountWritesOnlyItsLeaseAndLedger) {
  auto objects = kustomizeObjects();
  Grants g = grantsOf(objects, "spotfit-scaler");
  for (const char* need :
       {"/nodes:create", "/nodes:delete", "/nodes:patch", "/pods/eviction:create", "/pods:watch",
        "policy/poddisruptionbudgets:watch", "spotfit.io/spotfitpools:watch", "spotfit.io/spotfitpools/status:patch",
        "cluster.x-k8s.io/machinedeployments/scale:patch", "coordination.k8s.io/leases:create", "/events:create"}) {
    EXPECT_TRUE(allows(g, need)) << need;
  }
  EXPECT_TRUE(allows(g, "coordination.k8s.io/leases:get", "spotfit-scaler"));
  EXPECT_TRUE(allows(g, "coordination.k8s.io/leases:update", "spotfit-scaler"));
  EXPECT_FALSE(allows(g, "coordination.k8s.io/leases:update", "kube-scheduler")) << "only its own Lease";
  EXPECT_FALSE(g.count("/configmaps:update")) << "the scaler writes the ledger with merge patches";
  for (const char* verb : {"get", "patch"}) {
    std::string what = std::string("/configmaps:") + verb;
    EXPECT_TRUE(allows(g, what, "spotfit-cost-ledger")) << what;
    ASSERT_TRUE(g.count(what));
    EXPECT_EQ(g.at(what), std::set<std::string>{"spotfit-cost-ledger"}) << what << " must name the ledger only";
  }
  EXPECT_FALSE(g.count("/configmaps:create")) << "the ledger ConfigMap is shipped; no ConfigMap create";
  EXPECT_FALSE(g.count("/configmaps:delete"));
  // The shipped ledger is the ConfigMap the roles name.
  YAML::Node ledger = find(objects, "ConfigMap", "spotfit-cost-ledger");
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger["metadata"]["namespace"].as<std::string>(), "spotfit-system");
  EXPECT_FALSE(ledger["data"]) << "shipped empty: a re-apply must not reset what the scaler wrote";
}

TEST(AccessManifests, DeploymentsRunAsTheirOwnAccountsWithAGroupAndTheSecretCertsReadmeCreates) {
  auto objects = kustomizeObjects();
  std::ifstream readme(fs::path(spotfit::testpaths::sourceDir()) / "certs/README.md");
  std::stringstream text;
  text << readme.rdbuf();
  std::smatch created, certManager;
  std::string s = text.str();
  ASSERT_TRUE(std::regex_search(s, created, std::regex(R"(create secret tls (\S+))")));
  ASSERT_TRUE(std::regex_search(s, certManager, std::regex(R"(secretName: (\S+))")));
  EXPECT_EQ(created[1].str(), certManager[1].str());

  struct Want {
    const char* name;
    const char* account;
    const char* mode;  // the serve flag that picks the roles
  };
  for (const Want& w : {Want{"spotfit", "spotfit", ""}, Want{"spotfit-scaler", "spotfit-scaler", "--scaler-only"}}) {
    SCOPED_TRACE(w.name);
    YAML::Node d = find(objects, "Deployment", w.name);
    ASSERT_TRUE(d);
    YAML::Node pod = d["spec"]["template"]["spec"];
    EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), w.account);
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
    EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
    EXPECT_EQ(pod["securityContext"]["runAsGroup"].as<int>(), 65532);
    std::set<std::string> args;
    for (const auto& a : pod["containers"][0]["args"]) args.insert(a.as<std::string>());
    EXPECT_FALSE(args.count("--scaler")) << "the webhook Deployment's account has no scaler rights";
    EXPECT_EQ(args.count("--scaler-only"), std::string(w.mode).empty() ? 0u : 1u);
    bool mounted = false;
    for (const auto& v : pod["volumes"]) {
      if (v["secret"]) mounted |= v["secret"]["secretName"].as<std::string>() == created[1].str();
    }
    EXPECT_TRUE(mounted) << "mounts Secret " << created[1].str() << " (certs/README.md)";
  }
  // The Service (and so the webhook and extender traffic) reaches the webhook Deployment only.
  YAML::Node svc = find(objects, "Service", "spotfit");
  YAML::Node scalerLabels = find(objects, "Deployment", "spotfit-scaler")["spec"]["template"]["metadata"]["labels"];
  for (const auto& kv : svc["spec"]["selector"]) {
    EXPECT_NE(scalerLabels[kv.first.as<std::string>()].as<std::string>(""), kv.second.as<std::string>());
  }
}

// For one NetworkPolicy: port -> the peers of the rules that admit it (as "ipBlock CIDR except X",
// "namespace N", "namespace N pods L", "pods L").
std::map<int, std::set<std::string>> admitted(const YAML::Node& policy) {
  std::map<int, std::set<std::string>> out;
  for (const auto& rule : policy["spec"]["ingress"]) {
    EXPECT_TRUE(rule["from"] && rule["from"].size() > 0) << "a rule without `from` admits everyone";
    EXPECT_TRUE(rule["ports"] && rule["ports"].size() > 0) << "a rule without `ports` admits every port";
    for (const auto& port : rule["ports"]) {
      for (const auto& peer : rule["from"]) {
        std::string p;
        if (peer["ipBlock"]) {
          p = "ipBlock " + peer["ipBlock"]["cidr"].as<std::string>();
          for (const auto& e : peer["ipBlock"]["except"]) p += " except " + e.as<std::string>();
        }
        if (peer["namespaceSelector"]) {
          p = "namespace " + peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>();
        }
        if (peer["podSelector"]) {
          p += std::string(p.empty() ? "" : " ") + "pods " +
               peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>();
        }
        out[port["port"].as<int>()].insert(p);
      }
    }
  }
  return out;
}

TEST(AccessManifests, NetworkPoliciesAdmitTheControlPlaneOn8443AndProbesAndPrometheusOn8080) {
  auto objects = kustomizeObjects();
  const std::string notPods = "ipBlock 0.0.0.0/0 except 10.244.0.0/16";
  YAML::Node web = find(objects, "NetworkPolicy", "spotfit");
  ASSERT_TRUE(web);
  EXPECT_EQ(web["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(), "spotfit");
  EXPECT_EQ(web["spec"]["policyTypes"][0].as<std::string>(), "Ingress");
  auto ports = admitted(web);
  EXPECT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[8443], (std::set<std::string>{notPods, "namespace kube-system", "pods spotfit-scheduler"}));
  EXPECT_EQ(ports[8080], (std::set<std::string>{notPods, "namespace monitoring pods prometheus"}));

  YAML::Node scaler = find(objects, "NetworkPolicy", "spotfit-scaler");
  ASSERT_TRUE(scaler);
  EXPECT_EQ(scaler["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(), "spotfit-scaler");
  auto scalerPorts = admitted(scaler);
  EXPECT_EQ(scalerPorts.size(), 1u) << "nothing may reach the scaler's 8443";
  EXPECT_EQ(scalerPorts[8080], (std::set<std::string>{notPods, "namespace monitoring pods prometheus"}));

  // Each policy selects exactly its Deployment's pods.
  for (auto [policy, deployment] : {std::pair{web, "spotfit"}, std::pair{scaler, "spotfit-scaler"}}) {
    YAML::Node labels = find(objects, "Deployment", deployment)["spec"]["template"]["metadata"]["labels"];
    for (const auto& kv : policy["spec"]["podSelector"]["matchLabels"]) {
      EXPECT_EQ(labels[kv.first.as<std::string>()].as<std::string>(""), kv.second.as<std::string>()) << deployment;
    }
  }
}

TEST(AccessManifests, KustomizationListsEveryBaseFile) {
  YAML::Node k = YAML::LoadFile((kManifests / "kustomization.yaml").string());
  std::set<std::string> listed;
  for (const auto& r : k["resources"]) listed.insert(r.as<std::string>());
  for (const auto& f : fs::directory_iterator(kManifests / "base")) {
    EXPECT_TRUE(listed.count("base/" + f.path().filename().string())) << f.path();
  }
}

}  // namespace
