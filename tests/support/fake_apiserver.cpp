// Boost.Asio internals inlined at -O2/-O3 trip GCC 12's -Wnull-dereference (false positives in its headers).
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "support/fake_apiserver.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <list>
#include <set>
#include <sstream>

#include "kube/json.hpp"

namespace spotfit::testsupport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Doc = spotfit::kube::json::Document;
using Val = spotfit::kube::json::Value;

// ---------------------------------------------------------------------------------------------------
// Test PKI
namespace {

struct PkeyDel {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Del {
  void operator()(X509* x) const { X509_free(x); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDel>;
using X509Ptr = std::unique_ptr<X509, X509Del>;

PkeyPtr newKey() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

std::string pemKey(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string pemCert(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

void addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr makeCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey, bool isCa, const char* san,
                 long serial) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 365);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  if (isCa) {
    addExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    addExt(cert.get(), iss, NID_ext_key_usage, "serverAuth,clientAuth");
    if (san != nullptr) addExt(cert.get(), iss, NID_subject_alt_name, san);
  }
  X509_sign(cert.get(), issuerKey != nullptr ? issuerKey : key, EVP_sha256());
  return cert;
}

}  // namespace

TestPki TestPki::generate(const std::string& clientCommonName) {
  TestPki p;
  auto caKey = newKey();
  auto ca = makeCert("spotfit-test-ca", caKey.get(), nullptr, nullptr, true, nullptr, 1);
  auto serverKey = newKey();
  auto server =
      makeCert("kube-apiserver", serverKey.get(), ca.get(), caKey.get(), false, "DNS:localhost,IP:127.0.0.1", 2);
  auto clientKey = newKey();
  auto client = makeCert(clientCommonName, clientKey.get(), ca.get(), caKey.get(), false, nullptr, 3);
  p.caCertPem = pemCert(ca.get());
  p.caKeyPem = pemKey(caKey.get());
  p.serverCertPem = pemCert(server.get());
  p.serverKeyPem = pemKey(serverKey.get());
  p.clientCertPem = pemCert(client.get());
  p.clientKeyPem = pemKey(clientKey.get());
  return p;
}

// ---------------------------------------------------------------------------------------------------
namespace {

std::string toJson(const Val& v) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string quote(const std::string& s) {
  Val v(rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size())));
  return toJson(v);
}

std::string statusJson(int code, const std::string& reason, const std::string& message,
                       const std::string& causeType = {}) {
  std::string s = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":")" +
                  std::string(code < 400 ? "Success" : "Failure") + R"(","message":)" + quote(message) +
                  R"(,"reason":)" + quote(reason) + R"(,"code":)" + std::to_string(code);
  if (!causeType.empty()) {
    s += R"(,"details":{"causes":[{"reason":)" + quote(causeType) + R"(,"message":)" + quote(message) + "}]}";
  }
  return s + "}";
}

std::string defaultReason(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

const Val* member(const Val& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string str(const Val& v, const char* a, const char* b = nullptr) {
  const Val* x = member(v, a);
  if (x != nullptr && b != nullptr) x = member(*x, b);
  return x != nullptr && x->IsString() ? std::string(x->GetString(), x->GetStringLength()) : std::string();
}

void setString(Doc& d, Val& obj, const char* key, const std::string& value) {
  auto& a = d.GetAllocator();
  Val v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), a);
  if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
    it->value = v;
  } else {
    obj.AddMember(Val(key, a), v, a);
  }
}

Val& ensureObject(Doc& d, Val& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsObject()) {
    if (it != obj.MemberEnd()) obj.RemoveMember(it);
    obj.AddMember(Val(key, d.GetAllocator()), Val(rapidjson::kObjectType), d.GetAllocator());
    it = obj.FindMember(key);
  }
  return it->value;
}

// RFC 7386 JSON merge patch.
void mergePatch(Val& target, const Val& patch, Doc::AllocatorType& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    if (m.value.IsNull()) {
      target.RemoveMember(m.name);
      continue;
    }
    auto it = target.FindMember(m.name);
    if (it == target.MemberEnd()) {
      Val name(m.name, a);
      Val v;
      if (m.value.IsObject()) {
        v.SetObject();
        mergePatch(v, m.value, a);
      } else {
        v.CopyFrom(m.value, a);
      }
      target.AddMember(name, v, a);
    } else {
      mergePatch(it->value, m.value, a);
    }
  }
}

