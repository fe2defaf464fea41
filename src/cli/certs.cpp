// `spotfit certs`: a CA and a serving certificate for the webhook/extender Service DNS names, and client
// certificates signed by the same CA for the callers of an mTLS-protected spotfit.

#include <filesystem>
#include <iostream>

#include "cli/args.hpp"
#include "server/certgen.hpp"

namespace spotfit::cli {
namespace {

int fail(const Error& e) {
  if (e.code == "invalid") throw UsageError{e.message};
  std::cerr << "spotfit certs: " << e.message << "\n";
  return kExitFailure;
}

int runCerts(const std::vector<std::string>& args) {
  Flags flags("certs", "--out DIR [--dns NAME...] [--client NAME...] [--days N]",
              "Write a CA (ca.crt, ca.key) and a serving certificate (tls.crt, tls.key) for the given DNS names\n"
              "and 127.0.0.1, ECDSA P-256, plus ca-bundle.b64: the base64 CA for a MutatingWebhookConfiguration's\n"
              "caBundle or a KubeSchedulerConfiguration extender's tlsConfig.caData. With --client NAME also a\n"
              "client certificate client-NAME.crt/.key (clientAuth, CN=NAME) signed by that CA, for\n"
              "server.clientAuth; --client without --dns signs with the CA already in DIR. See certs/README.md.");
  flags.string("out", "DIR", "directory to write into (created if missing)");
  flags.strings("dns", "NAME", "DNS name of the serving certificate, e.g. spotfit.spotfit-system.svc");
  flags.strings("ip", "ADDR", "extra IP address SAN besides 127.0.0.1");
  flags.strings("client", "NAME", "also issue a client certificate with CN=NAME, e.g. kube-apiserver");
  flags.strings("client-org", "ORG", "organization (O=, a Kubernetes group) of every --client certificate");
  flags.integer("days", "N", "validity in days", 365, 1, 36500);
  if (!flags.parse(args)) return kExitOk;
  flags.require("out");
  const std::vector<std::string> clients = flags.getAll("client");
  if (flags.getAll("dns").empty() && clients.empty())
    throw UsageError{"at least one --dns NAME is required (see --help), or --client NAME to sign with DIR/ca.crt"};
  if (flags.getAll("dns").empty() && !flags.getAll("ip").empty()) throw UsageError{"--ip needs --dns"};
  const std::string out = flags.get("out");
  std::filesystem::path d(out);
  const int days = static_cast<int>(flags.getInt("days"));

  std::string caCert, caKey;
  std::vector<std::string> written;
  if (!flags.getAll("dns").empty()) {
    server::CertOptions opts;
    opts.dnsNames = flags.getAll("dns");
    for (const auto& ip : flags.getAll("ip")) opts.ipAddresses.push_back(ip);
    opts.days = days;
    auto bundle = server::generateCertificates(opts);
    if (!bundle) return fail(bundle.error());
    if (Status st = server::writeCertificates(*bundle, out); !st) return fail(st.error());
    caCert = bundle->caCertPem;
    caKey = bundle->caKeyPem;
    for (const char* f : {"ca.crt", "ca.key", "tls.crt", "tls.key", "ca-bundle.b64"})
      written.push_back((d / f).string());
  } else {
    auto ca = server::readCa(out);
    if (!ca) {
      std::cerr << "spotfit certs: --client without --dns signs with DIR/ca.crt and DIR/ca.key: " << ca.error().message
                << "\n";
      return kExitFailure;
    }
    caCert = ca->first;
    caKey = ca->second;
  }
  for (const auto& name : clients) {
    server::ClientCertOptions co;
    co.commonName = name;
    co.organizations = flags.getAll("client-org");
    co.days = days;
    auto cert = server::generateClientCertificate(caCert, caKey, co);
    if (!cert) return fail(cert.error());
    if (Status st = server::writeClientCertificate(*cert, out, name); !st) return fail(st.error());
    written.push_back((d / ("client-" + name + ".crt")).string());
    written.push_back((d / ("client-" + name + ".key")).string());
  }
  std::cout << "wrote";
  for (size_t i = 0; i < written.size(); ++i) std::cout << (i ? ", " : " ") << written[i];
  std::cout << "\n";
  if (!flags.getAll("dns").empty()) {
    std::cout << "serve with: spotfit serve --tls-cert-file " << (d / "tls.crt").string() << " --tls-key-file "
              << (d / "tls.key").string() << "\n";
  }
  if (!clients.empty()) {
    std::cout << "require client certificates with: server.clientAuth.caFile: " << (d / "ca.crt").string()
              << " (or --client-ca-file)\n";
  }
  return kExitOk;
}

const Command kCerts("certs", "make a CA, a serving certificate and client certificates (mTLS)", runCerts);

}  // namespace
}  // namespace spotfit::cli
