#pragma once
// TLS server contexts and certificate hot reload.
//
// `CertificateStore` holds the current server context built from a cert/key file pair. `poll()` re-reads
// both files and, when their bytes changed (an in-place rewrite, a rename, or a Kubernetes Secret
// volume's `..data` symlink swap — paths are resolved on every read), builds a new context. New
// handshakes take `current()`; connections already open keep the context they started with. A pair that
// fails to load or whose key does not match the certificate is refused and the old context stays.
//
// Client authentication (mTLS): with a client CA bundle the context asks every client for a certificate
// and verifies it against that bundle (purpose TLS client, i.e. `clientAuth` extended key usage when the
// certificate has one). A certificate that does not verify fails the handshake. Whether a client without
// a certificate is refused in the handshake (`requireClientCert`) or later per path (see Server) is the
// caller's choice. The bundle is re-read with the pair, so a rotated CA is picked up the same way.

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.hpp"

namespace spotfit::server {

// TLS 1.2 minimum (1.3 negotiated whenever the client offers it), ECDHE + AEAD ciphers only for 1.2,
// no compression or renegotiation, ALPN "http/1.1".
// `clientCaPem` not null: verify client certificates against it (see above); a bundle without a
// certificate is an error, never "no client authentication".
Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(const std::string& certPem,
                                                                        const std::string& keyPem,
                                                                        const std::string* clientCaPem = nullptr,
                                                                        bool requireClientCert = true);

// A client CA bundle larger than this, or with more certificates, is refused (it is read on every poll).
inline constexpr size_t kMaxClientCaBytes = 1024 * 1024;
inline constexpr size_t kMaxClientCaCertificates = 100;

struct CertificateInfo {
  std::string subject;
  std::chrono::system_clock::time_point notAfter{};
};
Result<CertificateInfo> describeCertificate(const std::string& certPem);

class CertificateStore {
 public:
  // `clientCaFile` empty: no client certificates are asked for.
  CertificateStore(std::string certFile, std::string keyFile, std::string clientCaFile = {},
                   bool requireClientCert = true);

  // Loads the pair for the first time; an error here means the server cannot start.
  Status load();

  enum class PollResult { Unchanged, Reloaded, Rejected };
  // Re-reads the files. A refused pair is remembered so it is reported once, not on every poll.
  PollResult poll(std::string* error = nullptr);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  CertificateInfo info() const;
  const std::string& certFile() const { return certFile_; }
  const std::string& keyFile() const { return keyFile_; }
  const std::string& clientCaFile() const { return clientCaFile_; }

 private:
  // The bytes of the files: the pair and, when configured, the client CA bundle.
  struct Files {
    std::string cert, key, clientCa;
    bool operator==(const Files&) const = default;
  };
  Status readFiles(Files& out) const;
  Result<std::shared_ptr<boost::asio::ssl::context>> build(const Files& f) const;

  std::string certFile_, keyFile_, clientCaFile_;
  bool requireClientCert_ = true;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  CertificateInfo info_;
  Files loaded_;             // the files in use
  Files rejected_;           // the last refused files
  bool unreadable_ = false;  // the last poll could not read a file (reported once)
};

}  // namespace spotfit::server
