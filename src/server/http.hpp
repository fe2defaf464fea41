#pragma once
// The contract between the serving shell and the handlers that register into it (webhook, extender,
// health, metrics). Handlers are thin and synchronous: decode, call pure code, encode (house rule 2).
// The shell owns sockets, TLS, limits, deadlines and metrics; a handler never sees a socket.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spotfit::server {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/mutate" (no query string)
  std::string query;   // "timeout=10s" (without '?'), empty when absent
  std::string contentType;
  std::string body;
  std::string remote;  // peer address, for logs
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(int status, std::string body) {
    return Response{status, "application/json", std::move(body), {}};
  }
  static Response text(int status, std::string body) {
    return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
  }
};

using Handler = std::function<Response(const Request&)>;

// Exact-path routing table. Registration happens before the server starts; lookups are lock-free reads.
class Router {
 public:
  // `route` is the label used for per-route metrics (defaults to the path).
  void add(std::string method, std::string path, Handler handler, std::string route = {});

  struct Match {
    const Handler* handler = nullptr;
    std::string route;       // metrics label
    bool pathKnown = false;  // true when the path exists for another method (405 instead of 404)
  };
  Match find(std::string_view method, std::string_view path) const;

  // Answers a request: 404/405 for unknown paths/methods, otherwise the handler's response. Exceptions
  // escaping a handler become a 500 with a generic message; their text goes to the error log only.
  Response dispatch(const Request& req) const;

  // Where dispatch() reports a handler's exception (the server sets its logger); before start().
  using ErrorLog = std::function<void(const Request&, std::string_view what)>;
  void setErrorLog(ErrorLog log) { errorLog_ = std::move(log); }

  std::vector<std::string> paths() const;

 private:
  struct Entry {
    Handler handler;
    std::string route;
  };
  std::map<std::string, std::map<std::string, Entry, std::less<>>, std::less<>> byPath_;  // path -> method -> entry
  ErrorLog errorLog_;
};

}  // namespace spotfit::server
