#include "kube/rest_client.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <new>

namespace spotfit::kube {

using std::chrono::nanoseconds;

// ---------------------------------------------------------------------------------------------------
RateLimiter::RateLimiter(Clock& clock, double qps, int burst)
    : clock_(clock), qps_(qps), burst_(std::max(1, burst)), tokens_(std::max(1, burst)), last_(clock.now()) {}

Status RateLimiter::acquire(Clock::TimePoint deadline, std::stop_token stop) {
  if (qps_ <= 0) return {};
  nanoseconds wait;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.now();
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return {};
    }
    wait = std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>((1 - tokens_) / qps_));
    if (now + wait > deadline)
      return makeError("deadline", "client-side rate limit: no request slot before the deadline");
    // Reserve the token now; the bucket goes negative and later callers queue behind us.
    tokens_ -= 1;
  }
  if (!clock_.sleepFor(wait, stop)) return makeError("cancelled", "stopped while waiting for the rate limiter");
  return {};
}

bool RateLimiter::tryAcquire() {
  if (qps_ <= 0) return true;
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

// ---------------------------------------------------------------------------------------------------
std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::chrono::seconds> parseRetryAfter(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  int64_t secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec != std::errc() || p != v.data() + v.size() || secs < 0) return std::nullopt;
  return std::chrono::seconds(std::min<int64_t>(secs, 3600));
}

namespace {

class Query {
 public:
  void add(std::string_view key, std::string_view value) {
    out_ += out_.empty() ? '?' : '&';
    out_ += key;
    out_ += '=';
    out_ += urlEncode(value);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// A write (POST/PUT/PATCH) of `body` to `target`, with the dryRun/fieldManager query of its options.
HttpRequest writeRequest(std::string method, std::string target, const WriteOptions& o, std::string_view body,
                         std::string_view contentType) {
  Query q;
  if (o.dryRun) q.add("dryRun", "All");
  if (!o.fieldManager.empty()) q.add("fieldManager", o.fieldManager);
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target) + q.str();
  req.body = std::string(body);
  req.contentType = std::string(contentType);
  return req;
}

// The object's path, or its subresource's when the options name one.
std::string objectTarget(const ResourceType& r, std::string_view ns, std::string_view name, const WriteOptions& o) {
  std::string target = r.objectPath(ns, name);
  if (!o.subresource.empty()) target += "/" + o.subresource;
  return target;
}

bool retryableStatus(int s, bool idempotent) {
  if (s == 429) return true;
  if (s == 502 || s == 503 || s == 504) return true;
  return idempotent && s == 500;
}

std::string_view propagationName(PropagationPolicy p) {
  switch (p) {
    case PropagationPolicy::Orphan:
      return "Orphan";
    case PropagationPolicy::Background:
      return "Background";
    case PropagationPolicy::Foreground:
      return "Foreground";
    case PropagationPolicy::Default:
      break;
  }
  return "";
}

WatchEvent::Type eventType(std::string_view t, bool& ok) {
  ok = true;
  if (t == "ADDED") return WatchEvent::Type::Added;
  if (t == "MODIFIED") return WatchEvent::Type::Modified;
  if (t == "DELETED") return WatchEvent::Type::Deleted;
  if (t == "BOOKMARK") return WatchEvent::Type::Bookmark;
  if (t == "ERROR") return WatchEvent::Type::Error;
  ok = false;
  return WatchEvent::Type::Error;
}

class RestWatchStream final : public WatchStream {
 public:
  explicit RestWatchStream(std::unique_ptr<HttpStream> s) : stream_(std::move(s)) {}

  Result<std::optional<WatchEvent>> next(nanoseconds idleTimeout) override {
    auto line = stream_->readLine(idleTimeout);
    if (!line.ok()) return line.error();
    if (!line->has_value()) return std::optional<WatchEvent>{};
    WatchEvent ev;
    Status parsed;
    try {
      parsed = json::parseInto(ev.doc, **line, json::kApiServerLimits);
    } catch (const std::bad_alloc&) {
      // The frame is dropped and the watch ends with this error: the informer records it (lastError) and
      // resumes from the last resourceVersion it applied, so the event is delivered again.
      return makeError("resource",
                       "out of memory decoding a watch frame of " + std::to_string((*line)->size()) + " bytes");
    }
    if (!parsed) {
      return makeError("invalid", "malformed watch frame (" + parsed.error().message + "): " + (*line)->substr(0, 120));
    }
    if (!ev.doc.IsObject()) return makeError("invalid", "malformed watch frame: " + (*line)->substr(0, 120));
    auto type = json::optString(ev.doc, "type", "");
    if (!type.ok() || !type->has_value()) return makeError("invalid", "watch frame without a type");
    bool ok = false;
    ev.type = eventType(**type, ok);
    if (!ok) return makeError("invalid", "unknown watch event type \"" + std::string(**type) + "\"");
    const json::Value* obj = json::find(ev.doc, "object");
    if (obj == nullptr || !obj->IsObject()) return makeError("invalid", "watch frame without an object");
    return std::optional<WatchEvent>(std::move(ev));
  }

