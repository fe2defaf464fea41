#pragma once
// Independent checks of generated certificates with OpenSSL's verifier (shared by server and CLI tests).

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

namespace spotfit::testing {

struct CertFacts {
  bool chainVerifies = false;
  std::string verifyError;
  std::vector<std::string> dnsSans;
  std::vector<std::string> ipSans;
  bool leafIsP256 = false;
  bool caIsP256 = false;
  bool keyMatchesCert = false;
  bool caIsCa = false;
  bool leafIsCa = true;
  bool serverAuth = false;
};

inline X509* readCert(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return c;
}

inline EVP_PKEY* readKey(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return k;
}

inline bool isP256(EVP_PKEY* k) {
  if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC) return false;
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &len) == 1 &&
         std::string(group) == "prime256v1";
}

inline CertFacts inspect(const std::string& caPem, const std::string& certPem, const std::string& keyPem,
                         int purpose = X509_PURPOSE_SSL_SERVER) {
  CertFacts f;
  X509* ca = readCert(caPem);
  X509* leaf = readCert(certPem);
  EVP_PKEY* key = readKey(keyPem);
  if (!ca || !leaf || !key) {
    f.verifyError = "unreadable PEM";
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(key);
    return f;
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  f.chainVerifies = X509_verify_cert(ctx) == 1;
  if (!f.chainVerifies) f.verifyError = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);

  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      f.dnsSans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                             static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
    } else if (n->type == GEN_IPADD) {
      const unsigned char* p = ASN1_STRING_get0_data(n->d.iPAddress);
      if (ASN1_STRING_length(n->d.iPAddress) == 4)
        f.ipSans.push_back(std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
                           std::to_string(p[3]));
    }
  }
  GENERAL_NAMES_free(sans);
  f.leafIsP256 = isP256(X509_get0_pubkey(leaf));
  f.caIsP256 = isP256(X509_get0_pubkey(ca));
  f.keyMatchesCert = X509_check_private_key(leaf, key) == 1;
  f.caIsCa = X509_check_ca(ca) > 0;
  f.leafIsCa = X509_check_ca(leaf) > 0;
  f.serverAuth = (X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) != 0;
  X509_free(ca);
  X509_free(leaf);
  EVP_PKEY_free(key);
  return f;
}

}  // namespace spotfit::testing
