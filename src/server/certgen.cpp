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
#include <memory>
#include <string_view>

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

std::string base64Encode(const std::string& data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
                 static_cast<uint32_t>(static_cast<unsigned char>(data[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

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
  b.caBundleBase64 = base64Encode(b.caCertPem);
  return b;
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
