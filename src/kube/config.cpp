#include "kube/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/base64.hpp"
#include "kube/yaml.hpp"

namespace spotfit::kube {

namespace fs = std::filesystem;

Result<std::string> readFile(const std::string& path, size_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("io", "cannot read " + path);
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > maxBytes)
      return makeError("invalid", path + " is larger than " + std::to_string(maxBytes) + " bytes");
  }
  return out;
}

namespace {

Error bad(const std::string& what) {
  return makeError("invalid", "kubeconfig: " + what);
}

// Finds `name` in a list of {name: x, <field>: {...}} entries over every file (first wins).
const YAML::Node* findNamed(const std::vector<YAML::Node>& lists, const std::string& name,
                            std::vector<YAML::Node>& keep) {
  for (const auto& list : lists) {
    if (!list || !list.IsSequence()) continue;
    for (const auto& item : list) {
      if (item.IsMap() && item["name"] && item["name"].IsScalar() && item["name"].as<std::string>() == name) {
        keep.push_back(item);
        return &keep.back();
      }
    }
  }
  return nullptr;
}

std::string scalar(const YAML::Node& n, const char* key) {
  if (!n.IsMap()) return {};
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return {};
  return v.as<std::string>();
}

std::string resolve(const std::string& path, const std::string& baseDir) {
  if (path.empty() || fs::path(path).is_absolute() || baseDir.empty()) return path;
  return (fs::path(baseDir) / path).string();
}

// data (base64) wins over file, as in client-go.
Result<std::string> dataOrFile(const YAML::Node& n, const char* dataKey, const char* fileKey,
                               const std::string& baseDir, const std::string& what) {
  std::string data = scalar(n, dataKey);
  if (!data.empty()) {
    auto d = base::base64Decode(data, base::Base64::kLenient);
    if (!d.ok()) return bad(what + " " + dataKey + ": " + d.error().message);
    return std::move(d).value();
  }
  std::string file = scalar(n, fileKey);
  if (!file.empty()) {
    auto f = readFile(resolve(file, baseDir));
    if (!f.ok()) return bad(what + " " + fileKey + ": " + f.error().message);
    return std::move(f).value();
  }
  return std::string();
}

Result<ClusterConfig> build(const std::vector<std::pair<YAML::Node, std::string>>& docs, const std::string& contextArg,
                            const std::string& sourceName) {
  std::vector<YAML::Node> clusters, users, contexts;
  std::vector<std::string> dirs;
  std::string current;
  for (const auto& [doc, dir] : docs) {
    if (!doc.IsMap()) return bad("the document is not a mapping");
    clusters.push_back(doc["clusters"]);
    users.push_back(doc["users"]);
    contexts.push_back(doc["contexts"]);
    dirs.push_back(dir);
    if (current.empty()) current = scalar(doc, "current-context");
  }
  std::string ctxName = contextArg.empty() ? current : contextArg;
  if (ctxName.empty()) return bad("no current-context is set and no context was given");
  std::vector<YAML::Node> keep;
  keep.reserve(3);
  const YAML::Node* ctx = findNamed(contexts, ctxName, keep);
  if (ctx == nullptr) return bad("context \"" + ctxName + "\" not found");
  YAML::Node c = (*ctx)["context"];
  if (!c || !c.IsMap()) return bad("context \"" + ctxName + "\" has no context mapping");
  std::string clusterName = scalar(c, "cluster");
  std::string userName = scalar(c, "user");
  const YAML::Node* cl = findNamed(clusters, clusterName, keep);
  if (cl == nullptr) return bad("cluster \"" + clusterName + "\" (of context \"" + ctxName + "\") not found");
  // Which file a name came from decides the base directory of relative paths; find it again.
  auto dirOf = [&](const std::vector<YAML::Node>& lists, const std::string& name) {
    for (size_t i = 0; i < lists.size(); ++i) {
      if (!lists[i] || !lists[i].IsSequence()) continue;
      for (const auto& item : lists[i]) {
        if (scalar(item, "name") == name) return dirs[i];
      }
    }
    return std::string();
  };
  ClusterConfig cfg;
  YAML::Node cluster = (*cl)["cluster"];
  if (!cluster || !cluster.IsMap()) return bad("cluster \"" + clusterName + "\" has no cluster mapping");
  cfg.server = scalar(cluster, "server");
  if (cfg.server.empty()) return bad("cluster \"" + clusterName + "\" has no server");
  cfg.tlsServerName = scalar(cluster, "tls-server-name");
  cfg.insecureSkipTlsVerify = scalar(cluster, "insecure-skip-tls-verify") == "true";
  {
    auto ca = dataOrFile(cluster, "certificate-authority-data", "certificate-authority", dirOf(clusters, clusterName),
                         "cluster \"" + clusterName + "\"");
    if (!ca.ok()) return ca.error();
    cfg.caPem = std::move(ca).value();
  }
  if (!userName.empty()) {
    const YAML::Node* us = findNamed(users, userName, keep);
    if (us == nullptr) return bad("user \"" + userName + "\" (of context \"" + ctxName + "\") not found");
    YAML::Node user = (*us)["user"];
    if (user && user.IsMap()) {
      if (user["exec"]) {
        return makeError("unsupported", "kubeconfig: user \"" + userName +
                                            "\" authenticates with an exec plugin, which spotfit does not run; use a "
                                            "token, a client certificate or the in-cluster service account");
      }
      if (user["auth-provider"]) {
        return makeError("unsupported", "kubeconfig: user \"" + userName +
                                            "\" uses an auth-provider plugin, which spotfit does not support; use a "
                                            "token, a client certificate or the in-cluster service account");
      }
      std::string dir = dirOf(users, userName);
      std::string what = "user \"" + userName + "\"";
      auto cert = dataOrFile(user, "client-certificate-data", "client-certificate", dir, what);
      if (!cert.ok()) return cert.error();
      auto key = dataOrFile(user, "client-key-data", "client-key", dir, what);
      if (!key.ok()) return key.error();
      cfg.clientCertPem = std::move(cert).value();
      cfg.clientKeyPem = std::move(key).value();
      if (cfg.clientCertPem.empty() != cfg.clientKeyPem.empty()) {
        return bad(what + " has a client certificate without a key (or a key without a certificate)");
      }
      cfg.bearerToken = scalar(user, "token");
      std::string tokenFile = scalar(user, "tokenFile");
      if (cfg.bearerToken.empty() && !tokenFile.empty()) cfg.tokenFile = resolve(tokenFile, dir);
      cfg.username = scalar(user, "username");
      cfg.password = scalar(user, "password");
    }
  }
  std::string ns = scalar(c, "namespace");
  if (!ns.empty()) cfg.defaultNamespace = ns;
  cfg.source = sourceName + " (context " + ctxName + ")";
  return cfg;
}

}  // namespace