// RFC 6902 (add, remove, replace, test, copy, move). Returns an error message or "".
std::string jsonPatch(Doc& doc, const Val& ops) {
  auto& a = doc.GetAllocator();
  if (!ops.IsArray()) return "JSON Patch must be an array";
  for (const auto& op : ops.GetArray()) {
    std::string kind = str(op, "op");
    std::string path = str(op, "path");
    spotfit::kube::json::Pointer ptr(path.c_str());
    if (!ptr.IsValid()) return "invalid path " + path;
    const Val* value = member(op, "value");
    if (kind == "add" || kind == "replace") {
      if (value == nullptr) return "missing value";
      if (kind == "replace" && ptr.Get(doc) == nullptr) return "replace: missing path " + path;
      // add to an array index inserts; "-" appends.
      size_t slash = path.rfind('/');
      std::string parentPath = path.substr(0, slash);
      std::string last = path.substr(slash + 1);
      spotfit::kube::json::Pointer parentPtr(parentPath.c_str());
      Val* parent = parentPath.empty() ? &doc : parentPtr.Get(doc);
      if (parent == nullptr) return "doc is missing path: " + parentPath;
      Val copy(*value, a);
      if (parent->IsArray() && kind == "add") {
        if (last == "-") {
          parent->PushBack(copy, a);
        } else {
          size_t idx = std::stoul(last);
          if (idx > parent->Size()) return "index out of range";
          parent->PushBack(Val(), a);
          for (size_t i = parent->Size() - 1; i > idx; --i)
            (*parent)[static_cast<rapidjson::SizeType>(i)] = (*parent)[static_cast<rapidjson::SizeType>(i - 1)];
          (*parent)[static_cast<rapidjson::SizeType>(idx)] = copy;
        }
      } else {
        ptr.Set(doc, copy, a);
      }
    } else if (kind == "remove") {
      if (!ptr.Erase(doc)) return "remove: missing path " + path;
    } else if (kind == "test") {
      const Val* cur = ptr.Get(doc);
      if (cur == nullptr || value == nullptr || *cur != *value) return "test failed at " + path;
    } else if (kind == "copy" || kind == "move") {
      spotfit::kube::json::Pointer from(str(op, "from").c_str());
      const Val* src = from.Get(doc);
      if (src == nullptr) return kind + ": missing from";
      Val copy(*src, a);
      if (kind == "move") from.Erase(doc);
      ptr.Set(doc, copy, a);
    } else {
      return "unknown op " + kind;
    }
  }
  return {};
}

struct Requirement {
  std::string key, op, value;
};
using Selector = std::vector<Requirement>;

Selector parseSelector(const std::string& s) {
  Selector out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    Requirement r;
    size_t pos;
    if ((pos = part.find("!=")) != std::string::npos) {
      r = {part.substr(0, pos), "!=", part.substr(pos + 2)};
    } else if ((pos = part.find("==")) != std::string::npos) {
      r = {part.substr(0, pos), "=", part.substr(pos + 2)};
    } else if ((pos = part.find('=')) != std::string::npos) {
      r = {part.substr(0, pos), "=", part.substr(pos + 1)};
    } else if (!part.empty() && part[0] == '!') {
      r = {part.substr(1), "!exists", ""};
    } else {
      r = {part, "exists", ""};
    }
    out.push_back(r);
  }
  return out;
}

bool matchesLabels(const Selector& sel, const Val& obj) {
  const Val* md = member(obj, "metadata");
  const Val* labels = md != nullptr ? member(*md, "labels") : nullptr;
  for (const auto& r : sel) {
    const Val* v = labels != nullptr ? member(*labels, r.key.c_str()) : nullptr;
    std::string got = v != nullptr && v->IsString() ? v->GetString() : "";
    bool has = v != nullptr;
    if (r.op == "=" && (!has || got != r.value)) return false;
    if (r.op == "!=" && has && got == r.value) return false;
    if (r.op == "exists" && !has) return false;
    if (r.op == "!exists" && has) return false;
  }
  return true;
}

bool matchesFields(const Selector& sel, const Val& obj) {
  for (const auto& r : sel) {
    std::string got;
    if (r.key == "metadata.name")
      got = str(obj, "metadata", "name");
    else if (r.key == "metadata.namespace")
      got = str(obj, "metadata", "namespace");
    else if (r.key == "spec.nodeName")
      got = str(obj, "spec", "nodeName");
    else if (r.key == "status.phase")
      got = str(obj, "status", "phase");
    else if (r.key == "spec.schedulerName")
      got = str(obj, "spec", "schedulerName");
    else
      return false;
    if (r.op == "=" && got != r.value) return false;
    if (r.op == "!=" && got == r.value) return false;
  }
  return true;
}

