// Router::dispatch never hands a handler's exception text to the client: it may quote the request or
// internals. The text goes to the error log.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "server/http.hpp"

namespace spotfit::server {
namespace {

TEST(RouterErrors, ExceptionTextIsLoggedNotAnswered) {
  Router router;
  router.add("POST", "/boom", [](const Request&) -> Response {
    throw std::runtime_error("secret detail from the request \"x\\u0000\"");
  });
  router.add("POST", "/odd", [](const Request&) -> Response { throw 42; });
  std::vector<std::string> logged;
  router.setErrorLog(
      [&](const Request& req, std::string_view what) { logged.push_back(req.path + ": " + std::string(what)); });

  Request req;
  req.method = "POST";
  req.path = "/boom";
  Response r = router.dispatch(req);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "internal error\n");
  req.path = "/odd";
  Response o = router.dispatch(req);
  EXPECT_EQ(o.status, 500);
  EXPECT_EQ(o.body, "internal error\n");
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0], "/boom: secret detail from the request \"x\\u0000\"");
  EXPECT_EQ(logged[1], "/odd: unknown exception");
}

TEST(RouterErrors, WithoutALogTheAnswerIsStillGeneric) {
  Router router;
  router.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("secret"); });
  Request req;
  req.method = "GET";
  req.path = "/boom";
  EXPECT_EQ(router.dispatch(req).body, "internal error\n");
}

}  // namespace
}  // namespace spotfit::server
