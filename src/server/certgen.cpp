#include "server/certgen.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string_view>

#include "base/base64.hpp"

namespace spotfit::server {

namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

Error sslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  return makeError("crypto", what + ": " + buf);
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

bool validDnsName(const std::string& n) {
  if (n.empty() || n.size() > 253) return false;
  for (char c : n) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*';
    if (!ok) return false;
  }
  return n.front() != '.' && n.front() != '-';
}

Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return sslError(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return sslError("adding extension");
  return {};
}

Result<PKeyPtr> newKey() {
  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return sslError("generating an ECDSA P-256 key");
  return key;
}

Result<X509Ptr> newCertificate(EVP_PKEY* subjectKey, const std::string& commonName, int days) {
  X509Ptr cert(X509_new());
  if (!cert) return sslError("X509_new");
  X509_set_version(cert.get(), 2);  // v3
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    return sslError("serial number");
  // Back-date an hour so a node whose clock is a little behind still accepts the certificate.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  if (X509_set_pubkey(cert.get(), subjectKey) != 1) return sslError("public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(commonName.c_str()),
                                 -1, -1, 0) != 1)
    return sslError("subject name");
  return cert;
}

Result<std::string> keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return sslError("writing a private key");
  return bioString(bio.get());
}

Result<std::string> certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return sslError("writing a certificate");
  return bioString(bio.get());
}

Status writeFile(const std::filesystem::path& path, const std::string& data, bool secret) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return makeError("io", "cannot write " + tmp.string());
    out << data;
    if (!out.flush()) return makeError("io", "cannot write " + tmp.string());
  }
  if (chmod(tmp.c_str(), secret ? 0600 : 0644) != 0) return makeError("io", "cannot chmod " + tmp.string());
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // atomic: a server polling the files never sees half a file
  if (ec) return makeError("io", "cannot rename " + tmp.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<CertBundle> generateCertificates(const CertOptions& options) {
  if (options.dnsNames.empty()) return makeError("invalid", "at least one DNS name is required (--dns)");
  for (const auto& n : options.dnsNames) {
    if (!validDnsName(n)) return makeError("invalid", "'" + n + "' is not a valid DNS name");
  }
  if (options.days < 1 || options.days > 36500) return makeError("invalid", "days must be between 1 and 36500");
  ERR_clear_error();

  auto caKey = newKey();
  if (!caKey) return caKey.error();
  auto ca = newCertificate(caKey->get(), options.caCommonName, options.days);
  if (!ca) return ca.error();
  X509_set_issuer_name(ca->get(), X509_get_subject_name(ca->get()));
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}, std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status st = addExtension(ca->get(), ca->get(), nid, value); !st) return st.error();
  }
  if (X509_sign(ca->get(), caKey->get(), EVP_sha256()) == 0) return sslError("signing the CA certificate");

  auto key = newKey();
  if (!key) return key.error();
  auto leaf = newCertificate(key->get(), options.dnsNames.front(), options.days);
  if (!leaf) return leaf.error();
  X509_set_issuer_name(leaf->get(), X509_get_subject_name(ca->get()));
  std::string san;
  auto addSan = [&san](std::string_view kind, const std::string& value) {
    if (!san.empty()) san += ',';
    san.append(kind).append(value);
  };
  for (const auto& n : options.dnsNames) addSan("DNS:", n);
  for (const auto& ip : options.ipAddresses) addSan("IP:", ip);
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
        std::pair{NID_key_usage, std::string("critical,digitalSignature")},
        std::pair{NID_ext_key_usage, std::string("serverAuth")},
        std::pair{NID_subject_key_identifier, std::string("hash")},
        std::pair{NID_authority_key_identifier, std::string("keyid:always")}, std::pair{NID_subject_alt_name, san}}) {
    if (Status st = addExtension(leaf->get(), ca->get(), nid, value); !st) return st.error();
  }
  if (X509_sign(leaf->get(), caKey->get(), EVP_sha256()) == 0) return sslError("signing the serving certificate");

  CertBundle b;
  auto caPem = certPem(ca->get());
  auto caKeyText = keyPem(caKey->get());
  auto leafPem = certPem(leaf->get());
  auto leafKeyText = keyPem(key->get());
  if (!caPem) return caPem.error();
  if (!caKeyText) return caKeyText.error();
  if (!leafPem) return leafPem.error();
  if (!leafKeyText) return leafKeyText.error();
  b.caCertPem = *caPem;
  b.caKeyPem = *caKeyText;
  b.certPem = *leafPem;
  b.keyPem = *leafKeyText;
  b.caBundleBase64 = base::base64Encode(b.caCertPem);
  return b;
}