std::string queryParam(const std::string& query, const std::string& key) {
  std::stringstream ss(query);
  std::string kv;
  while (std::getline(ss, kv, '&')) {
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq);
    if (k != key) continue;
    std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '%' && i + 2 < v.size()) {
        out.push_back(static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else if (v[i] == '+') {
        out.push_back(' ');
      } else {
        out.push_back(v[i]);
      }
    }
    return out;
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
struct Watcher {
  std::string plural;
  std::string ns;
  Selector labels, fields;
  bool bookmarks = false;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> frames;
  bool cut = false;    // drop the connection abruptly
  bool ended = false;  // end the stream cleanly
};

struct Response {
  int status = 200;
  std::string body;
  std::string retryAfter;
};

struct FakeApiServer::Impl {
  Options options;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls;
  std::thread acceptThread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // guards everything below
  std::condition_variable stopCv;
  std::map<std::string, FakeResource> resources;                    // by plural
  std::map<std::string, std::map<std::string, std::string>> store;  // plural -> key -> json
  struct HistoryEvent {
    std::string plural, type, json;
    int64_t rv;
  };
  std::deque<HistoryEvent> history;
  int64_t rv = 1000;
  int64_t compactedRv = 0;
  std::list<std::shared_ptr<Watcher>> watchers;
  std::vector<Fault> faults;
  std::vector<RecordedRequest> recorded;
  std::function<std::optional<std::string>(const std::string&, const std::string&)> evictionHook;
  std::string requiredToken;
  int64_t uidCounter = 0;
  int watchesOpened = 0;

  struct Conn {
    int fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<std::unique_ptr<Conn>> conns;

  // ---- store helpers (mu held) ----
  static std::string key(const std::string& ns, const std::string& name) { return ns.empty() ? name : ns + "/" + name; }

  void publish(const std::string& plural, const std::string& type, const std::string& json, int64_t atRv) {
    history.push_back({plural, type, json, atRv});
    if (history.size() > 100000) {
      compactedRv = history.front().rv;
      history.pop_front();
    }
    Doc d;
    d.Parse(json.c_str());
    std::string ns = str(d, "metadata", "namespace");
    for (auto& w : watchers) {
      if (w->plural != plural || (!w->ns.empty() && w->ns != ns)) continue;
      if (!matchesLabels(w->labels, d) || !matchesFields(w->fields, d)) continue;
      std::lock_guard wl(w->mu);
      w->frames.push_back(R"({"type":")" + type + R"(","object":)" + json + "}");
      w->cv.notify_all();
    }
  }

  // Stores an object (create or replace), assigning a new resourceVersion. Returns the stored JSON.
  std::string put(const std::string& plural, Doc& d, bool created) {
    auto& a = d.GetAllocator();
    Val& md = ensureObject(d, d, "metadata");
    ++rv;
    setString(d, md, "resourceVersion", std::to_string(rv));
    if (str(d, "metadata", "uid").empty()) setString(d, md, "uid", "uid-" + std::to_string(++uidCounter));
    if (str(d, "metadata", "creationTimestamp").empty()) setString(d, md, "creationTimestamp", "2024-05-01T00:00:00Z");
    const FakeResource& r = resources.at(plural);
    if (!d.HasMember("kind")) d.AddMember("kind", Val(r.kind.c_str(), a), a);
    if (!d.HasMember("apiVersion")) {
      std::string gv = r.group.empty() ? r.version : r.group + "/" + r.version;
      d.AddMember("apiVersion", Val(gv.c_str(), a), a);
    }
    std::string json = toJson(d);
    store[plural][key(str(d, "metadata", "namespace"), str(d, "metadata", "name"))] = json;
    publish(plural, created ? "ADDED" : "MODIFIED", json, rv);
    return json;
  }

  bool remove(const std::string& plural, const std::string& k) {
    auto& objs = store[plural];
    auto it = objs.find(k);
    if (it == objs.end()) return false;
    Doc d;
    d.Parse(it->second.c_str());
    objs.erase(it);
    ++rv;
    setString(d, ensureObject(d, d, "metadata"), "resourceVersion", std::to_string(rv));
    publish(plural, "DELETED", toJson(d), rv);
    return true;
  }

  std::optional<Fault> takeFault(const std::string& method, const std::string& path, bool isWatch,
                                 const std::string& authorization) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->authorization.empty() && it->authorization != authorization) continue;
      if (!it->method.empty() && it->method != method) continue;
      if (!it->pathContains.empty() && path.find(it->pathContains) == std::string::npos) continue;
      if (it->watch && *it->watch != isWatch) continue;
      Fault f = *it;
      if (it->times > 0 && --it->times == 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }

  bool sleepInterruptible(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !stopCv.wait_for(lock, d, [&] { return stopping.load(); });
  }

  // ---- request handling ----
  struct Route {
    const FakeResource* resource = nullptr;
    std::string ns, name, sub;
  };

  std::optional<Route> route(const std::string& path) {
    std::vector<std::string> seg;
    std::stringstream ss(path);
    std::string s;
    while (std::getline(ss, s, '/')) {
      if (!s.empty()) seg.push_back(s);
    }
    std::string group, version;
    size_t i = 0;
    if (seg.size() >= 2 && seg[0] == "api") {
      version = seg[1];
      i = 2;
    } else if (seg.size() >= 3 && seg[0] == "apis") {
      group = seg[1];
      version = seg[2];
      i = 3;
    } else {
      return std::nullopt;
    }
    Route r;
    if (seg.size() >= i + 3 && seg[i] == "namespaces") {
      auto it = resources.find(seg[i + 2]);
      if (it != resources.end() && it->second.namespaced) {
        r.ns = seg[i + 1];
        i += 2;
      }
    }
    if (i >= seg.size()) return std::nullopt;
    auto it = resources.find(seg[i]);
    if (it == resources.end() || it->second.group != group || it->second.version != version) return std::nullopt;
    r.resource = &it->second;
    if (i + 1 < seg.size()) r.name = seg[i + 1];
    if (i + 2 < seg.size()) r.sub = seg[i + 2];
    if (i + 3 < seg.size()) return std::nullopt;
    return r;
  }

  Response notFound(const Route& r) {
    return {404, statusJson(404, "NotFound", r.resource->plural + " \"" + r.name + "\" not found"), {}};
  }

  Response handle(const std::string& method, const std::string& path, const std::string& query,
                  const std::string& body) {
    std::lock_guard lock(mu);
    auto rt = route(path);
    if (!rt) return {404, statusJson(404, "NotFound", "the server could not find the requested resource"), {}};
    Route& r = *rt;
    const FakeResource& res = *r.resource;
    bool dryRun = queryParam(query, "dryRun") == "All";
    auto& objs = store[res.plural];
    std::string k = key(r.ns, r.name);

    if (method == "GET" && r.name.empty()) return list(res, r.ns, query);
    if (method == "GET") {
      auto it = objs.find(k);
      if (it == objs.end()) return notFound(r);
      if (r.sub == "scale") return {200, scaleOf(res, it->second), {}};
      return {200, it->second, {}};
    }
    Doc in;
    if (!body.empty()) {
      in.Parse(body.c_str());
      if (in.HasParseError()) return {400, statusJson(400, "BadRequest", "request body is not JSON"), {}};
    }
    if (method == "POST" && r.sub == "eviction" && res.plural == "pods") {
      if (objs.find(k) == objs.end()) return notFound(r);
      std::optional<std::string> refusal;
      if (evictionHook) refusal = evictionHook(r.ns, r.name);
      if (refusal) return {429, statusJson(429, "TooManyRequests", *refusal, "DisruptionBudget"), {}};
      if (!dryRun) remove(res.plural, k);
      return {201, statusJson(201, "", "evicted"), {}};
    }
    if (method == "POST") {
      if (!in.IsObject()) return {400, statusJson(400, "BadRequest", "body must be an object"), {}};
      std::string name = str(in, "metadata", "name");
      std::string gen = str(in, "metadata", "generateName");
      if (name.empty() && !gen.empty()) {
        name = gen + std::to_string(++uidCounter);
        setString(in, ensureObject(in, in, "metadata"), "name", name);
      }
      if (name.empty()) return {422, statusJson(422, "Invalid", "metadata.name: Required value"), {}};
      if (res.namespaced) setString(in, ensureObject(in, in, "metadata"), "namespace", r.ns);
      k = key(r.ns, name);
      if (objs.count(k) != 0) {
        return {409, statusJson(409, "AlreadyExists", res.plural + " \"" + name + "\" already exists"), {}};
      }
      if (dryRun) return {201, toJson(in), {}};
      return {201, put(res.plural, in, true), {}};
    }
    if (method == "DELETE") {
      auto it = objs.find(k);
      if (it == objs.end()) return notFound(r);
      Doc cur;
      cur.Parse(it->second.c_str());
      if (const Val* pre = member(in, "preconditions")) {
        std::string uid = str(*pre, "uid");
        std::string prv = str(*pre, "resourceVersion");
        if (!uid.empty() && uid != str(cur, "metadata", "uid")) {
          return {409,
                  statusJson(409, "Conflict",
                             "Precondition failed: UID in precondition: " + uid +
                                 ", UID in object meta: " + str(cur, "metadata", "uid")),
                  {}};
        }
        if (!prv.empty() && prv != str(cur, "metadata", "resourceVersion")) {
          return {409, statusJson(409, "Conflict", "Precondition failed: ResourceVersion in precondition: " + prv), {}};
        }
      }
      std::string json = it->second;
      if (!dryRun) remove(res.plural, k);
      return {200, json, {}};
    }
    if (method == "PUT" || method == "PATCH") {
      auto it = objs.find(k);
      if (it == objs.end()) return notFound(r);
      Doc cur;
      cur.Parse(it->second.c_str());
      auto& a = cur.GetAllocator();
      Doc next;
      if (r.sub == "scale") {
        if (!res.hasScale) return {404, statusJson(404, "NotFound", "no scale subresource"), {}};
        Doc scale;
        std::string sj = scaleOf(res, it->second);
        scale.Parse(sj.c_str());
        if (method == "PUT") {
          scale.CopyFrom(in, scale.GetAllocator());
        } else {
          mergePatch(scale, in, scale.GetAllocator());
        }
        const Val* spec = member(scale, "spec");
        const Val* reps = spec != nullptr ? member(*spec, "replicas") : nullptr;
        if (reps == nullptr || !reps->IsInt64()) return {422, statusJson(422, "Invalid", "spec.replicas required"), {}};
        next.CopyFrom(cur, next.GetAllocator());
        Val& nspec = ensureObject(next, next, "spec");
        if (nspec.HasMember("replicas")) nspec.RemoveMember("replicas");
        nspec.AddMember("replicas", Val(reps->GetInt64()), next.GetAllocator());
      } else if (method == "PUT") {
        if (!in.IsObject()) return {400, statusJson(400, "BadRequest", "body must be an object"), {}};
        std::string wantRv = str(in, "metadata", "resourceVersion");
        if (!wantRv.empty() && wantRv != str(cur, "metadata", "resourceVersion")) {
          return {409,
                  statusJson(409, "Conflict",
                             "Operation cannot be fulfilled on " + res.plural + " \"" + r.name +
                                 "\": the object has been modified; please apply your changes to "
                                 "the latest version and try again"),
                  {}};
        }
        next.CopyFrom(in, next.GetAllocator());
      } else {
        next.CopyFrom(cur, next.GetAllocator());
        std::string ct = patchType;
        if (ct.find("json-patch") != std::string::npos) {
          std::string err = jsonPatch(next, in);
          if (!err.empty()) return {422, statusJson(422, "Invalid", err), {}};
        } else {
          mergePatch(next, in, next.GetAllocator());
        }
      }
      // The status subresource changes only status; the main resource keeps the stored status.
      if (res.hasStatus && r.sub != "scale") {
        const Val* keep = r.sub == "status" ? nullptr : member(cur, "status");
        if (r.sub == "status") {
          const Val* newStatus = member(next, "status");
          Val st;
          if (newStatus != nullptr) st.CopyFrom(*newStatus, a);
          next.CopyFrom(cur, next.GetAllocator());
          if (next.HasMember("status")) next.RemoveMember("status");
          if (!st.IsNull()) next.AddMember("status", Val(st, next.GetAllocator()), next.GetAllocator());
        } else {
          if (next.HasMember("status")) next.RemoveMember("status");
          if (keep != nullptr) next.AddMember("status", Val(*keep, next.GetAllocator()), next.GetAllocator());
        }
      }
      // Identity fields come from the stored object.
      Val& md = ensureObject(next, next, "metadata");
      setString(next, md, "name", str(cur, "metadata", "name"));
      if (res.namespaced) setString(next, md, "namespace", str(cur, "metadata", "namespace"));
      setString(next, md, "uid", str(cur, "metadata", "uid"));
      setString(next, md, "creationTimestamp", str(cur, "metadata", "creationTimestamp"));
      if (dryRun) return {200, toJson(next), {}};
      std::string stored = put(res.plural, next, false);
      if (r.sub == "scale") return {200, scaleOf(res, stored), {}};
      return {200, stored, {}};
    }
    return {405, statusJson(405, "MethodNotAllowed", "method not allowed"), {}};
  }

  std::string patchType;  // content type of the request being handled (set under mu)

  std::string scaleOf(const FakeResource& res, const std::string& json) {
    Doc d;
    d.Parse(json.c_str());
    int64_t spec = 0, status = 0;
    if (const Val* s = member(d, "spec"); s != nullptr && member(*s, "replicas") != nullptr)
      spec = (*s)["replicas"].GetInt64();
    if (const Val* s = member(d, "status"); s != nullptr && member(*s, "replicas") != nullptr)
      status = (*s)["replicas"].GetInt64();
    (void)res;
    return R"({"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":)" + quote(str(d, "metadata", "name")) +
           R"(,"namespace":)" + quote(str(d, "metadata", "namespace")) + R"(,"resourceVersion":)" +
           quote(str(d, "metadata", "resourceVersion")) + R"(},"spec":{"replicas":)" + std::to_string(spec) +
           R"(},"status":{"replicas":)" + std::to_string(status) + "}}";
  }

  Response list(const FakeResource& res, const std::string& ns, const std::string& query) {
    Selector labels = parseSelector(queryParam(query, "labelSelector"));
    Selector fields = parseSelector(queryParam(query, "fieldSelector"));
    int64_t limit = 0;
    if (auto l = queryParam(query, "limit"); !l.empty()) limit = std::stoll(l);
    std::string cont = queryParam(query, "continue");
    auto& objs = store[res.plural];
    std::string body = R"({"kind":")" + res.kind + R"(List","apiVersion":")" +
                       (res.group.empty() ? res.version : res.group + "/" + res.version) +
                       R"(","metadata":{"resourceVersion":")" + std::to_string(rv) + "\"";
    std::string items;
    int64_t n = 0;
    std::string next;
    for (auto it = cont.empty() ? objs.begin() : objs.lower_bound(cont); it != objs.end(); ++it) {
      Doc d;
      d.Parse(it->second.c_str());
      if (!ns.empty() && str(d, "metadata", "namespace") != ns) continue;
      if (!matchesLabels(labels, d) || !matchesFields(fields, d)) continue;
      if (limit > 0 && n == limit) {
        next = it->first;
        break;
      }
      if (!items.empty()) items += ",";
      items += it->second;
      ++n;
    }
    if (!next.empty()) body += R"(,"continue":)" + quote(next);
    body += R"(},"items":[)" + items + "]}";
    return {200, body, {}};
  }

  // ---- connections ----
  template <typename Stream>
  void serve(Stream& stream, Conn& conn);
  template <typename Stream>
  bool writeResponse(Stream& stream, const Response& r, bool keepAlive);
  template <typename Stream>
  void serveWatch(Stream& stream, const Route& r, const std::string& query, const Fault* fault);

  void acceptLoop();
};

template <typename Stream>
bool FakeApiServer::Impl::writeResponse(Stream& stream, const Response& r, bool keepAlive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::content_type, "application/json");
  if (!r.retryAfter.empty()) res.set(http::field::retry_after, r.retryAfter);
  res.keep_alive(keepAlive);
  res.body() = r.body;
  res.prepare_payload();
  beast::error_code ec;
  http::write(stream, res, ec);
  return !ec;
}