  void cancel() override { stream_->cancel(); }

 private:
  std::unique_ptr<HttpStream> stream_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------
RestClient::RestClient(ClusterConfig config, std::shared_ptr<Transport> transport, Clock& clock,
                       RestClientOptions options)
    : config_(std::move(config)),
      transport_(std::move(transport)),
      clock_(clock),
      options_(std::move(options)),
      limiter_(clock, options_.qps, options_.burst),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {}

Result<std::unique_ptr<RestClient>> RestClient::create(const ClusterConfig& config, Clock& clock,
                                                       RestClientOptions options) {
  auto t = Transport::create(config, options.transport);
  if (!t.ok()) return t.error();
  return std::unique_ptr<RestClient>(new RestClient(config, std::move(t).value(), clock, std::move(options)));
}

nanoseconds RestClient::backoff(int retry) {
  const auto& p = options_.retry;
  double cap = static_cast<double>(p.max.count());
  double exp = static_cast<double>(p.base.count()) * std::pow(2.0, std::max(0, retry - 1));
  double upper = std::min(cap, exp);
  std::lock_guard lock(rngMu_);
  std::uniform_real_distribution<double> dist(0, upper);
  return nanoseconds(static_cast<int64_t>(dist(rng_)));
}

Result<HttpResponse> RestClient::call(HttpRequest req, Timeout timeout, bool idempotent,
                                      const std::function<bool(const HttpResponse&)>& finalResponse) {
  const auto deadline = clock_.now() + timeout;
  std::optional<Error> lastError;
  bool reauthed = false;
  for (int attempt = 1;; ++attempt) {
    if (auto st = limiter_.acquire(deadline); !st.ok()) return lastError ? *lastError : st.error();
    auto remaining = deadline - clock_.now();
    if (remaining <= nanoseconds::zero()) {
      return lastError ? *lastError : makeError("deadline", req.method + " " + req.target + ": deadline exceeded");
    }
    attempts_.fetch_add(1);
    auto res = transport_->roundTrip(req, std::chrono::duration_cast<nanoseconds>(remaining));
    std::optional<nanoseconds> retryAfter;
    if (res.ok()) {
      if (res->status == 401 && !config_.tokenFile.empty() && !reauthed) {
        // The service-account token may have rotated under us: re-read it and try once more.
        transport_->invalidateToken();
        reauthed = true;
        --attempt;
        continue;
      }
      if (!retryableStatus(res->status, idempotent) || (finalResponse && finalResponse(*res))) return res;
      lastError = apiError(res->status, res->body);
      if (auto ra = parseRetryAfter(res->retryAfter)) retryAfter = *ra;
    } else {
      const Error& e = res.error();
      if (e.code == "deadline" || e.code == "cancelled" || e.code == "tls") return e;
      // A request that may have reached the server is retried only when repeating it is harmless.
      if (!idempotent && e.message.find("connecting to") == std::string::npos) return e;
      lastError = e;
    }
    if (attempt >= options_.retry.maxAttempts) return *lastError;
    nanoseconds wait = retryAfter ? *retryAfter : backoff(attempt);
    if (clock_.now() + wait >= deadline) return *lastError;
    retries_.fetch_add(1);
    if (!clock_.sleepFor(wait, {})) return *lastError;
  }
}

Result<json::Document> RestClient::callForObject(HttpRequest req, Timeout timeout, bool idempotent) {
  auto res = call(std::move(req), timeout, idempotent);
  if (!res.ok()) return res.error();
  if (res->status < 200 || res->status >= 300) return apiError(res->status, res->body);
  auto doc = json::parse(res->body, json::kApiServerLimits);
  if (!doc.ok()) return makeError("invalid", "API server answered with malformed JSON: " + doc.error().message);
  return std::move(doc).value();
}

Result<json::Document> RestClient::get(const ResourceType& r, std::string_view ns, std::string_view name,
                                       const GetOptions& o) {
  HttpRequest req;
  req.method = "GET";
  req.target = r.objectPath(ns, name);
  if (!o.subresource.empty()) req.target += "/" + o.subresource;
  return callForObject(std::move(req), o.timeout, true);
}

Result<ListPage> RestClient::list(const ResourceType& r, std::string_view ns, const ListOptions& o) {
  Query q;
  if (!o.labelSelector.empty()) q.add("labelSelector", o.labelSelector);
  if (!o.fieldSelector.empty()) q.add("fieldSelector", o.fieldSelector);
  if (o.limit > 0) q.add("limit", std::to_string(o.limit));
  if (!o.continueToken.empty()) q.add("continue", o.continueToken);
  if (!o.resourceVersion.empty()) q.add("resourceVersion", o.resourceVersion);
  HttpRequest req;
  req.target = r.collectionPath(ns) + q.str();
  auto doc = callForObject(std::move(req), o.timeout, true);
  if (!doc.ok()) return doc.error();
  ListPage page;
  page.doc = std::move(doc).value();
  if (!page.doc.IsObject()) return makeError("invalid", "list response is not an object");
  if (const json::Value* items = json::find(page.doc, "items"); items != nullptr && !items->IsArray()) {
    return makeError("invalid", "list response: items is not an array");
  }
  if (const json::Value* md = json::find(page.doc, "metadata")) {
    auto rv = json::optString(*md, "resourceVersion", "metadata");
    if (!rv.ok()) return rv.error();
    if (rv->has_value()) page.resourceVersion = std::string(**rv);
    auto cont = json::optString(*md, "continue", "metadata");
    if (!cont.ok()) return cont.error();
    if (cont->has_value()) page.continueToken = std::string(**cont);
  }
  return page;
}

Result<std::unique_ptr<WatchStream>> RestClient::watch(const ResourceType& r, std::string_view ns,
                                                       const WatchOptions& o) {
  Query q;
  q.add("watch", "true");
  if (!o.labelSelector.empty()) q.add("labelSelector", o.labelSelector);
  if (!o.fieldSelector.empty()) q.add("fieldSelector", o.fieldSelector);
  if (!o.resourceVersion.empty()) q.add("resourceVersion", o.resourceVersion);
  if (o.allowBookmarks) q.add("allowWatchBookmarks", "true");
  if (o.timeoutSeconds > 0) q.add("timeoutSeconds", std::to_string(o.timeoutSeconds));
  HttpRequest req;
  req.target = r.collectionPath(ns) + q.str();
  const auto deadline = clock_.now() + o.timeout;
  if (auto st = limiter_.acquire(deadline); !st.ok()) return st.error();
  auto remaining = std::chrono::duration_cast<nanoseconds>(deadline - clock_.now());
  attempts_.fetch_add(1);
  auto stream = transport_->openStream(req, remaining);
  if (!stream.ok()) return stream.error();
  if ((*stream)->status() != 200) {
    int status = (*stream)->status();
    if (status == 401) transport_->invalidateToken();
    auto body = (*stream)->readAll(std::chrono::duration_cast<nanoseconds>(
        std::max(deadline - clock_.now(), Clock::Duration(std::chrono::milliseconds(100)))));
    return apiError(status, body.ok() ? *body : std::string());
  }
  return std::unique_ptr<WatchStream>(std::make_unique<RestWatchStream>(std::move(stream).value()));
}

Result<json::Document> RestClient::create(const ResourceType& r, std::string_view ns, std::string_view body,
                                          const WriteOptions& o) {
  if (!o.subresource.empty()) return makeError("invalid", "create does not take a subresource");
  return callForObject(writeRequest("POST", r.collectionPath(ns), o, body, "application/json"), o.timeout, false);
}

Result<json::Document> RestClient::update(const ResourceType& r, std::string_view ns, std::string_view name,
                                          std::string_view body, const WriteOptions& o) {
  return callForObject(writeRequest("PUT", objectTarget(r, ns, name, o), o, body, "application/json"), o.timeout, true);
}

Result<json::Document> RestClient::patch(const ResourceType& r, std::string_view ns, std::string_view name,
                                         PatchType type, std::string_view body, const WriteOptions& o) {
  HttpRequest req = writeRequest("PATCH", objectTarget(r, ns, name, o), o, body, contentType(type));
  // A merge patch is idempotent; a JSON Patch (add to arrays, test) may not be.
  return callForObject(std::move(req), o.timeout, type != PatchType::Json);
}

Status RestClient::remove(const ResourceType& r, std::string_view ns, std::string_view name, const DeleteOptions& o) {
  std::string body = R"({"apiVersion":"v1","kind":"DeleteOptions")";
  if (o.gracePeriodSeconds) body += ",\"gracePeriodSeconds\":" + std::to_string(*o.gracePeriodSeconds);
  if (o.propagation != PropagationPolicy::Default) {
    body += ",\"propagationPolicy\":" + json::quoted(propagationName(o.propagation));
  }
  if (!o.preconditionUid.empty() || !o.preconditionResourceVersion.empty()) {
    body += ",\"preconditions\":{";
    bool first = true;
    if (!o.preconditionUid.empty()) {
      body += "\"uid\":" + json::quoted(o.preconditionUid);
      first = false;
    }
    if (!o.preconditionResourceVersion.empty()) {
      if (!first) body += ",";
      body += "\"resourceVersion\":" + json::quoted(o.preconditionResourceVersion);
    }
    body += "}";
  }
  if (o.dryRun) body += R"(,"dryRun":["All"])";
  body += "}";
  HttpRequest req;
  req.method = "DELETE";
  req.target = r.objectPath(ns, name);
  if (o.dryRun) req.target += "?dryRun=All";
  req.body = std::move(body);
  req.contentType = "application/json";
  auto res = call(std::move(req), o.timeout, true);
  if (!res.ok()) return res.error();
  if (res->status < 200 || res->status >= 300) return apiError(res->status, res->body);
  return {};
}

namespace {
// pods/eviction answers 429 with a Status whose details.causes has type "DisruptionBudget" when a PDB
// refuses; API priority-and-fairness 429s have no such cause and are retried like any other.
bool isDisruptionBudgetRefusal(const HttpResponse& r) {
  if (r.status != 429) return false;
  auto doc = json::parse(r.body, json::kApiServerLimits);
  if (!doc.ok()) return false;
  if (const json::Value* details = json::find(*doc, "details")) {
    if (const json::Value* causes = json::find(*details, "causes"); causes != nullptr && causes->IsArray()) {
      for (const auto& c : causes->GetArray()) {
        const json::Value* t = json::find(c, "type");
        const json::Value* rs = json::find(c, "reason");
        if ((t != nullptr && t->IsString() && json::view(*t) == "DisruptionBudget") ||
            (rs != nullptr && rs->IsString() && json::view(*rs) == "DisruptionBudget")) {
          return true;
        }
      }
    }
  }
  const json::Value* msg = json::find(*doc, "message");
  return msg != nullptr && msg->IsString() && json::view(*msg).find("disruption budget") != std::string_view::npos;
}
}  // namespace

Result<EvictionResult> RestClient::evict(std::string_view ns, std::string_view name, const EvictOptions& o) {
  std::string body = R"({"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":)";
  json::appendQuoted(body, name);
  body += R"(,"namespace":)";
  json::appendQuoted(body, ns);
  body += "}";
  bool hasDelete = o.gracePeriodSeconds || !o.preconditionUid.empty() || o.dryRun;
  if (hasDelete) {
    body += R"(,"deleteOptions":{)";
    std::string inner;
    if (o.gracePeriodSeconds) inner += "\"gracePeriodSeconds\":" + std::to_string(*o.gracePeriodSeconds);
    if (!o.preconditionUid.empty()) {
      if (!inner.empty()) inner += ",";
      inner += "\"preconditions\":{\"uid\":" + json::quoted(o.preconditionUid) + "}";
    }
    if (o.dryRun) {
      if (!inner.empty()) inner += ",";
      inner += R"("dryRun":["All"])";
    }
    body += inner + "}";
  }
  body += "}";
  HttpRequest req;
  req.method = "POST";
  req.target = resources::kPods.objectPath(ns, name) + "/eviction";
  if (o.dryRun) req.target += "?dryRun=All";
  req.body = std::move(body);
  req.contentType = "application/json";
  auto res = call(std::move(req), o.timeout, true, isDisruptionBudgetRefusal);
  if (!res.ok()) return res.error();
  EvictionResult out;
  if (res->status >= 200 && res->status < 300) return out;
  if (isDisruptionBudgetRefusal(*res)) {
    out.outcome = EvictionOutcome::BlockedByDisruptionBudget;
    out.message = apiError(res->status, res->body).message;
    return out;
  }
  if (res->status == 404) {
    out.outcome = EvictionOutcome::NotFound;
    out.message = apiError(res->status, res->body).message;
    return out;
  }
  return apiError(res->status, res->body);
}

}  // namespace spotfit::kube
