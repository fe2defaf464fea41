#include "server/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

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

// Reads at most `limit` bytes (a caller that needs a bound passes one more than it accepts).
std::string readFile(const std::string& path, bool& ok, size_t limit = std::numeric_limits<size_t>::max()) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::string out;
  char buf[8192];
  while (out.size() < limit && in.read(buf, static_cast<std::streamsize>(std::min(sizeof buf, limit - out.size())))) {
    out.append(buf, static_cast<size_t>(in.gcount()));
  }
  if (out.size() < limit) out.append(buf, static_cast<size_t>(in.gcount()));
  return out;
}

// Every certificate of the PEM bundle becomes a trust anchor for client certificates, and its subject is
// sent in the CertificateRequest (clients such as Go's pick the certificate to present by it).
Status trustClientCas(SSL_CTX* native, const std::string& pem) {
  if (pem.size() > kMaxClientCaBytes)
    return makeError("tls", "client CA bundle is larger than " + std::to_string(kMaxClientCaBytes) + " bytes");
  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return makeError("tls", "out of memory");
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  if (!names) return makeError("tls", "out of memory");
  size_t count = 0;
  Status result;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    std::unique_ptr<X509, decltype(&X509_free)> owned(cert, X509_free);
    if (++count > kMaxClientCaCertificates) {
      result = makeError(
          "tls", "client CA bundle has more than " + std::to_string(kMaxClientCaCertificates) + " certificates");
      break;
    }
    if (X509_STORE_add_cert(store, cert) != 1) {
      result = makeError("tls", "client CA certificate: " + opensslError());
      break;
    }
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert));
    if (!name || sk_X509_NAME_push(names, name) <= 0) {
      X509_NAME_free(name);
      result = makeError("tls", "out of memory");
      break;
    }
  }
  // The loop ends on "no more PEM" (expected) or on a malformed block: tell them apart.
  unsigned long err = ERR_peek_last_error();
  if (result && err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    result = makeError("tls", "client CA bundle: " + opensslError());
  }
  ERR_clear_error();
  if (result && count == 0) result = makeError("tls", "client CA bundle holds no PEM certificate");
  if (!result) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return result;
  }
  SSL_CTX_set_client_CA_list(native, names);  // takes ownership
  return {};
}

bool isClientCaError(const Error& e) {
  return e.message.rfind("client CA", 0) == 0;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const std::string& certPem, const std::string& keyPem,
                                                           const std::string* clientCaPem, bool requireClientCert) {
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
  if (clientCaPem) {
    if (Status st = trustClientCas(native, *clientCaPem); !st) return st.error();
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | (requireClientCert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
    // Leaf + intermediates + root; deeper chains are not something a control-plane client presents.
    SSL_CTX_set_verify_depth(native, 4);
    // With peer verification OpenSSL refuses to resume a session without a session id context (a client
    // resuming would fail its handshake); any fixed value will do, each context has its own cache.
    static constexpr unsigned char kSessionContext[] = "spotfit-https";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
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

CertificateStore::CertificateStore(std::string certFile, std::string keyFile, std::string clientCaFile,
                                   bool requireClientCert)
    : certFile_(std::move(certFile)),
      keyFile_(std::move(keyFile)),
      clientCaFile_(std::move(clientCaFile)),
      requireClientCert_(requireClientCert) {}

Status CertificateStore::readFiles(Files& out) const {
  bool ok = false;
  out.cert = readFile(certFile_, ok);
  if (!ok) return makeError("io", "cannot read TLS certificate file " + certFile_);
  out.key = readFile(keyFile_, ok);
  if (!ok) return makeError("io", "cannot read TLS key file " + keyFile_);
  out.clientCa.clear();
  if (!clientCaFile_.empty()) {
    out.clientCa = readFile(clientCaFile_, ok, kMaxClientCaBytes + 1);
    if (!ok) return makeError("io", "cannot read client CA file " + clientCaFile_);
  }
  return {};
}

Result<std::shared_ptr<ssl::context>> CertificateStore::build(const Files& f) const {
  auto ctx = makeServerTlsContext(f.cert, f.key, clientCaFile_.empty() ? nullptr : &f.clientCa, requireClientCert_);
  if (!ctx && isClientCaError(ctx.error()))
    return makeError(ctx.error().code, clientCaFile_ + ": " + ctx.error().message);
  return ctx;
}

Status CertificateStore::load() {
  Files files;
  if (Status st = readFiles(files); !st) return st;
  auto ctx = build(files);
  if (!ctx) {
    if (!clientCaFile_.empty() && ctx.error().message.rfind(clientCaFile_ + ": ", 0) == 0) return ctx.error();
    return makeError(ctx.error().code, certFile_ + " / " + keyFile_ + ": " + ctx.error().message);
  }
  auto info = describeCertificate(files.cert);
  std::lock_guard lock(mu_);
  ctx_ = *ctx;
  info_ = info ? *info : CertificateInfo{};
  loaded_ = std::move(files);
  return {};
}

CertificateStore::PollResult CertificateStore::poll(std::string* error) {
  Files files;
  if (Status st = readFiles(files); !st) {
    // A Secret update briefly leaves no file behind; that is not a new pair yet. Report it once.
    std::lock_guard lock(mu_);
    if (unreadable_) return PollResult::Unchanged;
    unreadable_ = true;
    rejected_ = {};
    if (error) *error = st.error().message;
    return PollResult::Rejected;
  }
  {
    std::lock_guard lock(mu_);
    unreadable_ = false;
    if (files == loaded_) {
      rejected_ = {};
      return PollResult::Unchanged;
    }
    if (files == rejected_) return PollResult::Unchanged;
  }
  auto ctx = build(files);
  std::lock_guard lock(mu_);
  if (!ctx) {
    rejected_ = std::move(files);
    if (error) *error = ctx.error().message;
    return PollResult::Rejected;
  }
  auto info = describeCertificate(files.cert);
  ctx_ = *ctx;
  info_ = info ? *info : CertificateInfo{};
  loaded_ = std::move(files);
  rejected_ = {};
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