template <typename Stream>
void FakeApiServer::Impl::serveWatch(Stream& stream, const Route& r, const std::string& query, const Fault* fault) {
  auto w = std::make_shared<Watcher>();
  w->plural = r.resource->plural;
  w->ns = r.ns;
  w->labels = parseSelector(queryParam(query, "labelSelector"));
  w->fields = parseSelector(queryParam(query, "fieldSelector"));
  w->bookmarks = queryParam(query, "allowWatchBookmarks") == "true";
  std::string rvParam = queryParam(query, "resourceVersion");
  int64_t timeoutSeconds = 1800;
  if (auto t = queryParam(query, "timeoutSeconds"); !t.empty()) timeoutSeconds = std::stoll(t);
  {
    std::lock_guard lock(mu);
    auto matches = [&](const std::string& json) {
      Doc d;
      d.Parse(json.c_str());
      if (!w->ns.empty() && str(d, "metadata", "namespace") != w->ns) return false;
      return matchesLabels(w->labels, d) && matchesFields(w->fields, d);
    };
    if (rvParam.empty() || rvParam == "0") {
      for (const auto& [k, json] : store[w->plural]) {
        if (matches(json)) w->frames.push_back(R"({"type":"ADDED","object":)" + json + "}");
      }
    } else {
      int64_t from = std::stoll(rvParam);
      if (from < compactedRv) {
        w->frames.push_back(
            R"({"type":"ERROR","object":)" +
            statusJson(410, "Expired",
                       "too old resource version: " + rvParam + " (" + std::to_string(compactedRv) + ")") +
            "}");
        w->ended = true;
      } else {
        for (const auto& ev : history) {
          if (ev.rv > from && ev.plural == w->plural && matches(ev.json)) {
            w->frames.push_back(R"({"type":")" + ev.type + R"(","object":)" + ev.json + "}");
          }
        }
      }
    }
    if (fault != nullptr && fault->malformedFrame) w->frames.push_front("{\"type\": \"ADDED\", \"object\": {not json");
    if (fault != nullptr && fault->goneEvent) {
      w->frames.clear();
      w->frames.push_back(R"({"type":"ERROR","object":)" + statusJson(410, "Expired", "too old resource version") +
                          "}");
      w->ended = true;
    }
    watchers.push_back(w);
    ++watchesOpened;
  }
  auto unregister = [&] {
    std::lock_guard lock(mu);
    watchers.remove(w);
  };
  beast::error_code ec;
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nCache-Control: "
      "no-cache\r\n\r\n";
  asio::write(stream, asio::buffer(head), ec);
  if (ec) return unregister();
  int sent = 0;
  const int cutAfter = fault != nullptr ? fault->closeAfterEvents : -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  for (;;) {
    std::deque<std::string> batch;
    bool ended = false, cut = false;
    {
      std::unique_lock wl(w->mu);
      w->cv.wait_until(wl, deadline, [&] { return !w->frames.empty() || w->cut || w->ended || stopping.load(); });
      batch.swap(w->frames);
      ended = w->ended || std::chrono::steady_clock::now() >= deadline;
      cut = w->cut || stopping.load();
    }
    if (cut) return unregister();
    for (auto& f : batch) {
      if (cutAfter >= 0 && sent >= cutAfter) return unregister();
      f += "\n";
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", f.size());
      std::string chunk = size + f + "\r\n";
      asio::write(stream, asio::buffer(chunk), ec);
      if (ec) return unregister();
      ++sent;
    }
    if (cutAfter >= 0 && sent >= cutAfter) return unregister();
    if (ended) {
      asio::write(stream, asio::buffer(std::string("0\r\n\r\n")), ec);
      return unregister();
    }
  }
}

