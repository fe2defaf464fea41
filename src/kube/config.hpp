#pragma once
// Where the API server is and how to authenticate: kubeconfig files (the current context, or a named
// one) and the in-cluster service account. Resolution order matches controller-runtime's GetConfig:
// the --kubeconfig flag, then $KUBECONFIG, then the in-cluster service account, then ~/.kube/config.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace spotfit::kube {

struct ClusterConfig {
  std::string server;         // "https://10.0.0.1:6443" (scheme, host, optional port, optional path prefix)
  std::string tlsServerName;  // overrides the name used for SNI and certificate verification
  bool insecureSkipTlsVerify = false;
  std::string caPem;               // CA bundle (PEM); empty = the system trust store
  std::string clientCertPem;       // client certificate chain (PEM)
  std::string clientKeyPem;        // client private key (PEM)
  std::string bearerToken;         // static token
  std::string tokenFile;           // token read from this file and re-read when it changes (rotation)
  std::string username, password;  // HTTP basic auth (legacy kubeconfigs)
  std::string defaultNamespace = "default";
  std::string source;  // "kubeconfig /path (context x)" or "in-cluster", for logs
};

// Loads one kubeconfig (or several, merged the way kubectl merges $KUBECONFIG: the first file that sets
// a name wins). `context` empty = current-context. Certificates, keys and CA given as files are read
// relative to the kubeconfig's directory. exec and auth-provider users are refused with a clear error.
Result<ClusterConfig> loadKubeconfig(const std::vector<std::string>& paths, const std::string& context = {});
// From YAML text (paths in it resolved against baseDir).
Result<ClusterConfig> parseKubeconfig(const std::string& yaml, const std::string& baseDir,
                                      const std::string& context = {});

// The in-cluster service account: $KUBERNETES_SERVICE_HOST/PORT, the token file (re-read on rotation),
// the CA and the namespace under `saDir` (default /var/run/secrets/kubernetes.io/serviceaccount).
struct InClusterEnv {
  std::string host;  // $KUBERNETES_SERVICE_HOST
  std::string port;  // $KUBERNETES_SERVICE_PORT
  std::string saDir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static InClusterEnv fromEnvironment();
};
Result<ClusterConfig> loadInClusterConfig(const InClusterEnv& env = InClusterEnv::fromEnvironment());

// flag (--kubeconfig) → $KUBECONFIG → in-cluster → $HOME/.kube/config.
Result<ClusterConfig> loadDefaultConfig(const std::string& kubeconfigFlag = {}, const std::string& context = {});

Result<std::string> readFile(const std::string& path, size_t maxBytes = 16 * 1024 * 1024);

}  // namespace spotfit::kube
