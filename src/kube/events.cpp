#include "kube/events.hpp"

#include <cstdio>

#include "base/time.hpp"

namespace spotfit::kube {

namespace {
std::string_view typeName(EventType t) {
  return t == EventType::Warning ? "Warning" : "Normal";
}

std::string truncate(std::string s, size_t max) {
  if (s.size() <= max) return s;
  s.resize(max - 3);
  // Do not cut a UTF-8 sequence in half.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80) != 0) s.pop_back();
  return s + "...";
}
}  // namespace

EventRecorder::EventRecorder(KubeClient& client, Clock& clock, EventRecorderOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {
  worker_ = std::jthread([this](std::stop_token st) { loop(st); });
}

EventRecorder::~EventRecorder() {
  flush();
  worker_.request_stop();
  cv_.notify_all();
}

void EventRecorder::record(const ObjectReference& object, EventType type, std::string reason, std::string message) {
  Item item{object, type, std::move(reason), truncate(std::move(message), 1024), clock_.wallNow()};
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queueLimit) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_all();
}

void EventRecorder::flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void EventRecorder::loop(std::stop_token st) {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, st, [&] { return !queue_.empty(); });
      if (queue_.empty()) return;  // stop requested and nothing left
      item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    handle(item);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

bool EventRecorder::allow(const std::string& objectKey) {
  auto now = clock_.now();
  if (buckets_.size() > options_.cacheLimit && options_.refillEvery.count() > 0) {
    // Forget objects whose bucket has refilled completely: they behave like new ones anyway.
    const auto full = options_.refillEvery * options_.burst;
    std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.last >= full; });
  }
  auto [it, inserted] = buckets_.try_emplace(objectKey, Bucket{static_cast<double>(options_.burst), now});
  Bucket& b = it->second;
  if (!inserted && options_.refillEvery.count() > 0) {
    double gained = std::chrono::duration<double>(now - b.last) / std::chrono::duration<double>(options_.refillEvery);
    b.tokens = std::min(static_cast<double>(options_.burst), b.tokens + gained);
  }
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

void EventRecorder::handle(const Item& item) {
  const ObjectReference& o = item.object;
  const std::string objectKey = o.kind + "/" + o.namespace_ + "/" + o.name + "/" + o.uid;
  const std::string key =
      objectKey + "\x1f" + std::string(typeName(item.type)) + "\x1f" + item.reason + "\x1f" + item.message;
  const std::string ts = base::formatTime(item.when);
  const auto now = clock_.now();

  auto seen = seen_.find(key);
  if (seen != seen_.end() && now - seen->second.last > options_.aggregationWindow) {
    lru_.erase(seen->second.lru);
    seen_.erase(seen);
    seen = seen_.end();
  }
  if (!allow(objectKey)) {
    ++dropped_;
    return;
  }
  if (seen != seen_.end()) {
    Seen& s = seen->second;
    std::string patch = "{\"count\":" + std::to_string(s.count + 1) + ",\"lastTimestamp\":" + json::quoted(ts) + "}";
    WriteOptions wo;
    wo.timeout = options_.requestTimeout;
    auto res = client_.patch(resources::kEvents, s.namespace_, s.name, PatchType::Merge, patch, wo);
    if (res.ok()) {
      ++s.count;
      s.last = now;
      lru_.splice(lru_.begin(), lru_, s.lru);
      ++aggregated_;
      return;
    }
    if (!isNotFound(res.error())) {
      ++failed_;
      return;
    }
    // The Event expired on the server (events have a TTL): start a new one.
    lru_.erase(s.lru);
    seen_.erase(seen);
  }
  const std::string ns = o.namespace_.empty() ? "default" : o.namespace_;
  // client-go names events "<object>.<unix nanos in hex>"; keep them unique when the clock repeats.
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(item.when.time_since_epoch()).count();
  if (nanos <= lastNanos_) nanos = lastNanos_ + 1;
  lastNanos_ = nanos;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(nanos));
  const std::string name = o.name + suffix;
  std::string body = R"({"apiVersion":"v1","kind":"Event","metadata":{"name":)" + json::quoted(name) +
                     R"(,"namespace":)" + json::quoted(ns) + R"(},"involvedObject":{"apiVersion":)" +
                     json::quoted(o.apiVersion) + R"(,"kind":)" + json::quoted(o.kind) + R"(,"name":)" +
                     json::quoted(o.name);
  if (!o.namespace_.empty()) body += R"(,"namespace":)" + json::quoted(o.namespace_);
  if (!o.uid.empty()) body += R"(,"uid":)" + json::quoted(o.uid);
  body += R"(},"reason":)" + json::quoted(item.reason) + R"(,"message":)" + json::quoted(item.message) + R"(,"type":)" +
          json::quoted(typeName(item.type)) + R"(,"source":{"component":)" + json::quoted(options_.component);
  if (!options_.instance.empty()) body += R"(,"host":)" + json::quoted(options_.instance);
  body += R"(},"firstTimestamp":)" + json::quoted(ts) + R"(,"lastTimestamp":)" + json::quoted(ts) +
          R"(,"count":1,"reportingComponent":)" + json::quoted(options_.component) + R"(,"reportingInstance":)" +
          json::quoted(options_.instance) + "}";
  WriteOptions wo;
  wo.timeout = options_.requestTimeout;
  auto res = client_.create(resources::kEvents, ns, body, wo);
  if (!res.ok()) {
    ++failed_;
    return;
  }
  ++created_;
  lru_.push_front(key);
  seen_[key] = Seen{ns, name, 1, ts, now, lru_.begin()};
  while (seen_.size() > options_.cacheLimit) {
    seen_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace spotfit::kube