template <typename Stream>
void FakeApiServer::Impl::serve(Stream& stream, Conn& conn) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) return;
    auto& req = parser.get();
    std::string target(req.target());
    size_t q = target.find('?');
    std::string path = target.substr(0, q);
    std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    std::string method(req.method_string());
    bool isWatch = queryParam(query, "watch") == "true" || queryParam(query, "watch") == "1";
    std::optional<Fault> fault;
    {
      std::lock_guard lock(mu);
      recorded.push_back({method, path, query, req.body(), std::string(req[http::field::content_type]),
                          std::string(req[http::field::authorization])});
      fault = takeFault(method, path, isWatch, std::string(req[http::field::authorization]));
    }
    if (fault && fault->delay.count() > 0 && !sleepInterruptible(fault->delay)) return;
    if (fault && fault->disconnect) return;
    if (fault && fault->status != 0) {
      Response r{
          fault->status,
          fault->body.empty() ? statusJson(fault->status, defaultReason(fault->status), "injected fault") : fault->body,
          fault->retryAfter};
      if (!writeResponse(stream, r, true)) return;
      continue;
    }
    std::string token;
    {
      std::lock_guard lock(mu);
      token = requiredToken;
    }
    if (!token.empty() && std::string(req[http::field::authorization]) != "Bearer " + token) {
      if (!writeResponse(stream, {401, statusJson(401, "Unauthorized", "Unauthorized"), {}}, true)) return;
      continue;
    }
    if (isWatch && method == "GET") {
      std::optional<Route> r;
      {
        std::lock_guard lock(mu);
        r = route(path);
      }
      if (!r || !r->name.empty()) {
        writeResponse(
            stream, {404, statusJson(404, "NotFound", "the server could not find the requested resource"), {}}, false);
        return;
      }
      serveWatch(stream, *r, query, fault ? &*fault : nullptr);
      return;
    }
    Response r;
    {
      std::lock_guard lock(mu);
      patchType = std::string(req[http::field::content_type]);
    }
    r = handle(method, path, query, req.body());
    if (!writeResponse(stream, r, req.keep_alive())) return;
    if (!req.keep_alive()) return;
    (void)conn;
  }
}