namespace {

bool validClientName(const std::string& n) {
  if (n.empty() || n.size() > 64 || n.front() == '.' || n.front() == '-') return false;
  for (char c : n) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<ClientCert> generateClientCertificate(const std::string& caCertPem, const std::string& caKeyPem,
                                             const ClientCertOptions& options) {
  if (!validClientName(options.commonName))
    return makeError("invalid", "client name '" + options.commonName +
                                    "' must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -)");
  if (options.days < 1 || options.days > 36500) return makeError("invalid", "days must be between 1 and 36500");
  for (const auto& o : options.organizations) {
    if (o.empty() || o.size() > 64) return makeError("invalid", "organization must be 1 to 64 characters");
  }
  ERR_clear_error();
  BioPtr caCertBio(BIO_new_mem_buf(caCertPem.data(), static_cast<int>(caCertPem.size())));
  BioPtr caKeyBio(BIO_new_mem_buf(caKeyPem.data(), static_cast<int>(caKeyPem.size())));
  if (!caCertBio || !caKeyBio) return sslError("reading the CA");
  X509Ptr ca(PEM_read_bio_X509(caCertBio.get(), nullptr, nullptr, nullptr));
  if (!ca) return sslError("the CA certificate is not PEM");
  PKeyPtr caKey(PEM_read_bio_PrivateKey(caKeyBio.get(), nullptr, nullptr, nullptr));
  if (!caKey) return sslError("the CA key is not PEM");
  if (X509_check_private_key(ca.get(), caKey.get()) != 1) {
    ERR_clear_error();
    return makeError("invalid", "the CA key does not match the CA certificate");
  }
  if (X509_check_ca(ca.get()) == 0) return makeError("invalid", "the CA certificate is not a CA");

  auto key = newKey();
  if (!key) return key.error();
  auto leaf = newCertificate(key->get(), options.commonName, options.days);
  if (!leaf) return leaf.error();
  X509_NAME* subject = X509_get_subject_name(leaf->get());
  for (const auto& o : options.organizations) {
    if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(o.c_str()), -1,
                                   -1, 0) != 1)
      return sslError("subject organization");
  }
  X509_set_issuer_name(leaf->get(), X509_get_subject_name(ca.get()));
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"}, std::pair{NID_key_usage, "critical,digitalSignature"},
        std::pair{NID_ext_key_usage, "clientAuth"}, std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (Status st = addExtension(leaf->get(), ca.get(), nid, value); !st) return st.error();
  }
  if (X509_sign(leaf->get(), caKey.get(), EVP_sha256()) == 0) return sslError("signing the client certificate");
  auto pem = certPem(leaf->get());
  if (!pem) return pem.error();
  auto keyText = keyPem(key->get());
  if (!keyText) return keyText.error();
  return ClientCert{*pem, *keyText};
}

Status writeClientCertificate(const ClientCert& cert, const std::string& dir, const std::string& name) {
  if (!validClientName(name)) return makeError("invalid", "client name '" + name + "' is not a valid file name stem");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return makeError("io", "cannot create " + dir + ": " + ec.message());
  std::filesystem::path d(dir);
  if (Status st = writeFile(d / ("client-" + name + ".key"), cert.keyPem, true); !st) return st;
  return writeFile(d / ("client-" + name + ".crt"), cert.certPem, false);
}

Result<std::pair<std::string, std::string>> readCa(const std::string& dir) {
  std::pair<std::string, std::string> out;
  std::filesystem::path d(dir);
  for (auto [name, text] : {std::pair{"ca.crt", &out.first}, std::pair{"ca.key", &out.second}}) {
    std::filesystem::path p = d / name;
    std::error_code ec;
    auto size = std::filesystem::file_size(p, ec);
    if (ec) return makeError("io", "cannot read " + p.string() + ": " + ec.message());
    if (size > 64 * 1024)
      return makeError("invalid", p.string() + " is larger than 64 KiB: not a CA from 'spotfit certs'");
    std::ifstream in(p, std::ios::binary);
    text->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) return makeError("io", "cannot read " + p.string());
  }
  return out;
}

Status writeCertificates(const CertBundle& bundle, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return makeError("io", "cannot create " + dir + ": " + ec.message());
  std::filesystem::path d(dir);
  for (auto [name, data, secret] :
       {std::tuple{"ca.crt", &bundle.caCertPem, false}, std::tuple{"ca.key", &bundle.caKeyPem, true},
        std::tuple{"tls.crt", &bundle.certPem, false}, std::tuple{"tls.key", &bundle.keyPem, true}}) {
    if (Status st = writeFile(d / name, *data, secret); !st) return st;
  }
  return writeFile(d / "ca-bundle.b64", bundle.caBundleBase64 + "\n", false);
}

}  // namespace spotfit::server
