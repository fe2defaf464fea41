#pragma once
// Development/bootstrap certificates: a self-signed CA and a serving certificate it signs, both ECDSA
// P-256, made with OpenSSL 3's API, plus client certificates signed by the same CA for the callers of an
// mTLS-protected server (kube-apiserver, kube-scheduler). Used by `spotfit certs` and by the tests.

#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace spotfit::server {

struct CertOptions {
  std::vector<std::string> dnsNames;                  // SANs of the serving certificate (at least one)
  std::vector<std::string> ipAddresses{"127.0.0.1"};  // IP SANs
  int days = 365;                                     // validity of both certificates
  std::string caCommonName = "spotfit CA";
};

struct CertBundle {
  std::string caCertPem;
  std::string caKeyPem;
  std::string certPem;         // serving certificate (leaf only; the CA is distributed via caBundle)
  std::string keyPem;          // serving key (PKCS#8 PEM)
  std::string caBundleBase64;  // base64 of caCertPem, single line: webhook clientConfig.caBundle
};

Result<CertBundle> generateCertificates(const CertOptions& options);

// Writes ca.crt, ca.key, tls.crt, tls.key (keys mode 0600) and ca-bundle.b64 into `dir` (created when
// missing). File names follow the kubernetes.io/tls Secret keys.
Status writeCertificates(const CertBundle& bundle, const std::string& dir);

// A client certificate (`clientAuth` extended key usage, no SANs) signed by an existing CA. Kubernetes
// convention: the common name is the user name, each organization a group.
struct ClientCertOptions {
  std::string commonName;                  // also the file name stem: [A-Za-z0-9._-], 1..64 characters
  std::vector<std::string> organizations;  // optional
  int days = 365;
};
struct ClientCert {
  std::string certPem;
  std::string keyPem;  // PKCS#8 PEM
};
Result<ClientCert> generateClientCertificate(const std::string& caCertPem, const std::string& caKeyPem,
                                             const ClientCertOptions& options);

// Writes client-<name>.crt and client-<name>.key (0600) into `dir` (created when missing).
Status writeClientCertificate(const ClientCert& cert, const std::string& dir, const std::string& name);

// Reads ca.crt and ca.key from `dir` (as writeCertificates left them) to sign more certificates.
Result<std::pair<std::string, std::string>> readCa(const std::string& dir);

}  // namespace spotfit::server