void FakeApiServer::Impl::acceptLoop() {
  for (;;) {
    tcp::socket sock(ioc);
    beast::error_code ec;
    acceptor.accept(sock, ec);
    if (stopping.load()) return;
    if (ec) continue;
    std::lock_guard lock(mu);
    // Reap finished connection threads.
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->done.load()) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    auto c = std::make_unique<Conn>();
    c->fd = sock.native_handle();
    Conn* raw = c.get();
    c->thread = std::thread([this, raw, s = std::move(sock)]() mutable {
      if (tls) {
        ssl::stream<tcp::socket> stream(std::move(s), *tls);
        beast::error_code hec;
        stream.handshake(ssl::stream_base::server, hec);
        if (!hec) serve(stream, *raw);
        beast::error_code cec;
        stream.next_layer().close(cec);
      } else {
        serve(s, *raw);
        beast::error_code cec;
        s.close(cec);
      }
      raw->done.store(true);
    });
    conns.push_back(std::move(c));
  }
}

// ---------------------------------------------------------------------------------------------------
FakeApiServer::FakeApiServer() : FakeApiServer(Options{}) {}

FakeApiServer::FakeApiServer(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->requiredToken = impl_->options.requiredToken;
  if (impl_->options.tls) {
    impl_->tls.emplace(ssl::context::tls_server);
    auto& ctx = *impl_->tls;
    ctx.use_certificate_chain(asio::buffer(impl_->options.pki.serverCertPem));
    ctx.use_private_key(asio::buffer(impl_->options.pki.serverKeyPem), ssl::context::pem);
    if (impl_->options.requireClientCert) {
      ctx.add_certificate_authority(asio::buffer(impl_->options.pki.caCertPem));
      ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  }
  for (const FakeResource& r : std::initializer_list<FakeResource>{
           {"", "v1", "pods", "Pod", true, true, false},
           {"", "v1", "nodes", "Node", false, true, false},
           {"", "v1", "namespaces", "Namespace", false, true, false},
           {"", "v1", "events", "Event", true, false, false},
           {"", "v1", "configmaps", "ConfigMap", true, false, false},
           {"batch", "v1", "jobs", "Job", true, true, false},
           {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, true, false},
           {"coordination.k8s.io", "v1", "leases", "Lease", true, false, false},
           {"spotfit.io", "v1alpha1", "spotfitpools", "SpotfitPool", false, true, false},
           {"apps", "v1", "deployments", "Deployment", true, true, true},
           {"cluster.x-k8s.io", "v1beta1", "machinedeployments", "MachineDeployment", true, true, true},
           {"cluster.x-k8s.io", "v1beta1", "machines", "Machine", true, true, false},
       }) {
    impl_->resources[r.plural] = r;
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->acceptThread = std::thread([this] { impl_->acceptLoop(); });
}

FakeApiServer::~FakeApiServer() {
  impl_->stopping.store(true);
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopCv.notify_all();
    for (auto& w : impl_->watchers) {
      std::lock_guard wl(w->mu);
      w->cut = true;
      w->cv.notify_all();
    }
    for (auto& c : impl_->conns) ::shutdown(c->fd, SHUT_RDWR);
  }
  // Unblock accept() with a connection of our own.
  {
    beast::error_code ec;
    tcp::socket s(impl_->ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  }
  impl_->acceptThread.join();
  std::list<std::unique_ptr<Impl::Conn>> conns;
  {
    std::lock_guard lock(impl_->mu);
    conns.swap(impl_->conns);
  }
  for (auto& c : conns) {
    ::shutdown(c->fd, SHUT_RDWR);
    c->thread.join();
  }
}

std::string FakeApiServer::url() const {
  return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

kube::ClusterConfig FakeApiServer::clientConfig() const {
  kube::ClusterConfig c;
  c.server = url();
  if (impl_->options.tls) {
    c.caPem = impl_->options.pki.caCertPem;
    if (impl_->options.requireClientCert) {
      c.clientCertPem = impl_->options.pki.clientCertPem;
      c.clientKeyPem = impl_->options.pki.clientKeyPem;
    }
  }
  std::lock_guard lock(impl_->mu);
  c.bearerToken = impl_->requiredToken;
  c.source = "fake-apiserver";
  return c;
}

void FakeApiServer::addResource(FakeResource r) {
  std::lock_guard lock(impl_->mu);
  impl_->resources[r.plural] = std::move(r);
}

void FakeApiServer::addVpaResource() {
  addResource({"autoscaling.k8s.io", "v1", "verticalpodautoscalers", "VerticalPodAutoscaler", true, true, false});
}

void FakeApiServer::setRequiredToken(std::string token) {
  std::lock_guard lock(impl_->mu);
  impl_->requiredToken = std::move(token);
}

std::string FakeApiServer::upsert(const std::string& plural, const std::string& objectJson) {
  std::lock_guard lock(impl_->mu);
  Doc d;
  d.Parse(objectJson.c_str());
  if (d.HasParseError() || !d.IsObject()) throw std::invalid_argument("upsert: not a JSON object: " + objectJson);
  if (impl_->resources.count(plural) == 0) throw std::invalid_argument("upsert: unknown resource " + plural);
  std::string k = Impl::key(str(d, "metadata", "namespace"), str(d, "metadata", "name"));
  auto& objs = impl_->store[plural];
  auto it = objs.find(k);
  bool created = it == objs.end();
  if (!created) {
    Doc cur;
    cur.Parse(it->second.c_str());
    Val& md = ensureObject(d, d, "metadata");
    if (str(d, "metadata", "uid").empty()) setString(d, md, "uid", str(cur, "metadata", "uid"));
    if (str(d, "metadata", "creationTimestamp").empty()) {
      setString(d, md, "creationTimestamp", str(cur, "metadata", "creationTimestamp"));
    }
  }
  return impl_->put(plural, d, created);
}

bool FakeApiServer::erase(const std::string& plural, const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return impl_->remove(plural, Impl::key(ns, name));
}

std::optional<std::string> FakeApiServer::object(const std::string& plural, const std::string& ns,
                                                 const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  auto p = impl_->store.find(plural);
  if (p == impl_->store.end()) return std::nullopt;
  auto it = p->second.find(Impl::key(ns, name));
  if (it == p->second.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> FakeApiServer::objects(const std::string& plural) const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  auto p = impl_->store.find(plural);
  if (p == impl_->store.end()) return out;
  for (const auto& [k, v] : p->second) out.push_back(v);
  return out;
}

size_t FakeApiServer::count(const std::string& plural) const {
  std::lock_guard lock(impl_->mu);
  auto p = impl_->store.find(plural);
  return p == impl_->store.end() ? 0 : p->second.size();
}

int64_t FakeApiServer::resourceVersion() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rv;
}

void FakeApiServer::compact() {
  std::lock_guard lock(impl_->mu);
  impl_->history.clear();
  impl_->compactedRv = impl_->rv;  // watching from the current revision stays possible
}

void FakeApiServer::closeWatches() {
  std::lock_guard lock(impl_->mu);
  for (auto& w : impl_->watchers) {
    std::lock_guard wl(w->mu);
    w->cut = true;
    w->cv.notify_all();
  }
  impl_->watchers.clear();  // cut watches miss every later event
}

int FakeApiServer::watchesOpened() const {
  std::lock_guard lock(impl_->mu);
  return impl_->watchesOpened;
}

void FakeApiServer::sendBookmarks() {
  std::lock_guard lock(impl_->mu);
  for (auto& w : impl_->watchers) {
    if (!w->bookmarks) continue;
    const FakeResource& r = impl_->resources.at(w->plural);
    std::string gv = r.group.empty() ? r.version : r.group + "/" + r.version;
    std::lock_guard wl(w->mu);
    w->frames.push_back(R"({"type":"BOOKMARK","object":{"kind":")" + r.kind + R"(","apiVersion":")" + gv +
                        R"(","metadata":{"resourceVersion":")" + std::to_string(impl_->rv) + "\"}}}");
    w->cv.notify_all();
  }
}

int FakeApiServer::activeWatches() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->watchers.size());
}

void FakeApiServer::injectFault(Fault f) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.push_back(std::move(f));
}

void FakeApiServer::clearFaults() {
  std::lock_guard lock(impl_->mu);
  impl_->faults.clear();
}

void FakeApiServer::setEvictionHook(
    std::function<std::optional<std::string>(const std::string&, const std::string&)> hook) {
  std::lock_guard lock(impl_->mu);
  impl_->evictionHook = std::move(hook);
}

std::vector<FakeApiServer::RecordedRequest> FakeApiServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->recorded;
}

size_t FakeApiServer::countRequests(const std::string& method, const std::string& pathContains) const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (const auto& r : impl_->recorded) {
    if ((method.empty() || r.method == method) && r.path.find(pathContains) != std::string::npos) ++n;
  }
  return n;
}

void FakeApiServer::clearRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->recorded.clear();
}

}  // namespace spotfit::testsupport
