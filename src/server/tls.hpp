#pragma once
// TLS server contexts and certificate hot reload.
//
// `CertificateStore` holds the current server context built from a cert/key file pair. `poll()` re-reads
// both files and, when their bytes changed (an in-place rewrite, a rename, or a Kubernetes Secret
// volume's `..data` symlink swap — paths are resolved on every read), builds a new context. New
// handshakes take `current()`; connections already open keep the context they started with. A pair that
// fails to load or whose key does not match the certificate is refused and the old context stays.

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "placement/result.hpp"

namespace spotfit::server {

// TLS 1.2 minimum (1.3 negotiated whenever the client offers it), ECDHE + AEAD ciphers only for 1.2,
// no compression or renegotiation, ALPN "http/1.1".
Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(const std::string& certPem,
                                                                        const std::string& keyPem);

struct CertificateInfo {
  std::string subject;
  std::chrono::system_clock::time_point notAfter{};
};
Result<CertificateInfo> describeCertificate(const std::string& certPem);

class CertificateStore {
 public:
  CertificateStore(std::string certFile, std::string keyFile);

  // Loads the pair for the first time; an error here means the server cannot start.
  Status load();

  enum class PollResult { Unchanged, Reloaded, Rejected };
  // Re-reads the files. A refused pair is remembered so it is reported once, not on every poll.
  PollResult poll(std::string* error = nullptr);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  CertificateInfo info() const;
  const std::string& certFile() const { return certFile_; }
  const std::string& keyFile() const { return keyFile_; }

 private:
  Status readFiles(std::string& cert, std::string& key) const;

  std::string certFile_, keyFile_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  CertificateInfo info_;
  std::string loadedCert_, loadedKey_;      // bytes of the pair in use
  std::string rejectedCert_, rejectedKey_;  // bytes of the last refused pair
};

}  // namespace spotfit::server
