#include "server/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace spotfit::server {

namespace ssl = boost::asio::ssl;

namespace {

std::string opensslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  // Wire format: length-prefixed protocol names. Only HTTP/1.1 is served.
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string readFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const std::string& certPem, const std::string& keyPem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_SINGLE_ECDH_USE);
  static constexpr const char* kTls12Ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) return makeError("tls", "cipher list: " + opensslError());
  if (SSL_CTX_set_ciphersuites(native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") !=
      1)
    return makeError("tls", "TLS 1.3 cipher suites: " + opensslError());
  SSL_CTX_set_alpn_select_cb(native, selectAlpn, nullptr);

  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(certPem), ec);
  if (ec) return makeError("tls", "certificate: " + ec.message());
  ctx->use_private_key(boost::asio::buffer(keyPem), ssl::context::pem, ec);
  if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    return makeError("tls", "private key does not match the certificate");
  }
  if (ec) return makeError("tls", "private key: " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return makeError("tls", "private key does not match the certificate");
  }
  return ctx;
}

Result<CertificateInfo> describeCertificate(const std::string& certPem) {
  BIO* bio = BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size()));
  if (!bio) return makeError("tls", "out of memory");
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) {
    ERR_clear_error();
    return makeError("tls", "no PEM certificate found");
  }
  CertificateInfo info;
  char name[512];
  X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
  info.subject = name;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
    info.notAfter = std::chrono::system_clock::from_time_t(timegm(&tm));
  }
  X509_free(cert);
  return info;
}

CertificateStore::CertificateStore(std::string certFile, std::string keyFile)
    : certFile_(std::move(certFile)), keyFile_(std::move(keyFile)) {}

Status CertificateStore::readFiles(std::string& cert, std::string& key) const {
  bool ok = false;
  cert = readFile(certFile_, ok);
  if (!ok) return makeError("io", "cannot read TLS certificate file " + certFile_);
  key = readFile(keyFile_, ok);
  if (!ok) return makeError("io", "cannot read TLS key file " + keyFile_);
  return {};
}

Status CertificateStore::load() {
  std::string cert, key;
  if (Status st = readFiles(cert, key); !st) return st;
  auto ctx = makeServerTlsContext(cert, key);
  if (!ctx) return makeError(ctx.error().code, certFile_ + " / " + keyFile_ + ": " + ctx.error().message);
  auto info = describeCertificate(cert);
  std::lock_guard lock(mu_);
  ctx_ = *ctx;
  info_ = info ? *info : CertificateInfo{};
  loadedCert_ = std::move(cert);
  loadedKey_ = std::move(key);
  return {};
}

CertificateStore::PollResult CertificateStore::poll(std::string* error) {
  std::string cert, key;
  if (Status st = readFiles(cert, key); !st) {
    // A Secret update briefly leaves no file behind; that is not a new pair yet. Report it once.
    std::lock_guard lock(mu_);
    if (rejectedCert_ == "\x01unreadable") return PollResult::Unchanged;
    rejectedCert_ = "\x01unreadable";
    rejectedKey_.clear();
    if (error) *error = st.error().message;
    return PollResult::Rejected;
  }
  {
    std::lock_guard lock(mu_);
    if (cert == loadedCert_ && key == loadedKey_) {
      rejectedCert_.clear();
      rejectedKey_.clear();
      return PollResult::Unchanged;
    }
    if (cert == rejectedCert_ && key == rejectedKey_) return PollResult::Unchanged;
  }
  auto ctx = makeServerTlsContext(cert, key);
  std::lock_guard lock(mu_);
  if (!ctx) {
    rejectedCert_ = std::move(cert);
    rejectedKey_ = std::move(key);
    if (error) *error = ctx.error().message;
    return PollResult::Rejected;
  }
  auto info = describeCertificate(cert);
  ctx_ = *ctx;
  info_ = info ? *info : CertificateInfo{};
  loadedCert_ = std::move(cert);
  loadedKey_ = std::move(key);
  rejectedCert_.clear();
  rejectedKey_.clear();
  return PollResult::Reloaded;
}

std::shared_ptr<ssl::context> CertificateStore::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

CertificateInfo CertificateStore::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

}  // namespace spotfit::server
