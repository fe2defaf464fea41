// `spotfit certs`: a CA and a serving certificate for the webhook/extender Service DNS names.

#include <filesystem>
#include <iostream>

#include "cli/args.hpp"
#include "server/certgen.hpp"

namespace spotfit::cli {
namespace {

int runCerts(const std::vector<std::string>& args) {
  Flags flags("certs", "--out DIR --dns NAME [--dns NAME...] [--days N]",
              "Write a CA (ca.crt, ca.key) and a serving certificate (tls.crt, tls.key) for the given DNS names\n"
              "and 127.0.0.1, ECDSA P-256, plus ca-bundle.b64: the base64 CA for a MutatingWebhookConfiguration's\n"
              "caBundle or a KubeSchedulerConfiguration extender's tlsConfig.caData. See certs/README.md.");
  flags.string("out", "DIR", "directory to write into (created if missing)");
  flags.strings("dns", "NAME", "DNS name of the serving certificate, e.g. spotfit.spotfit-system.svc");
  flags.strings("ip", "ADDR", "extra IP address SAN besides 127.0.0.1");
  flags.integer("days", "N", "validity in days", 365, 1, 36500);
  if (!flags.parse(args)) return kExitOk;
  flags.require("out");
  if (flags.getAll("dns").empty()) throw UsageError{"at least one --dns NAME is required (see --help)"};

  server::CertOptions opts;
  opts.dnsNames = flags.getAll("dns");
  for (const auto& ip : flags.getAll("ip")) opts.ipAddresses.push_back(ip);
  opts.days = static_cast<int>(flags.getInt("days"));
  auto bundle = server::generateCertificates(opts);
  if (!bundle) {
    if (bundle.error().code == "invalid") throw UsageError{bundle.error().message};
    std::cerr << "spotfit certs: " << bundle.error().message << "\n";
    return kExitFailure;
  }
  const std::string out = flags.get("out");
  if (Status st = server::writeCertificates(*bundle, out); !st) {
    std::cerr << "spotfit certs: " << st.error().message << "\n";
    return kExitFailure;
  }
  std::filesystem::path d(out);
  std::cout << "wrote " << (d / "ca.crt").string() << ", " << (d / "ca.key").string() << ", "
            << (d / "tls.crt").string() << ", " << (d / "tls.key").string() << ", " << (d / "ca-bundle.b64").string()
            << "\nserve with: spotfit serve --tls-cert-file " << (d / "tls.crt").string() << " --tls-key-file "
            << (d / "tls.key").string() << "\n";
  return kExitOk;
}

const Command kCerts("certs", "make a CA and a serving certificate for the Service DNS names", runCerts);

}  // namespace
}  // namespace spotfit::cli