Result<ClusterConfig> parseKubeconfig(const std::string& yaml, const std::string& baseDir, const std::string& context) {
  try {
    auto doc = kube::yaml::load(yaml);
    if (!doc.ok()) return bad(doc.error().message);
    return build({{*doc, baseDir}}, context, "kubeconfig");
  } catch (const YAML::Exception& e) {
    return bad(std::string("malformed YAML: ") + e.what());
  }
}

Result<ClusterConfig> loadKubeconfig(const std::vector<std::string>& paths, const std::string& context) {
  std::vector<std::pair<YAML::Node, std::string>> docs;
  std::string names;
  for (const auto& p : paths) {
    if (p.empty()) continue;
    auto text = readFile(p);
    if (!text.ok()) {
      // $KUBECONFIG may list files that do not exist (kubectl skips them); a single explicit path must exist.
      if (paths.size() == 1) return makeError("io", "kubeconfig: cannot read " + p);
      continue;
    }
    try {
      auto doc = kube::yaml::load(*text);
      if (!doc.ok()) return bad(p + ": " + doc.error().message);
      docs.emplace_back(*doc, fs::path(p).parent_path().string());
    } catch (const YAML::Exception& e) {
      return bad(p + ": malformed YAML: " + e.what());
    }
    if (!names.empty()) names += ":";
    names += p;
  }
  if (docs.empty()) return makeError("io", "kubeconfig: none of the files could be read");
  return build(docs, context, "kubeconfig " + names);
}

InClusterEnv InClusterEnv::fromEnvironment() {
  InClusterEnv e;
  if (const char* h = std::getenv("KUBERNETES_SERVICE_HOST")) e.host = h;
  if (const char* p = std::getenv("KUBERNETES_SERVICE_PORT")) e.port = p;
  return e;
}

Result<ClusterConfig> loadInClusterConfig(const InClusterEnv& env) {
  if (env.host.empty() || env.port.empty()) {
    return makeError("unavailable",
                     "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  ClusterConfig cfg;
  std::string host = env.host.find(':') != std::string::npos ? "[" + env.host + "]" : env.host;  // IPv6
  cfg.server = "https://" + host + ":" + env.port;
  cfg.tokenFile = env.saDir + "/token";
  auto token = readFile(cfg.tokenFile);
  if (!token.ok())
    return makeError("unavailable", "in-cluster config: cannot read the service account token " + cfg.tokenFile);
  auto ca = readFile(env.saDir + "/ca.crt");
  if (!ca.ok()) return makeError("unavailable", "in-cluster config: cannot read " + env.saDir + "/ca.crt");
  cfg.caPem = std::move(ca).value();
  if (auto ns = readFile(env.saDir + "/namespace"); ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    if (!n.empty()) cfg.defaultNamespace = n;
  }
  cfg.source = "in-cluster";
  return cfg;
}

Result<ClusterConfig> loadDefaultConfig(const std::string& flag, const std::string& context) {
  if (!flag.empty()) return loadKubeconfig({flag}, context);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::vector<std::string> paths;
    std::stringstream ss(env);
    std::string p;
    while (std::getline(ss, p, ':')) {
      if (!p.empty()) paths.push_back(p);
    }
    return loadKubeconfig(paths, context);
  }
  InClusterEnv env = InClusterEnv::fromEnvironment();
  if (!env.host.empty()) return loadInClusterConfig(env);
  if (const char* home = std::getenv("HOME")) {
    std::string p = std::string(home) + "/.kube/config";
    if (fs::exists(p)) return loadKubeconfig({p}, context);
  }
  return makeError(
      "unavailable",
      "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a cluster, or create ~/.kube/config");
}

}  // namespace spotfit::kube
