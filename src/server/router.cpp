#include <exception>

#include "server/http.hpp"

namespace spotfit::server {

void Router::add(std::string method, std::string path, Handler handler, std::string route) {
  if (route.empty()) route = path;
  byPath_[std::move(path)][std::move(method)] = Entry{std::move(handler), std::move(route)};
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match m;
  auto p = byPath_.find(path);
  if (p == byPath_.end()) return m;
  m.pathKnown = true;
  auto e = p->second.find(method);
  if (e == p->second.end()) return m;
  m.handler = &e->second.handler;
  m.route = e->second.route;
  return m;
}

Response Router::dispatch(const Request& req) const {
  Match m = find(req.method, req.path);
  if (!m.handler) {
    if (m.pathKnown) return Response::text(405, "method " + req.method + " not allowed on " + req.path + "\n");
    return Response::text(404, "no route for " + req.path + "\n");
  }
  // The exception text stays in the log: it may quote the request or internals, and the caller needs
  // nothing but the status.
  try {
    return (*m.handler)(req);
  } catch (const std::exception& e) {
    if (errorLog_) errorLog_(req, e.what());
  } catch (...) {
    if (errorLog_) errorLog_(req, "unknown exception");
  }
  return Response::text(500, "internal error\n");
}

std::vector<std::string> Router::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, _] : byPath_) out.push_back(path);
  return out;
}

}  // namespace spotfit::server
